"""Several writes in one transaction (ClaimsLedger.write_batch, and the
writer thread that gathers concurrent writes into batches), on each store:
each write keeps its own answer, its own error and its idempotency key's
meaning, and the batch commits all of them or none."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import OperationalError

from service.application import Actor, ClaimsLedger, WriteResult
from service.application.commands import ProposeClaim, RecordStance, RegisterSource
from service.application.group_commit import GroupCommit, WriterClosedError
from service.application.ledger import Write
from service.domain.errors import (
    AlreadyExistsError,
    SourceNotFoundError,
    VersionConflictError,
)
from service.domain.ids import source_id_for
from service.domain.source import SourceProfile
from service.domain.values import Period, SourceKind, StanceKind
from service.feed.log_reader import LogReader
from tests.conftest import Store

ALICE = Actor("alice")
SAID = Period.day(date(2023, 10, 27))


def propose(ledger: ClaimsLedger, text: str, key: str | None = None) -> Write:
    actor = Actor("alice", key)
    return Write(ledger.propose_claim, actor, ProposeClaim(text=text, about=("x",)))


def stance(ledger: ClaimsLedger, claim: UUID, version: int, source: UUID) -> Write:
    command = RecordStance(
        claim_id=claim,
        expected_version=version,
        kind=StanceKind.AFFIRMS,
        chain=(source,),
        reported=SAID,
    )
    return Write(ledger.record_stance, ALICE, command)


def outlet(ledger: ClaimsLedger, name: str = "The Outlet") -> UUID:
    profile = SourceProfile(name=name, kind=SourceKind.OUTLET)
    return ledger.register_source(ALICE, RegisterSource(profile=profile)).aggregate_id


def committed(ledger: ClaimsLedger) -> list[tuple[int, str]]:
    page = LogReader(ledger).page(0, 1000)
    return [(e.position, e.type) for e in page.entries]


def test_a_batch_commits_its_writes_in_one_transaction_each_with_its_position(
    ledger: ClaimsLedger,
) -> None:
    commits: list[int] = []
    ledger.on_commit.append(commits.append)
    writes = [propose(ledger, f"Batched claim {i}") for i in range(5)]

    results = ledger.write_batch(writes)

    assert all(isinstance(r, WriteResult) for r in results)
    positions = [r.position for r in results if isinstance(r, WriteResult)]
    assert positions == sorted(positions)
    assert len(set(positions)) == 5
    assert [p for p, _ in committed(ledger)] == positions
    assert commits == [positions[-1]]  # one transaction, one wake-up


def test_a_write_that_fails_fails_alone(ledger: ClaimsLedger) -> None:
    source = outlet(ledger)
    claim = ledger.propose_claim(ALICE, ProposeClaim(text="Known", about=("x",)))
    before = committed(ledger)
    writes = [
        propose(ledger, "First of the batch"),
        stance(ledger, claim.aggregate_id, 7, source),  # a stale version
        stance(ledger, claim.aggregate_id, 1, UUID(int=5)),  # an unknown source
        propose(ledger, "Last of the batch"),
    ]

    first, stale, unknown, last = ledger.write_batch(writes)

    assert isinstance(stale, VersionConflictError)
    assert isinstance(unknown, SourceNotFoundError)
    assert isinstance(first, WriteResult)
    assert isinstance(last, WriteResult)
    assert committed(ledger) == [
        *before,
        (first.position, "Claim.Proposed"),
        (last.position, "Claim.Proposed"),
    ]
    assert ledger.get_claim(claim.aggregate_id).version == 1


def test_writes_to_one_claim_in_a_batch_see_each_other_and_conflict_as_alone(
    ledger: ClaimsLedger,
) -> None:
    source = outlet(ledger)
    claim = ledger.propose_claim(ALICE, ProposeClaim(text="Twice", about=("x",)))
    writes = [
        stance(ledger, claim.aggregate_id, 1, source),
        stance(ledger, claim.aggregate_id, 2, source),
        stance(ledger, claim.aggregate_id, 2, source),  # lost the race to the second
    ]

    second, third, late = ledger.write_batch(writes)

    assert isinstance(second, WriteResult)
    assert isinstance(third, WriteResult)
    assert (second.version, third.version) == (2, 3)
    assert second.position < third.position
    assert isinstance(late, VersionConflictError)
    assert ledger.get_claim(claim.aggregate_id).version == 3


def test_a_retry_in_the_same_batch_is_recorded_once(ledger: ClaimsLedger) -> None:
    writes = [propose(ledger, "Keyed", key="k-1"), propose(ledger, "Keyed", key="k-1")]

    original, retry = ledger.write_batch(writes)

    assert isinstance(original, WriteResult)
    assert isinstance(retry, WriteResult)
    assert not original.replayed
    assert retry.replayed
    assert (retry.aggregate_id, retry.position) == (
        original.aggregate_id,
        original.position,
    )
    assert [t for _, t in committed(ledger)] == ["Claim.Proposed"]


def test_two_creations_of_one_key_in_a_batch_create_it_once(
    ledger: ClaimsLedger,
) -> None:
    twice = ProposeClaim(text="Same key", about=("x",), key="the-key")
    other = ProposeClaim(text="Same key, other words", about=("x",), key="the-key")
    writes = [Write(ledger.propose_claim, ALICE, c) for c in (twice, other)]

    made, refused = ledger.write_batch(writes)

    assert isinstance(made, WriteResult)
    assert isinstance(refused, AlreadyExistsError)


def test_a_writer_elsewhere_that_wins_a_race_sends_the_batch_one_by_one(
    store: Store,
) -> None:
    """Another process writes the same claim between the batch's checks and
    its commit: the batch's transaction fails as a whole, and each write is
    tried again alone, so only the one that really lost the race fails."""
    ledger, elsewhere = store.open(), store.open()
    try:
        source = outlet(ledger)
        claim = ledger.propose_claim(ALICE, ProposeClaim(text="Raced", about=("x",)))
        raced = stance(ledger, claim.aggregate_id, 1, source)

        def record_then_lose_the_race(
            actor: Actor, command: RecordStance
        ) -> WriteResult:
            result = ledger.record_stance(actor, command)
            elsewhere.record_stance(actor, command)  # commits first, at version 2
            return result

        writes = [
            propose(ledger, "Not raced"),
            Write(record_then_lose_the_race, raced.actor, raced.command),
        ]

        fine, lost = ledger.write_batch(writes)

        assert isinstance(fine, WriteResult)
        assert isinstance(lost, VersionConflictError)
        assert ledger.get_claim(claim.aggregate_id).version == 2
        assert [t for _, t in committed(ledger)][-2:] == [
            "Claim.StanceRecorded",
            "Claim.Proposed",
        ]
    finally:
        ledger.close()
        elsewhere.close()


def test_the_writer_gathers_concurrent_writes_into_fewer_transactions(
    ledger: ClaimsLedger,
) -> None:
    commits: list[int] = []
    ledger.on_commit.append(commits.append)
    writer = GroupCommit(ledger)
    try:
        answers = [writer.submit(propose(ledger, f"Queued {i}")) for i in range(50)]
        results = [a.result(timeout=60) for a in answers]
    finally:
        writer.close()

    assert len({r.position for r in results}) == 50
    assert [p for p, _ in committed(ledger)] == [r.position for r in results]
    assert len(commits) < 50


def test_the_writer_answers_each_error_to_its_own_caller(ledger: ClaimsLedger) -> None:
    writer = GroupCommit(ledger)
    try:
        ok = writer.submit(propose(ledger, "Fine"))
        bad = writer.submit(stance(ledger, UUID(int=1), 1, UUID(int=2)))
        assert isinstance(ok.result(timeout=60), WriteResult)
        error = bad.exception(timeout=60)
    finally:
        writer.close()
    assert error is not None
    assert type(error).__name__ == "ClaimNotFoundError"


def test_a_write_that_fails_after_changing_the_batch_sends_it_one_by_one(
    ledger: ClaimsLedger,
) -> None:
    """Commands check before they record, so this cannot happen with the
    ledger's own use cases; should a use case break that rule, the batch is
    dropped and each write runs as it would alone, in order."""
    source = outlet(ledger)
    claim = ledger.propose_claim(ALICE, ProposeClaim(text="Broken", about=("x",)))
    broken = stance(ledger, claim.aggregate_id, 1, source)

    def record_then_fail(actor: Actor, command: RecordStance) -> WriteResult:
        ledger.record_stance(actor, command)
        raise RuntimeError("failed after recording")

    writes = [
        propose(ledger, "Before the broken one"),
        Write(record_then_fail, broken.actor, broken.command),
    ]

    before, failed = ledger.write_batch(writes)

    assert isinstance(before, WriteResult)
    assert isinstance(failed, RuntimeError)
    # alone, the broken use case commits its stance and then fails: no more
    assert [t for _, t in committed(ledger)][-2:] == [
        "Claim.Proposed",
        "Claim.StanceRecorded",
    ]
    assert ledger.get_claim(claim.aggregate_id).version == 2


def test_a_batch_logs_its_events_in_the_order_its_writes_ran(
    ledger: ClaimsLedger,
) -> None:
    """A stance citing a source registered by an earlier write of the same
    batch comes after that registration in the log, not beside the claim's
    other events."""
    source = outlet(ledger)
    claim = ledger.propose_claim(ALICE, ProposeClaim(text="Ordered", about=("x",)))
    profile = SourceProfile(name="Registered mid-batch", kind=SourceKind.OUTLET)
    register = Write(
        ledger.register_source, ALICE, RegisterSource(profile=profile, key="mid")
    )
    writes = [
        stance(ledger, claim.aggregate_id, 1, source),
        register,
        stance(ledger, claim.aggregate_id, 2, source_id_for("mid")),
    ]

    results = ledger.write_batch(writes)

    assert all(isinstance(r, WriteResult) for r in results)
    assert [t for _, t in committed(ledger)][-3:] == [
        "Claim.StanceRecorded",
        "Source.Registered",
        "Claim.StanceRecorded",
    ]
    positions = [r.position for r in results if isinstance(r, WriteResult)]
    assert positions == sorted(positions)


def test_a_failed_commit_sends_each_write_alone(
    ledger: ClaimsLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store refuses the batch's transaction once (as a dropped
    connection would): nothing of it is written, and each write is tried
    again on its own."""
    save = ledger.save
    refused: list[int] = []

    def refuse_the_first_batch(*objs: Any, **kwargs: Any) -> Any:
        if len(objs) > 1 and not refused:
            refused.append(len(objs))
            raise OperationalError("the connection dropped")
        return save(*objs, **kwargs)

    monkeypatch.setattr(ledger, "save", refuse_the_first_batch)
    results = ledger.write_batch([propose(ledger, f"Retried {i}") for i in range(3)])

    assert refused == [3]
    assert all(isinstance(r, WriteResult) for r in results)
    assert [t for _, t in committed(ledger)] == ["Claim.Proposed"] * 3


