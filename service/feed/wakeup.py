"""What wakes a follower of the log when it may have grown.

Three sources, one bell: a commit through this process rings it at once; on
PostgreSQL, the NOTIFY that the library's insert sends on the events table's
channel rings it for a commit through any process; a bounded poll catches
what neither reports (on SQLite, a write by another process: ``load-seeds``,
a second server on the same file). The bell carries no data: a woken
follower reads the log after its own position, so a lost or extra ring costs
at most one poll interval or one empty read, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.sql import SQL, Identifier

log = logging.getLogger("claims_ledger.feed")


class Bell:
    """Rung from any thread; waited on by one asyncio task."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def bind(self) -> None:
        """Attach to the running loop (call from it)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def ring(self) -> None:
        loop, event = self._loop, self._event
        if loop is None or event is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> bool:
        """Wait for a ring or ``timeout`` seconds; True if rung."""
        assert self._event is not None, "bind() first"  # noqa: S101
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True


class PostgresListener:
    """LISTEN on the channel the library's recorder NOTIFYs on each insert,
    from a thread with its own connection; rings ``on_notify`` per wake-up.
    NOTIFY is delivered at commit, so a ring never precedes the event."""

    def __init__(
        self, recorder: PostgresApplicationRecorder, on_notify: Callable[[], None]
    ) -> None:
        self._recorder = recorder
        self._on_notify = on_notify
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._listen, name="claims-ledger-listen", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _listen(self) -> None:
        channel = SQL("LISTEN {0}").format(Identifier(self._recorder.channel_name))
        while not self._stopped.is_set():
            try:
                with self._recorder.datastore.get_connection() as connection:
                    connection.execute(channel)
                    connection.commit()
                    self._on_notify()  # anything missed while not listening
                    try:
                        while not self._stopped.is_set():
                            for _ in connection.notifies(timeout=0.5, stop_after=1):
                                self._on_notify()
                    finally:  # the connection goes back to the library's pool
                        connection.execute("UNLISTEN *")
                        connection.commit()
            except Exception:  # the poll covers the gap; retry shortly
                log.warning("LISTEN connection lost; retrying", exc_info=True)
                self._stopped.wait(1.0)
