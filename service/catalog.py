"""Catalog: an in-memory read model that follows the event log.

It is rebuilt from the log at start and brought up to the log's head before
each read, so it never holds anything the log cannot rebuild, and a client
reads its own writes. It serves lookups that cut across streams (lists,
filters, a source's statements, links pointing at a claim). Persistent,
position-tracked views replace it when the corpus outgrows memory.

Aggregates are replaced, never changed in place, so a reader holding one sees
a consistent state while the catalog moves on.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from typing import TypeVar, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from service.application import ClaimsLedger
from service.domain.claim import Claim, Link
from service.domain.source import Source

BATCH = 1000
A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class IncomingLink:
    from_claim_id: UUID
    link: Link


class Catalog:
    def __init__(self, ledger: ClaimsLedger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self.position = 0
        self._claims: dict[UUID, Claim] = {}
        self._sources: dict[UUID, Source] = {}
        # target claim id -> {link id: link pointing at it}; rebuilt per change
        self._incoming: dict[str, dict[str, IncomingLink]] = {}

    def catch_up(self) -> int:
        """Apply every event recorded since the last call; return the position
        the catalog now reflects. Blocking: call it from a worker thread."""
        with self._lock:
            while True:
                batch = self._ledger.recorder.select_notifications(
                    start=self.position + 1, limit=BATCH
                )
                if not batch:
                    return self.position
                for notification in batch:
                    event = self._ledger.mapper.to_domain_event(notification)
                    if isinstance(event, Claim.Event):
                        before = self._claims.get(event.originator_id)
                        self._apply(self._claims, event)
                        self._index_links(before, self._claims[event.originator_id])
                    elif isinstance(event, Source.Event):
                        self._apply(self._sources, event)
                    self.position = notification.id

    @staticmethod
    def _apply(index: dict[UUID, A], event: Aggregate.Event) -> None:
        current = index.get(event.originator_id)
        fresh = copy.deepcopy(current) if current is not None else None
        index[event.originator_id] = cast(A, event.mutate(fresh))

    def _index_links(self, before: Claim | None, after: Claim) -> None:
        for link in before.active_links() if before else []:
            self._incoming.get(link.target_id, {}).pop(link.link_id, None)
        for link in after.active_links():
            entry = IncomingLink(after.id, link)
            self._incoming.setdefault(link.target_id, {})[link.link_id] = entry

    def claim(self, claim_id: UUID) -> Claim | None:
        return self._claims.get(claim_id)

    def claims(self) -> list[Claim]:
        """Every claim, oldest first (the order they were proposed in)."""
        return list(self._claims.values())

    def source(self, source_id: UUID) -> Source | None:
        return self._sources.get(source_id)

    def sources(self) -> list[Source]:
        return list(self._sources.values())

    def incoming_links(self, claim_id: UUID) -> list[IncomingLink]:
        return list(self._incoming.get(str(claim_id), {}).values())
