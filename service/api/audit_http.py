"""The audit tree's fixed HTTP paths, for auditors and their tools: the
public key checkpoints are signed with, and the latest signed checkpoint,
each as plain text in the C2SP formats (a verifier key; a signed note)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from service.bootstrap import Services

KEY_PATH = "/audit/key"
CHECKPOINT_PATH = "/audit/checkpoint"


async def key(request: Request) -> Response:
    services: Services = request.state.services
    return PlainTextResponse(f"{services.audit.signer.verifier}\n")


async def checkpoint(request: Request) -> Response:
    services: Services = request.state.services
    latest = await run_in_threadpool(services.audit.tree.latest_checkpoint)
    if latest is None:
        return PlainTextResponse(
            "no checkpoint is signed yet\n",
            status_code=404,
            headers={"Retry-After": "1"},
        )
    return PlainTextResponse(latest.note, headers={"Cache-Control": "no-cache"})


def routes() -> list[Route]:
    return [Route(KEY_PATH, key), Route(CHECKPOINT_PATH, checkpoint)]
