"""The derived status of a claim, from the stances in force. Pure: no I/O, no clock.

Rule version 2, in order (version 1 counted unvouched anonymous chains as
separate voices, and let an affiliation cycle's answer depend on where the
walk started):
- some affirming stance in force, and some disputing, denying or no-evidence
  stance in force: CONTESTED;
- affirming stances only, from two or more independent groups: CORROBORATED;
- affirming stances only, from one group: SINGLE_SOURCE;
- no affirming stance in force, but one was retracted: RETRACTED;
- no affirming stance, some disputing or denying: DISPUTED;
- no affirming stance, only reports of no evidence: UNSUBSTANTIATED;
- nothing but qualifications, or nothing at all: UNATTESTED.

Independence is judged by where each chain starts, not who published it:
- a named origin stands for the top of its affiliation (a Pentagon spokesman
  speaks for the US government);
- an anonymous origin cannot be told apart from others that reach us through
  the same teller, so it counts as its first named hop (the outlet vouching for
  it), taken to the top of that hop's affiliation;
- an anonymous origin that no named source passes on speaks for the top of
  its own affiliation, if it has one ('US officials' for the US government);
- anonymous origins that nothing ties to anyone named (every hop anonymous,
  no affiliation) are one voice together: nothing shows they are not the same
  people, so two such chains never corroborate each other, and that voice is
  the same as any of its origins that counts on its own as independent;
- a stance recorded as ``independent`` counts as its origin alone, whoever
  passed it on (an editor's judgement, recorded with the stance).
An affiliation cycle (a log recorded before cycles were refused) has one top:
the smallest source id on the cycle, whichever member the walk starts from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from service.domain.claim import StanceState
from service.domain.values import StanceKind

RULE_VERSION = 2

OPPOSING = frozenset({StanceKind.DISPUTES, StanceKind.DENIES})


class ClaimStatus(StrEnum):
    UNATTESTED = "UNATTESTED"
    SINGLE_SOURCE = "SINGLE_SOURCE"
    CORROBORATED = "CORROBORATED"
    CONTESTED = "CONTESTED"
    DISPUTED = "DISPUTED"
    UNSUBSTANTIATED = "UNSUBSTANTIATED"
    RETRACTED = "RETRACTED"


@dataclass(frozen=True)
class SourceFacts:
    """What the status rule needs to know about a source."""

    anonymous: bool
    affiliation_id: str | None


@dataclass(frozen=True)
class StatusVerdict:
    status: ClaimStatus
    rule_version: int
    affirming_groups: tuple[str, ...]
    opposing: int
    no_evidence: int


UNVOUCHED = "anonymous:unvouched"


def independence_group(stance: StanceState, sources: Mapping[str, SourceFacts]) -> str:
    """The id that stands for the voice behind a stance's chain: a source id,
    or UNVOUCHED for anonymous chains that nothing ties to anyone named."""
    anchor = stance.origin_id
    if _is_anonymous(anchor, sources) and not stance.independent:
        named = [s for s in stance.chain if not _is_anonymous(s, sources)]
        if named:
            anchor = named[0]
        elif not _is_affiliated(anchor, sources):
            return UNVOUCHED
    return affiliation_root(anchor, sources)


def _is_affiliated(source_id: str, sources: Mapping[str, SourceFacts]) -> bool:
    facts = sources.get(source_id)
    return facts is not None and facts.affiliation_id is not None


def _is_anonymous(source_id: str, sources: Mapping[str, SourceFacts]) -> bool:
    facts = sources.get(source_id)
    return facts is not None and facts.anonymous


def affiliation_root(source_id: str, sources: Mapping[str, SourceFacts]) -> str:
    """The top of a source's affiliations; on a cycle, its smallest id."""
    path = [source_id]
    while True:
        facts = sources.get(path[-1])
        parent = facts.affiliation_id if facts else None
        if parent is None:
            return path[-1]
        if parent in path:
            return min(path[path.index(parent) :])
        path.append(parent)


def _voices(
    affirming: list[StanceState], sources: Mapping[str, SourceFacts]
) -> set[str]:
    """One source id per independent voice. The unvouched anonymous voice is
    one voice, shown as the smallest of its origins; when one of its origins
    is already a voice of its own (recorded as independent), it is that voice,
    whatever order the ids sort in."""
    voices: set[str] = set()
    unvouched: set[str] = set()
    for stance in affirming:
        group = independence_group(stance, sources)
        if group == UNVOUCHED:
            unvouched.add(stance.origin_id)
        else:
            voices.add(group)
    if unvouched and not unvouched & voices:
        voices.add(min(unvouched))
    return voices


def derive_status(
    stances: Iterable[StanceState], sources: Mapping[str, SourceFacts]
) -> StatusVerdict:
    stances = list(stances)
    in_force = [s for s in stances if s.in_force]
    affirming = [s for s in in_force if s.kind is StanceKind.AFFIRMS]
    groups = tuple(sorted(_voices(affirming, sources)))
    opposing = sum(1 for s in in_force if s.kind in OPPOSING)
    no_evidence = sum(1 for s in in_force if s.kind is StanceKind.NO_EVIDENCE)
    if affirming:
        if opposing or no_evidence:
            status = ClaimStatus.CONTESTED
        elif len(groups) >= 2:
            status = ClaimStatus.CORROBORATED
        else:
            status = ClaimStatus.SINGLE_SOURCE
    elif any(s.kind is StanceKind.AFFIRMS and not s.in_force for s in stances):
        status = ClaimStatus.RETRACTED
    elif opposing:
        status = ClaimStatus.DISPUTED
    elif no_evidence:
        status = ClaimStatus.UNSUBSTANTIATED
    else:
        status = ClaimStatus.UNATTESTED
    return StatusVerdict(status, RULE_VERSION, groups, opposing, no_evidence)
