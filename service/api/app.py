"""The ASGI application: /graphql, /healthz, and the lifespan that opens the
store once per process."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult, SubscriptionExecutionResult

from service.api import audit_http, graphiql
from service.api.context import Context, not_reached
from service.api.errors import classify
from service.api.http_errors import JsonHttpErrors
from service.api.keys import presented_keys, principal_for
from service.api.request_ids import RequestIds, current
from service.api.schema import build_schema
from service.api.streams import LedgerTransportWS, LedgerWebSocket, streaming_response
from service.api.unicode_guard import first_ill_formed
from service.bootstrap import Services, build, close, start, stop
from service.settings import Settings

MAX_JSON_NESTING = 64
KEY_REFUSED = (
    "The API key presented is not valid; send Authorization: Bearer <key>, "
    "or no key at all for open reads."
)

NEEDS_STREAM = (
    "A subscription needs a stream: a WebSocket (graphql-transport-ws) to "
    "/graphql, or a POST with Accept: text/event-stream (graphql-sse)."
)

log = logging.getLogger("claims_ledger")


READ_AFTER = "read-after-position"
LAST_POSITION = 2**63 - 1


async def _read_after(request: Request, context: Context) -> GraphQLError | None:
    """A client that wrote through another instance sends the position its
    write answered with (``Read-After-Position``): its reads then reflect
    that write, or it is told they could not within ``CLAIMS_READ_WAIT``."""
    raw = request.headers.get(READ_AFTER)
    if raw is None:
        return None
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > LAST_POSITION:
        return GraphQLError(
            f"Read-After-Position is a position, 0 to {LAST_POSITION}",
            extensions={"code": "BAD_USER_INPUT", "field": "Read-After-Position"},
        )
    position = int(text)
    if await context.reads_reach_within(position):
        return None
    return not_reached(position, context.services.views.position)


def _subscribes_plainly(request: GraphQLRequestData, max_tokens: int) -> bool:
    """A subscription sent as a plain request, which would answer null."""
    if request.protocol != "http" or "subscription" not in (request.query or ""):
        return False
    try:
        document = parse(request.query or "", max_tokens=max_tokens)
    except (GraphQLError, RecursionError):
        return False  # the schema reports it as the syntax error it is
    operation = get_operation_ast(document, request.operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


def _nesting(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


class LedgerGraphQL(graphiql.LocalGraphiQL, GraphQL[Context, None]):
    graphql_transport_ws_handler_class = LedgerTransportWS
    websocket_adapter_class = LedgerWebSocket
    send_timeout: float = Settings.stream_send_timeout

    async def get_context(
        self,
        request: Request | WebSocket,
        response: Response | WebSocket,  # noqa: ARG002 - the view's signature
    ) -> Context:
        services: Services = request.state.services
        presented = presented_keys(request)
        principal, refused = principal_for(services.settings, presented)
        info = current.get()
        if info is not None:
            info.principal = principal.principal if principal else None
            info.key_refused = refused
        return Context(
            services=services,
            principal=principal,
            key_refused=refused,
            presented=presented,
        )

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        """SSE streams count against max_streams and end for a client that
        stops reading (service.api.streams)."""
        services: Services = request.state.services
        return await streaming_response(
            services.settings,
            stream,
            sub_response.status_code or 200,
            {**sub_response.headers, **headers},
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        """A request that presents a key nobody has is refused whatever it
        asks, read or write: running it as anonymous would hide the mistake."""
        if context.key_refused:
            error = GraphQLError(KEY_REFUSED, extensions={"code": "UNAUTHENTICATED"})
            return ExecutionResult(data=None, errors=[error])
        waited = await _read_after(request, context)
        if waited is not None:
            return ExecutionResult(data=None, errors=[waited])
        if isinstance(request_data, GraphQLRequestData) and _subscribes_plainly(
            request_data, context.services.settings.max_tokens
        ):
            error = GraphQLError(
                NEEDS_STREAM, extensions={"code": "SUBSCRIPTION_NEEDS_STREAM"}
            )
            return ExecutionResult(data=None, errors=[error])
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Parse and validation failures skip schema extensions; give every
        error its code here, where all results pass."""
        if result.errors:
            result.errors = [classify(e) for e in result.errors]
        return await super().process_result(request, result)

    def decode_json(self, data: str | bytes) -> object:
        """Refuse what the stock decoder would turn into a 500: bytes that are
        not UTF-8, JSON nested deeper than any GraphQL request needs, bodies
        that are not a JSON object, and ill-formed strings outside the
        variables (which the schema's WellFormedStrings names as bad input)."""
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
        except UnicodeDecodeError:
            raise HTTPException(400, "The request body is not UTF-8") from None
        if _nesting(text) > MAX_JSON_NESTING:
            raise HTTPException(400, "The request body is nested too deeply")
        try:
            value: Any = json.loads(text)
        except json.JSONDecodeError:
            raise HTTPException(400, "Unable to parse request body as JSON") from None
        except ValueError:  # a number past Python's limit on integer digits
            raise HTTPException(
                400, "The request body holds a number too long"
            ) from None
        if not isinstance(value, dict):
            raise HTTPException(400, "The request body must be a JSON object")
        variables = value.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise HTTPException(400, "variables must be a JSON object")
        bad = next(
            (
                found
                for name, item in value.items()
                if name != "variables"
                and (found := first_ill_formed({name: item}, "body"))
            ),
            None,
        )
        if bad is not None:
            raise HTTPException(400, f"{bad} is not valid Unicode (a lone surrogate)")
        return value


