"""Read use cases: a claim at any basis, its history and diffs, lists, and what a
source said. Synchronous (they touch the store): call from a worker thread."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from service.application import ClaimsLedger
from service.catalog import Catalog, IncomingLink
from service.domain.claim import Claim, ReportedBasis, StanceState
from service.domain.errors import ClaimNotFoundError, InvalidInputError
from service.domain.recording import LedgerEvent
from service.domain.source import Source
from service.domain.status import ClaimStatus, SourceFacts, StatusVerdict, derive_status
from service.domain.values import ChainRole

ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "idempotency_key",
    }
)


@dataclass(frozen=True)
class Basis:
    """Which state of the ledger a reading shows: a version of the claim or a
    recorded time (what the ledger held then), and a point of reported time
    (what had been said publicly by then). Empty means now, everything."""

    version: int | None = None
    recorded_at: datetime | None = None
    reported: ReportedBasis | None = None


@dataclass(frozen=True)
class ClaimReading:
    claim: Claim
    stances: list[StanceState]
    verdict: StatusVerdict
    basis: Basis
    position: int
    sources: Mapping[str, Source]
    incoming: list[IncomingLink] = field(default_factory=list)


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class HistoryEntry:
    position: int | None
    version: int
    event_type: str
    recorded_at: datetime
    actor: str
    idempotency_key: str | None
    reason: str | None
    reported: dict[str, Any] | None
    payload: dict[str, Any]
    changes: list[Change]


@dataclass(frozen=True)
class ClaimFilter:
    status: ClaimStatus | None = None
    source_id: UUID | None = None
    entity: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[tuple[str, ClaimReading]]
    total: int
    end_cursor: str | None
    has_next: bool
    position: int


@dataclass(frozen=True)
class Statement:
    """A stance as seen from one source in its chain."""

    claim: Claim
    stance: StanceState
    role: ChainRole


def encode_cursor(index: int) -> str:
    return base64.urlsafe_b64encode(f"claims:{index}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix != "claims":
            raise ValueError(prefix)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInputError("malformed cursor", field="after") from None


class Reader:
    def __init__(self, ledger: ClaimsLedger, catalog: Catalog) -> None:
        self.ledger = ledger
        self.catalog = catalog

    def claim(self, claim_id: UUID, basis: Basis = Basis()) -> ClaimReading | None:
        """The claim at a basis, or None when it did not exist at that basis."""
        position = self.catalog.catch_up()
        current = self.catalog.claim(claim_id)
        if current is None:
            raise ClaimNotFoundError("no such claim", id=str(claim_id))
        if basis.version is not None:
            _check_version(basis.version, current.version)
        if basis.recorded_at is None and basis.version in (None, current.version):
            # The latest version needs no replay: a write's payload reads this.
            claim = current
            sources = self._current_sources()
        else:
            found = self.ledger.claim_as_recorded(
                claim_id, version=basis.version, at=basis.recorded_at
            )
            if found is None:
                return None
            claim = found
            sources = (
                self._sources_at(basis.recorded_at)
                if basis.recorded_at is not None
                else self._current_sources()
            )
        return self._reading(claim, basis, position, sources)

    def _reading(
        self, claim: Claim, basis: Basis, position: int, sources: Mapping[str, Source]
    ) -> ClaimReading:
        stances = claim.stances_at(basis.reported)
        verdict = derive_status(stances, _facts(sources))
        incoming = self.catalog.incoming_links(claim.id)
        return ClaimReading(claim, stances, verdict, basis, position, sources, incoming)

    def _current_sources(self) -> dict[str, Source]:
        return {str(s.id): s for s in self.catalog.sources()}

    def _sources_at(self, at: datetime) -> dict[str, Source]:
        found = {}
        for current in self.catalog.sources():
            source = self.ledger.source_as_recorded(current.id, at)
            if source is not None:
                found[str(source.id)] = source
        return found

    def list_claims(
        self,
        claim_filter: ClaimFilter,
        *,
        first: int,
        after: str | None,
        reported: ReportedBasis | None = None,
    ) -> Page:
        """Claims in the order they were proposed; the cursor is that order, so
        pages stay stable while new claims are appended."""
        position = self.catalog.catch_up()
        sources = self._current_sources()
        start = decode_cursor(after) + 1 if after else 0
        basis = Basis(reported=reported)
        matches: list[tuple[int, ClaimReading]] = []
        for index, claim in enumerate(self.catalog.claims()):
            reading = self._reading(claim, basis, position, sources)
            if _matches(reading, claim_filter):
                matches.append((index, reading))
        page = [m for m in matches if m[0] >= start]
        chosen = page[:first]
        end_cursor = encode_cursor(chosen[-1][0]) if chosen else after
        items = [(encode_cursor(i), r) for i, r in chosen]
        return Page(items, len(matches), end_cursor, len(page) > first, position)

    def sources(self) -> list[Source]:
        self.catalog.catch_up()
        return self.catalog.sources()

    def source(self, source_id: UUID) -> Source | None:
        self.catalog.catch_up()
        return self.catalog.source(source_id)

    def statements_of(self, source_id: UUID) -> list[Statement]:
        """Everything a source said or passed on, in any position of a chain."""
        self.catalog.catch_up()
        wanted = str(source_id)
        found = []
        for claim in self.catalog.claims():
            for stance in claim.stances_at():
                if wanted in stance.chain:
                    role = ChainRole.at(stance.chain.index(wanted), len(stance.chain))
                    found.append(Statement(claim, stance, role))
        return found

    def history(self, claim_id: UUID) -> list[HistoryEntry]:
        """Every event of a claim with what it changed, oldest first."""
        entries = []
        state: Claim | None = None
        before: dict[str, Any] = {}
        for recorded in self.ledger.stream(claim_id):
            event = recorded.event
            state = event.mutate(state)
            assert state is not None  # noqa: S101 - a stream starts with its creation
            after = summarise(state)
            entries.append(_entry(recorded.position, event, diff(before, after)))
            before = after
        if not entries:
            raise ClaimNotFoundError("no such claim", id=str(claim_id))
        return entries

    def diff(self, claim_id: UUID, from_version: int, to_version: int) -> list[Change]:
        self.catalog.catch_up()
        current = self.catalog.claim(claim_id)
        if current is None:
            raise ClaimNotFoundError("no such claim", id=str(claim_id))
        _check_version(to_version, current.version)
        if not 0 <= from_version <= to_version:
            raise InvalidInputError(
                "fromVersion must be 0..toVersion", field="fromVersion"
            )
        older = (
            self.ledger.claim_as_recorded(claim_id, version=from_version)
            if from_version
            else None
        )
        newer = self.ledger.claim_as_recorded(claim_id, version=to_version)
        if newer is None:
            raise ClaimNotFoundError("no such claim", id=str(claim_id))
        return diff(summarise(older) if older else {}, summarise(newer))


def _check_version(version: int, latest: int) -> None:
    if not 1 <= version <= latest:
        raise InvalidInputError(
            f"the claim has versions 1 to {latest}", field="version", latest=latest
        )


def _facts(sources: Mapping[str, Source]) -> dict[str, SourceFacts]:
    return {
        sid: SourceFacts(anonymous=s.anonymous, affiliation_id=s.affiliation_id)
        for sid, s in sources.items()
    }


def _matches(reading: ClaimReading, f: ClaimFilter) -> bool:
    claim = reading.claim
    if f.status is not None and reading.verdict.status is not f.status:
        return False
    if f.source_id is not None and not any(
        str(f.source_id) in s.chain for s in reading.stances
    ):
        return False
    if f.entity is not None and f.entity.casefold() not in {
        e.casefold() for e in claim.about
    }:
        return False
    if f.text is not None:
        needle = f.text.casefold()
        haystack = [claim.text, *(s.quote or "" for s in reading.stances)]
        haystack += [
            name
            for s in reading.stances
            for sid in s.chain
            if (src := reading.sources.get(sid)) is not None
            for name in (src.name, src.descriptor or "")
        ]
        if not any(needle in h.casefold() for h in haystack):
            return False
    return True


def summarise(claim: Claim) -> dict[str, Any]:
    """A flat, JSON-ready picture of a claim's state, for diffs."""
    flat: dict[str, Any] = {
        "text": claim.text,
        "about": list(claim.about),
        "occurred": claim.occurred.to_dict(),
    }
    for record in claim.stances.values():
        latest = record.revisions[-1]
        prefix = f"stances.{record.stance_id}"
        flat[f"{prefix}.chain"] = list(record.chain)
        flat[f"{prefix}.independent"] = record.independent
        flat[f"{prefix}.kind"] = latest.kind.value
        flat[f"{prefix}.quote"] = latest.quote
        flat[f"{prefix}.document"] = (
            latest.document.to_dict() if latest.document else None
        )
        flat[f"{prefix}.note"] = latest.note
        flat[f"{prefix}.reported"] = record.revisions[0].reported.to_dict()
        if len(record.revisions) > 1:
            flat[f"{prefix}.revised"] = latest.reported.to_dict()
        if record.retraction is not None:
            flat[f"{prefix}.retracted"] = {
                "reason": record.retraction.reason,
                "reported": record.retraction.reported.to_dict(),
            }
    for link in claim.links.values():
        prefix = f"links.{link.link_id}"
        flat[f"{prefix}.target"] = link.target_id
        flat[f"{prefix}.kind"] = link.kind.value
        flat[f"{prefix}.note"] = link.note
        if link.withdrawn is not None:
            flat[f"{prefix}.withdrawn"] = link.withdrawn
    return flat


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Change]:
    paths = list(dict.fromkeys([*before, *after]))
    return [
        Change(path, before.get(path), after.get(path))
        for path in paths
        if before.get(path) != after.get(path)
    ]


def _entry(
    position: int | None, event: LedgerEvent, changes: list[Change]
) -> HistoryEntry:
    payload = {k: v for k, v in vars(event).items() if k not in ENVELOPE}
    return HistoryEntry(
        position=position,
        version=event.originator_version,
        event_type=type(event).__qualname__,
        recorded_at=event.timestamp,
        actor=event.actor,
        idempotency_key=event.idempotency_key,
        reason=payload.get("reason"),
        reported=payload.get("reported"),
        payload=payload,
        changes=changes,
    )