def test_a_write_withdrawn_before_it_runs_is_not_written_and_the_writer_lives_on(
    ledger: ClaimsLedger,
) -> None:
    """A caller that goes away (a cancelled request) withdraws its write if
    the writer has not taken it yet; the writer goes on answering others."""
    busy, release = threading.Event(), threading.Event()

    def hold_the_writer(actor: Actor, command: ProposeClaim) -> WriteResult:
        busy.set()
        release.wait(30)
        return ledger.propose_claim(actor, command)

    writer = GroupCommit(ledger)
    try:
        held = writer.submit(
            Write(hold_the_writer, ALICE, ProposeClaim(text="Held", about=("x",)))
        )
        assert busy.wait(30)
        withdrawn = writer.submit(propose(ledger, "Withdrawn"))
        assert withdrawn.cancel()
        release.set()
        assert isinstance(held.result(timeout=60), WriteResult)
        after = writer.submit(propose(ledger, "After"))
        assert isinstance(after.result(timeout=60), WriteResult)
    finally:
        release.set()
        writer.close()

    entries = LogReader(ledger).page(0, 100).entries
    texts = [ledger.get_claim(e.stream_id).text for e in entries]
    assert texts == ["Held", "After"]
    with pytest.raises(WriterClosedError):
        writer.submit(propose(ledger, "Too late"))
