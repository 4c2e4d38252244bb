"""Per-request context: the services, who is asking, and what the request has
spent of its budget of store reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool

from service.bootstrap import Services
from service.settings import ApiKey, Role

T = TypeVar("T")


@dataclass
class Context:
    services: Services
    principal: ApiKey | None
    # A key was presented and matched no configured key: refuse every operation.
    key_refused: bool = False
    connection_params: dict[str, Any] = field(default_factory=dict)
    reads: int = 0

    @property
    def can_write(self) -> bool:
        return self.principal is not None and self.principal.role is Role.EDITOR

    @property
    def can_read(self) -> bool:
        return not self.services.settings.reads_need_key or self.principal is not None

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one read in a worker thread, off the event loop. Each counts
        against the request's budget: depth and alias limits bound a document's
        shape, not how many claims a list multiplies its fields by."""
        self.reads += 1
        budget = self.services.settings.max_reads_per_request
        if self.reads > budget:
            raise GraphQLError(
                f"The query needs more than {budget} reads of the store; "
                "ask for fewer items or fields per request.",
                extensions={"code": "QUERY_TOO_COSTLY"},
            )
        return await run_in_threadpool(partial(fn, *args, **kwargs))


Info = strawberry.Info[Context, None]
