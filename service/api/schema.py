"""The GraphQL schema: root types, limits, error codes. Resolvers decode input,
call one ledger or reader method in a worker thread, and wrap the result."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import aclosing
from datetime import date
from functools import partial
from typing import Annotated, Any, Literal, Protocol, TypeVar
from uuid import UUID

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from service.api.audit import (
    Checkpoint,
    ConsistencyProofNode,
    InclusionProofNode,
    latest_checkpoint,
    prove_consistency,
    prove_inclusion,
)
from service.api.connections import (
    POSITION_SCALAR,
    Connection,
    PageInfo,
    Position,
    requested,
)
from service.api.context import Context, Info
from service.api.cost import cost_estimate
from service.api.errors import ErrorCodes, RequireOperationName, classify
from service.api.feed import (
    ClaimChange,
    EventConnection,
    EventFilter,
    EventNode,
    events_page,
    follow_claim,
    follow_events,
)
from service.api.ids import expect_id, parse_global_id
from service.api.inputs import (
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
)
from service.api.limits import ValidationWithNumbers, document_limits
from service.api.permissions import READ, WRITE
from service.api.request_ids import OperationName
from service.api.sharing import SharedEventExecution
from service.api.types import (
    AsOf,
    ClaimNode,
    Node,
    SourceNode,
    read_claim,
    to_basis,
)
from service.api.unicode_guard import WellFormedStrings
from service.application import Actor, WriteResult
from service.application.commands import ClaimCommand, Command
from service.application.ledger import Write
from service.domain.errors import InvalidInputError
from service.domain.ids import claim_id_for
from service.domain.limits import ENTITY, SEARCH_TEXT, check_key
from service.domain.status import ClaimStatus
from service.readings import Basis, ClaimFilter
from service.settings import Settings
from service.views.reads import ClaimOrder

T = TypeVar("T")
C = TypeVar("C", bound=ClaimCommand, covariant=True)


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a write's payload read in a worker thread, off the event loop;
    queries go through ``Context.read`` and its budget."""
    return await run_in_threadpool(partial(fn, *args, **kwargs))


async def write(
    info: Info,
    use_case: Callable[[Actor, Any], WriteResult],
    command: Command,
    key: str | None,
) -> WriteResult:
    """Hand a write to the writer, which commits it with the writes that
    arrive meanwhile (service.application.group_commit); answered once its
    transaction has committed."""
    request = Write(use_case, _actor(info, key), command)
    return await asyncio.wrap_future(info.context.services.writes.submit(request))


@strawberry.type
class ClaimEdge:
    cursor: str
    node: ClaimNode


