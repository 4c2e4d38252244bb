"""IdempotencyRecord: the first answer to a keyed write, saved in the same
transaction as the write itself, so a retry finds either both or neither."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from service.domain.recording import LedgerEvent


class IdempotencyRecord(Aggregate):
    class Event(LedgerEvent):
        pass

    class Recorded(Event, Aggregate.Created):
        fingerprint: str
        aggregate_id: str
        version: int
        created_id: str | None

    @event(Recorded)
    def __init__(
        self,
        *,
        id: UUID,
        fingerprint: str,
        aggregate_id: str,
        version: int,
        created_id: str | None,
    ) -> None:
        self._id = id
        self.fingerprint = fingerprint
        self.aggregate_id = aggregate_id
        self.written_version = version
        self.created_id = created_id
