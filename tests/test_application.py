"""Use cases through ClaimsLedger on each real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from service.application import Actor, ClaimsLedger, WriteResult
from service.application.commands import (
    AmendSource,
    CorrectWording,
    ProposeClaim,
    RecordStance,
    RegisterSource,
    RetractStance,
    WithdrawLink,
)
from service.domain.claim import ReportedBasis
from service.domain.errors import (
    AlreadyExistsError,
    ClaimNotFoundError,
    DomainError,
    IdempotencyKeyReusedError,
    InvalidInputError,
    SourceNotFoundError,
    VersionConflictError,
)
from service.domain.ids import claim_id_for, source_id_for
from service.domain.source import SourceChanges, SourceProfile
from service.domain.status import ClaimStatus
from service.domain.values import Period, SourceKind, StanceKind
from service.paging import PageRequest
from service.readings import Basis, ClaimFilter, Reader
from tests.conftest import Store

ALICE = Actor("alice")
BEIRUT = claim_id_for("quds-force-approved-attack-at-beirut-meeting")
WSJ = source_id_for("wsj")


def race(n: int, attempt: Callable[[], WriteResult]) -> list[WriteResult | DomainError]:
    """Run ``attempt`` in n threads released together; collect each outcome."""
    barrier = threading.Barrier(n)
    outcomes: list[WriteResult | DomainError] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            outcome: WriteResult | DomainError = attempt()
        except DomainError as error:
            outcome = error
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def wsj_affirms(
    ledger: ClaimsLedger, version: int, actor: Actor = ALICE
) -> WriteResult:
    return ledger.record_stance(
        actor,
        RecordStance(
            claim_id=BEIRUT,
            expected_version=version,
            kind=StanceKind.AFFIRMS,
            chain=(WSJ,),
            reported=Period.day(date(2023, 10, 27)),
            quote="a new report",
        ),
    )


def test_concurrent_writers_with_the_same_version_one_wins(
    seeded: ClaimsLedger, store: Store
) -> None:
    # Two ledgers on one store behave as two service instances would.
    other = store.open()
    version = seeded.get_claim(BEIRUT).version
    ledgers = iter([seeded, other, seeded, other])
    lock = threading.Lock()

    def attempt() -> WriteResult:
        with lock:
            ledger = next(ledgers)
        return wsj_affirms(ledger, version)

    outcomes = race(4, attempt)
    wins = [o for o in outcomes if isinstance(o, WriteResult)]
    conflicts = [o for o in outcomes if isinstance(o, VersionConflictError)]
    assert len(wins) == 1
    assert len(conflicts) == 3
    assert seeded.get_claim(BEIRUT).version == version + 1
    other.close()


def test_a_stale_version_is_a_conflict_that_names_both_versions(
    seeded: ClaimsLedger,
) -> None:
    version = seeded.get_claim(BEIRUT).version
    wsj_affirms(seeded, version)
    with pytest.raises(VersionConflictError) as caught:
        wsj_affirms(seeded, version)
    assert caught.value.details == {
        "expected_version": version,
        "actual_version": version + 1,
    }


def test_a_retried_write_with_the_same_key_is_recorded_once(
    seeded: ClaimsLedger,
) -> None:
    keyed = Actor("alice", idempotency_key="retry-1")
    version = seeded.get_claim(BEIRUT).version
    first = wsj_affirms(seeded, version, keyed)
    second = wsj_affirms(seeded, version, keyed)
    assert not first.replayed
    assert second.replayed
    assert (second.position, second.version, second.created_id) == (
        first.position,
        first.version,
        first.created_id,
    )
    assert seeded.get_claim(BEIRUT).version == version + 1


def test_concurrent_retries_with_one_key_record_once(seeded: ClaimsLedger) -> None:
    keyed = Actor("alice", idempotency_key="retry-race")
    version = seeded.get_claim(BEIRUT).version
    outcomes = race(4, lambda: wsj_affirms(seeded, version, keyed))
    assert all(isinstance(o, WriteResult) for o in outcomes), outcomes
    positions = {o.position for o in outcomes if isinstance(o, WriteResult)}
    assert len(positions) == 1
    assert seeded.get_claim(BEIRUT).version == version + 1


def test_a_key_reused_for_another_request_is_refused(seeded: ClaimsLedger) -> None:
    keyed = Actor("alice", idempotency_key="reused")
    version = seeded.get_claim(BEIRUT).version
    wsj_affirms(seeded, version, keyed)
    with pytest.raises(IdempotencyKeyReusedError):
        seeded.correct_wording(
            keyed, CorrectWording(BEIRUT, version + 1, text="Other.", reason="x")
        )


def test_idempotency_keys_belong_to_their_principal(seeded: ClaimsLedger) -> None:
    version = seeded.get_claim(BEIRUT).version
    wsj_affirms(seeded, version, Actor("alice", "shared"))
    with pytest.raises(VersionConflictError):
        wsj_affirms(seeded, version, Actor("carol", "shared"))


def test_a_failed_write_records_nothing(seeded: ClaimsLedger) -> None:
    before = seeded.last_position()
    with pytest.raises(SourceNotFoundError):
        seeded.record_stance(
            ALICE,
            RecordStance(
                claim_id=BEIRUT,
                expected_version=seeded.get_claim(BEIRUT).version,
                kind=StanceKind.DENIES,
                chain=(UUID(int=7),),
                reported=Period.unknown(),
            ),
        )
    assert seeded.last_position() == before


def test_unknown_claims_are_not_found(seeded: ClaimsLedger) -> None:
    with pytest.raises(ClaimNotFoundError):
        seeded.correct_wording(
            ALICE, CorrectWording(UUID(int=1), 1, text="x", reason="y")
        )


def test_a_source_key_is_taken_once(seeded: ClaimsLedger) -> None:
    profile = SourceProfile(name="WSJ again", kind=SourceKind.OUTLET)
    with pytest.raises(AlreadyExistsError):
        seeded.register_source(ALICE, RegisterSource(profile=profile, key="wsj"))


def test_every_event_carries_actor_and_key(seeded: ClaimsLedger) -> None:
    version = seeded.get_claim(BEIRUT).version
    wsj_affirms(seeded, version, Actor("alice", "k-42"))
    last = seeded.stream(BEIRUT)[-1]
    assert (last.event.actor, last.event.idempotency_key) == ("alice", "k-42")
    assert last.position == seeded.last_position() - 1  # the key's record follows


def test_a_retraction_then_reads_on_both_clocks(
    seeded: ClaimsLedger, reader: Reader
) -> None:
    """A hypothetical retraction, published 1 November, of the Hamas and Hezbollah
    officials' account (not in the article: it exercises the two clocks)."""
    from service.readings import Basis

    claim = seeded.get_claim(BEIRUT)
    affirming = next(
        s for s in claim.stances.values() if s.revisions[0].kind.value == "AFFIRMS"
    )
    before = reader.history(BEIRUT)[-1].recorded_at
    seeded.retract_stance(
        ALICE,
        RetractStance(
            claim_id=BEIRUT,
            expected_version=claim.version,
            stance_id=UUID(affirming.stance_id),
            reason="the officials withdrew their account",
            reported=Period.day(date(2023, 11, 1)),
        ),
    )

    def status(basis: Basis) -> ClaimStatus:
        reading = reader.claim(BEIRUT, basis)
        assert reading is not None
        return reading.verdict.status

    october = ReportedBasis(date(2023, 10, 31))
    november = ReportedBasis(date(2023, 11, 1))
    assert status(Basis()) is ClaimStatus.RETRACTED
    assert status(Basis(reported=october)) is ClaimStatus.CONTESTED
    assert status(Basis(reported=november)) is ClaimStatus.RETRACTED
    assert status(Basis(recorded_at=before, reported=november)) is ClaimStatus.CONTESTED
    assert reader.history(BEIRUT)[-1].reason == "the officials withdrew their account"


