"""Log entries: a ledger event with its global position, as integrators see it.

Only claim and source events are ledger events. The log also holds internal
streams written in the same transactions (idempotency records, the
affiliation guard); they are filtered out by topic in SQL, so no reader of
the feed ever receives them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification
from eventsourcing.utils import get_topic

from service.domain.claim import Claim
from service.domain.errors import InvalidInputError
from service.domain.source import Source
from service.export import event_classes, event_type_name

StreamKind = Literal["claim", "source"]

LEDGER_EVENT_TYPES: dict[str, str] = {
    event_type_name(cls): get_topic(cls) for cls in event_classes((Claim, Source))
}
"""Every ledger event type (``Claim.Proposed``…) and its stored topic."""


@dataclass(frozen=True)
class LogEntry:
    """One ledger event at its position. ``shared`` lets the API keep what it
    computed from this entry once for every subscriber that receives it."""

    position: int
    type: str
    stream_id: UUID
    stream_kind: StreamKind
    version: int
    actor: str
    recorded_at: datetime
    reason: str | None
    data: dict[str, Any]
    shared: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def event_id(self) -> str:
        """Unique and stable: one stream, one version, one event."""
        return f"{self.stream_id}/{self.version}"


def event_data(event: object) -> dict[str, Any]:
    """An event's fields as JSON values, as schema/events/ describes them."""
    data: dict[str, Any] = json.loads(
        json.dumps(
            vars(event),
            default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v),
        )
    )
    return data


def entry_from(notification: Notification, mapper: Mapper[UUID]) -> LogEntry | None:
    """The entry for a stored notification, or None for an internal stream."""
    event = mapper.to_domain_event(notification)
    if isinstance(event, Claim.Event):
        kind: StreamKind = "claim"
    elif isinstance(event, Source.Event):
        kind = "source"
    else:
        return None
    reason = getattr(event, "reason", None)
    return LogEntry(
        position=notification.id,
        type=event_type_name(type(event)),
        stream_id=event.originator_id,
        stream_kind=kind,
        version=event.originator_version,
        actor=event.actor,
        recorded_at=event.timestamp,
        reason=reason if isinstance(reason, str) else None,
        data=event_data(event),
    )


@dataclass(frozen=True)
class EntryFilter:
    """Which entries a reader wants; None means any. Streams and types are
    applied in SQL, actors after decoding."""

    streams: frozenset[UUID] | None = None
    types: frozenset[str] | None = None
    actors: frozenset[str] | None = None

    @classmethod
    def of(
        cls,
        *,
        streams: Collection[UUID] | None = None,
        types: Collection[str] | None = None,
        actors: Collection[str] | None = None,
    ) -> EntryFilter:
        unknown = set(types or ()) - LEDGER_EVENT_TYPES.keys()
        if unknown:
            raise InvalidInputError("unknown event types", types=sorted(unknown))
        return cls(
            frozenset(streams) if streams is not None else None,
            frozenset(types) if types is not None else None,
            frozenset(actors) if actors is not None else None,
        )

    @property
    def topics(self) -> list[str]:
        names = self.types if self.types is not None else LEDGER_EVENT_TYPES
        return sorted(LEDGER_EVENT_TYPES[name] for name in names)

    def matches(self, entry: LogEntry) -> bool:
        return (
            (self.streams is None or entry.stream_id in self.streams)
            and (self.types is None or entry.type in self.types)
            and (self.actors is None or entry.actor in self.actors)
        )

    def select(self, entries: Iterable[LogEntry]) -> list[LogEntry]:
        return [e for e in entries if self.matches(e)]


EVERYTHING = EntryFilter()
