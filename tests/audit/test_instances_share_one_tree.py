"""Several instances on one store keep one audit tree and one sequence of
checkpoints: written to at once through both, every event is one leaf, every
checkpoint is signed by the one key and only grows, and the log verifies."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from service.application import ClaimsLedger
from service.audit.notes import Verifier, open_checkpoint
from service.audit.tree import AuditTree
from service.audit.verify import verify
from service.settings import DEFAULT_ORIGIN, Settings
from service.views.database import ViewDatabase
from tests.conftest import BACKENDS, postgres_schema
from tests.fakes import EDITOR_KEY, Server, gql

PROPOSE = """mutation($in: ProposeClaimInput!) {
  proposeClaim(input: $in) { position } }"""
WRITES = 15


@pytest.fixture(params=BACKENDS)
def two_instances(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Settings, Server, Server]]:
    db = tmp_path / "claims.sqlite"
    env = {"CLAIMS_CHECKPOINT_INTERVAL": "0.2"}
    with ExitStack() as stack:
        settings = Settings(db_path=str(db))
        if request.param == "postgres":
            url = stack.enter_context(postgres_schema())
            env["CLAIMS_DATABASE_URL"] = url
            settings = Settings(database_url=url)
        first = Server(db=db, env=env).start()
        stack.callback(first.stop)
        second = Server(db=db, env={**env, "CLAIMS_LOAD_SEEDS": "0"}).start()
        stack.callback(second.stop)
        yield settings, first, second


def write(server: Server, label: str) -> int:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        last = 0
        for i in range(WRITES):
            body = gql(
                client,
                PROPOSE,
                {"in": {"text": f"Written through {label}, {i}."}},
                key=EDITOR_KEY,
            )
            assert "errors" not in body, body
            last = max(last, body["data"]["proposeClaim"]["position"])
        return last


def latest(server: Server) -> str:
    return httpx.get(f"{server.url}/audit/checkpoint", timeout=10).text


def test_two_instances_keep_one_tree_and_one_line_of_checkpoints(
    two_instances: tuple[Settings, Server, Server],
) -> None:
    settings, first, second = two_instances
    key = Verifier.parse(httpx.get(f"{first.url}/audit/key", timeout=10).text)
    assert str(key) == httpx.get(f"{second.url}/audit/key", timeout=10).text.strip()
    with ThreadPoolExecutor(2) as pool:
        ends = list(pool.map(write, (first, second), ("the first", "the second")))
    ledger = ClaimsLedger(env=settings.ledger_env())
    database = ViewDatabase(ledger.recorder, ledger.factory)
    try:
        events = ledger.recorder.max_notification_id() or 0
        assert max(ends) == events
        tree = AuditTree(database)
        for _ in range(300):  # each instance's follower adds what it finds
            if tree.head().position == events and latest(first) == latest(second):
                checkpoint = open_checkpoint(latest(first), key, DEFAULT_ORIGIN)
                if checkpoint.size == tree.head().size:
                    break
            time.sleep(0.05)
        head = tree.head()
        with database.reading() as cursor:
            leaves = cursor.all("SELECT position FROM {audit_leaves} ORDER BY leaf")
            logged = cursor.all("SELECT {position} FROM {events} ORDER BY 1")
        assert [p for (p,) in leaves] == [p for (p,) in logged]
        assert head.size == len(logged)
        sizes = [size for size, _, _ in tree.checkpoints()]
        assert sizes == sorted(set(sizes))
        assert sizes[-1] == head.size
        for size, root, note in tree.checkpoints():
            opened = open_checkpoint(note, key, DEFAULT_ORIGIN)
            assert (opened.size, opened.root) == (size, root)
        report = verify(database, tree, key, DEFAULT_ORIGIN)
        assert report.ok, report.findings
        assert report.checkpoints == len(sizes)
    finally:
        database.close()
        ledger.close()
