"""Requests refused before GraphQL runs (not JSON, too large, wrong method) get
a GraphQL-shaped JSON body with a code, like every other error a client sees.

Strawberry and Starlette answer these in plain text; this middleware rewrites
any plain-text error response on its way out, so one place covers them all,
whichever layer refused the request. The answers written outside Starlette
(busy, timed out, an unhandled error) are built here too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Header = tuple[bytes, bytes]

CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "REQUEST_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def error_body(status: int, message: str) -> bytes:
    code = CODES.get(status, HTTPStatus(status).phrase.upper().replace(" ", "_"))
    error = {"message": message, "extensions": {"code": code}}
    return json.dumps({"errors": [error]}).encode()


def error_response(
    status: int, message: str, extra: Sequence[Header] = ()
) -> tuple[list[Header], bytes]:
    """The headers and body of an error answer, for senders that are not a
    Starlette response: ASGI callables of their own and the HTTP protocol."""
    body = error_body(status, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    return headers, body


async def send_error(
    send: Send, status: int, message: str, extra: Sequence[Header] = ()
) -> None:
    """Answer an ASGI request with the JSON error shape."""
    headers, body = error_response(status, message, extra)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class JsonHttpErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        body = b""

        async def rewrite(message: Message) -> None:
            nonlocal held, body
            if message["type"] == "http.response.start" and message["status"] >= 400:
                headers = MutableHeaders(raw=list(message["headers"]))
                if headers.get("content-type", "").startswith("text/plain"):
                    held = message
                    return
            elif held is not None and message["type"] == "http.response.body":
                body += message.get("body", b"")
                if message.get("more_body", False):
                    return
                status = held["status"]
                payload = error_body(status, body.decode("utf-8", "replace").strip())
                headers = MutableHeaders(raw=list(held["headers"]))
                headers["content-type"] = "application/json"
                headers["content-length"] = str(len(payload))
                await send({**held, "headers": headers.raw})
                await send({"type": "http.response.body", "body": payload})
                return
            await send(message)

        await self.app(scope, receive, rewrite)
