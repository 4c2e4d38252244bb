"""The log taken away and replayed: `claims-ledger export` writes every
event with its metadata, `claims-ledger import` replays the file into an
empty store, and the replay has the same claims, statuses and audit tree
roots, on the seed article and on a generated corpus, on both stores and
from one store to the other. Over HTTP, the same download for a reader key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from service.application import ClaimsLedger
from service.audit.archive import export_lines, import_lines
from service.audit.tree import AuditTree
from service.history import summarise
from service.paging import PageRequest
from service.readings import ClaimFilter, Reader
from service.views.database import ViewDatabase
from service.views.reads import Views
from tests.conftest import Store, postgres_schema, write_corpus
from tests.fakes import READER_KEY

SEED_CLAIM = "quds-force-approved-attack-at-beirut-meeting"
VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"


def cli(store: Store, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")}
    if store.settings.database_url:
        env["CLAIMS_DATABASE_URL"] = store.settings.database_url
    else:
        env["CLAIMS_DB"] = store.settings.db_path
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def picture(store: Store) -> tuple[tuple[int, bytes], dict[str, Any]]:
    """The store's audit tree (size, root) and every claim's state and status."""
    ledger = store.open()
    try:
        views = Views(ledger)
        views.catch_up()
        tree = AuditTree(views.database)
        tree.create()
        head = tree.catch_up()
        reader = Reader(ledger, views)
        claims: dict[str, Any] = {}
        cursor = None
        while True:
            page = reader.list_claims(
                ClaimFilter(), page=PageRequest(first=100, after=cursor)
            )
            for _, reading in page.items:
                claims[str(reading.claim.id)] = (
                    summarise(reading.claim),
                    reading.verdict.status.value,
                    reading.claim.version,
                )
            if not page.has_next:
                break
            cursor = page.end_cursor
        views.close()
        return (head.size, head.root), claims
    finally:
        ledger.close()


@contextmanager
def another(kind: str, tmp_path: Path) -> Iterator[Store]:
    if kind == "sqlite":
        yield Store.sqlite(tmp_path / "replayed.sqlite")
        return
    with postgres_schema() as url:
        yield Store.postgres(url)


def round_trip(store: Store, into: Store, tmp_path: Path) -> None:
    original = picture(store)
    exported = cli(store, "export", "--out", str(tmp_path / "log.ndjson"))
    assert exported.returncode == 0, exported.stderr
    imported = cli(into, "import", str(tmp_path / "log.ndjson"))
    assert imported.returncode == 0, imported.stderr
    replayed = picture(into)
    assert replayed[0] == original[0]  # the same tree, the same root
    assert replayed[1] == original[1]  # the same claims, states and statuses
    assert f"audit tree size {original[0][0]}" in imported.stdout


def test_the_seed_article_round_trips_with_the_same_root(
    seeded: ClaimsLedger, store: Store, tmp_path: Path
) -> None:
    with another(store.backend, tmp_path) as into:
        round_trip(store, into, tmp_path)


def test_a_generated_corpus_round_trips_into_the_other_store(
    store: Store, tmp_path: Path
) -> None:
    write_corpus(store, 60, hot_every=20, hot_events=120)
    other = "postgres" if store.backend == "sqlite" else "sqlite"
    with another(other, tmp_path) as into:
        round_trip(store, into, tmp_path)


def test_every_line_carries_the_event_with_its_metadata(
    seeded: ClaimsLedger, store: Store, tmp_path: Path
) -> None:
    done = cli(store, "export")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["position"] for line in lines] == sorted(
        line["position"] for line in lines
    )
    assert [line["leafindex"] for line in lines] == list(range(len(lines)))
    first = lines[0]
    assert first["specversion"] == "1.0"
    assert first["actor"] == "seed-loader"
    assert first["data"]["actor"] == "seed-loader"
    assert first["time"]
    assert first["storedtype"].endswith("Source.Registered")
    assert first["type"] == "org.claims-ledger.Source.Registered"


def test_an_import_into_a_store_that_is_not_empty_is_refused(
    seeded: ClaimsLedger, store: Store, tmp_path: Path
) -> None:
    exported = cli(store, "export", "--out", str(tmp_path / "log.ndjson"))
    assert exported.returncode == 0
    refused = cli(store, "import", str(tmp_path / "log.ndjson"))
    assert refused.returncode == 1
    assert "not empty" in refused.stderr
    garbage = tmp_path / "garbage.ndjson"
    garbage.write_text('{"id": "x"}\n')
    with another(store.backend, tmp_path) as into:
        broken = cli(into, "import", str(garbage))
        assert broken.returncode == 1
        assert "line 1: not an archived event" in broken.stderr


def test_one_claim_s_history_downloads_for_a_reader_key(
    client: httpx.Client,
) -> None:
    assert client.get("/audit/export").status_code == 401
    assert (
        client.get(
            "/audit/export", headers={"Authorization": "Bearer nope"}
        ).status_code
        == 401
    )
    reader = {"Authorization": f"Bearer {READER_KEY}"}
    whole = client.get("/audit/export", headers=reader)
    assert whole.status_code == 200
    assert whole.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in whole.text.splitlines()]
    assert len(lines) >= 41
    claim = next(
        line["subject"].split("/")[1]
        for line in lines
        if line["type"] == "org.claims-ledger.Claim.Proposed"
        and line["data"].get("key") == SEED_CLAIM
    )
    one = client.get(f"/audit/export?claim={claim}", headers=reader)
    mine = [json.loads(line) for line in one.text.splitlines()]
    assert mine
    assert {line["subject"] for line in mine} == {f"claims/{claim}"}
    assert [line["streamversion"] for line in mine] == list(range(1, len(mine) + 1))
    bad = client.get("/audit/export?claim=nonsense", headers=reader)
    assert bad.status_code == 400


def test_a_store_that_is_not_there_is_said_so_without_a_traceback(
    tmp_path: Path,
) -> None:
    missing = Store.sqlite(tmp_path / "not-there.sqlite")
    # verify keeps 1 for what it finds in a store it could read
    for command, status in ((["export"], 1), (["verify", "--key", VKEY], 2)):
        done = cli(missing, *command)
        assert done.returncode == status, command
        assert "cannot read the log" in done.stderr
        assert "no such file" in done.stderr
    gone = cli(missing, "import", str(tmp_path / "no-such.ndjson"))
    assert gone.returncode == 1
    assert not (tmp_path / "not-there.sqlite").exists()


def test_a_partial_or_damaged_export_is_refused_before_anything_is_written(
    seeded: ClaimsLedger, store: Store, tmp_path: Path
) -> None:
    exported = cli(store, "export", "--out", str(tmp_path / "log.ndjson"))
    assert exported.returncode == 0
    lines = (tmp_path / "log.ndjson").read_text().splitlines()
    claim = json.loads(next(line for line in lines if "Claim.Proposed" in line))
    one = cli(
        store,
        "export",
        "--claim",
        claim["subject"].split("/")[1],
        "--out",
        str(tmp_path / "one.ndjson"),
    )
    assert one.returncode == 0
    holed = tmp_path / "holed.ndjson"
    holed.write_text("\n".join(lines[:5] + lines[6:]) + "\n")
    bad_end = tmp_path / "bad-end.ndjson"
    bad_end.write_text("\n".join([*lines, '{"broken": true}']) + "\n")
    for name in ("one.ndjson", "holed.ndjson", "bad-end.ndjson"):
        with another(store.backend, tmp_path) as into:
            refused = cli(into, "import", str(tmp_path / name))
            assert refused.returncode == 1, name
            assert "line " in refused.stderr
            ledger = into.open()
            try:
                assert not ledger.recorder.max_notification_id()
            finally:
                ledger.close()


def test_a_damaged_event_round_trips_byte_for_byte(
    seeded: ClaimsLedger, store: Store, tmp_path: Path
) -> None:
    """A row nobody can read any more is exported as its bytes, and replayed
    as them: the replayed tree has the same root."""
    views = Views(seeded)
    with views.database.writing() as cursor:
        cursor.execute(
            "UPDATE {events} SET state = ? WHERE {position} = 7", (b"\x00\xffdamaged",)
        )
    original = AuditTree(views.database)
    original.create()
    root = original.catch_up().root
    lines = list(export_lines(views.database))
    assert json.loads(lines[6])["datacontenttype"] == "application/octet-stream"
    views.close()
    with another(store.backend, tmp_path) as into:
        ledger = into.open()
        try:
            import_lines(ledger.recorder, lambda: iter(lines))
            database = ViewDatabase(ledger.recorder, ledger.factory)
            replayed = AuditTree(database)
            replayed.create()
            assert replayed.catch_up().root == root
            database.close()
        finally:
            ledger.close()
