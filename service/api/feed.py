"""The change feed in GraphQL: the ``events`` query over the log, and the
``events`` and ``claimChanged`` subscriptions. Resolvers translate arguments
to an ``EntryFilter`` and hand over to service.feed; no rule lives here."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Any, cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from service.api.connections import Position
from service.api.context import Info
from service.api.fanout import current_outlet
from service.api.ids import expect_id, global_id
from service.api.types import ClaimNode
from service.domain.errors import ClaimNotFoundError, InvalidInputError
from service.domain.limits import MAX_FILTER_ITEMS
from service.feed.cloud import cloud_event_dict
from service.feed.entries import EVERYTHING, EntryFilter, LogEntry
from service.readings import Basis, replay_units


@strawberry.enum(description="What kind of stream an event belongs to.")
class StreamKind(Enum):
    CLAIM = "claim"
    SOURCE = "source"


@strawberry.type(
    name="LedgerEvent",
    description="One event of the log at its global position.",
)
class EventNode:
    position: Position
    event_id: str = strawberry.field(
        description="Unique and stable across deliveries: the CloudEvents id."
    )
    type: str = strawberry.field(
        description="As named in schema/events/, e.g. Claim.StanceRecorded."
    )
    stream_kind: StreamKind
    stream_id: strawberry.ID = strawberry.field(
        description="The global id of the claim or source the event belongs to."
    )
    version: int = strawberry.field(description="The stream's version after it.")
    actor: str
    recorded_at: datetime
    reason: str | None
    data: JSON = strawberry.field(
        description="The event's fields, as its JSON Schema in schema/events/ says."
    )
    entry: strawberry.Private[LogEntry]

    @strawberry.field(
        description="The event as a CloudEvents 1.0 structured JSON document."
    )
    def cloud_event(self) -> JSON:
        """Made when asked for, once per entry."""
        found = self.entry.shared.get("cloud_event")
        if found is None:
            found = self.entry.shared["cloud_event"] = cloud_event_dict(self.entry)
        return cast(JSON, found)

    @property
    def shared(self) -> dict[Any, Any]:
        """The entry's: a subscription's event is this node, its root value,
        and service.api.sharing keeps each document's result here."""
        return self.entry.shared


def event_node(entry: LogEntry) -> EventNode:
    """One node per entry, made once and shared by every subscriber to it."""
    node = entry.shared.get(EventNode)
    if node is None:
        kind = StreamKind(entry.stream_kind)
        node = EventNode(
            position=Position(entry.position),
            event_id=entry.event_id,
            type=entry.type,
            stream_kind=kind,
            stream_id=strawberry.ID(
                global_id(
                    "Claim" if kind is StreamKind.CLAIM else "Source", entry.stream_id
                )
            ),
            version=entry.version,
            actor=entry.actor,
            recorded_at=entry.recorded_at,
            reason=entry.reason,
            data=cast(JSON, entry.data),
            entry=entry,
        )
        entry.shared[EventNode] = node
    return cast(EventNode, node)


@strawberry.input(description="Which events to receive; every given list must match.")
class EventFilter:
    claim_ids: list[strawberry.ID] | None = None
    source_ids: list[strawberry.ID] | None = None
    types: list[str] | None = strawberry.field(
        default=None, description="Event types, e.g. Claim.Proposed."
    )
    actors: list[str] | None = None

    def to_filter(self) -> EntryFilter:
        for name, given in (
            ("claimIds", self.claim_ids),
            ("sourceIds", self.source_ids),
            ("types", self.types),
            ("actors", self.actors),
        ):
            if given is not None and len(given) > MAX_FILTER_ITEMS:
                raise InvalidInputError(
                    f"at most {MAX_FILTER_ITEMS} items", field=f"filter.{name}"
                )
        streams: set[UUID] | None = None
        if self.claim_ids is not None or self.source_ids is not None:
            streams = {expect_id(i, "Claim") for i in self.claim_ids or ()}
            streams |= {expect_id(i, "Source") for i in self.source_ids or ()}
        return EntryFilter.of(streams=streams, types=self.types, actors=self.actors)


def _where(event_filter: EventFilter | None) -> EntryFilter:
    return event_filter.to_filter() if event_filter is not None else EVERYTHING


LAST_POSITION = 2**63 - 1  # the stores' positions are signed 64-bit


def _start(after: Position | None) -> int | None:
    if after is not None and not 0 <= after <= LAST_POSITION:
        raise InvalidInputError(
            f"after is a position, 0 to {LAST_POSITION}", field="after"
        )
    return after


