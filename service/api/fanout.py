"""Live ``events`` subscriptions over WebSocket: one rendering per event and
per distinct document, written to every subscriber as the same bytes.

The per-subscriber path (graphql-core mapping each event, strawberry
building and encoding each ``next`` message) costs about 0.2 ms of CPU per
delivery: 200 ms per event at a thousand subscribers. Once a subscriber has
caught up, it hands the hub a ``LiveTap`` instead (service.feed.hub): the hub
renders each new event once per group of subscribers that share a document,
its variables and their read access (the key service.api.sharing already
computes), and every member's task only wraps the encoded payload in its own
``next`` frame and writes it.

What a subscriber missed before it reached the head is rendered the same
way, by its own task, and written the same way, so a replay pays neither
strawberry's per-result path nor a second encoding either.

A member's queue is bounded (``Settings.live_backlog``). A member whose queue
fills leaves the hub and goes back to reading the log itself from the first
event it could not queue, then taps in again at the head: a burst never
disconnects anyone and never grows memory. A socket that takes nothing is the send
deadline's business (service.api.streams), as on the per-subscriber path.
SSE streams and the ``claimChanged`` subscription stay on that path.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from service.api.cost import cost_report
from service.api.errors import classify
from service.feed.entries import EntryFilter, LogEntry
from service.feed.hub import LiveTap, LogHub

if TYPE_CHECKING:
    from service.api.context import Context
    from service.api.sharing import SharedEventExecution
    from service.api.streams import LedgerWebSocket

log = logging.getLogger("claims_ledger.feed")

_OUTLET: ContextVar[Outlet | None] = ContextVar("claims_ledger_outlet", default=None)


class Outlet:
    """One subscription operation on one WebSocket: where its frames go."""

    def __init__(self, websocket: LedgerWebSocket, operation_id: str) -> None:
        self._websocket = websocket
        operation = json.dumps(operation_id)
        self._frame_start = f'{{"id":{operation},"type":"next","payload":{{'

    def direct_feed(
        self, context: Context, where: EntryFilter, root: Callable[[LogEntry], Any]
    ) -> DirectFeed | None:
        """The feed for this operation's subscription, whose events are
        ``root(entry)``; None when its result cannot be shared (it then stays
        on the per-subscriber path)."""
        executor = context.subscription
        key = executor.share_key() if executor is not None else None
        if executor is None or key is None:
            return None
        limit = context.services.settings.live_backlog
        return DirectFeed(self, context, executor, key, where, root, limit)

    async def send(self, payload: str, own: str) -> None:
        """``payload``: the shared members of a ``next`` payload, encoded;
        ``own``: this operation's, encoded (its extensions) or empty."""
        await self._websocket.send_text_in_time(
            f"{self._frame_start}{payload}{own}}}}}"
        )


@contextlib.contextmanager
def outlet_for(websocket: LedgerWebSocket, operation_id: str) -> Iterator[None]:
    """While the operation's task runs this, its ``events`` subscription
    may deliver live frames itself."""
    token = _OUTLET.set(Outlet(websocket, operation_id))
    try:
        yield
    finally:
        _OUTLET.reset(token)


def current_outlet() -> Outlet | None:
    return _OUTLET.get()


class DirectFeed:
    """An ``events`` subscription that writes its own frames: its replay,
    then, live, its tap in the hub and the frames queued for it."""

    def __init__(
        self,
        outlet: Outlet,
        context: Context,
        executor: SharedEventExecution,
        key: tuple[Any, ...],
        where: EntryFilter,
        root: Callable[[LogEntry], Any],
        limit: int,
    ) -> None:
        self._outlet = outlet
        self._context = context
        self._limit = limit
        self._executor = executor
        self._root = root
        self.tap = LiveTap(where, key, self._render, self._queue)
        self._frames: deque[str] = deque()
        self._ready = asyncio.Event()
        self._resume_after: int | None = None
        self._through = -1
        """The last position sent or queued: nothing at or below it again."""
        self._why = ""
        self._live = False
        self._reported: dict[str, Any] = {}
        self._reported_json = ""

    async def _render(self, entry: LogEntry) -> str:
        """The ``next`` payload for ``entry``, encoded: executed once for the
        whole group, with the event as the root value."""
        executor = self._executor.build_per_event_executor(self._root(entry))
        result = executor.execute_operation(False)
        if self._executor.is_awaitable(result):
            result = await result
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [classify(e).formatted for e in result.errors]
        return json.dumps(payload, separators=(",", ":"))[1:-1]

    def _own(self) -> str:
        """This operation's extensions (its cost report), as they go in its
        ``next`` payloads; encoded again only when they change."""
        report = cost_report(self._context)
        if report != self._reported:
            self._reported = report
            self._reported_json = (
                f',"extensions":{json.dumps(report, separators=(",", ":"))}'
                if report
                else ""
            )
        return self._reported_json

    def _queue(self, entry: LogEntry, payload: str | None) -> None:
        if (
            not self._live
            or self._resume_after is not None
            or entry.position <= self._through  # handed over already
        ):
            return
        if payload is None or len(self._frames) >= self._limit:
            # Everything before this entry is queued or not wanted: the
            # subscriber reads the log itself from here.
            self._resume_after = entry.position - 1
            self._why = (
                "it could not be rendered for its group"
                if payload is None
                else f"more than {self._limit} events were queued for it"
            )
        else:
            self._frames.append(payload)
            self._through = entry.position
        self._ready.set()

    async def follow(self, hub: LogHub, after: int | None) -> None:
        """Write every event after ``after`` (None: from now on) to the
        socket, for as long as the operation runs: what the subscriber
        missed, rendered here one by one; then, from the head, what the hub
        renders for the whole group; back to the log when the queue fills."""
        where = self.tap.where
        position = after
        while True:
            async for entry in hub.follow(position, where, self.tap):
                await self._outlet.send(await self._render(entry), self._own())
                self._through = entry.position
            # The tap joined at the head just now, with no await since: the
            # hub has queued nothing for it yet.
            self._through = max(self._through, self.tap.position)
            self._live = True
            try:
                position = await self._deliver()
            finally:
                self._live = False
                hub.leave(self.tap)
            self._resume_after = None

    async def _deliver(self) -> int:
        """Send what the hub queues, in order, until the queue fills or an
        event could not be rendered; then the position after which to read
        the log again."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._frames:
                await self._outlet.send(self._frames.popleft(), self._own())
            if self._resume_after is not None:
                log.info(
                    "a live subscriber reads the log from position %d: %s",
                    self._resume_after,
                    self._why,
                )
                return self._resume_after
