"""Subscription transports: graphql-transport-ws and graphql-sse, with the
same keys, bounds and error codes as plain HTTP.

- Auth: the key comes in the upgrade request's headers or in
  ``connection_init``'s payload (``{"Authorization": "Bearer …"}`` or
  ``{"apiKey": "…"}``), checked as HTTP checks it; a key nobody has closes
  the socket with 4403 and says why.
- Bounds: open WebSockets and SSE streams together stay under
  ``max_streams`` (counted apart from ``max_connections``, so a thousand idle
  subscribers do not turn HTTP requests away); subscriptions per socket under
  ``max_subscriptions_per_connection``.
- A consumer that does not take a message within ``stream_send_timeout`` is
  disconnected (1008, "too slow…"): its socket's buffers are bounded and full,
  and it resumes from the last position it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
)
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError

from service.api.context import Context
from service.api.errors import classify
from service.api.fanout import outlet_for
from service.api.http_errors import error_body
from service.api.keys import keys_in, principal_for
from service.settings import Settings

log = logging.getLogger("claims_ledger")

TOO_SLOW = "too slow: resubscribe with after = the last position you received"
TOO_MANY = "too many subscription connections; try again shortly"
BAD_KEY = "Forbidden: the API key presented is not valid"


class OpenStreams:
    """How many WebSockets and SSE streams are open in this process."""

    def __init__(self) -> None:
        self.count = 0

    def take(self, limit: int) -> bool:
        """Take a slot, unless ``limit`` are taken; release it when done."""
        if self.count >= limit:
            return False
        self.count += 1
        return True

    def release(self) -> None:
        self.count -= 1

    @contextlib.contextmanager
    def held(self, limit: int) -> Iterator[bool]:
        """Hold one slot while the block runs; yields False past ``limit``."""
        admitted = self.take(limit)
        try:
            yield admitted
        finally:
            if admitted:
                self.release()


STREAMS = OpenStreams()


class LedgerWebSocket(ASGIWebSocketAdapter):
    """Malformed frames are the protocol's 4400, not a crash; a send that
    the peer does not take in time ends the connection."""

    def __init__(self, view: Any, request: WebSocket, response: WebSocket) -> None:
        super().__init__(view, request, response)
        self.too_slow = asyncio.Event()
        """Set when a send timed out: the whole connection must end."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        stream = super().iter_json(ignore_parsing_errors=ignore_parsing_errors)
        while True:
            try:
                message = await anext(stream)
            except StopAsyncIteration:
                return
            except HTTPException as error:  # our decode_json's refusals
                raise NonJsonMessageReceived from error
            yield message

    async def send_json(self, message: Mapping[str, object]) -> None:
        await self._in_time(super().send_json(message))

    async def send_text_in_time(self, text: str) -> None:
        """A frame already encoded (service.api.fanout), under the same
        deadline as every other message."""
        try:
            await self._in_time(self.ws.send_text(text))
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error

    async def _in_time(self, sending: Coroutine[Any, Any, None]) -> None:
        timeout: float = getattr(self.view, "send_timeout", 30.0)
        try:
            # A deadline on this task: wait_for would make a task per message.
            async with asyncio.timeout(timeout):
                await sending
        except TimeoutError:
            log.info("disconnecting a subscriber: %s", TOO_SLOW)
            self.too_slow.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.close(1008, TOO_SLOW), 1.0)
            # The connection's handler ends now (LedgerTransportWS.handle),
            # cancelling this operation; until then, send nothing more.
            await asyncio.Event().wait()


class LedgerTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    async def handle(self) -> None:
        context = self.context
        limit = context.services.settings.max_streams
        with STREAMS.held(limit) as admitted:
            if not admitted:
                self.on_request_accepted()
                await self.websocket.close(1013, TOO_MANY)
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                return
            await self._handle_until_too_slow()

    async def _handle_until_too_slow(self) -> None:
        """Serve the connection; a subscriber too slow to take a message
        ends all of it (the ASGI server then closes the socket, whatever
        the peer does), and shutdown cleans up every operation."""
        websocket = self.websocket
        assert isinstance(websocket, LedgerWebSocket)  # noqa: S101 - the view's class
        serving = asyncio.create_task(super().handle())
        slow = asyncio.create_task(websocket.too_slow.wait())
        try:
            await asyncio.wait({serving, slow}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            slow.cancel()
            if not serving.done():
                serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """Past the bound, the one more is refused with a code, as HTTP's are."""
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and len(self.operations) >= limit
            and message["id"] not in self.operations
        ):
            error = GraphQLError(
                f"This connection already carries {limit} subscriptions; "
                "open another connection or complete one.",
                extensions={"code": "TOO_MANY_SUBSCRIPTIONS"},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Refuse a bad key here, once, with a reason; a good one (from the
        payload or the upgrade headers) stands for the whole connection."""
        payload = message.get("payload") or {}
        context = self.context
        if isinstance(payload, dict) and not self.connection_init_received:
            keys = context.presented + keys_in(payload)
            principal, refused = principal_for(context.services.settings, keys)
            if refused:
                if self.connection_init_timeout_task:
                    self.connection_init_timeout_task.cancel()
                self.connection_init_received = True
                await self.websocket.close(4403, BAD_KEY)
                return
            context.principal = principal
            context.key_refused = False
        await super().handle_connection_init(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """The operation's ``events`` subscription may write its live frames
        to this socket itself (service.api.fanout)."""
        websocket = self.websocket
        assert isinstance(websocket, LedgerWebSocket)  # noqa: S101 - the view's class
        with outlet_for(websocket, operation.id):
            await super().run_operation(operation)

    async def _send_result_stream(
        self, operation: Operation[Context, None], result_source: Any
    ) -> None:
        """Every result's errors get their codes (and unexpected ones are
        masked) before they leave, as over HTTP."""

        async def classified() -> AsyncGenerator[Any, None]:
            async for result in result_source:
                if isinstance(result, ExecutionResult) and result.errors:
                    result.errors = [classify(e) for e in result.errors]
                yield result

        await super()._send_result_stream(operation, classified())

    async def handle_task_exception(self, error: Exception) -> None:
        """A peer that went away mid-stream is not a server error."""
        if isinstance(error, WebSocketDisconnected):
            return
        await super().handle_task_exception(error)

    async def _handle_pre_execution_error(
        self, operation: Operation[Context, None], result: PreExecutionError
    ) -> None:
        """Validation and the like: the same codes as over HTTP."""
        result.errors = [classify(e) for e in result.errors or []]
        await super()._handle_pre_execution_error(operation, result)


class BoundedStream(StreamingResponse):
    """An SSE stream that counts against ``max_streams`` and ends when the
    client stops taking what is sent."""

    def __init__(self, *args: Any, send_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            STREAMS.release()  # taken by streaming_response

    async def stream_response(self, send: Send) -> None:
        async def send_in_time(message: Any) -> None:
            await asyncio.wait_for(send(message), self._send_timeout)

        try:
            await super().stream_response(send_in_time)
        except TimeoutError:
            log.info("ending an SSE stream: %s", TOO_SLOW)


async def streaming_response(
    settings: Settings,
    stream: Callable[[], AsyncIterator[str]],
    status_code: int,
    headers: Mapping[str, str],
) -> Response:
    if not STREAMS.take(settings.max_streams):
        return Response(
            error_body(503, TOO_MANY),
            status_code=503,
            media_type="application/json",
            headers={"retry-after": "1"},
        )
    return BoundedStream(
        stream(),
        status_code=status_code,
        headers=dict(headers),
        send_timeout=settings.stream_send_timeout,
    )
