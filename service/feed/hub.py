"""The follower of the log that every in-process consumer shares.

One task per process reads each new event once, in position order, keeps the
most recent ones in a bounded window, and wakes whoever waits. Subscribers
replay from the store what lies before the window, then read the window, then
wait: the window holds every ledger event above ``low``, so the step from
replay to live can neither skip nor repeat one. The other consumers (the
catalog today, persistent views next) are told each time the head moves.

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
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from service.feed.entries import EVERYTHING, EntryFilter, LogEntry
from service.feed.log_reader import BATCH, LogReader
from service.feed.wakeup import Bell

log = logging.getLogger("claims_ledger.feed")

OnAdvance = Callable[[int], Awaitable[None]]


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
                for consumer in self._on_advance:
                    try:
                        await consumer(self.head)
                    except Exception:
                        log.warning("a consumer of the log failed", exc_info=True)
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

    def _since(self, position: int) -> list[LogEntry]:
        """Window entries above ``position`` (which must be at least ``low``)."""
        start = bisect.bisect_right(self._positions, position)
        return [self._window[i] for i in range(start, len(self._window))]

    async def follow(
        self, after: int | None, where: EntryFilter = EVERYTHING
    ) -> AsyncIterator[LogEntry]:
        """Every matching entry after ``after`` (None: from now on), in
        position order, each once, for as long as the caller iterates."""
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
            if self.head <= position:
                moved = self._moved
                await moved.wait()
                continue
            reached = self.head
            for entry in self._since(position):
                if where.matches(entry):
                    yield entry
            position = reached
