"""Live subscribers over WebSocket are served by one rendering per event and
document (service.api.fanout): each still receives what the log says, in
order, exactly once, in the same shape as a replay gives, and one that falls
behind its queue reads the log itself without losing or repeating a thing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.settings import Settings
from tests.api.test_change_feed import propose, whole_log
from tests.api.test_read_budget import fill
from tests.conftest import BACKENDS, postgres_schema
from tests.fakes import Server
from tests.feed_clients import (
    positions_until,
    sse_events,
    subscribe_payload,
    transport_ws,
    ws_events,
)

SHORT = "subscription Follow($after: Position) { events(after: $after) { position } }"
LONG = (
    "subscription Follow($after: Position, $filter: EventFilter) "
    "{ events(after: $after, filter: $filter) { position type streamId version } }"
)
FULL = (
    "subscription Follow($after: Position) { events(after: $after) "
    "{ position eventId type streamKind streamId version actor recordedAt reason "
    "data cloudEvent } }"
)


def subscribe_message(
    op: str, query: str, after: int, variables: dict[str, Any] | None = None
) -> str:
    payload = subscribe_payload(query, after, variables)
    return json.dumps({"id": op, "type": "subscribe", "payload": payload})


def until_live(server: Server, subscribers: int, timeout: float = 20.0) -> None:
    """Wait until the server serves exactly this many subscribers from its
    fan-out (those of an earlier test have left by then)."""
    deadline = time.monotonic() + timeout
    while True:
        live = httpx.get(f"{server.url}/healthz").json()["liveSubscribers"]
        if live == subscribers:
            return
        assert time.monotonic() < deadline, f"{live} of {subscribers} live"
        time.sleep(0.05)


def test_many_live_subscribers_each_get_every_event_once_in_order(
    server: Server, client: httpx.Client
) -> None:
    """Subscribers with the same document share one rendering; different
    documents and filters among them change nothing of what each receives."""
    start = whole_log(client)[-1]["position"]
    proposed = {"types": ["Claim.Proposed"]}

    async def follow() -> tuple[dict[str, list[int]], list[int]]:
        received: dict[str, list[int]] = {}
        async with transport_ws(server.url) as shared_socket:
            # Three operations on one socket, with two documents and a filter.
            await shared_socket.send(subscribe_message("a", SHORT, start))
            await shared_socket.send(subscribe_message("b", LONG, start))
            await shared_socket.send(
                subscribe_message("c", LONG, start, {"filter": proposed})
            )
            async with (
                ws_events(server.url, after=start, query=SHORT) as d,
                ws_events(server.url, after=start, query=LONG) as e,
                ws_events(
                    server.url, after=start, query=LONG, variables={"filter": proposed}
                ) as f,
            ):
                # every subscriber has caught up and is served by the fan-out
                await asyncio.to_thread(until_live, server, 6)
                written = [
                    await asyncio.to_thread(propose, client, f"Fanned out {i}")
                    for i in range(12)
                ]
                head = written[-1]
                for name, payloads in (("d", d), ("e", e), ("f", f)):
                    received[name] = await positions_until(
                        payloads, lambda seen: seen[-1] >= head
                    )
                by_op: dict[str, list[int]] = {"a": [], "b": [], "c": []}
                while any(not seen or seen[-1] < head for seen in by_op.values()):
                    message = json.loads(
                        await asyncio.wait_for(shared_socket.recv(), 20)
                    )
                    assert message["type"] == "next", message
                    by_op[message["id"]].append(
                        message["payload"]["data"]["events"]["position"]
                    )
                received.update(by_op)
        return received, written

    received, written = asyncio.run(follow())
    everything = [n["position"] for n in whole_log(client, after=start)]
    only_proposed = [
        n["position"] for n in whole_log(client, after=start, filter=proposed)
    ]
    assert set(written) <= set(only_proposed)
    for name in "abde":
        assert received[name] == everything, name
    for name in "cf":
        assert received[name] == only_proposed, name


def test_a_live_event_reads_exactly_as_a_replayed_one(
    server: Server, client: httpx.Client
) -> None:
    """The same events, received live over WebSocket, replayed over
    WebSocket, and replayed over SSE (where each result goes through
    strawberry's own path), are the same payloads, field for field."""
    start = whole_log(client)[-1]["position"]

    async def three_ways() -> list[list[dict[str, Any]]]:
        async with ws_events(server.url, after=None, query=FULL) as live:
            await asyncio.to_thread(until_live, server, 1)
            written = [
                await asyncio.to_thread(propose, client, f"Live and replayed {i}")
                for i in range(3)
            ]
            live_payloads = await _payloads_until(live, written[-1])
        replays = []
        for subscribe in (ws_events, sse_events):
            async with subscribe(server.url, after=start, query=FULL) as replay:
                replays.append(await _payloads_until(replay, written[-1]))
        return [live_payloads, *replays]

    live_payloads, over_ws, over_sse = asyncio.run(three_ways())
    assert len(live_payloads) == 3
    assert live_payloads == over_ws[-3:] == over_sse[-3:]
    assert over_ws == over_sse


async def _payloads_until(payloads: Any, last: int) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def collect() -> None:
        async for payload in payloads:
            seen.append(payload)
            if payload["data"]["events"]["position"] >= last:
                return

    await asyncio.wait_for(collect(), 20)
    return seen


@pytest.fixture(params=BACKENDS)
def backlog_of_two(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Server, Settings]]:
    """A server whose live subscribers may queue two events, and that looks
    at the log every two seconds for writes it was not told of."""
    db = tmp_path / "claims.sqlite"
    env = {"CLAIMS_LIVE_BACKLOG": "2", "CLAIMS_FEED_POLL_INTERVAL": "2"}
    if request.param == "sqlite":
        server = Server(db=db, env=env).start()
        try:
            yield server, Settings(db_path=str(db))
        finally:
            server.stop()
        return
    with postgres_schema() as url:
        server = Server(db=db, env={**env, "CLAIMS_DATABASE_URL": url}).start()
        try:
            yield server, Settings(database_url=url)
        finally:
            server.stop()


def test_a_live_subscriber_behind_its_backlog_reads_the_log_and_misses_nothing(
    backlog_of_two: tuple[Server, Settings],
) -> None:
    server, settings = backlog_of_two
    with httpx.Client(base_url=server.url, timeout=30) as client:
        start = whole_log(client)[-1]["position"]

        async def follow() -> list[int]:
            async with ws_events(server.url, after=None) as live:
                await asyncio.to_thread(until_live, server, 1)
                # thirty claims committed at once by another process's ledger: the
                # server finds them all in one read of the log
                await asyncio.to_thread(fill, settings, 30)
                first_burst_end = await asyncio.to_thread(
                    lambda: whole_log(client, after=start)[-1]["position"]
                )
                # live again after the burst: the next write comes straight through
                later = await asyncio.to_thread(propose, client, "After the burst")
                return await positions_until(
                    live, lambda seen: seen[-1] >= max(later, first_burst_end)
                )

        received = asyncio.run(follow())
        everything = [n["position"] for n in whole_log(client, after=start)]
    assert received == everything
    assert len(everything) >= 31
    assert server.log_lines_with("reads the log from position")