def test_sqlite_commits_are_fsynced_and_wait_for_locks(db_path: Path) -> None:
    """The store as the service opens it: FULL sync in WAL mode (an acknowledged
    commit survives power loss), and a writer waits 10 s for another's lock."""
    sqlite_ledger = Store.sqlite(db_path).open()
    recorder = sqlite_ledger.recorder
    with recorder.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
        cursor.execute("PRAGMA synchronous")
        (level,) = cursor.fetchone()
        cursor.execute("PRAGMA journal_mode")
        (mode,) = cursor.fetchone()
        cursor.execute("PRAGMA busy_timeout")
        (busy_ms,) = cursor.fetchone()
    sqlite_ledger.close()
    assert (level, mode, busy_ms) == (2, "wal", 10_000)


def test_cursor_pages_stay_stable_while_claims_are_added(
    seeded: ClaimsLedger, reader: Reader
) -> None:
    seed_order = [
        r.claim.id
        for _, r in reader.list_claims(
            ClaimFilter(), page=PageRequest(first=100, after=None)
        ).items
    ]
    first = reader.list_claims(ClaimFilter(), page=PageRequest(first=4, after=None))
    added = [
        seeded.propose_claim(
            ALICE, ProposeClaim(text=f"Added while paging {i}.")
        ).aggregate_id
        for i in range(3)
    ]
    rest = reader.list_claims(
        ClaimFilter(), page=PageRequest(first=100, after=first.end_cursor)
    )
    walked = [r.claim.id for _, r in first.items + rest.items]
    assert walked == seed_order + added


