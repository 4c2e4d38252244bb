"""The GraphQL schema: root types, limits, error codes. Resolvers decode input,
call one ledger or reader method in a worker thread, and wrap the result."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, Literal, Protocol, TypeVar
from uuid import UUID

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from service.api.context import Info
from service.api.cost import cost_estimate
from service.api.errors import ErrorCodes, RequireOperationName
from service.api.ids import expect_id, parse_global_id
from service.api.inputs import (
    MAX_NOTE,
    MAX_QUOTE,
    MAX_TEXT,
    AmendClaimInput,
    AmendSourceInput,
    AmendStanceInput,
    CorrectClaimWordingInput,
    CorrectStanceInput,
    LinkClaimsInput,
    ProposeClaimInput,
    RecordStanceInput,
    RegisterSourceInput,
    RetractStanceInput,
    WithdrawLinkInput,
    chain_ids,
    check_idempotency_key,
    check_key,
    check_length,
    entities,
    revision_changes,
    set_fields,
)
from service.api.limits import document_limits
from service.api.permissions import READ, WRITE
from service.api.types import (
    POSITION_SCALAR,
    AsOf,
    ClaimNode,
    Node,
    Position,
    SourceNode,
    read_claim,
    to_basis,
)
from service.application import Actor, WriteResult
from service.domain.claim import AMENDABLE_STANCE_FIELDS, REVISABLE_STANCE_FIELDS
from service.domain.errors import InvalidInputError
from service.domain.ids import claim_id_for
from service.domain.source import AMENDABLE_SOURCE_FIELDS
from service.domain.status import ClaimStatus
from service.domain.values import Period
from service.readings import Basis, ClaimFilter
from service.settings import Settings

T = TypeVar("T")


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a write (or its payload's read) in a worker thread, off the event
    loop; queries go through ``Context.read`` and its budget."""
    return await run_in_threadpool(partial(fn, *args, **kwargs))


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ClaimEdge:
    cursor: str
    node: ClaimNode


@strawberry.type
class ClaimConnection:
    edges: list[ClaimEdge]
    page_info: PageInfo
    total_count: int
    position: Position


@strawberry.type(description="What a write to a claim recorded.")
class ClaimWrite:
    claim: ClaimNode
    version: int
    position: Position
    replayed: bool
    stance_id: str | None = None
    link_id: str | None = None


@strawberry.type(description="What a write to a source recorded.")
class SourceWrite:
    source: SourceNode
    version: int
    position: Position
    replayed: bool


async def _source_node(info: Info, source_id: UUID) -> SourceNode:
    reader = info.context.services.reader
    sources = {str(s.id): s for s in await call(reader.sources)}
    found = sources.get(str(source_id))
    if found is None:
        raise InvalidInputError("no such source", id=str(source_id))
    return SourceNode(source=found, known=sources)


@strawberry.type
class Query:
    @strawberry.field(permission_classes=READ, description="One claim, at a basis.")
    async def claim(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        key: str | None = None,
        as_of: AsOf | None = None,
    ) -> ClaimNode | None:
        if (id is None) == (key is None):
            raise InvalidInputError("give exactly one of id and key")
        claim_id = expect_id(id, "Claim") if id is not None else claim_id_for(str(key))
        return await read_claim(info, claim_id, to_basis(as_of))

    @strawberry.field(
        permission_classes=READ,
        description="Claims in the order they were proposed, filtered.",
    )
    async def claims(
        self,
        info: Info,
        status: ClaimStatus | None = None,
        source_id: strawberry.ID | None = None,
        entity: str | None = None,
        text: str | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> ClaimConnection:
        limit = info.context.services.settings.max_page_size
        if not 0 <= first <= limit:
            raise InvalidInputError(
                f"first must be between 0 and {limit}", field="first"
            )
        check_length(text, "text", 200)
        claim_filter = ClaimFilter(
            status=status,
            source_id=expect_id(source_id, "Source") if source_id else None,
            entity=entity,
            text=text,
        )
        reader = info.context.services.reader
        page = await info.context.read(
            reader.list_claims,
            claim_filter,
            first=first,
            after=after,
            charge=info.context.charge,
        )
        edges = [
            ClaimEdge(cursor=cursor, node=ClaimNode(reading=reading))
            for cursor, reading in page.items
        ]
        return ClaimConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
            total_count=page.total,
            position=Position(page.position),
        )

    @strawberry.field(permission_classes=READ)
    async def sources(self, info: Info) -> list[SourceNode]:
        sources = await info.context.read(info.context.services.reader.sources, units=1)
        known = {str(s.id): s for s in sources}
        return [SourceNode(source=s, known=known) for s in sources]

    @strawberry.field(permission_classes=READ)
    async def source(
        self,
        info: Info,
        id: strawberry.ID,
    ) -> SourceNode | None:
        source_id = expect_id(id, "Source")
        sources = await info.context.read(info.context.services.reader.sources, units=1)
        known = {str(s.id): s for s in sources}
        found = known.get(str(source_id))
        return SourceNode(source=found, known=known) if found else None

    @strawberry.field(permission_classes=READ, description="Any object by global id.")
    async def node(
        self,
        info: Info,
        id: strawberry.ID,
    ) -> Node | None:
        type_name, uuid = parse_global_id(id)
        if type_name == "Claim":
            return await read_claim(info, uuid, Basis())
        if type_name == "Source":
            return await Query.source(self, info, strawberry.ID(id))  # type: ignore[no-any-return]
        raise InvalidInputError("unknown id type", id=id)

    @strawberry.field(permission_classes=READ, description="The log's last position.")
    async def position(self, info: Info) -> Position:
        catch_up = info.context.services.catalog.catch_up
        return Position(await info.context.read(catch_up, units=1))


