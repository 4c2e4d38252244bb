"""Relay's pages: a window over a list whose places are sorted integers held
in hand (sources by the position they were registered at, a history's
versions), and a page of a list found by walking it from a cursor (a
source's statements, claims at a past basis): ``first`` after a place, or
``last`` before one, and what lies beyond."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar


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
