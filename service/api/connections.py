"""What every Relay connection shares: the position scalar every answer
reports, page info, the checks on ``first`` and ``last`` (one of them, each
within the page limit), and a connection of any node type for lists whose
every page knows the list's length."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, NewType, TypeVar

import strawberry

from service.api.context import Info
from service.domain.errors import InvalidInputError
from service.paging import Page, PageRequest

Position = NewType("Position", int)
POSITION_SCALAR = strawberry.scalar(
    name="Position",
    description="A global position in the event log; an integer beyond 32 bits.",
    serialize=int,
    parse_value=int,
)

Item = TypeVar("Item")
NodeT = TypeVar("NodeT")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool
    start_cursor: str | None

    @classmethod
    def of(cls, page: Page[Any]) -> PageInfo:
        return cls(
            has_next_page=page.has_next,
            end_cursor=page.end_cursor,
            has_previous_page=page.has_previous,
            start_cursor=page.start_cursor,
        )


@strawberry.type
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list, with the list's length.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    position: Position = strawberry.field(
        description="The log position the page reflects."
    )
    total_count: int = strawberry.field(
        description="How many items the whole list holds (with the same filters)."
    )

    @classmethod
    def of(cls, page: Page[Item], node: Callable[[Item], NodeT]) -> Connection[NodeT]:
        assert page.total is not None  # noqa: S101 - a list held whole knows it
        return cls(
            edges=[Edge(cursor=cursor, node=node(item)) for cursor, item in page.items],
            page_info=PageInfo.of(page),
            position=Position(page.position),
            total_count=page.total,
        )


def requested(
    info: Info,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> PageRequest:
    """A connection's arguments as one request: ``first`` or ``last``, not
    both, each between 0 and the page limit."""
    limit = info.context.services.settings.max_page_size
    if first is not None and last is not None:
        raise InvalidInputError("give first or last, not both", field="last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= limit:
            raise InvalidInputError(f"{name} must be between 0 and {limit}", field=name)
    return PageRequest(first=first, after=after, last=last, before=before)
