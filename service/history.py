"""A claim's history: each event with what it changed, as a flat picture of
the state before and after it (paths such as ``stances.<id>.quote``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.domain.claim import Claim
from service.domain.recording import LedgerEvent

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


def entry(
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
