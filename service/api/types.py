"""GraphQL output types, built from readings. No rules here: every value is
read from a ClaimReading, a Source or a history entry.

A reading has a basis, and everything reached from it carries that basis on:
its stances' sources and their affiliations, the claims at both ends of its
links, a source's statements, a claim's history and diffs (up to the reading's
version), and asOf (which cannot see past it). One reading, one basis."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import cast
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from service.api.connections import Connection, PageInfo, Position, requested
from service.api.context import Info
from service.api.ids import expect_id, global_id
from service.claim_lists import link_page, linked_from_page, stance_page
from service.domain.claim import Link, ReportedBasis, StanceState
from service.domain.errors import InvalidInputError
from service.domain.source import Source as SourceAggregate
from service.domain.status import ClaimStatus
from service.domain.values import (
    ChainRole,
    LinkKind,
    Precision,
    SourceKind,
    StanceKind,
)
from service.domain.values import Document as DomainDocument
from service.domain.values import Period as DomainPeriod
from service.history import Change, HistoryEntry
from service.readings import Basis, ClaimReading
from service.views.cut import Cut
from service.views.reads import ClaimOrder

# The domain's enums (and the views' orders) are the GraphQL enums,
# registered once, by their own names.
for _enum in (
    StanceKind,
    LinkKind,
    SourceKind,
    Precision,
    ClaimStatus,
    ChainRole,
    ClaimOrder,
):
    strawberry.enum(_enum)


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    @strawberry.field
    def id(self) -> strawberry.ID:
        raise NotImplementedError


@strawberry.type(description="A span of days known to contain a moment.")
class Period:
    start: date | None
    end: date | None
    precision: Precision

    @classmethod
    def of(cls, period: DomainPeriod) -> Period:
        return cls(start=period.start, end=period.end, precision=period.precision)


@strawberry.type
class Document:
    title: str | None
    url: str | None
    publisher: str | None
    published: date | None

    @classmethod
    def of(cls, doc: DomainDocument | None) -> Document | None:
        if doc is None:
            return None
        return cls(
            title=doc.title,
            url=doc.url,
            publisher=doc.publisher,
            published=doc.published,
        )


@strawberry.type(name="Source")
class SourceNode(Node):
    source: strawberry.Private[SourceAggregate]
    known: strawberry.Private[Mapping[str, SourceAggregate]]
    # the basis of the reading this source was reached from (empty: now)
    basis: strawberry.Private[Basis] = Basis()

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Source", self.source.id))

    @strawberry.field
    def source_id(self) -> str:
        return str(self.source.id)

    @strawberry.field
    def key(self) -> str | None:
        return self.source.key

    @strawberry.field
    def name(self) -> str:
        return self.source.name

    @strawberry.field
    def kind(self) -> SourceKind:
        return self.source.kind

    @strawberry.field
    def anonymous(self) -> bool:
        return self.source.anonymous

    @strawberry.field
    def descriptor(self) -> str | None:
        return self.source.descriptor

    @strawberry.field(description="The source's version at the basis it is read at.")
    def version(self) -> int:
        return self.source.version

    @strawberry.field(description="Whom it speaks for, at the same basis.")
    def affiliation(self) -> SourceNode | None:
        parent_id = self.source.affiliation_id
        parent = self.known.get(parent_id) if parent_id else None
        return self.at_basis(parent) if parent else None

    @strawberry.field(
        description="Every stance this source took or passed on, in any place "
        "of its chain, at the basis of the reading it was reached from (its "
        "claims read at that basis too): in the order the claims were "
        "proposed, then the order the stances were recorded in. The first "
        "items after a cursor, or the last before one (20 first when neither "
        "is given)."
    )
    async def statements(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> StatementConnection:
        page = await info.context.read(
            info.context.services.reader.statements,
            self.source.id,
            self.basis,
            page=requested(info, first, after, last, before),
            charge=info.context.charge,
        )
        return StatementConnection(
            edges=[
                StatementEdge(
                    cursor=cursor,
                    node=Statement(
                        role=statement.role,
                        claim=ClaimNode(reading=statement.reading),
                        stance=StanceNode.of(statement.stance, statement.reading),
                    ),
                )
                for cursor, statement in page.items
            ],
            page_info=PageInfo.of(page),
            position=Position(page.position),
        )

    def at_basis(self, source: SourceAggregate) -> SourceNode:
        """Another source, as known at this one's basis."""
        return SourceNode(source=source, known=self.known, basis=self.basis)


@strawberry.type
class ChainHop:
    position: int
    role: ChainRole
    source: SourceNode


