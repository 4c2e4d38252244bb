"""Unmodified third-party subscription clients follow the change feed and
resume where they stopped: Python's `gql` (its WebsocketsTransport on
graphql-transport-ws) and npm's `graphql-ws` (tests/clients/resume.mjs, run
with Node). Each subscriber stops part-way, writes land while it follows and
while it is away, and it comes back with ``after`` = the last position it
saw; what it received in all is the log's events, in order, each once, as
the ``events`` query over HTTP reads them."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport

from tests.fakes import EDITOR_KEY, Server, gql, nodes

CLIENTS = Path(__file__).resolve().parent.parent / "clients"
WAIT = 15.0  # seconds any one step may take before the test fails

LOG = """query E($a: Position){ events(after:$a, first:100){
  edges{ node{ position type } } pageInfo{ hasNextPage endPosition } } }"""
PROPOSE = (
    "mutation Propose($text: String!) "
    '{ proposeClaim(input: {text: $text, about: ["clients"]}) '
    "{ position claim { id } } }"
)
FOLLOW = (
    "subscription Follow($after: Position) "
    "{ events(after: $after) { position type eventId } }"
)

Event = tuple[int, str]  # (position, type)


def log_after(client: httpx.Client, after: int) -> list[Event]:
    """The log past a position, page by page, as the events query reads it."""
    events: list[Event] = []
    while True:
        body = gql(client, LOG, {"a": after})
        assert "errors" not in body, body
        page = body["data"]["events"]
        events += [(e["node"]["position"], e["node"]["type"]) for e in page["edges"]]
        after = page["pageInfo"]["endPosition"]
        if not page["pageInfo"]["hasNextPage"]:
            return events


def propose(client: httpx.Client, text: str) -> dict[str, Any]:
    body = gql(client, PROPOSE, {"text": text}, key=EDITOR_KEY)
    assert "errors" not in body, body
    written: dict[str, Any] = body["data"]["proposeClaim"]
    return written


def ws_url(server: Server) -> str:
    return server.url.replace("http://", "ws://") + "/graphql"


def assert_exactly_once_in_order(received: list[Event], log: list[Event]) -> None:
    positions = [position for position, _ in received]
    assert len(positions) == len(set(positions)), f"a repeat: {positions}"
    assert received == log


# ---- Python: gql's WebsocketsTransport -------------------------------------


@asynccontextmanager
async def gql_session(server: Server) -> AsyncIterator[AsyncClientSession]:
    """A gql session over graphql-transport-ws, the key in connection_init,
    our documents validated against the schema gql fetched by introspection."""
    transport = WebsocketsTransport(
        url=ws_url(server),
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={"Authorization": f"Bearer {EDITOR_KEY}"},
    )
    client = Client(transport=transport, fetch_schema_from_transport=True)
    async with client as session:
        yield session


async def gql_events(
    server: Server, after: int, done: Callable[[list[Event]], bool]
) -> list[Event]:
    """Follow from ``after`` with gql until ``done(received)``, then stop
    (gql sends ``complete`` and closes the socket)."""
    received: list[Event] = []

    async def follow() -> None:
        async with gql_session(server) as session:
            request = GraphQLRequest(FOLLOW, variable_values={"after": after})
            async for result in session.subscribe(request):
                event = result["events"]
                received.append((event["position"], event["type"]))
                if done(received):
                    return

    await asyncio.wait_for(follow(), WAIT)
    return received


def test_gql_resumes_from_the_last_position_it_saw_with_every_event_once(
    server: Server, client: httpx.Client
) -> None:
    before = log_after(client, 0)
    start = before[-11][0]  # ten recorded events to replay

    async def scenario() -> list[Event]:
        # Stop part-way through the replay.
        first = await gql_events(server, start, lambda seen: len(seen) == 6)
        # Writes while it is away.
        away = [
            (await asyncio.to_thread(propose, client, f"Written away {i}"))["position"]
            for i in range(4)
        ]
        last_seen = first[-1][0]
        received = list(first)

        async with gql_session(server) as session:
            request = GraphQLRequest(FOLLOW, variable_values={"after": last_seen})
            live: list[int] = []

            async def resumed() -> None:
                async for result in session.subscribe(request):
                    event = result["events"]
                    received.append((event["position"], event["type"]))
                    if event["position"] == away[-1]:
                        # Caught up: what is written now arrives live.
                        for i in range(2):
                            written = await asyncio.to_thread(
                                propose, client, f"Written live {i}"
                            )
                            live.append(written["position"])
                    if live and event["position"] == live[-1]:
                        return

            await asyncio.wait_for(resumed(), WAIT)
        return received

    received = asyncio.run(scenario())
    assert_exactly_once_in_order(received, log_after(client, start))
    assert len(received) == 10 + 4 + 2


CLAIM_CHANGED = """subscription Changed($id: ID!, $after: Position) {
  claimChanged(id: $id, after: $after) {
    position
    event { type version }
    claim { version status { value } stances { edges { node { kind } } } }
  }
}"""
SOURCE = (
    "mutation Register { registerSource(input: "
    '{name: "The Clients Courier", kind: OUTLET}) { source { id } } }'
)
STANCE = """mutation Stance($in: RecordStanceInput!) {
  recordStance(input: $in) { version position } }"""
READ = "query Read($id: ID!) { claim(id: $id) { version status { value } } }"


def test_gql_follows_a_claim_through_claim_changed(
    server: Server, client: httpx.Client
) -> None:
    """A stance recorded on a claim gives its new reading: version, status and
    the position of the stance's event."""
    proposed = propose(client, "The clients' claim is affirmed once.")
    claim_id = proposed["claim"]["id"]
    body = gql(client, SOURCE, key=EDITOR_KEY)
    outlet = body["data"]["registerSource"]["source"]["id"]
    stance = {
        "claimId": claim_id,
        "expectedVersion": 1,
        "kind": "AFFIRMS",
        "chain": [outlet],
        "reported": {"precision": "DAY", "start": "2023-10-27"},
        "quote": "It was affirmed.",
    }

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with gql_session(server) as session:
            # From the proposal on, so the stance arrives whether it commits
            # before or after the server has the subscription.
            request = GraphQLRequest(
                CLAIM_CHANGED,
                variable_values={"id": claim_id, "after": proposed["position"]},
            )
            changes = session.subscribe(request)
            first = asyncio.ensure_future(anext(changes))
            body = await asyncio.to_thread(
                gql, client, STANCE, {"in": stance}, EDITOR_KEY
            )
            assert "errors" not in body, body
            change = await asyncio.wait_for(first, WAIT)
            await changes.aclose()
        recorded: dict[str, Any] = body["data"]["recordStance"]
        return recorded, change["claimChanged"]

    recorded, change = asyncio.run(scenario())
    assert change["position"] == recorded["position"]
    assert change["event"] == {"type": "Claim.StanceRecorded", "version": 2}
    assert change["claim"]["version"] == recorded["version"] == 2
    assert nodes(change["claim"]["stances"]) == [{"kind": "AFFIRMS"}]
    assert change["claim"]["status"] == {"value": "SINGLE_SOURCE"}
    now = gql(client, READ, {"id": claim_id})["data"]["claim"]
    assert now == {"version": 2, "status": {"value": "SINGLE_SOURCE"}}


