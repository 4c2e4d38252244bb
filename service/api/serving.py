"""Serving on a network: uvicorn with deadlines, a bound on the requests under
way, and a bound on the connections waiting without one.

uvicorn (0.54) closes keep-alive connections idle between requests, but has no
deadline for a fresh connection that sends nothing, nor for a request whose
headers or body trickle in a byte at a time; its ``limit_concurrency`` counts
every open socket, so idle ones lock everyone out, and answers in plain text.
``GuardedHttp`` gives each connection one deadline at a time:

- idle (no request under way: just opened, or between requests): closed
  without a word after ``idle_timeout``;
- headers, from a request's first byte: ``header_timeout``, then 408;
- body, from the end of the headers: ``body_timeout``, then 408, answered by
  the application (``RequestTimedOut``) so that it has the request's id and
  its one log line like any other answer.

A request is under way from its last header until its answer is sent; past
``max_connections`` of them a new one is answered 503 at once. Connections
without one (idle, or still sending headers) hold only a socket: at most
``max_connections`` of them are kept, and when one more opens, the one that
has waited longest is closed, so a flood of bare connects churns its own
sockets instead of crowding out clients that send a request.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, ClassVar, Literal

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.api.app import create_app
from service.api.http_errors import Header, error_response, send_error
from service.api.request_ids import (
    HEADER,
    TIMEOUT_MESSAGE,
    RequestIds,
    RequestInfo,
    RequestTimedOut,
    log_request,
    request_id_for,
)
from service.api.streams import STREAMS
from service.settings import Settings

log = logging.getLogger("claims_ledger")

Phase = Literal["idle", "headers", "body", "done"]
Deadline = Literal["idle", "headers", "body"]

BUSY_MESSAGE = "The server is busy; try again shortly."
BUSY_HEADERS: list[Header] = [(b"retry-after", b"1"), (b"connection", b"close")]
CLOSE: list[Header] = [(b"connection", b"close")]


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:  # noqa: ARG001
    """The answer past the bound on requests under way."""
    await send_error(send, 503, BUSY_MESSAGE, BUSY_HEADERS)


# With its request id and log line, like any other answer.
_busy = RequestIds(_refuse)


class BodyDeadline:
    """Whether one request's body deadline has passed. The application learns
    it at its next ``receive``, which raises ``RequestTimedOut``."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.passed = False

    def guard(self, app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            async def receive_in_time() -> Message:
                message = await receive()
                if self.passed:
                    msg = f"body not complete after {self.seconds:g} s"
                    raise RequestTimedOut(msg)
                return message

            await app(scope, receive_in_time, send)

        return guarded


class GuardedHttp(HttpToolsProtocol):
    """One HTTP/1.1 connection, with a deadline for each thing it waits for.

    uvicorn's parser callbacks mark the phases: the idle deadline runs from
    the connection's start and from the end of each answer; the first byte of
    a request replaces it with the header deadline, the end of the headers
    with the body deadline, and the end of the body drops it.
    """

    idle_timeout: ClassVar[float] = Settings.idle_timeout
    header_timeout: ClassVar[float] = Settings.header_timeout
    body_timeout: ClassVar[float] = Settings.body_timeout
    max_connections: ClassVar[int] = Settings.max_connections
    # The connections with no request under way, longest waiting first.
    waiting: ClassVar[dict[GuardedHttp, None]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = self.app
        self._deadline: asyncio.TimerHandle | None = None
        self._kind: Deadline | None = None
        self._phase: Phase = "idle"
        self._began = 0.0
        self._body: BodyDeadline | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm("idle")
        self._wait()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.waiting.pop(self, None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase in {"idle", "done"} and self._kind in {None, "idle"}:
            # The first bytes of a request (or blank lines before one).
            self._arm("headers")
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "headers"
        if self._kind != "headers":
            # It began in the same read as the end of the previous body.
            self._arm("headers")

    def on_headers_complete(self) -> None:
        self._phase = "body"
        self._arm("body")
        self.waiting.pop(self, None)  # a request is under way
        # Open subscriptions are bounded apart (max_streams), not here.
        busy = len(self.tasks) - STREAMS.count >= self.max_connections
        self._body = BodyDeadline(self.body_timeout)
        # uvicorn reads self.app here to start this request's task.
        self.app = self._body.guard(_busy if busy else self._app)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._phase = "done"
        if self.cycle is not None and self.cycle.response_complete:
            # Answered before its body was in: idle from now on.
            self._arm("idle")

    def on_response_complete(self) -> None:
        idle = not self.pipeline  # else uvicorn starts the next request
        super().on_response_complete()
        if not idle or self.transport.is_closing():
            return
        self._unset_keepalive_if_required()  # uvicorn's idle timer; ours instead
        if self._phase == "done":  # else the rest of the body is still due
            self._arm("idle")
        self._wait()

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self.waiting.pop(self, None)
        super().handle_websocket_upgrade()

    def _wait(self) -> None:
        """Join the connections without a request under way as the newest;
        past the bound, the one waiting longest is closed."""
        self.waiting.pop(self, None)
        self.waiting[self] = None
        while len(self.waiting) > self.max_connections:
            next(iter(self.waiting))._shed()

    def _shed(self) -> None:
        self.waiting.pop(self, None)
        if self._kind == "headers" and self._may_answer():
            outcome = "closed: too many connections waiting"
            self._answer_early(503, BUSY_MESSAGE, BUSY_HEADERS, outcome)
        self._disarm()
        self.transport.close()

    def _arm(self, kind: Deadline) -> None:
        self._disarm()
        seconds = {
            "idle": self.idle_timeout,
            "headers": self.header_timeout,
            "body": self.body_timeout,
        }[kind]
        if kind == "headers":
            self._began = self.loop.time()
        self._kind = kind
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._kind = None

    def _expired(self) -> None:
        kind = self._kind
        self._deadline = None
        self._kind = None
        if self.transport.is_closing():
            return
        body = self._body
        cycle = self.cycle
        if kind == "body" and body is not None and cycle and not cycle.response_started:
            # The application answers 408 at its next receive; the connection
            # closes after that answer.
            body.passed = True
            cycle.keep_alive = False
            cycle.message_event.set()
            return
        if kind == "headers" and self._may_answer():
            outcome = f"headers not complete after {self.header_timeout:g} s"
            self._answer_early(408, TIMEOUT_MESSAGE, CLOSE, outcome)
        # An idle connection is closed without a word.
        self.transport.close()

    def _may_answer(self) -> bool:
        """An answer may be written only while no other is on the wire."""
        return self.cycle is None or self.cycle.response_complete

    def _incoming_id(self) -> str | None:
        """The X-Request-ID of the request being read, if it got that far."""
        if self._phase != "headers":
            return None
        for name, value in self.headers:
            if name == HEADER.encode():
                return value.decode("latin-1")
        return None

    def send_400_response(self, msg: str) -> None:
        """A request the HTTP parser cannot read (a bad method, a control
        byte in a header) gets the JSON error shape and an id like any other,
        instead of uvicorn's plain text."""
        self._answer_early(
            400, msg, [(b"connection", b"close")], "malformed HTTP request"
        )
        self.transport.close()

    def _answer_early(
        self, status: int, message: str, extra: Sequence[Header], outcome: str
    ) -> None:
        """Answer a request whose headers never completed, so no application
        saw it: with its id, and its one log line."""
        info = RequestInfo(id=request_id_for(self._incoming_id()), status=status)
        headers, body = error_response(
            status, message, [*extra, (HEADER.encode(), info.id.encode())]
        )
        head = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}".encode()]
        head += [
            name + b": " + value
            for name, value in [*self.server_state.default_headers, *headers]
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        elapsed = (self.loop.time() - self._began) * 1000
        log_request(info, "-", "-", elapsed, outcome)


def guarded_http(settings: Settings) -> type[GuardedHttp]:
    """GuardedHttp with this service's deadlines and bounds."""

    class Configured(GuardedHttp):
        idle_timeout = settings.idle_timeout
        header_timeout = settings.header_timeout
        body_timeout = settings.body_timeout
        max_connections = settings.max_connections
        waiting = {}  # this server's own, shared by its connections

    return Configured


class LedgerServer(uvicorn.Server):
    """Says where it listens once the socket is bound (uvicorn's own start
    messages are below the level it logs at)."""

    def __init__(self, config: uvicorn.Config, dev: bool) -> None:
        super().__init__(config)
        self.dev = dev

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}/graphql"
        log.info("listening on %s%s", url, f"; GraphiQL at {url}" if self.dev else "")


def serve(settings: Settings, host: str, port: int) -> None:
    """Run the API until interrupted. Blocking."""
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        http=guarded_http(settings),
        log_config=None,  # the lines go through the service's own format
        access_log=False,  # RequestIds writes one line per request instead
        server_header=False,
        ws_ping_interval=settings.ws_ping_interval,
        ws_ping_timeout=settings.ws_ping_interval,
        # Feed messages are a few hundred bytes: compressing each one for
        # each subscriber costs more than the bytes it saves.
        ws_per_message_deflate=False,
        # Open subscriptions (an SSE stream never ends by itself) must not
        # hold a stopping server for ever.
        timeout_graceful_shutdown=5,
    )
    LedgerServer(config, dev=settings.dev).run()
