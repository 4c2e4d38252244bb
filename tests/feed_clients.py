"""Minimal subscribers over each transport, written from the protocols' specs
(graphql-transport-ws, graphql-sse), so the tests see what any client sees."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.client import ClientProtocol
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

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


def subscribe_payload(
    query: str, after: int | None, variables: dict[str, Any] | None
) -> dict[str, Any]:
    return {
        "query": query,
        "operationName": "Follow",
        "variables": {"after": after, **(variables or {})},
    }


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
                    "payload": subscribe_payload(query, after, variables),
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
    body = subscribe_payload(query, after, variables)
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


class StalledSubscriber:
    """A graphql-transport-ws client that subscribes and then stops reading
    its socket altogether (a small receive buffer, never drained): what a
    consumer stuck in its own processing looks like to the server."""

    def __init__(self, base_url: str, query: str, after: int | None) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.socket.connect((host, int(port)))
        self.socket.settimeout(10)
        self.protocol = ClientProtocol(
            parse_uri(f"ws://{host}:{port}/graphql"),
            subprotocols=[Subprotocol("graphql-transport-ws")],
            max_size=None,
        )
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        while not self.protocol.events_received():
            self.protocol.receive_data(self.socket.recv(65536))
        self._send({"type": "connection_init"})
        self._send(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {
                    "query": query,
                    "operationName": "Follow",
                    "variables": {"after": after},
                },
            }
        )

    def _send(self, message: dict[str, Any]) -> None:
        self.protocol.send_text(json.dumps(message).encode())
        self._flush()

    def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            self.socket.sendall(data)

    def close_reason(self, timeout: float = 30.0) -> tuple[int | None, str]:
        """Read on at last: what the server sent, to the end of the stream;
        the close frame's code and reason, if one came."""
        self.socket.settimeout(timeout)
        while True:
            data = self.socket.recv(1 << 20)
            if not data:
                self.protocol.receive_eof()
                break
            self.protocol.receive_data(data)
            self.protocol.events_received()
            if self.protocol.close_rcvd is not None:
                break
        self.socket.close()
        received = self.protocol.close_rcvd
        return (received.code, received.reason) if received else (None, "")