# ---- Node: npm's graphql-ws ------------------------------------------------


def npm_installed() -> Path:
    """tests/clients/ with its node_modules, installed as its lock file pins
    them when they are missing; without Node and npm the test cannot run
    (a failure under CI=true, a skip elsewhere)."""
    node = shutil.which("node")
    installed = (CLIENTS / "node_modules" / "graphql-ws").is_dir()
    npm = shutil.which("npm")
    if node is None or (npm is None and not installed):
        message = (
            "graphql-ws client test NOT RUN: it needs Node 20+ on PATH, and npm "
            "to install tests/clients/node_modules "
            f"(node: {node or 'missing'}, npm: {npm or 'missing'})"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    if not installed:
        assert npm is not None
        done = subprocess.run(
            [npm, "ci", "--prefix", str(CLIENTS), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (
            f"npm ci --prefix tests/clients failed:\n{done.stderr}"
        )
    return Path(node)


class NodeFollower:
    """tests/clients/resume.mjs in a subprocess: each event it prints, as it
    prints it, read by a thread so every wait here is bounded."""

    def __init__(self, node: Path, server: Server, after: int, count: int) -> None:
        script = str(CLIENTS / "resume.mjs")
        self.process = subprocess.Popen(
            [str(node), script, ws_url(server), EDITOR_KEY, str(after), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.taken: list[str] = []  # lines already looked at, in order
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def first_event(self) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=WAIT)
        except queue.Empty:
            self.fail("printed no event")
        self.taken.append(line)  # still one of everything it received
        event: dict[str, Any] = json.loads(line)
        return event

    def running(self) -> bool:
        return self.process.poll() is None

    def events(self) -> list[Event]:
        """Everything it printed, once it has exited by itself."""
        try:
            self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.fail("did not exit")
        self.reader.join(timeout=WAIT)
        if self.process.returncode != 0:
            self.fail(f"exited {self.process.returncode}")
        lines = self.taken + [
            self.lines.get_nowait() for _ in range(self.lines.qsize())
        ]
        return [(e["position"], e["type"]) for e in map(json.loads, lines)]

    def fail(self, what: str) -> NoReturn:
        if self.running():
            self.process.kill()
        assert self.process.stderr is not None
        said = self.process.stderr.read()
        self.stop()
        pytest.fail(f"resume.mjs {what}: {said}")

    def stop(self) -> None:
        if self.running():
            self.process.kill()
            self.process.wait(timeout=WAIT)
        self.reader.join(timeout=WAIT)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture(scope="module")
def node() -> Path:
    return npm_installed()


@pytest.fixture
def followers() -> Iterator[list[NodeFollower]]:
    started: list[NodeFollower] = []
    yield started
    for follower in started:
        follower.stop()


def test_graphql_ws_resumes_from_the_last_position_it_printed_with_every_event_once(
    server: Server,
    client: httpx.Client,
    node: Path,
    followers: list[NodeFollower],
) -> None:
    before = log_after(client, 0)
    start = before[-6][0]  # five recorded events to replay, then five live ones
    first = NodeFollower(node, server, after=start, count=10)
    followers.append(first)
    assert first.first_event()["position"] == before[-5][0]
    # It cannot finish before five of these have reached it live; whatever
    # is written while it finishes, it leaves for the second run.
    written = 0
    while first.running() and written < 30:
        propose(client, f"Written while graphql-ws follows {written}")
        written += 1
    seen = first.events()
    assert len(seen) == 10
    for i in range(3):
        propose(client, f"Written between graphql-ws runs {i}")

    remaining = log_after(client, seen[-1][0])
    second = NodeFollower(node, server, after=seen[-1][0], count=len(remaining))
    followers.append(second)
    received = seen + second.events()
    assert_exactly_once_in_order(received, log_after(client, start))
    assert len(received) == 5 + written + 3
