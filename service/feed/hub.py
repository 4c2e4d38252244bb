"""The follower of the log that every in-process consumer shares.

One task per process reads each new event once, in position order, keeps the
most recent ones in a bounded window, and wakes whoever waits. Subscribers
replay from the store what lies before the window, then read the window, then
wait: the window holds every ledger event above ``low``, so the step from
replay to live can neither skip nor repeat one. The other consumers (the
persistent views) are told each time the head moves.

A subscriber that reaches the head may hand the hub a ``LiveTap`` instead of
waiting: from then on the hub itself renders each new entry once per group of
taps that want the same rendering, and hands the result to every tap in the
group. That is how a thousand subscribers cost one rendering per event, not a
thousand (service.api.fanout renders and sends).

Nothing here grows with the number of subscribers or how slow they are: a
subscriber that falls behind the window reads the store again, at its own
pace, and the window's size is fixed.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from service.feed.entries import EVERYTHING, EntryFilter, LogEntry
from service.feed.log_reader import BATCH, LogReader
from service.feed.wakeup import Bell

log = logging.getLogger("claims_ledger.feed")

OnAdvance = Callable[[int], Awaitable[None]]


@dataclass(eq=False)
class LiveTap:
    """A live subscriber the hub serves itself: every entry above
    ``position`` that ``where`` matches is rendered once for the whole
    ``group`` and handed to ``deliver``; ``deliver(entry, None)`` says the
    entry could not be rendered. ``deliver`` must not block: it queues."""

    where: EntryFilter
    group: Hashable
    render: Callable[[LogEntry], Awaitable[Any]]
    deliver: Callable[[LogEntry, Any], None]
    position: int = 0


class LogHub:
    def __init__(
        self,
        reader: LogReader,
        *,
        window: int = 10_000,
        poll_interval: float = 0.5,
        on_advance: tuple[OnAdvance, ...] = (),
    ) -> None:
        self._reader = reader
        self._window: deque[LogEntry] = deque()
        self._positions: deque[int] = deque()
        self._size = window
        self._poll = poll_interval
        self._on_advance = on_advance
        self.bell = Bell()
        self.low = 0
        """Every ledger event above ``low`` and up to ``head`` is in the window."""
        self.head = 0
        self._moved = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The hub reads on a thread of its own, so live delivery never queues
        # behind requests or catch-ups; these share the default pool, and at
        # most two catch-up pages are read at once.
        self._own = ThreadPoolExecutor(1, thread_name_prefix="claims-ledger-hub")
        self._catching_up = asyncio.Semaphore(2)
        self._taps: dict[Hashable, list[LiveTap]] = {}

    async def start(self) -> None:
        self.bell.bind()
        self._moved = asyncio.Event()
        self.low = self.head = await asyncio.to_thread(self._reader.head)
        self._task = asyncio.create_task(self._follow(), name="claims-ledger-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._own.shutdown(wait=False)

    async def _follow(self) -> None:
        while True:
            try:
                page = await asyncio.get_running_loop().run_in_executor(
                    self._own, self._reader.page, self.head, BATCH, EVERYTHING, BATCH
                )
            except Exception:
                log.warning("reading the log failed; retrying", exc_info=True)
                await asyncio.sleep(self._poll)
                continue
            if page.end > self.head:
                self._take(page.entries, page.end)
                # The other consumers (on their threads) and the fan-out (on
                # this loop) at once: writes waiting for the views do not
                # wait for live subscribers to be served first.
                advancing = asyncio.gather(
                    *(self._advance(consumer) for consumer in self._on_advance)
                )
                await asyncio.sleep(0)  # they start, and hand their work to threads
                await self._fan_out(page.entries)
                await advancing
            if page.at_head:
                await self.bell.wait(self._poll)

    def _take(self, entries: list[LogEntry], end: int) -> None:
        for entry in entries:
            self._window.append(entry)
            self._positions.append(entry.position)
        while len(self._window) > self._size:
            dropped = self._window.popleft()
            self._positions.popleft()
            self.low = dropped.position
        self.head = end
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def _advance(self, consumer: OnAdvance) -> None:
        try:
            await consumer(self.head)
        except Exception:
            log.warning("a consumer of the log failed", exc_info=True)

    async def _fan_out(self, entries: list[LogEntry]) -> None:
        """Each new entry, rendered once per group, to every tap that wants
        it. A tap that joined while this ran joined at the new head, past
        these entries, and its position says so."""
        for group in list(self._taps.values()):
            for entry in entries:
                takers = [
                    tap
                    for tap in group
                    if tap.position < entry.position and tap.where.matches(entry)
                ]
                if not takers:
                    continue
                try:
                    rendered = await takers[0].render(entry)
                except Exception:
                    log.exception("rendering an event for live subscribers failed")
                    rendered = None
                for tap in takers:
                    tap.deliver(entry, rendered)
            for tap in group:
                tap.position = max(tap.position, self.head)

    def join(self, tap: LiveTap) -> None:
        self._taps.setdefault(tap.group, []).append(tap)

    def leave(self, tap: LiveTap) -> None:
        group = self._taps.get(tap.group)
        if group is not None and tap in group:
            group.remove(tap)
            if not group:
                del self._taps[tap.group]

    @property
    def live_taps(self) -> int:
        return sum(len(group) for group in self._taps.values())

    def _since(self, position: int) -> list[LogEntry]:
        """Window entries above ``position`` (which must be at least ``low``)."""
        start = bisect.bisect_right(self._positions, position)
        return [self._window[i] for i in range(start, len(self._window))]

    async def follow(
        self,
        after: int | None,
        where: EntryFilter = EVERYTHING,
        tap: LiveTap | None = None,
    ) -> AsyncIterator[LogEntry]:
        """Every matching entry after ``after`` (None: from now on), in
        position order, each once, for as long as the caller iterates; or,
        given a ``tap``, until the head is reached: the tap then joins at
        that position (the caller leaves it) and the iteration ends."""
        # A new subscriber may know of writes the hub has not seen yet (made
        # through another process): read the log now rather than at the poll.
        self.bell.ring()
        position = self.head if after is None else after
        while True:
            if position < self.low:
                try:
                    async with self._catching_up:
                        page = await asyncio.to_thread(
                            self._reader.page, position, BATCH, where
                        )
                except Exception:  # the store is down: wait, as _follow does
                    log.warning("reading the log failed; retrying", exc_info=True)
                    await asyncio.sleep(self._poll)
                    continue
                for entry in page.entries:
                    yield entry
                # A page that reached the head ends at or past the hub's head
                # when it began, so the next step reads the window.
                position = page.end
                continue
            if self.head <= position and tap is not None:
                tap.position = position
                self.join(tap)
                return
            if self.head <= position:
                moved = self._moved
                await moved.wait()
                continue
            reached = self.head
            for entry in self._since(position):
                if where.matches(entry):
                    yield entry
            position = reached
