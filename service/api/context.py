"""Per-request context: the services, who is asking, and what the request has
spent of its budget of store reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool

from service.api.cost import Budget
from service.bootstrap import Services
from service.settings import ApiKey, Role

T = TypeVar("T")


@dataclass
class Context:
    services: Services
    principal: ApiKey | None
    connection_params: dict[str, Any] = field(default_factory=dict)
    budget: Budget = field(init=False)

    def __post_init__(self) -> None:
        self.budget = Budget(self.services.settings.max_reads_per_request)

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

    async def read(
        self, fn: Callable[..., T], *args: Any, units: int = 0, **kwargs: Any
    ) -> T:
        """Run one read in a worker thread, off the event loop, after charging
        ``units`` for it; readers that know their own units better are passed
        ``charge=context.charge`` and charge as they go."""
        self.charge(units)
        return await run_in_threadpool(partial(fn, *args, **kwargs))


Info = strawberry.Info[Context, None]