@strawberry.type
class Retraction:
    reason: str
    reported: Period


@strawberry.type(name="Stance")
class StanceNode:
    state: strawberry.Private[StanceState]
    sources: strawberry.Private[Mapping[str, SourceAggregate]]
    basis: strawberry.Private[Basis] = Basis()

    @classmethod
    def of(cls, state: StanceState, reading: ClaimReading) -> StanceNode:
        return cls(state=state, sources=reading.sources, basis=reading.basis.reached())

    def _source(self, source_id: str) -> SourceNode:
        return SourceNode(
            source=self.sources[source_id], known=self.sources, basis=self.basis
        )

    @strawberry.field
    def stance_id(self) -> str:
        return self.state.stance_id

    @strawberry.field
    def kind(self) -> StanceKind:
        return self.state.kind

    @strawberry.field(description="Who first said it: the chain's origin.")
    def source(self) -> SourceNode:
        return self._source(self.state.origin_id)

    @strawberry.field(description="From the origin to the teller we read it from.")
    def chain(self) -> list[ChainHop]:
        length = len(self.state.chain)
        return [
            ChainHop(
                position=index,
                role=ChainRole.at(index, length),
                source=self._source(source_id),
            )
            for index, source_id in enumerate(self.state.chain)
        ]

    @strawberry.field
    def quote(self) -> str | None:
        return self.state.quote

    @strawberry.field
    def note(self) -> str | None:
        return self.state.note

    @strawberry.field
    def document(self) -> Document | None:
        return Document.of(self.state.document)

    @strawberry.field(description="When it was first said publicly.")
    def reported(self) -> Period:
        return Period.of(self.state.reported)

    @strawberry.field(description="When the correction now in force was published.")
    def revised(self) -> Period | None:
        return Period.of(self.state.revised) if self.state.revised else None

    @strawberry.field
    def retraction(self) -> Retraction | None:
        r = self.state.retraction
        return (
            Retraction(reason=r.reason, reported=Period.of(r.reported)) if r else None
        )

    @strawberry.field
    def in_force(self) -> bool:
        return self.state.in_force

    @strawberry.field(
        description="Recorded as independent of others via the same teller."
    )
    def independent(self) -> bool:
        return self.state.independent


@strawberry.type
class Statement:
    role: ChainRole
    claim: ClaimNode
    stance: StanceNode


@strawberry.type
class StatementEdge:
    cursor: str
    node: Statement


@strawberry.type(description="A page of what a source said or passed on.")
class StatementConnection:
    edges: list[StatementEdge]
    page_info: PageInfo
    position: Position


@strawberry.type
class Status:
    value: ClaimStatus
    rule_version: int
    independent_affirming_voices: list[SourceNode]
    opposing: int
    no_evidence: int


@strawberry.type(description="The state a reading shows.")
class ReadBasis:
    position: Position = strawberry.field(
        description="The log position the reading reflects: the one asked "
        "for (asOf position), else the one reads had reached. Asked again "
        "with asOf position set to it, the same question answers the same."
    )
    version: int | None = strawberry.field(
        description="The claim's version asked for, if any."
    )
    recorded_at: datetime | None = strawberry.field(
        description="The recorded time everything in the reading is read at "
        "(for a version, when that version was recorded); null: now."
    )
    reported_by: date | None
    reported_certain: bool | None


@strawberry.type
class ClaimLink:
    link_id: str
    kind: LinkKind
    note: str | None
    from_claim_id: strawberry.ID
    to_claim_id: strawberry.ID
    basis: strawberry.Private[Basis] = Basis()

    @strawberry.field(description="The claim it links from, at the same basis.")
    async def from_claim(self, info: Info) -> ClaimNode:
        return await self._at_basis(info, self.from_claim_id)

    @strawberry.field(description="The claim it links to, at the same basis.")
    async def to_claim(self, info: Info) -> ClaimNode:
        return await self._at_basis(info, self.to_claim_id)

    async def _at_basis(self, info: Info, gid: str) -> ClaimNode:
        # the link's reading's cut bounds the claim read, as a nested asOf's
        lens = Basis(reported=self.basis.reported)
        node = await read_claim(
            info, expect_id(gid, "Claim"), lens, within=self.basis.cut()
        )
        assert node is not None  # noqa: S101 - links are shown only if both ends exist
        return node


@strawberry.type
class FieldChange:
    path: str
    before: JSON | None
    after: JSON | None

    @classmethod
    def of(cls, change: Change) -> FieldChange:
        return cls(path=change.path, before=change.before, after=change.after)


