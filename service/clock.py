"""The recorded-time clock: the server's UTC clock unless a test installs another.

Events read the clock through a context variable so tests can step time
deterministically without sleeping, and so the domain never reads the wall clock
directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Timezone-aware UTC wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


_SYSTEM_CLOCK = SystemClock()
_current: ContextVar[Clock | None] = ContextVar("clock", default=None)


def now() -> datetime:
    """The recorded-time 'now' for the current context."""
    return (_current.get() or _SYSTEM_CLOCK).now()


@contextmanager
def using_clock(clock: Clock) -> Iterator[None]:
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)