@strawberry.type
class ClaimConnection:
    edges: list[ClaimEdge]
    page_info: PageInfo
    position: Position
    claim_filter: strawberry.Private[ClaimFilter]
    basis: strawberry.Private[Basis]

    @strawberry.field(
        description="How many claims the list holds, on every page: counted "
        "only when asked for (a filtered count goes over the filter's index; "
        "at a past basis only an unfiltered list is counted)."
    )
    async def total_count(self, info: Info) -> int:
        reader = info.context.services.reader
        return await info.context.read(
            reader.count_claims,
            self.claim_filter,
            self.basis,
            charge=info.context.charge,
        )


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
        claim_id = (
            expect_id(id, "Claim")
            if id is not None
            else claim_id_for(str(check_key(key)))
        )
        return await read_claim(info, claim_id, to_basis(as_of))

    @strawberry.field(
        permission_classes=READ,
        description="Claims, filtered, in an order (the order proposed, "
        "unless orderBy says otherwise): the first items after a cursor, or "
        "the last items before one (20 first when neither is given). Every "
        "filter holds the claims as they stand now, or, given asOf, as they "
        "stood at that basis.",
    )
    async def claims(
        self,
        info: Info,
        status: ClaimStatus | None = None,
        source_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Claims with a stance whose chain names this source."
            ),
        ] = None,
        include_affiliated: Annotated[
            bool,
            strawberry.argument(
                description="With sourceId: also the sources affiliated to it, "
                "directly or through others (a government and its officials)."
            ),
        ] = False,
        entity: str | None = None,
        text: Annotated[
            str | None,
            strawberry.argument(
                description="Words of the claim's wording, its quotes, or its "
                "sources' names and descriptors, in any order, each also as "
                "the start of a word, matched by stem (militants: militant)."
            ),
        ] = None,
        occurred_from: Annotated[
            date | None,
            strawberry.argument(
                description="Claims whose event may have happened on or after this day."
            ),
        ] = None,
        occurred_to: Annotated[
            date | None,
            strawberry.argument(
                description="Claims whose event may have happened on or before "
                "this day."
            ),
        ] = None,
        reported_from: Annotated[
            date | None,
            strawberry.argument(
                description="Claims a source spoke of (a stance, a correction, "
                "a retraction) on or after this day."
            ),
        ] = None,
        reported_to: Annotated[
            date | None,
            strawberry.argument(
                description="Claims a source spoke of on or before this day."
            ),
        ] = None,
        order_by: ClaimOrder = ClaimOrder.PROPOSED,
        descending: bool = False,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        as_of: Annotated[
            AsOf | None,
            strawberry.argument(
                description="The list as the ledger held it at a recorded time "
                "or a position (not a version), and through the reportedBy "
                "lens: its claims read and filtered at that basis, in the "
                "order proposed. Not with text."
            ),
        ] = None,
    ) -> ClaimConnection:
        page_request = requested(info, first, after, last, before)
        if include_affiliated and source_id is None:
            raise InvalidInputError(
                "includeAffiliated needs a sourceId", field="includeAffiliated"
            )
        for low, high, name in (
            (occurred_from, occurred_to, "occurredTo"),
            (reported_from, reported_to, "reportedTo"),
        ):
            if low is not None and high is not None and high < low:
                raise InvalidInputError(f"{name} is before its start", field=name)
        text = SEARCH_TEXT.clean_optional(text)
        entity = ENTITY.for_field("entity").clean_optional(entity)
        claim_filter = ClaimFilter(
            status=status,
            source_id=expect_id(source_id, "Source") if source_id else None,
            affiliated=include_affiliated,
            entity=entity,
            text=text,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
            reported_from=reported_from,
            reported_to=reported_to,
        )
        basis = to_basis(as_of)
        if basis.position is not None:
            await info.context.reach(basis.position)
        reader = info.context.services.reader
        page = await info.context.read(
            reader.list_claims,
            claim_filter,
            page=page_request,
            order=order_by,
            descending=descending,
            basis=basis,
            charge=info.context.charge,
        )
        edges = [
            ClaimEdge(cursor=cursor, node=ClaimNode(reading=reading))
            for cursor, reading in page.items
        ]
        return ClaimConnection(
            edges=edges,
            page_info=PageInfo.of(page),
            position=Position(page.position),
            claim_filter=claim_filter,
            basis=basis,
        )

    @strawberry.field(
        permission_classes=READ,
        description="Sources in the order they were registered: the first "
        "items after a cursor, or the last before one (20 first when neither "
        "is given).",
    )
    async def sources(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[SourceNode]:
        reader = info.context.services.reader
        page = await info.context.read(
            reader.source_page, requested(info, first, after, last, before), units=1
        )
        known = reader.sources_as_of(page.position)
        return Connection.of(page, lambda s: SourceNode(source=s, known=known))

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

    @strawberry.field(
        permission_classes=READ,
        description="The log in position order: every claim and source event, "
        "each once. Resume with after = the last pageInfo.endPosition.",
    )
    async def events(
        self,
        info: Info,
        after: Position | None = None,
        first: int = 100,
        filter: EventFilter | None = None,
    ) -> EventConnection:
        return await events_page(info, after, first, filter)

    @strawberry.field(
        permission_classes=READ,
        description="The log's last position, as stored: reads may lag it "
        "briefly while this instance's follower catches up.",
    )
    async def position(self, info: Info) -> Position:
        head = info.context.services.log.head
        return Position(await info.context.read(head, units=1))

    @strawberry.field(
        permission_classes=READ,
        description="The latest signed checkpoint of the audit tree over the "
        "log (null before the first is signed).",
    )
    async def checkpoint(self, info: Info) -> Checkpoint | None:
        return await latest_checkpoint(info)

    @strawberry.field(
        permission_classes=READ,
        description="A proof that the event at a position is in the audit "
        "tree of treeSize events (default: the latest checkpoint's size).",
    )
    async def inclusion_proof(
        self, info: Info, position: Position, tree_size: int | None = None
    ) -> InclusionProofNode:
        return await prove_inclusion(info, position, tree_size)

    @strawberry.field(
        permission_classes=READ,
        description="A proof that the audit tree of fromSize events is a "
        "prefix of the tree of toSize (default: the latest checkpoint's "
        "size): give the size of a checkpoint you kept, and check the proof "
        "against its root and the newer one's.",
    )
    async def consistency_proof(
        self, info: Info, from_size: int, to_size: int | None = None
    ) -> ConsistencyProofNode:
        return await prove_consistency(info, from_size, to_size)


def _actor(info: Info, idempotency_key: str | None) -> Actor:
    principal = info.context.principal
    assert principal is not None  # noqa: S101 - WRITE permissions ran first
    return Actor(principal.principal, idempotency_key)


Created = Literal["stance", "link"]


async def _claim_write(
    info: Info, result: WriteResult, creates: Created | None = None
) -> ClaimWrite:
    """The claim as this write left it, and the id of what the write created."""
    # its answer, and every read after it, see the write
    await info.context.reads_reach(result.position)
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


class ClaimWriteInput(Protocol[C]):
    idempotency_key: str | None

    def to_command(self) -> C: ...


async def _write_claim(
    info: Info,
    data: ClaimWriteInput[C],
    use_case: Callable[[Actor, C], WriteResult],
    creates: Created | None = None,
) -> ClaimWrite:
    """Every write to an existing claim: who, and the command it asks for."""
    command = data.to_command()
    result = await write(info, use_case, command, data.idempotency_key)
    return await _claim_write(info, result, creates)


async def _source_write(info: Info, result: WriteResult) -> SourceWrite:
    await info.context.reads_reach(result.position)
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
        command = input.to_command()
        result = await write(
            info,
            info.context.services.ledger.register_source,
            command,
            input.idempotency_key,
        )
        return await _source_write(info, result)

    @strawberry.mutation(permission_classes=WRITE)
    async def amend_source(self, info: Info, input: AmendSourceInput) -> SourceWrite:
        command = input.to_command()
        result = await write(
            info,
            info.context.services.ledger.amend_source,
            command,
            input.idempotency_key,
        )
        return await _source_write(info, result)

    @strawberry.mutation(permission_classes=WRITE)
    async def propose_claim(self, info: Info, input: ProposeClaimInput) -> ClaimWrite:
        command = input.to_command()
        result = await write(
            info,
            info.context.services.ledger.propose_claim,
            command,
            input.idempotency_key,
        )
        return await _claim_write(info, result)

    @strawberry.mutation(permission_classes=WRITE)
    async def record_stance(self, info: Info, input: RecordStanceInput) -> ClaimWrite:
        ledger = info.context.services.ledger
        return await _write_claim(info, input, ledger.record_stance, "stance")

    @strawberry.mutation(permission_classes=WRITE)
    async def retract_stance(self, info: Info, input: RetractStanceInput) -> ClaimWrite:
        ledger = info.context.services.ledger
        return await _write_claim(info, input, ledger.retract_stance)

    @strawberry.mutation(permission_classes=WRITE)
    async def correct_stance(self, info: Info, input: CorrectStanceInput) -> ClaimWrite:
        ledger = info.context.services.ledger
        return await _write_claim(info, input, ledger.correct_stance)

    @strawberry.mutation(permission_classes=WRITE)
    async def amend_stance(self, info: Info, input: AmendStanceInput) -> ClaimWrite:
        ledger = info.context.services.ledger
        return await _write_claim(info, input, ledger.amend_stance)

    @strawberry.mutation(permission_classes=WRITE)
    async def correct_claim_wording(
        self,
        info: Info,
        input: CorrectClaimWordingInput,
    ) -> ClaimWrite:
        ledger = info.context.services.ledger
        return await _write_claim(info, input, ledger.correct_wording)

    @strawberry.mutation(permission_classes=WRITE)
    async def amend_claim(self, info: Info, input: AmendClaimInput) -> ClaimWrite:
        ledger = info.context.services.ledger
        return await _write_claim(info, input, ledger.amend_claim)

    @strawberry.mutation(permission_classes=WRITE)
    async def link_claims(self, info: Info, input: LinkClaimsInput) -> ClaimWrite:
        ledger = info.context.services.ledger
        return await _write_claim(info, input, ledger.link_claims, "link")

    @strawberry.mutation(permission_classes=WRITE)
    async def withdraw_link(self, info: Info, input: WithdrawLinkInput) -> ClaimWrite:
        ledger = info.context.services.ledger
        return await _write_claim(info, input, ledger.withdraw_link)


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=READ,
        description="Every event after a position (omitted: from now on), "
        "first those already recorded, then each as it commits; in position "
        "order, each once. To resume, pass the last position received.",
    )
    async def events(
        self,
        info: Info,
        after: Position | None = None,
        filter: EventFilter | None = None,
    ) -> AsyncGenerator[EventNode, None]:
        return follow_events(info, after, filter)

    @strawberry.subscription(
        permission_classes=READ,
        description="A claim's reading after each event that changes it: its "
        "own events, those of the sources its stances cite, and those of the "
        "sources these are affiliated to.",
    )
    async def claim_changed(
        self,
        info: Info,
        id: strawberry.ID,
        after: Position | None = None,
    ) -> AsyncGenerator[ClaimChange, None]:
        return await follow_claim(info, expect_id(id, "Claim"), after)


