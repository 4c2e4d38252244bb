"""Integrators follow the log: every ledger event, in position order, exactly
once, resumable from any position, live, over both transports and stores."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
import websockets
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql

from service.application import Actor, ClaimsLedger
from service.application.commands import ProposeClaim
from service.feed.log_reader import LogReader
from service.settings import Settings
from tests.conftest import postgres_schema
from tests.fakes import EDITOR_KEY, READER_KEY, Server, error_codes, gql
from tests.feed_clients import (
    StalledSubscriber,
    Subscriber,
    positions_until,
    sse_events,
    transport_ws,
    ws_events,
)

PROPOSE = (
    "mutation Propose($text: String!, $key: String) "
    '{ proposeClaim(input: {text: $text, about: ["feed"], idempotencyKey: $key}) '
    "{ position } }"
)
LOG = """
query Log($after: Position, $first: Int!, $filter: EventFilter) {
  events(after: $after, first: $first, filter: $filter) {
    edges { cursor node { position type actor streamKind streamId version } }
    pageInfo { hasNextPage endCursor endPosition }
  }
}"""
TRANSPORTS = {"ws": ws_events, "sse": sse_events}
EVENTS_AFTER = "subscription Follow($a: Position) { events(after: $a) { position } }"


def propose(client: httpx.Client, text: str, key: str | None = None) -> int:
    body = gql(client, PROPOSE, {"text": text, "key": key}, key=EDITOR_KEY)
    assert "errors" not in body, body
    position: int = body["data"]["proposeClaim"]["position"]
    return position


def whole_log(
    client: httpx.Client, after: int = 0, filter: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every event after a position, page by page, as the events query gives them."""
    nodes: list[dict[str, Any]] = []
    while True:
        body = gql(client, LOG, {"after": after, "first": 7, "filter": filter})
        assert "errors" not in body, body
        page = body["data"]["events"]
        nodes += [edge["node"] for edge in page["edges"]]
        after = page["pageInfo"]["endPosition"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes


@pytest.fixture
def writer(client: httpx.Client) -> Iterator[Callable[[int], threading.Thread]]:
    """Starts a thread that proposes ``n`` claims, one after another."""
    threads: list[threading.Thread] = []

    def start(n: int) -> threading.Thread:
        def run() -> None:
            with httpx.Client(base_url=str(client.base_url), timeout=30) as own:
                for i in range(n):
                    propose(own, f"Claim {i} written while a subscriber reads")

        thread = threading.Thread(target=run)
        thread.start()
        threads.append(thread)
        return thread

    yield start
    for thread in threads:
        thread.join(timeout=60)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_subscriber_that_drops_mid_stream_resumes_with_every_event_exactly_once(
    server: Server,
    client: httpx.Client,
    writer: Callable[[int], threading.Thread],
    transport: str,
) -> None:
    subscribe: Subscriber = TRANSPORTS[transport]
    start = whole_log(client)[-1]["position"]
    writing = writer(40)

    async def follow() -> list[int]:
        async with subscribe(server.url, after=0) as first:
            # Drop the connection while the writer is still writing.
            before = await positions_until(first, lambda seen: seen[-1] > start + 5)
        writing.join(timeout=60)
        head = whole_log(client, after=before[-1])[-1]["position"]
        async with subscribe(server.url, after=before[-1]) as second:
            after = await positions_until(second, lambda seen: seen[-1] >= head)
        return before + after

    received = asyncio.run(follow())
    assert received == [node["position"] for node in whole_log(client)]
    assert len(received) == len(set(received))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_live_subscriber_receives_each_write_as_it_commits(
    server: Server, client: httpx.Client, transport: str
) -> None:
    subscribe: Subscriber = TRANSPORTS[transport]

    async def follow() -> tuple[list[int], list[int]]:
        async with subscribe(server.url, after=None) as live:
            await asyncio.sleep(0.2)  # subscribed from now on: nothing comes yet
            written = [
                await asyncio.to_thread(propose, client, f"Live {i}") for i in range(3)
            ]
            seen = await positions_until(live, lambda s: s[-1] >= written[-1])
        return written, seen

    written, seen = asyncio.run(follow())
    assert seen == written


def test_the_feed_carries_ledger_events_only(client: httpx.Client) -> None:
    """A keyed write also records its idempotency record in the log; that
    internal stream never reaches integrators, so positions skip it."""
    position = propose(client, "Keyed for the feed", key="feed-keyed-1")
    nodes = whole_log(client, after=position - 3)
    assert {n["streamKind"] for n in nodes} <= {"CLAIM", "SOURCE"}
    assert all(n["type"].split(".")[0] in {"Claim", "Source"} for n in nodes)
    assert position in [n["position"] for n in nodes]


def test_pages_of_the_log_stay_put_while_writes_continue(client: httpx.Client) -> None:
    first = gql(client, LOG, {"after": 0, "first": 5})["data"]["events"]
    for i in range(3):
        propose(client, f"Written between pages {i}")
    again = gql(client, LOG, {"after": 0, "first": 5})["data"]["events"]
    assert again["edges"] == first["edges"]
    end = first["pageInfo"]["endPosition"]
    rest = whole_log(client, after=end)
    everything = [e["node"] for e in first["edges"]] + rest
    assert everything == whole_log(client)
    assert [e["cursor"] for e in first["edges"]] == [
        str(e["node"]["position"]) for e in first["edges"]
    ]


def test_the_log_filters_by_claim_source_type_and_actor(client: httpx.Client) -> None:
    everything = whole_log(client)
    claim = next(n for n in everything if n["type"] == "Claim.Proposed")
    source = next(n for n in everything if n["type"] == "Source.Registered")
    of_claim = whole_log(client, filter={"claimIds": [claim["streamId"]]})
    assert of_claim == [n for n in everything if n["streamId"] == claim["streamId"]]
    of_both = whole_log(
        client,
        filter={"claimIds": [claim["streamId"]], "sourceIds": [source["streamId"]]},
    )
    assert of_both == [
        n
        for n in everything
        if n["streamId"] in {claim["streamId"], source["streamId"]}
    ]
    proposed = whole_log(client, filter={"types": ["Claim.Proposed"]})
    assert proposed == [n for n in everything if n["type"] == "Claim.Proposed"]
    by_alice = whole_log(client, filter={"actors": ["alice"]})
    assert by_alice == [n for n in everything if n["actor"] == "alice"]
    assert by_alice, "the tests above wrote as alice"


def test_a_filtered_page_says_how_far_it_looked(client: httpx.Client) -> None:
    """A client resuming a filtered read starts past what was examined, not
    back at its last match."""
    body = gql(
        client, LOG, {"after": 0, "first": 100, "filter": {"types": ["Source.Amended"]}}
    )
    page = body["data"]["events"]
    assert page["edges"] == [] or all(
        e["node"]["type"] == "Source.Amended" for e in page["edges"]
    )
    assert page["pageInfo"]["endPosition"] >= whole_log(client)[-1]["position"]
    assert page["pageInfo"]["hasNextPage"] is False


def test_bad_filters_and_positions_are_bad_input(client: httpx.Client) -> None:
    for variables in (
        {"after": 0, "first": 5, "filter": {"types": ["Claim.Nope"]}},
        {"after": 0, "first": 5, "filter": {"claimIds": ["not-an-id"]}},
        {"after": -1, "first": 5},
        {"after": 0, "first": 5000},
        {"after": 0, "first": 5, "filter": {"actors": ["a"] * 101}},
    ):
        assert error_codes(gql(client, LOG, variables)) == ["BAD_USER_INPUT"], variables


def test_a_subscription_sent_as_a_plain_request_says_it_needs_a_stream(
    client: httpx.Client,
) -> None:
    body = gql(client, "subscription Follow { events { position } }")
    assert error_codes(body) == ["SUBSCRIPTION_NEEDS_STREAM"]


def test_a_bad_key_at_connection_init_closes_with_4403_and_a_reason(
    server: Server,
) -> None:
    async def connect() -> websockets.ConnectionClosed:
        url = server.url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            init = {"type": "connection_init", "payload": {"apiKey": "wrong"}}
            await ws.send(json.dumps(init))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
            return closed.value

    closed = asyncio.run(connect())
    assert closed.rcvd is not None
    assert closed.rcvd.code == 4403
    assert "API key" in closed.rcvd.reason


def test_a_good_key_in_the_init_payload_stands_for_the_connection(
    server: Server,
) -> None:
    async def subscribe_with(key: str) -> list[int]:
        async with ws_events(server.url, after=0, key=key) as events:
            return await positions_until(events, lambda seen: len(seen) >= 3)

    assert asyncio.run(subscribe_with(READER_KEY)) == [1, 2, 3]


def test_subscriptions_per_connection_are_bounded(server: Server) -> None:
    limit = Settings().max_subscriptions_per_connection

    async def open_too_many() -> dict[str, Any]:
        async with transport_ws(server.url) as ws:
            for i in range(limit + 1):
                subscribe = {
                    "id": str(i),
                    "type": "subscribe",
                    "payload": {
                        "query": "subscription Follow { events { position } }",
                        "operationName": "Follow",
                    },
                }
                await ws.send(json.dumps(subscribe))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if message["type"] == "error":
                    return dict(message)

    refused = asyncio.run(open_too_many())
    assert refused["id"] == str(limit)
    assert codes_in(refused) == ["TOO_MANY_SUBSCRIPTIONS"]


@pytest.mark.postgres
def test_a_write_through_one_instance_reaches_a_subscriber_on_another(
    tmp_path: Any,
) -> None:
    """Two service processes on one PostgreSQL database: LISTEN/NOTIFY wakes
    the one whose subscriber waits, for a write made through the other."""
    with postgres_schema() as url:
        env = {"CLAIMS_DATABASE_URL": url, "CLAIMS_FEED_POLL_INTERVAL": "30"}
        first = Server(db=tmp_path / "a.sqlite", env=env).start()
        second = Server(db=tmp_path / "b.sqlite", env=env).start()
        try:

            async def follow() -> tuple[list[int], list[int]]:
                async with ws_events(first.url, after=None) as live:
                    await asyncio.sleep(0.2)
                    with httpx.Client(base_url=second.url, timeout=30) as other:
                        written = [
                            await asyncio.to_thread(propose, other, f"Elsewhere {i}")
                            for i in range(5)
                        ]
                    # the poll is 30 s: only NOTIFY can deliver within 10 s
                    seen = await positions_until(
                        live, lambda s: s[-1] >= written[-1], timeout=10
                    )
                return written, seen

            written, seen = asyncio.run(follow())
            assert seen == written
        finally:
            first.stop()
            second.stop()


def _burn_a_position(url: str) -> None:
    """An insert that rolls back still uses up its sequence number: the hole
    that kill -9 and conflicting writers leave in PostgreSQL's positions."""
    settings = Settings(database_url=url)
    env = settings.ledger_env()
    schema = sql.Identifier(env["POSTGRES_SCHEMA"])
    connection_url = url.split("?")[0]
    with psycopg.connect(connection_url) as connection:
        connection.execute(
            sql.SQL(
                "INSERT INTO {}.claimsledger_events "
                "(originator_id, originator_version, topic, state) "
                "VALUES (gen_random_uuid(), 1, 'nothing', ''::bytea)"
            ).format(schema)
        )
        connection.rollback()


@pytest.mark.postgres
def test_a_hole_in_postgres_positions_neither_stalls_nor_skips(tmp_path: Any) -> None:
    with postgres_schema() as url:
        server = Server(db=tmp_path / "a.sqlite", env={"CLAIMS_DATABASE_URL": url})
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:

                async def follow() -> tuple[list[int], list[int]]:
                    async with ws_events(server.url, after=None) as live:
                        await asyncio.sleep(0.2)
                        before = await asyncio.to_thread(propose, client, "Before")
                        await asyncio.to_thread(_burn_a_position, url)
                        after = await asyncio.to_thread(propose, client, "After")
                        seen = await positions_until(live, lambda s: s[-1] >= after)
                    return [before, after], seen

                written, seen = asyncio.run(follow())
            assert seen == written
            assert written[1] - written[0] > 1, "the rolled-back insert left a hole"
        finally:
            server.stop()


@pytest.mark.postgres
def test_postgres_positions_follow_commit_order_under_concurrent_writers() -> None:
    """The library locks the events table for each insert, so no event can
    commit below a position a reader has already seen. A reader tailing the
    log while eight writers race must therefore see every event."""
    with postgres_schema() as url:
        settings = Settings(database_url=url)
        writers = [ClaimsLedger(env=settings.ledger_env()) for _ in range(8)]
        tail = ClaimsLedger(env=settings.ledger_env())
        recorder = tail.recorder
        assert isinstance(recorder, PostgresApplicationRecorder)
        statements = [
            s.as_string(None)
            for s in recorder.lock_table_statements
            if isinstance(s, sql.Composable)
        ]
        assert any("IN EXCLUSIVE MODE" in s for s in statements)
        done = threading.Event()
        seen: list[int] = []

        def tailing() -> None:
            reader, last = LogReader(tail), 0
            while True:
                finished = done.is_set()
                page = reader.page(last, 500)
                seen.extend(e.position for e in page.entries)
                last = page.end
                if finished and page.at_head:
                    return

        def write(ledger: ClaimsLedger) -> None:
            for i in range(25):
                ledger.propose_claim(
                    Actor("alice"), ProposeClaim(text=f"Race {i}", about=("race",))
                )

        reading = threading.Thread(target=tailing)
        reading.start()
        threads = [threading.Thread(target=write, args=(w,)) for w in writers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        done.set()
        reading.join(timeout=60)
        everything = LogReader(tail).page(0, 1000)
        assert seen == [e.position for e in everything.entries]
        assert len(seen) == 8 * 25
        for ledger in [*writers, tail]:
            ledger.close()


def test_a_subscriber_that_stops_reading_is_dropped_and_holds_up_nobody(
    tmp_path: Any,
) -> None:
    """Its messages fill the socket's bounded buffers; past the send timeout
    the server ends the connection, with 1008 and a reason when the pipe
    still takes one, while another subscriber on the same server goes on
    receiving each write live."""
    db = tmp_path / "claims.sqlite"
    ledger = ClaimsLedger(env=Settings(db_path=str(db)).ledger_env())
    for i in range(300):
        ledger.propose_claim(
            Actor("alice"), ProposeClaim(text=f"Filler {i} " + "x" * 1500)
        )
    ledger.close()
    server = Server(db=db, env={"CLAIMS_STREAM_SEND_TIMEOUT": "1"}).start()
    heavy = " ".join(f"a{i}: data" for i in range(25))
    query = (
        "subscription Follow($after: Position) "
        f"{{ events(after: $after) {{ position {heavy} }} }}"
    )
    try:
        stalled = StalledSubscriber(server.url, query, after=0)

        async def live_meanwhile() -> tuple[list[int], list[int]]:
            async with ws_events(server.url, after=None) as live:
                await asyncio.sleep(0.2)
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    written = [
                        await asyncio.to_thread(propose, client, f"Meanwhile {i}")
                        for i in range(3)
                    ]
                seen = await positions_until(live, lambda s: s[-1] >= written[-1])
            return written, seen

        written, seen = asyncio.run(live_meanwhile())
        assert seen == written
        assert server.log_lines_with("disconnecting a subscriber: too slow")
        code, reason = stalled.close_reason()
        assert code in {1008, None}, reason  # None: the pipe was too full for it
        if code == 1008:
            assert "too slow" in reason
    finally:
        server.stop()


def first_answer(
    server: Server,
    query: str,
    variables: dict[str, Any] | None = None,
    operation_name: str | None = "Follow",
) -> dict[str, Any]:
    """The first message a subscription gets back over WebSocket."""

    async def ask() -> dict[str, Any]:
        async with transport_ws(server.url) as ws:
            payload: dict[str, Any] = {"query": query, "variables": variables or {}}
            if operation_name is not None:
                payload["operationName"] = operation_name
            await ws.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": payload})
            )
            try:
                raw = await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                frame = closed.rcvd
                code, reason = (frame.code, frame.reason) if frame else (None, "")
                return {"type": "closed", "code": code, "reason": reason}
            message: dict[str, Any] = json.loads(raw)
            return message

    return asyncio.run(ask())


def codes_in(message: dict[str, Any]) -> list[str]:
    if message["type"] == "closed":
        return [f"closed {message['code']}"]
    errors = (
        message["payload"]
        if message["type"] == "error"
        else message["payload"]["errors"]
    )
    return [e["extensions"]["code"] for e in errors]


@pytest.mark.parametrize(
    ("query", "variables", "name", "code"),
    [
        (EVENTS_AFTER, {"a": -1}, "Follow", "BAD_USER_INPUT"),
        (EVENTS_AFTER, {"a": 2**63}, "Follow", "BAD_USER_INPUT"),
        (
            "subscription Follow($f: EventFilter) { events(filter: $f) { position } }",
            {"f": {"types": ["Nope"]}},
            "Follow",
            "BAD_USER_INPUT",
        ),
        (
            'subscription Follow { claimChanged(id: "nope") { position } }',
            {},
            "Follow",
            "BAD_USER_INPUT",
        ),
        (
            "subscription Follow { claimChanged(id: "
            '"6f1f3c2e-52a4-4d3b-9a57-3d7f0c1e9b21") { position } }',
            {},
            "Follow",
            "CLAIM_NOT_FOUND",
        ),
        (
            "subscription Follow { events { position }",
            {},
            "Follow",
            "GRAPHQL_PARSE_FAILED",
        ),
        # the protocol's answer to a subscribe message it cannot run
        ("subscription A { events { position } }", {}, "Nope", "closed 4400"),
        (
            "subscription A { events { position } } "
            "subscription B { events { position } }",
            {},
            None,
            "OPERATION_NAME_REQUIRED",
        ),
        (EVENTS_AFTER, {"a": "\ud800"}, "Follow", "closed 4400"),
    ],
)
def test_a_subscription_refused_over_websocket_says_why_with_a_code(
    server: Server,
    query: str,
    variables: dict[str, Any],
    name: str | None,
    code: str,
) -> None:
    answer = first_answer(server, query, variables, name)
    assert codes_in(answer) == [code], answer
    if answer["type"] == "closed":
        assert answer["reason"], "a close says why"
    assert "Traceback" not in server.log_text()


def test_a_subscription_over_the_read_budget_is_refused_before_it_runs(
    server: Server, client: httpx.Client
) -> None:
    claim = whole_log(client, filter={"types": ["Claim.Proposed"]})[0]["streamId"]
    deep = """stances { edges { node { source { statements { edges { node {
        claim { diff(fromVersion: 0, toVersion: 1) { path } } } } } } } } }"""
    selection = " ".join(f"s{i}: claim {{ {deep} }}" for i in range(20))
    query = (
        "subscription Follow($id: ID!) "
        f"{{ claimChanged(id: $id, after: 0) {{ position {selection} }} }}"
    )
    answer = first_answer(server, query, {"id": claim})
    assert codes_in(answer) == ["QUERY_TOO_COSTLY"], answer


def test_sse_streams_past_the_bound_are_turned_away_even_when_they_arrive_at_once(
    tmp_path: Any,
) -> None:
    server = Server(db=tmp_path / "c.sqlite", env={"CLAIMS_MAX_STREAMS": "2"}).start()
    body = {"query": EVENTS_AFTER, "operationName": "Follow", "variables": {"a": 0}}

    async def open_many() -> list[int]:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

            async def open_one() -> int:
                request = http.build_request(
                    "POST",
                    "/graphql",
                    json=body,
                    headers={"Accept": "text/event-stream"},
                )
                response = await http.send(request, stream=True)
                await asyncio.sleep(1)  # hold it open while the others arrive
                await response.aclose()
                return response.status_code

            return list(await asyncio.gather(*(open_one() for _ in range(8))))

    try:
        statuses = asyncio.run(open_many())
    finally:
        server.stop()
    assert sorted(statuses) == [200, 200] + [503] * 6


CLAIM_VERSION = "position claim { version }"


async def first_claim_change(
    url: str, claim_id: str, after: int, selection: str = CLAIM_VERSION
) -> dict[str, Any]:
    """The first claimChanged payload after ``after``, over WebSocket."""
    query = (
        "subscription Follow($id: ID!, $after: Position) "
        f"{{ claimChanged(id: $id, after: $after) {{ {selection} }} }}"
    )
    async with ws_events(
        url, after=after, query=query, variables={"id": claim_id}
    ) as changes:
        async for payload in changes:
            return payload
    raise AssertionError("no change")


def test_a_claim_written_through_another_instance_can_be_followed_at_once(
    tmp_path: Any,
) -> None:
    """Two servers on one SQLite file: the second has not polled yet when a
    subscriber asks it for the claim the first just recorded."""
    db = tmp_path / "c.sqlite"
    env = {"CLAIMS_FEED_POLL_INTERVAL": "30"}
    first = Server(db=db, env=env).start()
    second = Server(db=db, env={**env, "CLAIMS_LOAD_SEEDS": "0"}).start()
    try:
        with httpx.Client(base_url=first.url, timeout=30) as client:
            body = gql(
                client,
                'mutation P { proposeClaim(input: {text: "Fresh"}) '
                "{ position claim { id } } }",
                key=EDITOR_KEY,
            )
        written = body["data"]["proposeClaim"]
        following = first_claim_change(
            second.url, written["claim"]["id"], written["position"] - 1
        )
        payload = asyncio.run(asyncio.wait_for(following, 20))
    finally:
        first.stop()
        second.stop()
    assert "errors" not in payload, payload
    change = payload["data"]["claimChanged"]
    assert change == {"position": written["position"], "claim": {"version": 1}}


def test_claim_changed_reports_an_amendment_of_whom_a_cited_source_speaks_for(
    server: Server, client: httpx.Client
) -> None:
    """A claim cites anonymous officials affiliated to a government; the
    government's amendment can change how the claim's voices are counted,
    so its subscribers get the claim's reading again."""

    def write(mutation: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = gql(client, mutation, variables, key=EDITOR_KEY)
        assert "errors" not in body, body
        written: dict[str, Any] = next(iter(body["data"].values()))
        return written

    register = (
        "mutation R($in: RegisterSourceInput!) "
        "{ registerSource(input: $in) { source { id } version } }"
    )
    government = write(
        register, {"in": {"name": "A Ministry", "kind": "GOVERNMENT_BODY"}}
    )
    officials = write(
        register,
        {
            "in": {
                "name": "Ministry officials",
                "kind": "ANONYMOUS_GROUP",
                "anonymous": True,
                "descriptor": "officials who asked not to be named",
                "affiliationId": government["source"]["id"],
            }
        },
    )
    claim = write(
        'mutation P { proposeClaim(input: {text: "Said by officials"}) '
        "{ claim { id } version } }",
        {},
    )
    write(
        "mutation S($in: RecordStanceInput!) { recordStance(input: $in) { version } }",
        {
            "in": {
                "claimId": claim["claim"]["id"],
                "expectedVersion": 1,
                "kind": "AFFIRMS",
                "chain": [officials["source"]["id"]],
                "reported": {"precision": "DAY", "start": "2023-10-26"},
            }
        },
    )
    start = whole_log(client)[-1]["position"]
    amended = write(
        "mutation A($in: AmendSourceInput!) { amendSource(input: $in) { position } }",
        {
            "in": {
                "sourceId": government["source"]["id"],
                "expectedVersion": 1,
                "reason": "its proper name",
                "name": "The Ministry of Defence",
            }
        },
    )
    following = first_claim_change(server.url, claim["claim"]["id"], start)
    payload = asyncio.run(asyncio.wait_for(following, 20))
    assert payload["data"]["claimChanged"] == {
        "position": amended["position"],
        "claim": {"version": 2},
    }


def test_followers_of_one_claim_each_get_its_reading(
    server: Server, client: httpx.Client
) -> None:
    """Three followers of one claim (the reading is made once per event and
    shared): each gets the claim's new reading after each of its events."""
    body = gql(
        client,
        'mutation P { proposeClaim(input: {text: "Followed by three"}) '
        "{ position claim { id } } }",
        key=EDITOR_KEY,
    )
    written = body["data"]["proposeClaim"]

    async def three() -> list[dict[str, Any]]:
        follow = [
            first_claim_change(
                server.url,
                written["claim"]["id"],
                written["position"] - 1,
                "position claim { version text status { value } }",
            )
            for _ in range(3)
        ]
        return list(await asyncio.gather(*follow))

    payloads = asyncio.run(asyncio.wait_for(three(), 20))
    expected = {
        "position": written["position"],
        "claim": {
            "version": 1,
            "text": "Followed by three",
            "status": {"value": "UNATTESTED"},
        },
    }
    assert [p["data"]["claimChanged"] for p in payloads] == [expected] * 3
