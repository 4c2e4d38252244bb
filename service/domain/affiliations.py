"""Affiliations: the consistency boundary of the affiliation graph.

Whether a new affiliation closes a cycle depends on other sources, which a
write to one source does not lock. So every change of a source's affiliation
is also recorded here, in the same transaction: two concurrent changes then
race for this stream's next version, one of them fails with a version
conflict, and its retry sees the other's change. No race can close a cycle.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from service.domain.recording import LedgerEvent


class Affiliations(Aggregate):
    class Event(LedgerEvent):
        pass

    class Started(Event, Aggregate.Created):
        pass

    @event(Started)
    def __init__(self, *, id: UUID) -> None:
        self._id = id

    class Changed(Event):
        """A source's affiliation changed (its own stream says how and why)."""

        source_id: str
        affiliation_id: str | None

    def record_change(self, source_id: UUID, affiliation_id: UUID | None) -> None:
        self._record_change(
            source_id=str(source_id),
            affiliation_id=str(affiliation_id) if affiliation_id else None,
        )

    @event(Changed)
    def _record_change(self, source_id: str, affiliation_id: str | None) -> None:
        pass