@strawberry.type
class HistoryEvent:
    position: Position | None
    version: int
    type: str
    recorded_at: datetime
    actor: str
    idempotency_key: str | None
    reason: str | None
    reported: Period | None
    payload: JSON
    changes: list[FieldChange]

    @classmethod
    def of(cls, entry: HistoryEntry) -> HistoryEvent:
        return cls(
            position=Position(entry.position) if entry.position else None,
            version=entry.version,
            type=entry.event_type,
            recorded_at=entry.recorded_at,
            actor=entry.actor,
            idempotency_key=entry.idempotency_key,
            reason=entry.reason,
            reported=Period.of(DomainPeriod.from_dict(entry.reported))
            if entry.reported
            else None,
            payload=cast(JSON, entry.payload),
            changes=[FieldChange.of(c) for c in entry.changes],
        )


@strawberry.type
class HistoryEdge:
    cursor: str
    node: HistoryEvent


@strawberry.type(description="A page of a claim's events.")
class HistoryConnection:
    edges: list[HistoryEdge]
    page_info: PageInfo
    position: Position
    total_count: int = strawberry.field(
        description="How many events the history holds: the reading's version."
    )


@strawberry.input(
    description="Which state to read: leave empty for now. Everything reached "
    "from the reading (sources, affiliations, status, links and the claims at "
    "their ends) is read at the same basis. Give at most one of version, "
    "recordedAt and position."
)
class AsOf:
    version: int | None = strawberry.field(
        default=None,
        description="The ledger as it stood when the claim's n-th event was "
        "recorded: the same as recordedAt set to that event's recordedAt.",
    )
    recorded_at: datetime | None = strawberry.field(
        default=None,
        description="What the ledger held at this recorded time (UTC if no offset).",
    )
    position: Position | None = strawberry.field(
        default=None,
        description="What the ledger held when its log ended at this position: "
        "give the position an answer reports, and the same question answers "
        "the same again, whatever is recorded later. Waits, as "
        "Read-After-Position does, for reads to reach it.",
    )
    reported_by: date | None = strawberry.field(
        default=None, description="Only what had been said publicly by this day."
    )
    reported_certain: bool = strawberry.field(
        default=True,
        description="Count a statement only if known to be made by reportedBy "
        "(false: also if it may have been).",
    )


