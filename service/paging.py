"""Relay's pages: what a client asks of a connection (``first`` after a
cursor, or ``last`` before one), a window over a list whose places are
sorted integers held in hand (sources by the position they were registered
at, a history's versions, a claim's stances and links), and a page of a
list found by walking it from a cursor (a source's statements, claims at a
past basis), with what lies beyond."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from service.cursors import decode_numbers, encode_cursor

DEFAULT_PAGE = 20
"""Items on a page when the client asks for neither ``first`` nor ``last``."""

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    """What a client asks of a connection: ``first`` items after a cursor,
    or the ``last`` before one (Relay's two directions); the API checks
    that at most one size is given, within the page limit."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def forward(self) -> bool:
        return self.last is None

    @property
    def size(self) -> int:
        """``last`` for a backward page, else ``first``, else the default."""
        size = self.last if self.last is not None else self.first
        return DEFAULT_PAGE if size is None else size

    def bound(self, kind: str, field: str) -> int | None:
        """The place of the ``after`` or ``before`` cursor of a list whose
        places are single integers (None when not given)."""
        cursor = self.after if field == "after" else self.before
        if cursor is None:
            return None
        (place,) = decode_numbers(cursor, kind, 1, field)
        return place


FIRST_PAGE = PageRequest()
"""The default page: the first ``DEFAULT_PAGE`` items."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a Relay connection: each item with its cursor; on an
    empty page, the start and end cursors stay where the client asked.
    ``total``: how many items the whole list holds, where that is known."""

    items: list[tuple[str, T]]
    end_cursor: str | None
    has_next: bool
    position: int
    start_cursor: str | None = None
    has_previous: bool = False
    total: int | None = None


def page_of(
    items: list[tuple[str, T]],
    position: int,
    request: PageRequest,
    *,
    has_previous: bool,
    has_next: bool,
    total: int | None = None,
) -> Page[T]:
    return Page(
        items,
        items[-1][0] if items else request.after,
        has_next,
        position,
        start_cursor=items[0][0] if items else request.before,
        has_previous=has_previous,
        total=total,
    )


def page_in_hand(
    kind: str, placed: Sequence[tuple[int, T]], request: PageRequest, position: int
) -> Page[T]:
    """A page of a list held whole, each item at its place (ascending,
    stable while the list grows): a cursor is the place, named ``kind``."""
    found = window(
        [place for place, _ in placed],
        first=request.size,
        after=request.bound(kind, "after"),
        last=request.last,
        before=request.bound(kind, "before"),
    )
    items = [
        (encode_cursor(kind, (place,)), item)
        for place, item in placed[found.start : found.stop]
    ]
    return page_of(
        items,
        position,
        request,
        has_previous=found.has_previous,
        has_next=found.has_next,
        total=len(placed),
    )


@dataclass(frozen=True)
class Window:
    """Indexes ``start:stop`` into the list, and whether items lie before
    and after them, as Relay has it: in the direction of paging, more items
    between the cursors (a client following the flag stops at the other
    cursor); behind the page, any item of the list."""

    start: int
    stop: int
    has_previous: bool
    has_next: bool


def window(
    places: Sequence[int],
    *,
    first: int | None,
    after: int | None = None,
    last: int | None = None,
    before: int | None = None,
) -> Window:
    """``places`` ascending; ``first`` or ``last`` (one of them given)."""
    low = bisect_right(places, after) if after is not None else 0
    high = bisect_left(places, before) if before is not None else len(places)
    high = max(high, low)
    if last is not None:
        start, stop = max(low, high - last), high
        # more before it within the cursors; after it, anywhere
        return Window(start, stop, start > low, stop < len(places))
    assert first is not None  # noqa: S101 - the caller settles the size
    start, stop = low, min(high, low + first)
    # before it, anywhere; more after it within the cursors
    return Window(start, stop, start > 0, stop < high)


Place = TypeVar("Place", int, tuple[int, int])
Item = TypeVar("Item")

Walk = Callable[[Place | None, bool, bool, int], Iterator[tuple[Place, Item]]]
"""A list read from a place on: ``walk(start, ahead, inclusive, hint)``
yields each item with its place, in the list's order when ``ahead`` (its
reverse otherwise), from just beyond ``start`` (or at it, when ``inclusive``;
from the list's end when None), reading about ``hint`` items at a time."""


def keyset_page(
    walk: Walk[Place, Item],
    *,
    size: int,
    forward: bool,
    start: Place | None,
    stop: Place | None,
) -> tuple[list[tuple[Place, Item]], bool, bool]:
    """A page of a list its items are found in only by walking (some places
    hold none, or items are judged one by one): ``size`` items from
    ``start``, walking ``forward`` (``first``/``after``) or back
    (``last``/``before``), not past ``stop``. The page in list order, and
    whether anything lies before it and after it: one item further in the
    walk's direction short of ``stop``, and one at or behind its start."""
    found: list[tuple[Place, Item]] = []
    for place, item in walk(start, forward, False, size + 1):
        if stop is not None and (place >= stop if forward else place <= stop):
            break
        found.append((place, item))
        if len(found) > size:
            break
    more = len(found) > size  # within the cursors, as Window has it
    found = found[:size]
    behind = start is not None and any(True for _ in walk(start, not forward, True, 1))
    if not forward:
        found.reverse()
    return found, (behind if forward else more), (more if forward else behind)