def _actor(info: Info, idempotency_key: str | None) -> Actor:
    principal = info.context.principal
    assert principal is not None  # noqa: S101 - WRITE permissions ran first
    return Actor(principal.principal, check_idempotency_key(idempotency_key))


Created = Literal["stance", "link"]


async def _claim_write(
    info: Info, result: WriteResult, creates: Created | None = None
) -> ClaimWrite:
    """The claim as this write left it, and the id of what the write created."""
    reader = info.context.services.reader
    reading = await call(
        reader.claim, result.aggregate_id, Basis(version=result.version)
    )
    assert reading is not None  # noqa: S101 - the write just recorded this version
    created = str(result.created_id) if result.created_id else None
    return ClaimWrite(
        claim=ClaimNode(reading=reading),
        version=result.version,
        position=Position(result.position),
        replayed=result.replayed,
        stance_id=created if creates == "stance" else None,
        link_id=created if creates == "link" else None,
    )


class ClaimWriteInput(Protocol):
    claim_id: strawberry.ID
    expected_version: int
    idempotency_key: str | None


async def _write_claim(
    info: Info,
    data: ClaimWriteInput,
    use_case: Callable[..., WriteResult],
    creates: Created | None = None,
    **arguments: Any,
) -> ClaimWrite:
    """Every write to an existing claim: who, which claim, which version seen."""
    result = await call(
        use_case,
        _actor(info, data.idempotency_key),
        expect_id(data.claim_id, "Claim"),
        expected_version=data.expected_version,
        **arguments,
    )
    return await _claim_write(info, result, creates)