def create_app(
    settings: Settings, build_services: Callable[[Settings], Services] = build
) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:  # noqa: ARG001
        services = await run_in_threadpool(build_services, settings)
        seeded = (
            f"seeds recorded {services.seeded.recorded} events"
            if services.seeded is not None
            else "seeds not loaded"
        )
        position = await run_in_threadpool(services.ledger.last_position)
        log.info(
            "opened %s; %s; log position %d",
            settings.describe_store(),
            seeded,
            position,
        )
        await start(services)
        # What start-up made lives as long as the process: out of the
        # collector's full sweeps, which would otherwise pause every stream.
        gc.freeze()
        # Collect the young generation after 50,000 new objects, not 700: a
        # thousand subscribers have that many objects in flight for each event,
        # and each young collection would promote them all, so that a full
        # sweep of every connection's objects (0.2 s at a thousand) came every
        # few seconds; this way almost all of them die young, uncounted.
        thresholds = gc.get_threshold()
        gc.set_threshold(50_000, 10, 10)
        try:
            yield {"services": services}
        finally:
            gc.set_threshold(*thresholds)
            await stop(services)
            await run_in_threadpool(close, services)

    graphql = LedgerGraphQL(
        build_schema(settings),
        graphql_ide="graphiql" if settings.dev else None,
        allow_queries_via_get=True,
        multipart_uploads_enabled=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
        connection_init_wait_timeout=timedelta(seconds=settings.header_timeout),
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        allowed_origins=settings.cors_origins,
    )
    graphql.send_timeout = settings.stream_send_timeout

    async def healthz(request: Request) -> JSONResponse:
        services: Services = request.state.services
        position = await run_in_threadpool(services.ledger.last_position)
        return JSONResponse(
            {
                "status": "ok",
                "position": position,
                "readsAt": services.views.position,
                "liveSubscribers": services.hub.live_taps,
            }
        )

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route(
                "/graphql",
                graphql,
                methods=["GET", "POST"],
                max_body_size=settings.max_body_bytes,
            ),
            WebSocketRoute("/graphql", graphql),
            *graphiql.routes(settings),
            *audit_http.routes(),
        ],
        middleware=[
            Middleware(RequestIds),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "authorization",
                    "content-type",
                    "x-api-key",
                    READ_AFTER,
                    "x-request-id",
                ],
                expose_headers=["x-request-id"],
                max_age=600,
            ),
            Middleware(JsonHttpErrors),
        ],
        lifespan=lifespan,
    )
    # A path with a trailing slash is not ours: a 404 says so, where a bare
    # 307 redirect would drop a POST's body for many clients.
    app.router.redirect_slashes = False
    return app
