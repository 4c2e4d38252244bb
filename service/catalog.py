"""Catalog: an in-memory read model that follows the event log.

It is rebuilt from the log at start and then brought up by the follower of
the log (service.feed.hub) as the log grows, so it never holds anything the
log cannot rebuild; readers read it where it is, and a write waits until it
holds the write (service.api.context.Context.reads_reach), so a client reads
its own writes. It serves lookups that cut across streams (lists,
filters, a source's statements, links pointing at a claim), now and at a
recorded time: it keeps every state of every source and when each link was
recorded and withdrawn, so a reading at a past basis needs no replay of
sources or of the claims that link to it. Persistent, position-tracked views
replace it when the corpus outgrows memory.

Aggregates are replaced, never changed in place, so a reader holding one sees
a consistent state while the catalog moves on: the claims a batch of events
changes are copied once, changed, and published together.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar, cast
from uuid import UUID

from eventsourcing.domain import Aggregate

from service.application import ClaimsLedger
from service.domain.claim import Claim, Link
from service.domain.source import Source

BATCH = 1000
A = TypeVar("A", bound=Aggregate)


@dataclass(frozen=True)
class Shape:
    """How big the catalog's lists are now, for pricing a query before it
    runs: counts, not contents. Each ``most_*`` is the largest such list any
    claim or source has ever had (a list never shrinks in the count: retracted
    stances, withdrawn links and old chains still count), so a price built
    from them holds for every claim, the hub source included."""

    claims: int = 0
    sources: int = 0
    longest_stream: int = 0  # events of the longest claim stream
    most_stances: int = 0  # stances of one claim
    most_hops: int = 0  # sources in one chain
    most_links: int = 0  # links from one claim
    most_linked_from: int = 0  # links to one claim
    most_citing: int = 0  # claims citing one source
    most_statements: int = 0  # stances whose chains name one source


@dataclass(frozen=True)
class IncomingLink:
    """A link pointing at a claim, with when it was recorded and withdrawn."""

    from_claim_id: UUID
    link: Link
    linked_at: datetime
    withdrawn_at: datetime | None = None

    def in_force_at(self, at: datetime | None) -> bool:
        """Recorded by ``at`` and not withdrawn by then (None: now)."""
        if at is None:
            return self.withdrawn_at is None
        withdrawn = self.withdrawn_at is not None and self.withdrawn_at <= at
        return self.linked_at <= at and not withdrawn


class Catalog:
    def __init__(self, ledger: ClaimsLedger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self.position = 0
        self._claims: dict[UUID, Claim] = {}
        self._sources: dict[UUID, Source] = {}
        # every state of each source, oldest first, with its event's recorded time
        self._source_states: dict[UUID, list[tuple[datetime, Source]]] = {}
        # target claim id -> {link id: every link ever recorded to it}
        self._incoming: dict[str, dict[str, IncomingLink]] = {}
        # source id -> ids of the claims whose chains ever named it (in order)
        self._citing: dict[str, dict[UUID, None]] = {}
        # source id -> how many stances' chains named it, as recorded or amended
        self._statements: dict[str, int] = {}
        self._most = Shape()

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
                # Claims changed by this batch: each copied once, changed by
                # all its events here, and published together at the end, so
                # a long stream costs one copy per batch, not one per event,
                # and a reader never sees a claim half-way through a batch.
                fresh: dict[UUID, Claim] = {}
                for notification in batch:
                    event = self._ledger.mapper.to_domain_event(notification)
                    if isinstance(event, Claim.Event):
                        self._index_claim_event(event, self._apply_claim(fresh, event))
                    elif isinstance(event, Source.Event):
                        source = self._apply(self._sources, event)
                        states = self._source_states.setdefault(source.id, [])
                        states.append((event.timestamp, source))
                self._claims.update(fresh)
                self.position = batch[-1].id

    def _apply_claim(self, fresh: dict[UUID, Claim], event: Claim.Event) -> Claim:
        """The claim after ``event``, changed in this batch's own copy."""
        claim = fresh.get(event.originator_id)
        if claim is None:
            published = self._claims.get(event.originator_id)
            claim = copy.deepcopy(published) if published is not None else None
        changed = cast(Claim, event.mutate(claim))
        fresh[event.originator_id] = changed
        return changed

    @staticmethod
    def _apply(index: dict[UUID, A], event: Aggregate.Event) -> A:
        current = index.get(event.originator_id)
        fresh = copy.deepcopy(current) if current is not None else None
        index[event.originator_id] = cast(A, event.mutate(fresh))
        return index[event.originator_id]

    def _index_claim_event(self, event: Claim.Event, claim: Claim) -> None:
        """Links by the time they were recorded and withdrawn, who cites whom,
        and the largest lists: from the event alone, so following a long
        stream stays cheap."""
        self._grow(longest_stream=claim.version)
        if isinstance(event, Claim.Linked):
            link = copy.copy(claim.links[event.link_id])
            entry = IncomingLink(claim.id, link, linked_at=event.timestamp)
            incoming = self._incoming.setdefault(event.target_id, {})
            incoming[event.link_id] = entry
            self._grow(most_links=len(claim.links), most_linked_from=len(incoming))
        elif isinstance(event, Claim.LinkWithdrawn):
            target = self._incoming.get(claim.links[event.link_id].target_id, {})
            if event.link_id in target:
                entry = target[event.link_id]
                target[event.link_id] = replace(entry, withdrawn_at=event.timestamp)
        elif isinstance(event, Claim.StanceRecorded):
            self._grow(most_stances=len(claim.stances), most_hops=len(event.chain))
            self._cite(claim.id, event.chain)
        elif isinstance(event, Claim.StanceAmended) and "chain" in event.changes:
            chain = [str(s) for s in event.changes["chain"]]
            self._grow(most_hops=len(chain))
            self._cite(claim.id, chain)

    def _cite(self, claim_id: UUID, chain: list[str]) -> None:
        for source_id in dict.fromkeys(chain):
            cited = self._citing.setdefault(source_id, {})
            cited[claim_id] = None
            statements = self._statements.get(source_id, 0) + 1
            self._statements[source_id] = statements
            self._grow(most_citing=len(cited), most_statements=statements)

    def _grow(self, **sizes: int) -> None:
        """Raise the largest sizes seen to at least these."""
        current = self._most
        grown = {k: v for k, v in sizes.items() if v > getattr(current, k)}
        if grown:
            self._most = replace(current, **grown)

    def shape(self) -> Shape:
        """The catalog's sizes as of its last catch-up: no store call, so a
        query can be priced (and refused) without one."""
        return replace(self._most, claims=len(self._claims), sources=len(self._sources))

    def version_of(self, claim_id: UUID) -> int | None:
        """A claim's version (its stream's length) as of the last catch-up."""
        found = self._claims.get(claim_id)
        return found.version if found is not None else None

    def claim(self, claim_id: UUID) -> Claim | None:
        return self._claims.get(claim_id)

    def claims(self) -> list[Claim]:
        """Every claim, oldest first (the order they were proposed in)."""
        return list(self._claims.values())

    def source(self, source_id: UUID) -> Source | None:
        return self._sources.get(source_id)

    def sources(self) -> list[Source]:
        return list(self._sources.values())

    def sources_at(self, at: datetime) -> dict[str, Source]:
        """Every source as the ledger held it at a recorded time, by id.

        A stance can only cite sources registered before it, so a chain read at
        ``at`` finds its sources here; should clocks disagree (one source
        registered by a server whose clock runs ahead), a source not yet
        registered at ``at`` stands in with its first state rather than none."""
        found = {}
        # list() copies in one step, so a catch-up in another thread cannot
        # change the dict under the loop
        for source_id, states in list(self._source_states.items()):
            chosen = states[0][1]
            for recorded_at, state in states:
                if recorded_at > at:
                    break
                chosen = state
            found[str(source_id)] = chosen
        return found

    def incoming_links(
        self, claim_id: UUID, at: datetime | None = None
    ) -> list[IncomingLink]:
        """Links from other claims in force now, or at a recorded time."""
        links = list(self._incoming.get(str(claim_id), {}).values())
        return [link for link in links if link.in_force_at(at)]

    def sources_under(self, source_id: UUID) -> set[str]:
        """The source and every source affiliated to it, directly or through
        others, as affiliations stand now: whose status rests on it."""
        children: dict[str, list[str]] = {}
        for source in list(self._sources.values()):
            if source.affiliation_id:
                children.setdefault(str(source.affiliation_id), []).append(
                    str(source.id)
                )
        found = {str(source_id)}
        frontier = [str(source_id)]
        while frontier:
            for child in children.get(frontier.pop(), ()):
                if child not in found:
                    found.add(child)
                    frontier.append(child)
        return found

    def citing(self, source_id: UUID) -> list[UUID]:
        """Claims whose stance chains name the source or once did, in the
        order they were first cited."""
        return list(self._citing.get(str(source_id), {}))
