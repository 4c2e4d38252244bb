"""The audit tree's fixed HTTP paths, for auditors and their tools: the
public key checkpoints are signed with, and the latest signed checkpoint,
each as plain text in the C2SP formats (a verifier key; a signed note); and
the log itself as a streamed NDJSON download, for a reader key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from service.api.http_errors import error_body
from service.api.ids import expect_id
from service.api.keys import presented_keys, principal_for
from service.api.streams import streaming_response
from service.audit.archive import export_lines
from service.bootstrap import Services
from service.domain.errors import InvalidInputError

KEY_PATH = "/audit/key"
CHECKPOINT_PATH = "/audit/checkpoint"
EXPORT_PATH = "/audit/export"
LINES_PER_CHUNK = 500


async def key(request: Request) -> Response:
    services: Services = request.state.services
    return PlainTextResponse(f"{services.audit.signer.verifier}\n")


async def checkpoint(request: Request) -> Response:
    services: Services = request.state.services
    latest = await run_in_threadpool(services.audit.latest_signed)
    if latest is None:
        return PlainTextResponse(
            "no checkpoint is signed yet\n",
            status_code=404,
            headers={"Retry-After": "1"},
        )
    return PlainTextResponse(latest.note, headers={"Cache-Control": "no-cache"})


async def export(request: Request) -> Response:
    """The whole log, or one claim's or source's events (``?claim=`` or
    ``?source=``, a global id or a UUID, repeatable), in log order: what
    ``claims-ledger export`` writes. Needs a key, reader or editor."""
    services: Services = request.state.services
    principal, refused = principal_for(services.settings, presented_keys(request))
    if principal is None:
        message = "unknown API key" if refused else "the export needs an API key"
        return Response(
            error_body(401, message),
            status_code=401,
            media_type="application/json",
            headers={"www-authenticate": "Bearer"},
        )
    try:
        streams = _streams(request)
    except InvalidInputError as error:
        return Response(
            error_body(400, error.message),
            status_code=400,
            media_type="application/json",
        )
    lines = export_lines(services.views.database, streams)

    async def body() -> AsyncIterator[str]:
        while chunk := await run_in_threadpool(_next_chunk, lines):
            yield chunk

    return await streaming_response(
        services.settings,
        body,
        200,
        {
            "content-type": "application/x-ndjson",
            "content-disposition": 'attachment; filename="claims-ledger.ndjson"',
        },
    )


def _streams(request: Request) -> frozenset[UUID] | None:
    wanted = [
        expect_id(value, kind)
        for name, kind in (("claim", "Claim"), ("source", "Source"))
        for value in request.query_params.getlist(name)
    ]
    return frozenset(wanted) if wanted else None


def _next_chunk(lines: Iterator[str]) -> str:
    chunk = []
    for line in lines:
        chunk.append(line + "\n")
        if len(chunk) == LINES_PER_CHUNK:
            break
    return "".join(chunk)


def routes() -> list[Route]:
    return [
        Route(KEY_PATH, key),
        Route(CHECKPOINT_PATH, checkpoint),
        Route(EXPORT_PATH, export),
    ]