@strawberry.type
class EventEdge:
    cursor: str
    node: EventNode


@strawberry.type(description="A page of the log.")
class EventPageInfo:
    has_next_page: bool
    end_cursor: str = strawberry.field(
        description="Where the next page starts: the last position this page "
        "examined, which with a filter can lie past its last event."
    )
    end_position: Position


@strawberry.type
class EventConnection:
    edges: list[EventEdge]
    page_info: EventPageInfo


async def events_page(
    info: Info,
    after: Position | None,
    first: int,
    event_filter: EventFilter | None,
) -> EventConnection:
    limit = info.context.services.settings.max_page_size
    if not 0 <= first <= limit:
        raise InvalidInputError(f"first must be between 0 and {limit}", field="first")
    where = _where(event_filter)
    log = info.context.services.log
    page = await info.context.read(
        log.page, _start(after) or 0, first, where, units=replay_units(first)
    )
    nodes = [event_node(e) for e in page.entries]
    return EventConnection(
        edges=[EventEdge(cursor=str(n.position), node=n) for n in nodes],
        page_info=EventPageInfo(
            has_next_page=not page.at_head,
            end_cursor=str(page.end),
            end_position=Position(page.end),
        ),
    )


@strawberry.type(description="A claim's reading after an event that changed it.")
class ClaimChange:
    position: Position
    event: EventNode
    claim: ClaimNode


def follow_events(
    info: Info, after: Position | None, event_filter: EventFilter | None
) -> AsyncGenerator[EventNode, None]:
    """Checks its arguments now, so that a bad one is the subscription's
    error before it starts rather than its first (and last) event."""
    info.context.raise_if_refused()
    return _events(info, _start(after), _where(event_filter))


async def _events(
    info: Info, after: int | None, where: EntryFilter
) -> AsyncGenerator[EventNode, None]:
    hub = info.context.services.hub
    outlet = current_outlet()
    live = outlet.direct_feed(info.context, where, event_node) if outlet else None
    if live is not None:
        # Over WebSocket, the subscription writes its frames itself, rendered
        # once per event and document (service.api.fanout).
        await live.follow(hub, after)
        return
    async for entry in hub.follow(after, where):
        yield event_node(entry)


async def follow_claim(
    info: Info, claim_id: UUID, after: Position | None
) -> AsyncGenerator[ClaimChange, None]:
    """The claim's own events, and those of the sources its stances cite or
    that those speak for (an amended source can change its status), each
    with the claim's reading as of that event."""
    info.context.raise_if_refused()
    start = _start(after)
    views = info.context.services.views
    # up to the log's head: the claim may have been written through another
    # instance a moment ago
    await info.context.read(views.catch_up)
    if not await asyncio.to_thread(views.proposed, [str(claim_id)]):
        raise ClaimNotFoundError("no such id", id=str(claim_id))
    return _claim_changes(info, claim_id, start)


async def _claim_changes(
    info: Info, claim_id: UUID, after: int | None
) -> AsyncGenerator[ClaimChange, None]:
    services = info.context.services
    async for entry in services.hub.follow(after):
        # the reading, and whom the claim cites, as of at least this event
        await info.context.reads_reach(entry.position)
        # a source's event concerns the claim when the claim cites it, or a
        # source affiliated to it (its status rests on who speaks for whom)
        under: set[str] = set()
        if entry.stream_kind == "source":  # worked out once for all followers
            under = entry.shared.get("sources under") or set()
            if not under:
                under = services.views.sources_under(entry.stream_id)
                entry.shared["sources under"] = under
        cited = bool(under) and await asyncio.to_thread(
            services.views.cites, claim_id, under
        )
        if entry.stream_id != claim_id and not cited:
            continue
        basis = (
            Basis(version=entry.version)
            if entry.stream_id == claim_id
            else Basis(position=entry.position)
        )
        info.context.budget.renew()
        # One reading per claim and event, whatever the number of followers
        # (a front page may have thousands); readings never change once made.
        shared_as = ("claim reading", claim_id)
        reading = entry.shared.get(shared_as)
        if reading is None:
            reading = await info.context.read(
                services.reader.claim, claim_id, basis, charge=info.context.charge
            )
            entry.shared[shared_as] = reading
        if reading is None:
            continue
        if cited and not any(under & set(stance.chain) for stance in reading.stances):
            continue  # the views know of a citation the claim made only later
        yield ClaimChange(
            position=Position(entry.position),
            event=event_node(entry),
            claim=ClaimNode(reading=reading),
        )