async def _source_write(info: Info, result: WriteResult) -> SourceWrite:
    return SourceWrite(
        source=await _source_node(info, result.aggregate_id),
        version=result.version,
        position=Position(result.position),
        replayed=result.replayed,
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=WRITE)
    async def register_source(
        self, info: Info, input: RegisterSourceInput
    ) -> SourceWrite:
        check_length(input.name, "name", MAX_TEXT)
        check_length(input.descriptor, "descriptor", MAX_TEXT)
        result = await call(
            info.context.services.ledger.register_source,
            _actor(info, input.idempotency_key),
            key=check_key(input.key),
            name=input.name,
            kind=input.kind,
            anonymous=input.anonymous,
            descriptor=input.descriptor,
            affiliation_id=expect_id(input.affiliation_id, "Source")
            if input.affiliation_id
            else None,
        )
        return await _source_write(info, result)

    @strawberry.mutation(permission_classes=WRITE)
    async def amend_source(self, info: Info, input: AmendSourceInput) -> SourceWrite:
        changes = set_fields(input, AMENDABLE_SOURCE_FIELDS)
        if changes.get("kind") is not None:
            changes["kind"] = changes["kind"].value
        if changes.get("affiliation_id") is not None:
            changes["affiliation_id"] = str(
                expect_id(changes["affiliation_id"], "Source")
            )
        for name in ("name", "kind", "anonymous"):
            if name in changes and changes[name] is None:
                raise InvalidInputError(f"{name} cannot be null", field=name)
        result = await call(
            info.context.services.ledger.amend_source,
            _actor(info, input.idempotency_key),
            expect_id(input.source_id, "Source"),
            expected_version=input.expected_version,
            changes=changes,
            reason=input.reason,
        )
        return await _source_write(info, result)

    @strawberry.mutation(permission_classes=WRITE)
    async def propose_claim(self, info: Info, input: ProposeClaimInput) -> ClaimWrite:
        check_length(input.text, "text", MAX_TEXT)
        occurred = input.occurred.to_domain() if input.occurred else Period.unknown()
        result = await call(
            info.context.services.ledger.propose_claim,
            _actor(info, input.idempotency_key),
            key=check_key(input.key),
            text=input.text,
            about=entities(input.about),
            occurred=occurred,
        )
        return await _claim_write(info, result)

    @strawberry.mutation(permission_classes=WRITE)
    async def record_stance(self, info: Info, input: RecordStanceInput) -> ClaimWrite:
        check_length(input.quote, "quote", MAX_QUOTE)
        check_length(input.note, "note", MAX_NOTE)
        return await _write_claim(
            info,
            input,
            info.context.services.ledger.record_stance,
            creates="stance",
            kind=input.kind,
            chain=chain_ids(input.chain),
            reported=input.reported.to_domain(),
            quote=input.quote,
            document=input.document.to_domain() if input.document else None,
            independent=input.independent,
            note=input.note,
        )

    @strawberry.mutation(permission_classes=WRITE)
    async def retract_stance(self, info: Info, input: RetractStanceInput) -> ClaimWrite:
        return await _write_claim(
            info,
            input,
            info.context.services.ledger.retract_stance,
            stance_id=_uuid(input.stance_id, "stanceId"),
            reason=check_length(input.reason, "reason", MAX_NOTE) or "",
            reported=input.reported.to_domain(),
        )

    @strawberry.mutation(permission_classes=WRITE)
    async def correct_stance(self, info: Info, input: CorrectStanceInput) -> ClaimWrite:
        return await _write_claim(
            info,
            input,
            info.context.services.ledger.correct_stance,
            stance_id=_uuid(input.stance_id, "stanceId"),
            changes=revision_changes(input, REVISABLE_STANCE_FIELDS),
            reason=check_length(input.reason, "reason", MAX_NOTE) or "",
            reported=input.reported.to_domain(),
        )

    @strawberry.mutation(permission_classes=WRITE)
    async def amend_stance(self, info: Info, input: AmendStanceInput) -> ClaimWrite:
        return await _write_claim(
            info,
            input,
            info.context.services.ledger.amend_stance,
            stance_id=_uuid(input.stance_id, "stanceId"),
            changes=revision_changes(input, AMENDABLE_STANCE_FIELDS),
            reason=check_length(input.reason, "reason", MAX_NOTE) or "",
        )

    @strawberry.mutation(permission_classes=WRITE)
    async def correct_claim_wording(
        self,
        info: Info,
        input: CorrectClaimWordingInput,
    ) -> ClaimWrite:
        return await _write_claim(
            info,
            input,
            info.context.services.ledger.correct_wording,
            text=check_length(input.text, "text", MAX_TEXT) or "",
            reason=check_length(input.reason, "reason", MAX_NOTE) or "",
        )

    @strawberry.mutation(permission_classes=WRITE)
    async def amend_claim(self, info: Info, input: AmendClaimInput) -> ClaimWrite:
        changes = set_fields(input, ("about", "occurred"))
        if "about" in changes:
            if changes["about"] is None:
                raise InvalidInputError("about cannot be null", field="about")
            changes["about"] = entities(changes["about"])
        if "occurred" in changes:
            if changes["occurred"] is None:
                raise InvalidInputError("occurred cannot be null", field="occurred")
            changes["occurred"] = changes["occurred"].to_dict()
        return await _write_claim(
            info,
            input,
            info.context.services.ledger.amend_claim,
            changes=changes,
            reason=check_length(input.reason, "reason", MAX_NOTE) or "",
        )

    @strawberry.mutation(permission_classes=WRITE)
    async def link_claims(self, info: Info, input: LinkClaimsInput) -> ClaimWrite:
        return await _write_claim(
            info,
            input,
            info.context.services.ledger.link_claims,
            creates="link",
            target_id=expect_id(input.target_id, "Claim"),
            kind=input.kind,
            note=check_length(input.note, "note", MAX_NOTE),
        )

    @strawberry.mutation(permission_classes=WRITE)
    async def withdraw_link(self, info: Info, input: WithdrawLinkInput) -> ClaimWrite:
        return await _write_claim(
            info,
            input,
            info.context.services.ledger.withdraw_link,
            link_id=_uuid(input.link_id, "linkId"),
            reason=check_length(input.reason, "reason", MAX_NOTE) or "",
        )


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInputError(f"{field} is not a valid id", field=field) from None


class LedgerSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: Any = None
    ) -> None:
        """Expected errors are the client's business; ErrorCodes logs the rest."""


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    rules = [document_limits(settings.max_depth, settings.max_aliases)]
    return LedgerSchema(
        query=Query,
        mutation=Mutation,
        types=[ClaimNode, SourceNode],
        config=StrawberryConfig(
            disable_field_suggestions=True, scalar_map={Position: POSITION_SCALAR}
        ),
        extensions=[
            lambda: ParserCache(maxsize=256),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=256),
            RequireOperationName,
            cost_estimate(settings.max_reads_per_request, settings.max_page_size),
            ErrorCodes,
        ],
    )


schema = build_schema()
