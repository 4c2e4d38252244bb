"""Minimal subscribers over each transport, written from the protocols' specs
(graphql-transport-ws, graphql-sse), so the tests see what any client sees."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

EVENTS = (
    "subscription Follow($after: Position, $filter: EventFilter) "
    "{ events(after: $after, filter: $filter) { position type streamId version } }"
)


class Subscriber(Protocol):
    def __call__(
        self,
        base_url: str,
        after: int | None,
        key: str | None = None,
        query: str = EVENTS,
        variables: dict[str, Any] | None = None,
    ) -> Any: ...


@asynccontextmanager
async def transport_ws(
    base_url: str, key: str | None = None, params: dict[str, Any] | None = None
) -> AsyncIterator[ClientConnection]:
    """A WebSocket past connection_ack (the key goes in the init payload)."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    payload = dict(params or {})
    if key:
        payload["Authorization"] = f"Bearer {key}"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        yield ws


@asynccontextmanager
async def ws_events(
    base_url: str,
    after: int | None,
    key: str | None = None,
    query: str = EVENTS,
    variables: dict[str, Any] | None = None,
) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """The payloads of one subscription's ``next`` messages."""
    async with transport_ws(base_url, key) as ws:
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": query,
                        "operationName": "Follow",
                        "variables": {"after": after, **(variables or {})},
                    },
                }
            )
        )

        async def payloads() -> AsyncIterator[dict[str, Any]]:
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "next":
                    yield message["payload"]
                elif message["type"] in {"error", "complete"}:
                    raise AssertionError(f"subscription ended: {message}")

        yield payloads()


@asynccontextmanager
async def sse_events(
    base_url: str,
    after: int | None,
    key: str | None = None,
    query: str = EVENTS,
    variables: dict[str, Any] | None = None,
) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """The payloads of a graphql-sse stream's ``next`` events."""
    headers = {"Accept": "text/event-stream"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body = {
        "query": query,
        "operationName": "Follow",
        "variables": {"after": after, **(variables or {})},
    }
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=30) as http,
        http.stream("POST", "/graphql", json=body, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()

        async def payloads() -> AsyncIterator[dict[str, Any]]:
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line.partition(":")[2].strip()
                elif line.startswith("data:") and event == "next":
                    yield json.loads(line.partition(":")[2])
                elif event == "complete":
                    raise AssertionError("stream completed")

        yield payloads()


async def positions_until(
    payloads: AsyncIterator[dict[str, Any]],
    done: Any,
    timeout: float = 20.0,
) -> list[int]:
    """Positions received until ``done(positions)`` holds."""
    seen: list[int] = []

    async def collect() -> None:
        async for payload in payloads:
            assert "errors" not in payload, payload
            seen.append(payload["data"]["events"]["position"])
            if done(seen):
                return

    await asyncio.wait_for(collect(), timeout)
    return seen
