"""Serving on a network: uvicorn with read deadlines and a bound on connections.

uvicorn (0.54) closes idle keep-alive connections, but has no deadline for a
request whose headers or body trickle in a byte at a time: such a client holds
its connection as long as it likes, and a few hundred of them hold the server.
Its ``limit_concurrency`` answers in plain text. ``GuardedHttp`` adds both
deadlines (counted from the first byte of the headers, and from the end of the
headers to the end of the body) and answers past the bound with the JSON error
shape every refusal has.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any, ClassVar, Literal

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.api.app import create_app
from service.api.http_errors import error_body
from service.api.request_ids import RequestIds
from service.settings import Settings

log = logging.getLogger("claims_ledger")
http_log = logging.getLogger("claims_ledger.http")

Phase = Literal["idle", "headers", "body", "done"]


async def _refuse(scope: Any, receive: Any, send: Any) -> None:  # noqa: ARG001
    """The answer past the connection bound; the connection closes after it."""
    body = error_body(503, "The server is busy; try again shortly.")
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# With its request id and log line, like any other answer.
_busy = RequestIds(_refuse)


class GuardedHttp(HttpToolsProtocol):
    """One HTTP/1.1 connection, with deadlines for reading each request.

    uvicorn's parser callbacks mark the phases: a deadline is armed at the
    first byte of a request (or when the connection opens), replaced by the
    body deadline when the headers are complete, and dropped when the body is.
    Between requests, uvicorn's own keep-alive timeout applies.
    """

    header_timeout: ClassVar[float] = Settings.header_timeout
    body_timeout: ClassVar[float] = Settings.body_timeout
    max_connections: ClassVar[int] = Settings.max_connections

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._app = self.app
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: Phase = "idle"

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and self._phase in {"idle", "done"}:
            # Bytes after a keep-alive pause that have not begun a request yet
            # (blank lines) get the header deadline too.
            self._arm(self.header_timeout)
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "headers"
        if self._deadline is None:
            self._arm(self.header_timeout)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._phase = "body"
        self._arm(self.body_timeout)
        busy = (
            len(self.connections) > self.max_connections
            or len(self.tasks) >= self.max_connections
        )
        # uvicorn reads self.app here to start this request's task.
        self.app = _busy if busy else self._app
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        self._phase = "done"

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        super().handle_websocket_upgrade()

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._phase in {"headers", "body"}:
            seconds = (
                self.header_timeout if self._phase == "headers" else self.body_timeout
            )
            peer = "{}:{}".format(*self.client) if self.client else "a client"
            http_log.warning(
                "closed the connection from %s: request %s not complete after %g s",
                peer,
                self._phase,
                seconds,
            )
            if self._may_answer():
                self._answer_timeout()
        # A connection that never began a request is closed without a word.
        self.transport.close()

    def _may_answer(self) -> bool:
        """A 408 may be written only while no response is on the wire."""
        if self.cycle is None:
            return True
        if self._phase == "headers":
            return self.cycle.response_complete
        return not self.cycle.response_started

    def _answer_timeout(self) -> None:
        body = error_body(408, "The request was not received in time.")
        head = [b"HTTP/1.1 408 Request Timeout"]
        head += [
            name + b": " + value for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)


def guarded_http(settings: Settings) -> type[GuardedHttp]:
    """GuardedHttp with this service's deadlines and bound."""

    class Configured(GuardedHttp):
        header_timeout = settings.header_timeout
        body_timeout = settings.body_timeout
        max_connections = settings.max_connections

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
    )
    LedgerServer(config, dev=settings.dev).run()
