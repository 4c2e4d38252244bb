"""The views follow the log exactly once: stopped anywhere (kill -9 in the
middle of a batch) they resume where their last committed batch left them,
and several processes following one database together apply each event
once; either way they equal a rebuild from the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from service.application import Actor, ClaimsLedger
from service.application.commands import (
    AmendSource,
    AmendStance,
    ProposeClaim,
    RecordStance,
    RegisterSource,
)
from service.domain.claim import StanceChanges
from service.domain.ids import source_id_for
from service.domain.source import SourceChanges, SourceProfile
from service.domain.status import ClaimStatus
from service.domain.values import Period, SourceKind, StanceKind
from service.paging import PageRequest
from service.readings import ClaimFilter, ClaimReading, Reader
from service.views.reads import ClaimQuery, Views
from tests.conftest import Store, postgres_schema, write_corpus
from tests.fakes import EDITOR_KEY, Server, gql

ROOT = Path(__file__).resolve().parents[2]
EDITOR = Actor("editor")

FOLLOW = """
import sys
from service.application import Actor, ClaimsLedger
from service.settings import Settings
from service.views.reads import Views

settings = Settings(db_path=sys.argv[1], database_url=sys.argv[2] or None)
ledger = ClaimsLedger(env=settings.ledger_env())
views = Views(ledger, batch=int(sys.argv[3]))
while True:
    before = views.position
    after = views.catch_up(limit=int(sys.argv[3]))
    print(after, flush=True)
    if after == before:
        break
