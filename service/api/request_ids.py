"""Every request gets an id, echoed in ``X-Request-ID`` and carried by every
log line written while it runs, so a masked error can be found from what the
client saw.

The id lives in a context variable: the error log in ``errors.classify`` and
anything else that logs during the request needs no parameter to reach it.
Each request ends with one log line: id, method, path, status, GraphQL
operation name and principal (never the key), and its duration. A client that
disconnects before its body arrives ends with that line too, not a traceback,
and so does one whose body is too slow (``RequestTimedOut``, raised by the
HTTP protocol's deadline): it is answered 408 here, with its id.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from uuid import uuid4

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from service.api.http_errors import send_error

HEADER = "x-request-id"
MAX_ID_LENGTH = 128
# Visible ASCII, no spaces: safe to echo in a header and to write in a log line.
SANE_ID = re.compile(rf"[\x21-\x7e]{{1,{MAX_ID_LENGTH}}}")
LOG_FORMAT = "%(levelname)s %(name)s%(request)s %(message)s"
TIMEOUT_MESSAGE = "The request was not received in time."

log = logging.getLogger("claims_ledger.http")


@dataclass
class RequestInfo:
    """What one request's log line says; filled in as the request runs."""

    id: str
    operation: str | None = None
    principal: str | None = None
    key_refused: bool = False
    status: int | None = None


current: ContextVar[RequestInfo | None] = ContextVar("request", default=None)


class RequestTimedOut(Exception):  # noqa: N818 - it is an event, not an error
    """The body did not arrive in time: the request is answered 408."""


def request_id_for(incoming: str | None) -> str:
    """The client's id when it is sane, else a fresh one."""
    if incoming is not None and SANE_ID.fullmatch(incoming):
        return incoming
    return uuid4().hex


def printable(text: str, limit: int = 200) -> str:
    """Client-supplied text as it may appear in a log line: one line, bounded."""
    shown = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return shown + ("…" if len(text) > limit else "")


class RequestIds:
    """ASGI middleware: the outermost layer of the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = RequestInfo(id=request_id_for(Headers(scope=scope).get(HEADER)))
        token = current.set(info)
        started = time.perf_counter()
        outcome = ""

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                info.status = message["status"]
                MutableHeaders(scope=message).append(HEADER, info.id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            outcome = "client gone before its request was complete"
        except RequestTimedOut as timeout:
            outcome = str(timeout)
            if info.status is None:
                await send_error(
                    send_with_id,
                    408,
                    TIMEOUT_MESSAGE,
                    [(b"connection", b"close")],
                )
        except Exception:
            # Starlette would answer a plain-text 500 and uvicorn log the
            # traceback after this request's id is gone; do both here.
            log.exception("unhandled error")
            outcome = "unhandled error"
            if info.status is None:
                await send_error(send_with_id, 500, "Unexpected error.")
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            log_request(info, scope["method"], scope["path"], elapsed, outcome)
            current.reset(token)


def log_request(
    info: RequestInfo, method: str, path: str, elapsed_ms: float, outcome: str = ""
) -> None:
    """The one line a request leaves in the log, under its id."""
    token = current.set(info)
    try:
        log.info(
            "%s %s %s op=%s principal=%s %.0f ms%s",
            method,
            printable(path),
            info.status or "-",
            printable(info.operation) if info.operation else "-",
            _principal(info),
            elapsed_ms,
            f" ({outcome})" if outcome else "",
        )
    finally:
        current.reset(token)


def _principal(info: RequestInfo) -> str:
    if info.key_refused:
        return "- (key refused)"
    return printable(info.principal) if info.principal else "-"


class OperationName(SchemaExtension):
    """Notes the operation's name (given by the client, or the document's own)
    for the request's log line."""

    def on_operation(self) -> Iterator[None]:
        yield
        info = current.get()
        if info is not None:
            info.operation = self.execution_context.operation_name


class RequestIdFilter(logging.Filter):
    """Adds ``request`` (`` [id]`` inside a request, else empty) to every
    record a handler writes, whichever logger wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = current.get()
        record.request = f" [{info.id}]" if info is not None else ""
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """One format for the service's and uvicorn's lines, with request ids."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    for handler in logging.getLogger().handlers:
        handler.addFilter(RequestIdFilter())
