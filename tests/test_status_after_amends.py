"""The status follows our amends to a stance's independence, kind and reported
time, through the ledger and its reader, on both stores."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from service.application import Actor, ClaimsLedger
from service.application.commands import (
    AmendStance,
    ProposeClaim,
    RecordStance,
    RegisterSource,
)
from service.domain.claim import ReportedBasis, StanceChanges
from service.domain.ids import source_id_for
from service.domain.source import SourceProfile
from service.domain.status import ClaimStatus
from service.domain.values import Period, SourceKind, StanceKind
from service.readings import Basis, Reader

EDITOR = Actor("alice")
OCT_8, OCT_30 = date(2023, 10, 8), date(2023, 10, 30)


def anonymous(ledger: ClaimsLedger, descriptor: str) -> UUID:
    profile = SourceProfile(
        name=descriptor.title(),
        kind=SourceKind.ANONYMOUS_GROUP,
        anonymous=True,
        descriptor=descriptor,
    )
    return ledger.register_source(EDITOR, RegisterSource(profile=profile)).aggregate_id


def two_anonymous_accounts_through_the_wsj(ledger: ClaimsLedger) -> tuple[UUID, UUID]:
    """A claim with two anonymous accounts the WSJ passes on; the second's id."""
    claim = ledger.propose_claim(EDITOR, ProposeClaim(text="A meeting took place."))
    wsj = source_id_for("wsj")
    stance_id = None
    for version, descriptor in enumerate(["people familiar", "other officials"], 1):
        origin = anonymous(ledger, descriptor)
        stance_id = ledger.record_stance(
            EDITOR,
            RecordStance(
                claim_id=claim.aggregate_id,
                expected_version=version,
                kind=StanceKind.AFFIRMS,
                chain=(origin, wsj),
                reported=Period.day(OCT_8),
            ),
        ).created_id
    assert stance_id is not None
    return claim.aggregate_id, stance_id


def amend(
    ledger: ClaimsLedger, claim_id: UUID, stance_id: UUID, changes: StanceChanges
) -> None:
    version = ledger.get_claim(claim_id).version
    ledger.amend_stance(
        EDITOR,
        AmendStance(claim_id, version, stance_id, changes, reason="entry fix"),
    )


NOW = Basis()


def status(reader: Reader, claim_id: UUID, basis: Basis = NOW) -> ClaimStatus:
    reading = reader.claim(claim_id, basis)
    assert reading is not None
    return reading.verdict.status


def test_amending_independence_turns_one_voice_into_two_and_back(
    seeded: ClaimsLedger, reader: Reader
) -> None:
    claim, second = two_anonymous_accounts_through_the_wsj(seeded)
    assert status(reader, claim) is ClaimStatus.SINGLE_SOURCE
    amend(seeded, claim, second, StanceChanges(independent=True))
    assert status(reader, claim) is ClaimStatus.CORROBORATED
    amend(seeded, claim, second, StanceChanges(independent=False))
    assert status(reader, claim) is ClaimStatus.SINGLE_SOURCE


def test_amending_the_kind_turns_corroboration_into_a_contest(
    seeded: ClaimsLedger, reader: Reader
) -> None:
    claim, second = two_anonymous_accounts_through_the_wsj(seeded)
    amend(seeded, claim, second, StanceChanges(independent=True))
    amend(seeded, claim, second, StanceChanges(kind=StanceKind.DISPUTES))
    assert status(reader, claim) is ClaimStatus.CONTESTED


def test_amending_the_reported_time_moves_a_stance_on_the_reported_clock(
    seeded: ClaimsLedger, reader: Reader
) -> None:
    claim, second = two_anonymous_accounts_through_the_wsj(seeded)
    amend(seeded, claim, second, StanceChanges(independent=True))
    by_oct_20 = Basis(reported=ReportedBasis(date(2023, 10, 20)))
    assert status(reader, claim, by_oct_20) is ClaimStatus.CORROBORATED
    amend(seeded, claim, second, StanceChanges(reported=Period.day(OCT_30)))
    assert status(reader, claim, by_oct_20) is ClaimStatus.SINGLE_SOURCE
    assert status(reader, claim) is ClaimStatus.CORROBORATED
