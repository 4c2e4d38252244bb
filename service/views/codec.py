"""A claim's or a source's whole state as bytes, for a view row: written as
the library writes a snapshot (its transcoder, and the store's compressor and
cipher when configured), so a row reads back as the aggregate itself."""

from __future__ import annotations

from dataclasses import replace
from typing import cast
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from service.domain.claim import Claim
from service.domain.source import Source
from service.domain.values import SourceKind

SNAPSHOT = get_topic(Snapshot)


class StateCodec:
    def __init__(self, mapper: Mapper[UUID]) -> None:
        self._mapper = mapper

    def encode(self, aggregate: Aggregate) -> bytes:
        """The same bytes for the same state, whenever it is written (the
        snapshot is stamped with the aggregate's own last recorded time), so
        a rebuilt view equals the view it replaces."""
        snapshot = replace(Snapshot.take(aggregate), timestamp=aggregate.modified_on)
        return self._mapper.to_stored_event(snapshot).state

    def _decode(self, aggregate_id: UUID, version: int, state: bytes) -> Aggregate:
        stored = StoredEvent(aggregate_id, version, SNAPSHOT, bytes(state))
        snapshot = cast(Snapshot, self._mapper.to_domain_event(stored))
        return cast(Aggregate, snapshot.mutate(None))

    def claim(self, claim_id: UUID, version: int, state: bytes) -> Claim:
        return cast(Claim, self._decode(claim_id, version, state))

    def source(self, source_id: UUID, version: int, state: bytes) -> Source:
        source = cast(Source, self._decode(source_id, version, state))
        source.kind = SourceKind(source.kind)  # written as its string
        return source