class LedgerSchema(strawberry.Schema):
    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        operation_extensions: dict[str, Any] | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
    ) -> Any:
        """Streaming transports (WebSocket, SSE): each operation gets its own
        context (a socket carries many), and a failure strawberry raises
        instead of answering (a syntax error) is answered as an error."""
        if isinstance(context_value, Context):
            context_value = context_value.for_operation()
        results = await super().stream(
            query,
            variable_values,
            context_value,
            root_value,
            operation_name,
            operation_extensions,
            allowed_operation_types,
        )
        return _answered(results)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: Any = None
    ) -> None:
        """Expected errors are the client's business; ErrorCodes logs the rest."""


async def _answered(results: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
    try:
        async with aclosing(results):
            async for result in results:
                yield result
    except Exception as error:
        graphql_error = (
            error
            if isinstance(error, GraphQLError)
            else GraphQLError(str(error), original_error=error)
        )
        yield PreExecutionError(data=None, errors=[classify(graphql_error)])


def build_schema(settings: Settings | None = None) -> strawberry.Schema:
    settings = settings or Settings()
    rules = [document_limits(settings.max_depth, settings.max_aliases)]
    return LedgerSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[ClaimNode, SourceNode],
        execution_context_class=SharedEventExecution,
        config=StrawberryConfig(
            disable_field_suggestions=True, scalar_map={Position: POSITION_SCALAR}
        ),
        extensions=[
            lambda: ParserCache(maxsize=256),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
            lambda: AddValidationRules(rules),
            lambda: ValidationWithNumbers(maxsize=256),
            RequireOperationName,
            WellFormedStrings,
            cost_estimate(settings.max_reads_per_request, settings.max_page_size),
            ErrorCodes,
            OperationName,
        ],
    )


schema = build_schema()
