"""The derived status of a claim, from the stances in force. Pure: no I/O, no clock.

Rule version 1, in order:
- some affirming stance in force, and some disputing, denying or no-evidence
  stance in force: CONTESTED;
- affirming stances only, from two or more independent groups: CORROBORATED;
- affirming stances only, from one group: SINGLE_SOURCE;
- no affirming stance in force, but one was retracted: RETRACTED;
- no affirming stance, some disputing or denying: DISPUTED;
- no affirming stance, only reports of no evidence: UNSUBSTANTIATED;
- nothing but qualifications, or nothing at all: UNATTESTED.

Independence is judged by where each chain starts, not who published it. A named
origin stands for the top of its affiliation (a Pentagon spokesman speaks for the
US government). An anonymous origin cannot be told apart from others that reach us
through the same teller, so it counts as its first named hop (the outlet vouching
for it), unless the stance was recorded as independent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from service.domain.claim import StanceState
from service.domain.values import StanceKind

RULE_VERSION = 1

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


def independence_group(stance: StanceState, sources: Mapping[str, SourceFacts]) -> str:
    """The source id that stands for the voice behind a stance's chain."""
    anchor = stance.origin_id
    origin = sources.get(anchor)
    if origin is not None and origin.anonymous and not stance.independent:
        named = [s for s in stance.chain if not _is_anonymous(s, sources)]
        if named:
            anchor = named[0]
    return _affiliation_root(anchor, sources)


def _is_anonymous(source_id: str, sources: Mapping[str, SourceFacts]) -> bool:
    facts = sources.get(source_id)
    return facts is not None and facts.anonymous


def _affiliation_root(source_id: str, sources: Mapping[str, SourceFacts]) -> str:
    seen = {source_id}
    current = source_id
    while True:
        facts = sources.get(current)
        parent = facts.affiliation_id if facts else None
        if parent is None or parent in seen:
            return current
        seen.add(parent)
        current = parent


def derive_status(
    stances: Iterable[StanceState], sources: Mapping[str, SourceFacts]
) -> StatusVerdict:
    stances = list(stances)
    in_force = [s for s in stances if s.in_force]
    affirming = [s for s in in_force if s.kind is StanceKind.AFFIRMS]
    groups = tuple(sorted({independence_group(s, sources) for s in affirming}))
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
