"""Per-request context: the services, who is asking, and what the request has
spent of its budget of store reads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

import strawberry
from graphql import ExecutionResult, GraphQLError
from starlette.concurrency import run_in_threadpool

from service.bootstrap import Services
from service.domain.errors import InvalidInputError
from service.settings import ApiKey, Role

T = TypeVar("T")

COSTLY = "QUERY_TOO_COSTLY"
SEEN_WITHIN = 2.0
"""Seconds to wait for the follower of the log to bring the views to a
position before bringing it up directly."""


def too_costly(message: str, **details: int) -> GraphQLError:
    return GraphQLError(message, extensions={"code": COSTLY, **details})


class Budget:
    """The units of work one request may spend (``service.readings.Charge``
    says what a unit is). Reads of one request run in several worker threads
    at once, so charging takes a lock."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0
        self.exhausted = False
        self._lock = threading.Lock()

    def renew(self) -> None:
        """Start over: a subscription spends a fresh budget on each event it
        delivers, as a query does per request."""
        with self._lock:
            self.spent = 0
            self.exhausted = False

    def charge(self, units: int) -> None:
        """Call before doing ``units`` of work; raises instead when they would
        take the request past its limit (and for every charge after that), so
        the work is never done."""
        with self._lock:
            self.exhausted = self.exhausted or self.spent + units > self.limit
            if not self.exhausted:
                self.spent += units
        if self.exhausted:
            raise too_costly(
                f"The query needs more than {self.limit} reads of the store; "
                "ask for fewer items or fields per request.",
                limit=self.limit,
            )


@dataclass
class Context:
    services: Services
    principal: ApiKey | None
    # A key was presented and matched no configured key: refuse every operation.
    key_refused: bool = False
    connection_params: dict[str, Any] = field(default_factory=dict)
    # the keys the request (or WebSocket upgrade) presented in its headers
    presented: list[str] = field(default_factory=list)
    budget: Budget = field(init=False)
    # what each mutation field recorded: field, version, position
    writes: list[dict[str, Any]] = field(default_factory=list)
    # errors an extension refused the operation with before it ran (see refuse)
    refusal: list[GraphQLError] | None = None
    # what service.api.cost estimated the operation would read
    estimated_cost: int | None = None
    # a subscription's executor (service.api.sharing.SharedEventExecution)
    subscription: Any = None

    def __post_init__(self) -> None:
        self.budget = Budget(self.services.settings.max_reads_per_request)

    def for_operation(self) -> Context:
        """A fresh context for one operation on a connection that carries
        several (a WebSocket): its own budget, writes and refusal, the
        connection's principal."""
        return replace(
            self, writes=[], refusal=None, estimated_cost=None, subscription=None
        )

    def raise_if_refused(self) -> None:
        """Subscriptions start their stream even when an extension refused the
        operation (strawberry only honours the refusal for queries and
        mutations); their resolvers call this first."""
        if self.refusal:
            raise self.refusal[0]

    @property
    def can_write(self) -> bool:
        return self.principal is not None and self.principal.role is Role.EDITOR

    @property
    def can_read(self) -> bool:
        return not self.services.settings.reads_need_key or self.principal is not None

    def charge(self, units: int) -> None:
        """Spend units of the request's budget before doing that work: depth
        and alias limits bound a document's shape, not how many claims a list
        multiplies its fields by."""
        self.budget.charge(units)

    async def reads_reach(self, position: int) -> None:
        """Until what readers read (the views) reflects ``position``: the
        follower of the log brings it there; should it not within
        ``SEEN_WITHIN`` seconds (stuck, or the store slow), bring it up here."""
        services = self.services
        if services.views.position >= position:
            return
        if not await services.reads.reached(position, SEEN_WITHIN):
            services.reads.advance(await run_in_threadpool(services.views.catch_up))

    async def reads_reach_within(self, position: int) -> bool:
        """For a client that wrote elsewhere (another instance, another
        process on the file): wake the follower of the log, and wait, at most
        ``read_wait`` seconds, until what readers read reflects ``position``."""
        services = self.services
        if services.views.position >= position:
            return True
        services.hub.bell.ring()
        return await services.reads.reached(position, services.settings.read_wait)

    async def reach(self, position: int) -> None:
        """Reads that must reflect ``position`` (a reading asked at it): as
        ``reads_reach_within``, else POSITION_NOT_REACHED; a position the
        log has not reached is the client's mistake, told at once."""
        services = self.services
        if services.views.position >= position:
            return
        head = await self.read(services.log.head)  # the last position: one key
        if position > head:
            raise InvalidInputError(
                f"position {position} is beyond the log's last, {head}",
                field="asOf.position",
                last=head,
            )
        if not await self.reads_reach_within(position):
            raise not_reached(position, services.views.position)

    async def read(
        self, fn: Callable[..., T], *args: Any, units: int = 0, **kwargs: Any
    ) -> T:
        """Run one read in a worker thread, off the event loop, after charging
        ``units`` for it; readers that know their own units better are passed
        ``charge=context.charge`` and charge as they go."""
        self.charge(units)
        return await run_in_threadpool(partial(fn, *args, **kwargs))


def not_reached(position: int, reads_at: int) -> GraphQLError:
    return GraphQLError(
        f"Reads have not reached position {position} yet (they are at "
        f"{reads_at}); try again shortly.",
        extensions={
            "code": "POSITION_NOT_REACHED",
            "position": position,
            "readsAt": reads_at,
        },
    )


def refuse(execution_context: Any, errors: list[GraphQLError]) -> None:
    """How an extension refuses an operation before it runs: the result
    strawberry answers queries and mutations with, and, for a subscription,
    the refusal its resolver raises."""
    execution_context.result = ExecutionResult(data=None, errors=errors)
    request = execution_context.context
    if isinstance(request, Context):
        request.refusal = errors


Info = strawberry.Info[Context, None]