@strawberry.type(name="Claim")
class ClaimNode(Node):
    reading: strawberry.Private[ClaimReading]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(global_id("Claim", self.reading.claim.id))

    @strawberry.field
    def claim_id(self) -> str:
        return str(self.reading.claim.id)

    @strawberry.field
    def key(self) -> str | None:
        return self.reading.claim.key

    @strawberry.field
    def text(self) -> str:
        return self.reading.claim.text

    @strawberry.field(description="The entities the claim is about.")
    def about(self) -> list[str]:
        return list(self.reading.claim.about)

    @strawberry.field(description="When the claimed thing happened.")
    def occurred(self) -> Period:
        return Period.of(self.reading.claim.occurred)

    @strawberry.field(description="The claim's version (its number of events).")
    def version(self) -> int:
        return self.reading.claim.version

    @strawberry.field
    def created_at(self) -> datetime:
        return self.reading.claim.created_on

    @strawberry.field
    def updated_at(self) -> datetime:
        return self.reading.claim.modified_on

    @strawberry.field
    def status(self) -> Status:
        verdict = self.reading.verdict
        sources = self.reading.sources
        return Status(
            value=verdict.status,
            rule_version=verdict.rule_version,
            independent_affirming_voices=[
                SourceNode(
                    source=sources[g], known=sources, basis=self.reading.basis.reached()
                )
                for g in verdict.affirming_groups
                if g in sources
            ],
            opposing=verdict.opposing,
            no_evidence=verdict.no_evidence,
        )

    @strawberry.field(
        description="The claim's stances at its basis, in the order they were "
        "recorded: of these kinds (all when null), retracted ones too unless "
        "includeRetracted is false. The first after a cursor, or the last "
        "before one (20 first when neither is given); totalCount counts "
        "those the filters keep."
    )
    def stances(
        self,
        info: Info,
        kinds: list[StanceKind] | None = None,
        include_retracted: bool = True,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[StanceNode]:
        page = stance_page(
            self.reading,
            requested(info, first, after, last, before),
            kinds,
            include_retracted,
        )
        return Connection.of(page, lambda s: StanceNode.of(s, self.reading))

    @strawberry.field(
        description="Links from this claim in force at its basis, to claims "
        "recorded by then, in the order recorded: the first after a cursor, "
        "or the last before one (20 first when neither is given)."
    )
    def links(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ClaimLink]:
        page = link_page(self.reading, requested(info, first, after, last, before))
        claim_id = self.reading.claim.id
        return Connection.of(
            page, lambda link: self._link(link, claim_id, UUID(link.target_id))
        )

    @strawberry.field(
        description="Links from other claims to this one, recorded by its basis "
        "and not withdrawn by then, in the order recorded: the first after a "
        "cursor, or the last before one (20 first when neither is given)."
    )
    def linked_from(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ClaimLink]:
        page = linked_from_page(
            self.reading, requested(info, first, after, last, before)
        )
        claim_id = self.reading.claim.id
        return Connection.of(
            page, lambda i: self._link(i.link, i.from_claim_id, claim_id)
        )

    def _link(self, link: Link, source: UUID, target: UUID) -> ClaimLink:
        return ClaimLink(
            link_id=link.link_id,
            kind=link.kind,
            note=link.note,
            from_claim_id=strawberry.ID(global_id("Claim", source)),
            to_claim_id=strawberry.ID(global_id("Claim", target)),
            basis=self.reading.basis.reached(),
        )

    @strawberry.field(description="The state this reading shows.")
    def basis(self) -> ReadBasis:
        b: Basis = self.reading.basis
        return ReadBasis(
            position=Position(self.reading.position),
            version=b.version,
            recorded_at=b.recorded_at,
            reported_by=b.reported.day if b.reported else None,
            reported_certain=b.reported.certain if b.reported else None,
        )

    @strawberry.field(
        description="The claim's events, oldest first, each with what it "
        "changed, up to this reading's version (at a past basis, nothing "
        "later is known): the first after a cursor, or the last before one "
        "(20 first when neither is given). A cursor is a version, so pages "
        "stay put while events are added."
    )
    async def history(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> HistoryConnection:
        page = await info.context.read(
            info.context.services.reader.history_page,
            self.reading.claim.id,
            self.reading.claim.version,
            page=requested(info, first, after, last, before),
            charge=info.context.charge,
        )
        return HistoryConnection(
            edges=[
                HistoryEdge(cursor=cursor, node=HistoryEvent.of(item))
                for cursor, item in page.items
            ],
            page_info=PageInfo.of(page),
            position=Position(page.position),
            total_count=self.reading.claim.version,
        )

    @strawberry.field(
        description="What changed between two versions, up to this reading's."
    )
    async def diff(
        self, info: Info, from_version: int, to_version: int
    ) -> list[FieldChange]:
        changes = await info.context.read(
            info.context.services.reader.diff,
            self.reading.claim.id,
            from_version,
            to_version,
            self.reading.claim.version,
            charge=info.context.charge,
        )
        return [FieldChange.of(c) for c in changes]

    @strawberry.field(
        description="The same claim at another basis, seen from this reading: "
        "nothing recorded after this reading's basis exists there, so a later "
        "recordedAt reads as this reading's and a later version is refused "
        "(null if the claim was unrecorded then)."
    )
    async def as_of(self, info: Info, basis: AsOf) -> ClaimNode | None:
        return await read_claim(
            info,
            self.reading.claim.id,
            to_basis(basis),
            within=self.reading.basis.cut(),
        )


def to_basis(as_of: AsOf | None) -> Basis:
    if as_of is None:
        return Basis()
    given = [as_of.version, as_of.recorded_at, as_of.position]
    if sum(g is not None for g in given) > 1:
        raise InvalidInputError(
            "give at most one of version, recordedAt and position", field="asOf"
        )
    if as_of.position is not None and as_of.position < 0:
        raise InvalidInputError("a position is 0 or more", field="asOf.position")
    reported = (
        ReportedBasis(as_of.reported_by, as_of.reported_certain)
        if as_of.reported_by
        else None
    )
    recorded_at = as_of.recorded_at
    if recorded_at is not None and recorded_at.tzinfo is None:
        recorded_at = recorded_at.replace(tzinfo=UTC)  # documented: naive means UTC
    return Basis(
        version=as_of.version,
        recorded_at=recorded_at,
        reported=reported,
        position=as_of.position,
    )


async def read_claim(
    info: Info, claim_id: UUID, basis: Basis, within: Cut | None = None
) -> ClaimNode | None:
    """A claim at a basis, charged to the request's budget."""
    if basis.position is not None:
        await info.context.reach(basis.position)
    reading = await info.context.read(
        info.context.services.reader.claim,
        claim_id,
        basis,
        within=within,
        charge=info.context.charge,
    )
    return ClaimNode(reading=reading) if reading else None
