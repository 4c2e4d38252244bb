"""The status rule, on stances built directly (no store)."""

from __future__ import annotations

from datetime import date

from service.domain.claim import Retraction, StanceState
from service.domain.status import ClaimStatus, SourceFacts, derive_status
from service.domain.values import Period, StanceKind

WSJ, GUARDIAN = "wsj", "guardian"
ANON_A, ANON_B = "anon-a", "anon-b"
PENTAGON, US_GOV, RYDER = "pentagon", "us-gov", "ryder"

SOURCES = {
    WSJ: SourceFacts(anonymous=False, affiliation_id=None),
    GUARDIAN: SourceFacts(anonymous=False, affiliation_id=None),
    ANON_A: SourceFacts(anonymous=True, affiliation_id=None),
    ANON_B: SourceFacts(anonymous=True, affiliation_id=None),
    US_GOV: SourceFacts(anonymous=False, affiliation_id=None),
    PENTAGON: SourceFacts(anonymous=False, affiliation_id=US_GOV),
    RYDER: SourceFacts(anonymous=False, affiliation_id=PENTAGON),
}


def stance(
    kind: StanceKind,
    *chain: str,
    independent: bool = False,
    retracted: bool = False,
) -> StanceState:
    return StanceState(
        stance_id=f"{kind}-{'-'.join(chain)}",
        chain=tuple(chain),
        independent=independent,
        kind=kind,
        quote=None,
        document=None,
        note=None,
        reported=Period.day(date(2023, 10, 26)),
        revised=None,
        retraction=Retraction("withdrawn", Period.unknown()) if retracted else None,
    )


def status_of(*stances: StanceState) -> ClaimStatus:
    return derive_status(stances, SOURCES).status


def test_no_stances_is_unattested() -> None:
    assert status_of() is ClaimStatus.UNATTESTED


def test_one_affirming_chain_is_single_source() -> None:
    assert (
        status_of(stance(StanceKind.AFFIRMS, ANON_A, WSJ)) is ClaimStatus.SINGLE_SOURCE
    )


def test_two_anonymous_groups_through_the_same_outlet_are_one_source() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, ANON_A, WSJ), stance(StanceKind.AFFIRMS, ANON_B, WSJ)
    )
    assert verdict is ClaimStatus.SINGLE_SOURCE


def test_anonymous_groups_recorded_as_independent_corroborate() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, ANON_A, WSJ),
        stance(StanceKind.AFFIRMS, ANON_B, WSJ, independent=True),
    )
    assert verdict is ClaimStatus.CORROBORATED


def test_two_outlets_on_their_own_account_corroborate() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, WSJ), stance(StanceKind.AFFIRMS, GUARDIAN)
    )
    assert verdict is ClaimStatus.CORROBORATED


def test_one_outlet_retelling_another_is_not_corroboration() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, WSJ), stance(StanceKind.AFFIRMS, WSJ, GUARDIAN)
    )
    assert verdict is ClaimStatus.SINGLE_SOURCE


def test_an_official_speaks_for_the_top_of_his_affiliation() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, RYDER), stance(StanceKind.AFFIRMS, US_GOV)
    )
    assert verdict is ClaimStatus.SINGLE_SOURCE


def test_affirmed_and_disputed_is_contested() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, ANON_A, WSJ), stance(StanceKind.DISPUTES, US_GOV)
    )
    assert verdict is ClaimStatus.CONTESTED


def test_affirmed_and_no_evidence_is_contested() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, WSJ), stance(StanceKind.NO_EVIDENCE, PENTAGON)
    )
    assert verdict is ClaimStatus.CONTESTED


def test_only_denials_is_disputed() -> None:
    assert status_of(stance(StanceKind.DENIES, US_GOV)) is ClaimStatus.DISPUTED


def test_only_no_evidence_is_unsubstantiated() -> None:
    assert (
        status_of(stance(StanceKind.NO_EVIDENCE, RYDER)) is ClaimStatus.UNSUBSTANTIATED
    )


def test_all_affirmations_retracted_is_retracted() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, WSJ, retracted=True),
        stance(StanceKind.QUALIFIES, GUARDIAN),
    )
    assert verdict is ClaimStatus.RETRACTED


def test_qualifications_alone_leave_a_claim_unattested() -> None:
    assert status_of(stance(StanceKind.QUALIFIES, WSJ)) is ClaimStatus.UNATTESTED


def test_affiliation_cycles_do_not_hang() -> None:
    looped = {
        "a": SourceFacts(anonymous=False, affiliation_id="b"),
        "b": SourceFacts(anonymous=False, affiliation_id="a"),
    }
    verdict = derive_status([stance(StanceKind.AFFIRMS, "a")], looped)
    assert verdict.status is ClaimStatus.SINGLE_SOURCE


def voices(
    *stances: StanceState, sources: dict[str, SourceFacts] = SOURCES
) -> tuple[str, ...]:
    return derive_status(stances, sources).affirming_groups


