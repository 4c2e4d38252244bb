"""What every Relay connection shares: its page info, and the checks on
``first`` and ``last`` (one of them, each within the page limit)."""

from __future__ import annotations

from typing import Any

import strawberry

from service.api.context import Info
from service.domain.errors import InvalidInputError
from service.readings import Page


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


def check_window(info: Info, first: int | None, last: int | None) -> None:
    """``first`` or ``last``, not both, each between 0 and the page limit."""
    limit = info.context.services.settings.max_page_size
    if first is not None and last is not None:
        raise InvalidInputError("give first or last, not both", field="last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= limit:
            raise InvalidInputError(f"{name} must be between 0 and {limit}", field=name)
