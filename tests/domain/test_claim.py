"""The Claim aggregate on its own: guards, and stances at points of reported time."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

import pytest

from service.domain.claim import Claim, ReportedBasis, StanceChanges
from service.domain.errors import (
    AlreadyExistsError,
    InvalidInputError,
    NothingToChangeError,
    SelfLinkError,
    StanceAlreadyRetractedError,
    StanceNotFoundError,
)
from service.domain.values import LinkKind, Period, StanceKind

WSJ, US = uuid4(), uuid4()


def new_claim() -> Claim:
    return Claim.propose(
        id=uuid4(),
        key=None,
        text="A meeting took place.",
        about=["Iran"],
        occurred=Period.day(date(2023, 10, 2)),
    )


def affirm(claim: Claim, reported: Period) -> UUID:
    stance_id = uuid4()
    claim.record_stance(
        stance_id=stance_id,
        kind=StanceKind.AFFIRMS,
        chain=[WSJ],
        quote="It did.",
        document=None,
        reported=reported,
        independent=False,
        note=None,
    )
    return stance_id


def test_a_claim_needs_wording() -> None:
    with pytest.raises(InvalidInputError):
        Claim.propose(
            id=uuid4(), key=None, text="  ", about=[], occurred=Period.unknown()
        )


def test_a_stance_needs_a_chain_of_distinct_sources() -> None:
    claim = new_claim()
    for chain in ([], [WSJ, WSJ]):
        with pytest.raises(InvalidInputError):
            claim.record_stance(
                stance_id=uuid4(),
                kind=StanceKind.AFFIRMS,
                chain=chain,
                quote=None,
                document=None,
                reported=Period.unknown(),
                independent=False,
                note=None,
            )


def test_a_stance_cannot_be_retracted_twice() -> None:
    claim = new_claim()
    stance_id = affirm(claim, Period.day(date(2023, 10, 8)))
    claim.retract_stance(stance_id, reason="withdrawn", reported=Period.unknown())
    with pytest.raises(StanceAlreadyRetractedError):
        claim.retract_stance(stance_id, reason="again", reported=Period.unknown())


def test_retracting_an_unknown_stance_is_not_found() -> None:
    with pytest.raises(StanceNotFoundError):
        new_claim().retract_stance(uuid4(), reason="x", reported=Period.unknown())


def test_a_retraction_needs_a_reason() -> None:
    claim = new_claim()
    stance_id = affirm(claim, Period.unknown())
    with pytest.raises(InvalidInputError):
        claim.retract_stance(stance_id, reason=" ", reported=Period.unknown())


def test_a_correction_that_changes_nothing_is_refused() -> None:
    claim = new_claim()
    stance_id = affirm(claim, Period.unknown())
    with pytest.raises(NothingToChangeError):
        claim.correct_stance(
            stance_id,
            changes=StanceChanges(quote="It did."),
            reason="same",
            reported=Period.unknown(),
        )


def test_a_claim_cannot_link_to_itself_or_twice_the_same_way() -> None:
    claim = new_claim()
    with pytest.raises(SelfLinkError):
        claim.link_to(
            link_id=uuid4(), target_id=claim.id, kind=LinkKind.SAME_AS, note=None
        )
    other = uuid4()
    claim.link_to(link_id=uuid4(), target_id=other, kind=LinkKind.REFINES, note=None)
    with pytest.raises(AlreadyExistsError):
        claim.link_to(
            link_id=uuid4(), target_id=other, kind=LinkKind.REFINES, note=None
        )


def test_stances_at_a_reported_day_show_only_what_was_said_by_then() -> None:
    claim = new_claim()
    affirm(claim, Period.day(date(2023, 10, 8)))
    affirm(claim, Period.day(date(2023, 10, 30)))
    assert len(claim.stances_at(ReportedBasis(date(2023, 10, 20)))) == 1
    assert len(claim.stances_at(ReportedBasis(date(2023, 10, 30)))) == 2


def test_a_retraction_counts_only_from_when_it_was_published() -> None:
    claim = new_claim()
    stance_id = affirm(claim, Period.day(date(2023, 10, 8)))
    claim.retract_stance(
        stance_id, reason="withdrawn", reported=Period.day(date(2023, 11, 1))
    )
    (before,) = claim.stances_at(ReportedBasis(date(2023, 10, 31)))
    (after,) = claim.stances_at(ReportedBasis(date(2023, 11, 1)))
    assert before.in_force
    assert not after.in_force


def test_a_correction_shows_from_when_it_was_published() -> None:
    claim = new_claim()
    stance_id = affirm(claim, Period.day(date(2023, 10, 8)))
    claim.correct_stance(
        stance_id,
        changes=StanceChanges(kind=StanceKind.QUALIFIES),
        reason="clarified",
        reported=Period.day(date(2023, 10, 12)),
    )
    (early,) = claim.stances_at(ReportedBasis(date(2023, 10, 10)))
    (late,) = claim.stances_at(ReportedBasis(date(2023, 10, 12)))
    assert early.kind is StanceKind.AFFIRMS
    assert late.kind is StanceKind.QUALIFIES
    assert late.revised == Period.day(date(2023, 10, 12))


def test_our_own_fix_rewrites_what_we_recorded_at_every_reported_time() -> None:
    claim = new_claim()
    stance_id = affirm(claim, Period.day(date(2023, 10, 8)))
    claim.amend_stance(
        stance_id, changes=StanceChanges(chain=(US,)), reason="wrong source"
    )
    (state,) = claim.stances_at(ReportedBasis(date(2023, 10, 9)))
    assert state.chain == (str(US),)