def test_a_withdrawn_link_no_longer_points_at_its_target(
    seeded: ClaimsLedger, reader: Reader
) -> None:
    surprised = claim_id_for("iranian-leaders-surprised")
    claim = seeded.get_claim(surprised)
    (link,) = claim.active_links()
    seeded.withdraw_link(
        ALICE,
        WithdrawLink(
            claim_id=surprised,
            expected_version=claim.version,
            link_id=UUID(link.link_id),
            reason="the article does not set them against each other",
        ),
    )
    reading = reader.claim(BEIRUT)
    assert reading is not None
    assert reading.incoming == []


def test_concurrent_amends_cannot_close_an_affiliation_cycle(
    seeded: ClaimsLedger, store: Store
) -> None:
    """A under B and B under A, at once, through two service instances: one
    commits; the other conflicts, and its retry is refused as a cycle."""
    other = store.open()
    a = seeded.register_source(
        ALICE, RegisterSource(SourceProfile(name="Ministry A", kind=SourceKind.OUTLET))
    ).aggregate_id
    b = seeded.register_source(
        ALICE, RegisterSource(SourceProfile(name="Ministry B", kind=SourceKind.OUTLET))
    ).aggregate_id
    attempts = iter([(seeded, a, b), (other, b, a)])
    lock = threading.Lock()

    def under(ledger: ClaimsLedger, source: UUID, parent: UUID) -> WriteResult:
        return ledger.amend_source(
            ALICE,
            AmendSource(source, 1, SourceChanges(affiliation_id=parent), reason="r"),
        )

    def attempt() -> WriteResult:
        with lock:
            ledger, source, parent = next(attempts)
        return under(ledger, source, parent)

    outcomes = race(2, attempt)
    wins = [o for o in outcomes if isinstance(o, WriteResult)]
    (lost,) = [o for o in outcomes if not isinstance(o, WriteResult)]
    assert len(wins) == 1, outcomes
    winner = wins[0].aggregate_id
    loser = b if winner == a else a
    if isinstance(lost, VersionConflictError):  # they overlapped: retry it
        with pytest.raises(InvalidInputError):
            under(seeded, loser, winner)
    else:  # the loser started after the winner had committed
        assert isinstance(lost, InvalidInputError), lost
    assert seeded.get_source(winner).affiliation_id == str(loser)
    assert seeded.get_source(loser).affiliation_id is None
    other.close()