def test_a_named_origin_is_its_own_voice_when_unaffiliated() -> None:
    assert voices(stance(StanceKind.AFFIRMS, WSJ, GUARDIAN)) == (WSJ,)


def test_an_anonymous_origin_counts_as_its_first_named_hop() -> None:
    assert voices(stance(StanceKind.AFFIRMS, ANON_A, ANON_B, GUARDIAN, WSJ)) == (
        GUARDIAN,
    )


def test_an_anonymous_origin_vouched_for_by_an_official_counts_as_his_top() -> None:
    assert voices(stance(StanceKind.AFFIRMS, ANON_A, RYDER)) == (US_GOV,)


def test_anonymous_chains_nobody_vouches_for_are_one_voice_together() -> None:
    unvouched = (stance(StanceKind.AFFIRMS, ANON_A), stance(StanceKind.AFFIRMS, ANON_B))
    assert status_of(*unvouched) is ClaimStatus.SINGLE_SOURCE
    assert voices(*unvouched) == (min(ANON_A, ANON_B),)


def test_an_unvouched_anonymous_voice_and_a_named_one_corroborate() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, ANON_A), stance(StanceKind.AFFIRMS, GUARDIAN)
    )
    assert verdict is ClaimStatus.CORROBORATED


def test_unvouched_anonymous_chains_recorded_as_independent_corroborate() -> None:
    verdict = status_of(
        stance(StanceKind.AFFIRMS, ANON_A),
        stance(StanceKind.AFFIRMS, ANON_B, independent=True),
    )
    assert verdict is ClaimStatus.CORROBORATED


def test_an_independent_anonymous_origin_still_speaks_for_its_affiliation() -> None:
    sources = {
        **SOURCES,
        "us-officials": SourceFacts(anonymous=True, affiliation_id=US_GOV),
    }
    chain = stance(StanceKind.AFFIRMS, "us-officials", WSJ, independent=True)
    assert voices(chain, sources=sources) == (US_GOV,)


def test_independent_changes_nothing_for_a_named_origin() -> None:
    assert voices(stance(StanceKind.AFFIRMS, RYDER, WSJ, independent=True)) == (US_GOV,)


def test_a_source_the_rule_does_not_know_counts_as_named() -> None:
    assert voices(stance(StanceKind.AFFIRMS, "unknown", WSJ)) == ("unknown",)


def test_an_affiliation_cycle_has_one_top_whichever_member_starts() -> None:
    looped = {
        "a": SourceFacts(anonymous=False, affiliation_id="b"),
        "b": SourceFacts(anonymous=False, affiliation_id="c"),
        "c": SourceFacts(anonymous=False, affiliation_id="a"),
        "d": SourceFacts(anonymous=False, affiliation_id="b"),  # leads into it
    }
    for pair in [("a", "b"), ("b", "a"), ("c", "d"), ("d", "a")]:
        both = [stance(StanceKind.AFFIRMS, origin) for origin in pair]
        verdict = derive_status(both, looped)
        assert verdict.status is ClaimStatus.SINGLE_SOURCE, pair
        assert verdict.affirming_groups == ("a",), pair


def test_an_affiliated_anonymous_origin_nobody_passes_on_speaks_for_its_top() -> None:
    sources = {
        **SOURCES,
        "us-officials": SourceFacts(anonymous=True, affiliation_id=US_GOV),
    }
    both = [
        stance(StanceKind.AFFIRMS, "us-officials"),
        stance(StanceKind.AFFIRMS, RYDER),
    ]
    verdict = derive_status(both, sources)
    assert verdict.status is ClaimStatus.SINGLE_SOURCE
    assert verdict.affirming_groups == (US_GOV,)


def test_the_unvouched_voice_is_the_same_as_its_own_independent_origin() -> None:
    """Whichever id sorts first, A's independent stance and the unvouched
    voice that includes A are one voice."""
    for first, second in [("anon-a", "anon-b"), ("anon-b", "anon-a")]:
        stances = [
            stance(StanceKind.AFFIRMS, first),
            stance(StanceKind.AFFIRMS, second),
            stance(StanceKind.AFFIRMS, second, independent=True),
        ]
        verdict = derive_status(stances, SOURCES)
        assert verdict.status is ClaimStatus.SINGLE_SOURCE, (first, second)
        assert verdict.affirming_groups == (second,)


def test_the_unvouched_voice_and_another_independent_one_corroborate() -> None:
    sources = {**SOURCES, "anon-c": SourceFacts(anonymous=True, affiliation_id=None)}
    stances = [
        stance(StanceKind.AFFIRMS, ANON_A),
        stance(StanceKind.AFFIRMS, ANON_B),
        stance(StanceKind.AFFIRMS, "anon-c", independent=True),
    ]
    verdict = derive_status(stances, sources)
    assert verdict.status is ClaimStatus.CORROBORATED
    assert verdict.affirming_groups == (ANON_A, "anon-c")