"""


def amend_every_source(ledger: ClaimsLedger) -> None:
    """Rename every source and make the first one anonymous: what claims are
    found by, and how their status is judged, changes for claims the amended
    sources never wrote to."""
    views = Views(ledger)
    views.catch_up()
    for index, source in enumerate(views.sources()):
        changes = SourceChanges(name=f"{source.name} (renamed)")
        if index == 0:
            changes = SourceChanges(name=changes.name, anonymous=True)
        ledger.amend_source(
            EDITOR, AmendSource(source.id, source.version, changes, "a test")
        )


def follow(store: Store, batch: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            FOLLOW,
            store.settings.db_path,
            store.settings.database_url or "",
            str(batch),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def head(ledger: ClaimsLedger) -> int:
    return int(ledger.recorder.max_notification_id() or 0)


def test_views_killed_mid_stream_resume_and_equal_a_rebuild(store: Store) -> None:
    write_corpus(store, 150)
    ledger = store.open()
    try:
        amend_every_source(ledger)
        last = head(ledger)
        child = follow(store, batch=5)
        assert child.stdout is not None
        first = int(child.stdout.readline())  # one batch committed
        time.sleep(0.01)  # and, most likely, another one under way
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert 0 < first < last

        resumed = Views(ledger)
        stopped_at = resumed.position
        assert first <= stopped_at < last  # killed before the end
        assert resumed.catch_up() == last
        followed = resumed.dump()
        assert resumed.rebuild() == last
        assert resumed.dump() == followed
    finally:
        ledger.close()


def test_kept_counts_equal_what_the_lists_hold(store: Store) -> None:
    """The counts of one status's and one source's lists, kept batch by batch
    while claims change status and chains change, equal the claims read."""
    write_corpus(store, 150)
    ledger = store.open()
    try:
        amend_every_source(ledger)
        views = Views(ledger, batch=7)
        reader = Reader(ledger, views)
        readings: list[ClaimReading] = []
        cursor: str | None = None
        while True:
            page = reader.list_claims(
                ClaimFilter(), page=PageRequest(first=100, after=cursor)
            )
            readings += [r for _, r in page.items]
            if not page.has_next:
                break
            cursor = page.end_cursor
        statuses = Counter(r.verdict.status for r in readings)
        assert len(statuses) > 2
        for status in ClaimStatus:
            assert views.count(ClaimQuery(status=status)) == statuses[status], status
        for source in views.sources():
            named = sum(
                any(str(source.id) in s.chain for s in r.stances) for r in readings
            )
            assert views.count(ClaimQuery(source_ids=(str(source.id),))) == named
    finally:
        ledger.close()


@pytest.mark.postgres
def test_two_processes_following_one_database_apply_each_event_once() -> None:
    with postgres_schema() as url:
        store = Store.postgres(url)
        write_corpus(store, 150)
        children = [follow(store, batch=25) for _ in range(2)]
        outputs = [child.communicate(timeout=300)[0] for child in children]
        assert all(child.returncode == 0 for child in children)
        ledger = store.open()
        try:
            last = head(ledger)
            # both took turns: each saw the views at the head at the end
            assert [int(o.split()[-1]) for o in outputs] == [last, last]
            views = Views(ledger)
            assert views.position == last
            applied = views.dump()
            shape = views.shape()
            views.rebuild()
            assert views.dump() == applied
            proposed = [
                n
                for n in ledger.recorder.select_notifications(1, last + 1)
                if n.topic.endswith("Claim.Proposed")
            ]
            assert shape.claims == len(proposed)  # each claim counted once
        finally:
            ledger.close()


def test_a_source_amendment_restatuses_and_reindexes_the_claims_naming_it(
    seeded: ClaimsLedger,
) -> None:
    views = Views(seeded)
    views.catch_up()
    wsj = source_id_for("wsj")
    cited = views.page(ClaimQuery(source_ids=(str(wsj),)), first=50).claims
    assert cited
    seeded.amend_source(
        EDITOR,
        AmendSource(
            wsj,
            views.source(wsj).version,  # type: ignore[union-attr]
            SourceChanges(name="The Wall Street Journal Europe"),
            "the edition",
        ),
    )
    views.catch_up()
    found = views.page(ClaimQuery(text="europe"), first=50).claims
    assert {c.id for _, c in found} == {c.id for _, c in cited}
    assert isinstance(found[0][1].id, UUID)


def test_the_rebuild_command_rebuilds_the_views_quietly_when_piped(
    store: Store, seeded: ClaimsLedger
) -> None:
    views = Views(seeded)
    views.catch_up()
    before = views.dump()
    last = head(seeded)
    url, db = store.settings.database_url, store.settings.db_path
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "rebuild-views", "--db", db],
        cwd=ROOT,
        env={**os.environ, **({"CLAIMS_DATABASE_URL": url} if url else {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar when not on a terminal
    assert done.stdout.startswith(f"rebuilt the views from {last} events")
    assert Views(seeded).dump() == before


PROPOSE = """mutation($input: ProposeClaimInput!) {
  proposeClaim(input: $input) { position claim { id } } }"""
READ = "query($id: ID!) { claim(id: $id) { text } }"


@pytest.mark.postgres
def test_two_services_on_one_database_share_views_applied_once(
    tmp_path: Path,
) -> None:
    """Writes through both instances at once: each instance's follower
    applies what it finds unapplied, a write through one reads through the
    other given its position, and the views equal a rebuild."""
    with postgres_schema() as url:
        env = {"CLAIMS_DATABASE_URL": url}
        one = Server(db=tmp_path / "unused.sqlite", env=env).start()
        try:
            other = Server(
                db=tmp_path / "unused.sqlite", env={**env, "CLAIMS_LOAD_SEEDS": "0"}
            ).start()
            try:
                written: list[tuple[str, str, int]] = []

                def write(server: Server, n: int) -> None:
                    with httpx.Client(base_url=server.url, timeout=30) as http:
                        for i in range(n):
                            text = f"Written through port {server.port}, number {i}."
                            body = gql(
                                http,
                                PROPOSE,
                                {"input": {"text": text}},
                                key=EDITOR_KEY,
                            )["data"]["proposeClaim"]
                            written.append(
                                (text, body["claim"]["id"], body["position"])
                            )

                threads = [
                    threading.Thread(target=write, args=(s, 25)) for s in (one, other)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)
                assert len(written) == 50
                for server in (one, other):
                    with httpx.Client(base_url=server.url, timeout=30) as http:
                        for text, claim_id, position in written:
                            response = http.post(
                                "/graphql",
                                json={"query": READ, "variables": {"id": claim_id}},
                                headers={"Read-After-Position": str(position)},
                            )
                            assert response.json()["data"]["claim"]["text"] == text
            finally:
                other.stop()
        finally:
            one.stop()
        ledger = Store.postgres(url).open()
        try:
            views = Views(ledger)
            assert views.catch_up() == head(ledger)
            applied = views.dump()
            views.rebuild()
            assert views.dump() == applied
        finally:
            ledger.close()


def test_a_source_dropped_from_a_chain_and_named_again_is_named_now(
    store: Store,
) -> None:
    """Each step in a batch of its own: the views judge "named now" from the
    chains as they stand, whatever the batches."""
    ledger = store.open()
    try:
        views = Views(ledger)
        a, b = (
            ledger.register_source(
                EDITOR,
                RegisterSource(SourceProfile(name=name, kind=SourceKind.OUTLET)),
            ).aggregate_id
            for name in ("Outlet A", "Outlet B")
        )
        claim = ledger.propose_claim(EDITOR, ProposeClaim(text="A claim.")).aggregate_id
        day = Period.day(date(2023, 10, 7))
        first = ledger.record_stance(
            EDITOR,
            RecordStance(claim, 1, kind=StanceKind.AFFIRMS, chain=(b, a), reported=day),
        )
        views.catch_up()

        def naming(source: UUID) -> list[UUID]:
            query = ClaimQuery(source_ids=(str(source),))
            return [c.id for _, c in views.page(query, first=10).claims]

        assert naming(b) == [claim]
        stance = UUID(next(iter(ledger.get_claim(claim).stances)))
        ledger.amend_stance(
            EDITOR,
            AmendStance(claim, first.version, stance, StanceChanges(chain=(a,)), "fix"),
        )
        views.catch_up()
        assert naming(b) == []
        ledger.record_stance(
            EDITOR,
            RecordStance(
                claim,
                first.version + 1,
                kind=StanceKind.DISPUTES,
                chain=(b,),
                reported=day,
            ),
        )
        views.catch_up()
        assert naming(b) == [claim]
        followed = views.dump()
        views.rebuild()
        assert views.dump() == followed
    finally:
        ledger.close()
