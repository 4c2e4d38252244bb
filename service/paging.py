"""Relay's window over a list whose places are sorted integers held in hand
(sources by the position they were registered at, a history's versions):
``first`` after a place, or ``last`` before one, and what lies beyond."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """Indexes ``start:stop`` into the list, and whether any of it lies
    before or after them (the whole list, not only between the cursors)."""

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
    else:
        assert first is not None  # noqa: S101 - the caller settles the size
        start, stop = low, min(high, low + first)
    return Window(start, stop, start > 0, stop < len(places))
