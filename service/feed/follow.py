"""Following the log from a plain thread, with no event loop: the CLI's
``events --follow``.

The same rules as the hub, in a few lines: read pages after the last position
looked at; at the head, wait for a wake-up or the poll interval, then read
again. A wake-up carries no data, so a lost or extra one costs at most one
poll interval or one empty read, never an event.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from types import TracebackType
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder

from service.feed.entries import EVERYTHING, EntryFilter, LogEntry
from service.feed.log_reader import BATCH, LogReader
from service.feed.wakeup import PostgresListener

log = logging.getLogger("claims_ledger.feed")


class Wakeup:
    """Wakes a waiting thread when the log may have grown: at once on a NOTIFY
    (PostgreSQL), else after the poll interval (a write by another process on
    a SQLite file reports itself no other way)."""

    def __init__(self, application: Application[UUID], poll_interval: float) -> None:
        self._rung = threading.Event()
        self.poll_interval = poll_interval
        recorder = application.recorder
        self._listener = (
            PostgresListener(recorder, self._rung.set)
            if isinstance(recorder, PostgresApplicationRecorder)
            else None
        )

    def __enter__(self) -> Wakeup:
        if self._listener is not None:
            self._listener.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._listener is not None:
            self._listener.stop()

    def wait(self) -> None:
        """Wait for a wake-up or the poll interval, whichever comes first."""
        self._rung.wait(self.poll_interval)
        # Cleared before the next read: a commit that rings after this is
        # read then, or rings again.
        self._rung.clear()


def follow(
    reader: LogReader,
    after: int,
    where: EntryFilter = EVERYTHING,
    *,
    wait: Callable[[], bool] | None = None,
) -> Iterator[LogEntry]:
    """Every entry after ``after`` that matches ``where``, in position order,
    each once. Without ``wait``, ends at the head. With it, calls ``wait`` at
    the head, which waits and says whether to read on; a failed read is then
    logged and retried after a wait, rather than ending the follow. Blocking."""
    position = after
    while True:
        try:
            page = reader.page(position, BATCH, where)
        except Exception:
            if wait is None:
                raise
            log.warning("reading the log failed; retrying", exc_info=True)
            if not wait():
                return
            continue
        yield from page.entries
        position = page.end
        if page.at_head and (wait is None or not wait()):
            return
