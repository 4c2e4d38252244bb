"""The read budget counts what a query really reads (claims read, claims a
filter judges, events a replay reads), and a query priced over it is refused
before it reads anything; over real HTTP, on both stores."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from graphql import (
    GraphQLObjectType,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

from service.api.app import create_app
from service.api.cost import PRICED, list_sizes
from service.api.ids import global_id
from service.api.schema import schema
from service.application import ClaimsLedger
from service.bootstrap import Services, build
from service.domain.claim import Claim
from service.domain.ids import claim_id_for
from service.domain.recording import acting_as
from service.domain.values import Period
from service.readings import load_units, replay_units, scan_units
from service.settings import Settings
from service.views.reads import Shape
from tests.conftest import BACKENDS, Store, postgres_schema, recorded_since
from tests.fakes import EDITOR_KEY, Server, error_codes, nodes, served_in_process

LIMIT = Settings().max_reads_per_request
PAGE = """claims(first: 100) {
    edges { node { key text status { value } stances
      { edges { node { kind quote } } } } } }"""
THIRTY_PAGES = "{ " + " ".join(f"p{i}: {PAGE}" for i in range(30)) + " }"
README_LIST = """{ claims(first: 20) {
    totalCount
    edges { cursor node { key text status { value ruleVersion } } }
    pageInfo { hasNextPage endCursor } } }"""
OUTLET = "ukrainska-pravda"
BEIRUT = "quds-force-approved-attack-at-beirut-meeting"
SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "claims.json"
SEED_CLAIMS = len(json.loads(SEEDS.read_text())["claims"])
MANY = 3000  # claims written straight into the store for the scan tests
LONG = "long-running-claim"
LONG_EVENTS = 400  # events of the LONG claim's stream
SOURCES = "{ sources(first: 100) { edges { node { id key } } } }"
# the last page of a history: its events, and the state before them (a
# snapshot and the events since): on LONG, 10 + 10 units
LAST_PAGE = "history(last: 100) { edges { node { version } } }"
SCAN = 'claims(text: "zzzz", first: 5) { totalCount }'
THIRTY_SCANS = "{ " + " ".join(f"s{i}: {SCAN}" for i in range(30)) + " }"


def aliases(field: str, count: int) -> str:
    return " ".join(f"a{i}: {field}" for i in range(count))


def post(
    client: httpx.Client, query: str, api_key: str | None = None, **variables: Any
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cost(body: dict[str, Any]) -> dict[str, int]:
    found: dict[str, int] = body["extensions"]["cost"]
    return found


def source_id(client: httpx.Client, key: str = OUTLET) -> str:
    sources = post(client, SOURCES)["data"]["sources"]
    return str(next(s["id"] for s in nodes(sources) if s["key"] == key))


def position(client: httpx.Client) -> int:
    """The log's head, from the store (``/healthz`` does not touch the
    views, so it leaves what the server has seen as it was)."""
    found: int = client.get("/healthz").json()["position"]
    return found


def fill(settings: Settings, claims: int = 0, long_stream: int = 0) -> None:
    """Write ``claims`` claims, and a claim ``LONG`` with ``long_stream``
    events, straight into the store in one transaction: thousands in seconds."""
    ledger = ClaimsLedger(env=settings.ledger_env())
    try:
        with acting_as("filler"):
            made = [
                Claim.propose(
                    id=uuid4(),
                    key=None,
                    text=f"claim number {i} about the exercise",
                    about=["Iran"],
                    occurred=Period.unknown(),
                )
                for i in range(claims)
            ]
            if long_stream:
                long = Claim.propose(
                    id=claim_id_for(LONG),
                    key=LONG,
                    text="wording 0",
                    about=["Iran"],
                    occurred=Period.unknown(),
                )
                for i in range(1, long_stream):
                    long.correct_wording(f"wording {i}", reason="a typo")
                made.append(long)
        ledger.save(*made)
    finally:
        ledger.close()


def started(db: Path, store: Store) -> Server:
    """The real server (with the seeds) on a store, SQLite or PostgreSQL."""
    url = store.settings.database_url
    return Server(db=db, env={"CLAIMS_DATABASE_URL": url} if url else {}).start()


@pytest.fixture(scope="module", params=BACKENDS)
def big(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    """A server whose store holds the seeds, MANY claims and a claim of
    LONG_EVENTS events, all known to its views before the tests ask."""
    directory = tmp_path_factory.mktemp("big")

    def run(store: Store) -> Iterator[httpx.Client]:
        fill(store.settings, MANY, LONG_EVENTS)
        server = started(directory / "claims.sqlite", store)
        try:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                post(http, "{ position }")  # the views catch up
                yield http
        finally:
            server.stop()

    if request.param == "sqlite":
        yield from run(Store.sqlite(directory / "claims.sqlite"))
        return
    with postgres_schema() as url:
        yield from run(Store.postgres(url))


# ---- the seed data ---------------------------------------------------------


def test_thirty_pages_of_a_hundred_are_refused_before_any_read(
    client: httpx.Client,
) -> None:
    body = post(client, THIRTY_PAGES)

    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    (error,) = body["errors"]
    assert error["extensions"]["limit"] == LIMIT
    # A page costs one pass plus the items it asks for, for each of 30 aliases.
    assert cost(body) == {"estimated": 30 * (1 + 100), "spent": 0, "limit": LIMIT}


def test_backward_pages_are_priced_as_forward_ones(client: httpx.Client) -> None:
    backward = THIRTY_PAGES.replace("first:", "last:")
    assert "last: 100" in backward
    body = post(client, backward)

    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    assert cost(body) == {"estimated": 30 * (1 + 100), "spent": 0, "limit": LIMIT}
    default = post(client, "{ claims { totalCount } }")
    assert cost(default)["estimated"] == 1 + 20  # the default page
    small = post(client, "{ claims(last: 5) { totalCount } }")
    assert cost(small)["estimated"] == 1 + 5


def test_a_readme_sized_query_runs_and_is_charged_what_it_read(
    client: httpx.Client,
) -> None:
    body = post(client, README_LIST)
    assert "errors" not in body
    page = body["data"]["claims"]
    assert len(page["edges"]) == min(20, page["totalCount"]) > 0
    assert cost(body)["spent"] == 1 + len(page["edges"])

    histories = """{ claims(first: 100) { edges { node { version
        history(first: 100) { edges { node { version } } } } } } }"""
    body = post(client, histories)
    assert "errors" not in body
    versions = [e["node"]["version"] for e in body["data"]["claims"]["edges"]]
    assert all(
        len(e["node"]["history"]["edges"]) == e["node"]["version"]
        for e in body["data"]["claims"]["edges"]
    )
    # one pass, then a reading and a replay of its stream for each claim, the
    # replay priced by the events it reads (the longest stream, in the estimate)
    assert cost(body) == {
        "estimated": 1 + 100 * (1 + replay_units(max(versions))),
        "spent": 1 + sum(1 + replay_units(v) for v in versions),
        "limit": LIMIT,
    }


def test_a_search_and_a_filtered_count_are_charged_for_every_claim(
    client: httpx.Client,
) -> None:
    """A search goes over every entry its words match, and a filtered total
    counts every entry of its index, even when they find nothing: each is
    priced as if every claim matched. The totals of an unfiltered list, and
    of a list of one status or one source, are kept, not counted."""
    body = post(client, "{ " + SCAN + " }")
    assert "errors" not in body
    assert body["data"]["claims"]["totalCount"] == 0
    every = scan_units(SEED_CLAIMS)
    assert cost(body) == {
        "estimated": 1 + 2 * every + 5,
        "spent": 1 + 2 * every,
        "limit": LIMIT,
    }

    body = post(
        client,
        """{ claims(status: CONTESTED, entity: "Iran", first: 0) { totalCount } }""",
    )
    assert "errors" not in body
    assert cost(body) == {"estimated": 1 + every, "spent": 1 + every, "limit": LIMIT}

    for kept in ("status: CONTESTED", f'sourceId: "{source_id(client)}"'):
        body = post(client, f"{{ claims({kept}, first: 0) {{ totalCount }} }}")
        assert "errors" not in body
        assert cost(body) == {"estimated": 1, "spent": 1, "limit": LIMIT}

    body = post(client, "{ claims(status: CONTESTED, first: 1) { edges { cursor } } }")
    assert "errors" not in body
    assert cost(body) == {"estimated": 2, "spent": 2, "limit": LIMIT}

    body = post(client, "{ claims(first: 0) { totalCount } }")
    assert body["data"]["claims"]["totalCount"] == SEED_CLAIMS
    assert cost(body) == {"estimated": 1, "spent": 1, "limit": LIMIT}


def test_every_source_s_statements_are_charged_per_claim_read(
    client: httpx.Client,
) -> None:
    body = post(
        client,
        """{ sources(first: 100) { edges { node {
            statements(first: 100) { edges { node { claim { key } } } } } } } }""",
    )
    assert "errors" not in body
    sources = nodes(body["data"]["sources"])
    claims_read = sum(
        len({s["claim"]["key"] for s in nodes(source["statements"])})
        for source in sources
    )
    assert claims_read > len(sources)
    assert cost(body)["spent"] == 1 + len(sources) + claims_read
    # priced by the busiest source, so the estimate covers what was read
    assert cost(body)["estimated"] >= cost(body)["spent"]


def test_a_hub_source_is_priced_by_its_own_statements_not_the_average(
    client: httpx.Client,
) -> None:
    """The outlet passed on nearly every stance: priced at the average, 29
    replays under each statement looked cheap and ran until the budget
    stopped them. Priced by its page (at most the most statements a source
    has), the document is refused before anything is read."""
    histories = aliases("history { edges { node { version } } }", 29)
    query = f"""query($id: ID!) {{ source(id: $id) {{
        statements {{ edges {{ node {{ claim {{ {histories} }} }} }} }} }} }}"""
    body = post(client, query, id=source_id(client))

    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    assert cost(body)["estimated"] > LIMIT
    assert cost(body)["spent"] == 0


def test_fields_under_an_interface_are_priced_for_the_type_they_name(
    client: httpx.Client,
) -> None:
    """``node`` answers the Node interface: fields in an inline fragment on
    Claim, or in a fragment on Node spread there, are priced as Claim fields,
    at the named claim's own stream length, and the price is what it reads."""
    claim = post(
        client, "query($key: String!) { claim(key: $key) { id version } }", key=BEIRUT
    )
    found = claim["data"]["claim"]
    replay = replay_units(found["version"])
    inline = """query($id: ID!) { node(id: $id) {
        ... on Claim {
            history { edges { node { version } } }
            diff(fromVersion: 0, toVersion: 1) { path } } } }"""
    spread = """query($id: ID!) { node(id: $id) { ...Replays } }
        fragment Replays on Node {
            ... on Claim { history { edges { node { version } } } } ...More }
        fragment More on Claim { asOf(basis: {version: 1}) { key } }"""

    # a diff or asOf at version 1 reads one event; a history, all of them
    exact = 1 + replay + replay_units(1)
    body = post(client, inline, id=found["id"])
    assert "errors" not in body
    assert cost(body) == {"estimated": exact, "spent": exact, "limit": LIMIT}

    body = post(client, spread, id=found["id"])
    assert "errors" not in body
    asof = 1  # the claim read again, at version 1
    assert cost(body) == {
        "estimated": exact + asof,
        "spent": exact + asof,
        "limit": LIMIT,
    }


def test_a_plain_query_answers_while_heavy_ones_run(server: Server) -> None:
    """Fifty pricey documents at once (refused) and a dozen heavy ones within
    the budget must not hold up a trivial query for long."""
    histories = aliases("history { edges { node { version } } }", 5)
    heavy = f"""query($id: ID!) {{ source(id: $id) {{ statements {{ edges {{ node {{
        claim {{ {histories} status {{ value }} }} }} }} }} }} }}"""

    async def run() -> tuple[list[dict[str, Any]], list[float]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            sources = (await http.post("/graphql", json={"query": SOURCES})).json()
            source = next(
                s["id"] for s in nodes(sources["data"]["sources"]) if s["key"] == OUTLET
            )

            async def ask(query: str, **variables: Any) -> dict[str, Any]:
                response = await http.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
                body: dict[str, Any] = response.json()
                return body

            load = [ask(THIRTY_PAGES) for _ in range(50)]
            load += [ask(heavy, id=source) for _ in range(12)]
            running = asyncio.gather(*load)
            waits = [await plain(http) for _ in range(5)]
            return await running, waits

    answers, waits = asyncio.run(run())
    assert sum(error_codes(a) == ["QUERY_TOO_COSTLY"] for a in answers) == 50
    assert sum("errors" not in a for a in answers) == 12
    assert max(waits) < 10  # generous: the point is that it answers at all


async def plain(http: httpx.AsyncClient) -> float:
    """How long a ``{ __typename }`` takes to answer."""
    start = time.monotonic()
    response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.json()["data"] == {"__typename": "Query"}
    return time.monotonic() - start


def test_every_priced_field_is_a_field_of_the_schema() -> None:
    graphql = schema._schema
    for key in [*PRICED, *list_sizes(Shape())]:
        type_name, field = key.split(".")
        found = graphql.get_type(type_name)
        assert isinstance(found, GraphQLObjectType), key
        assert field in found.fields, key


def test_every_list_that_can_reach_a_read_is_sized() -> None:
    """A list priced as one item would let a document multiply the reads
    below it by however long the list turns out to be."""
    graphql = schema._schema
    objects = {
        name: t
        for name, t in graphql.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__")
    }
    reads = {key.split(".")[0] for key in PRICED}  # types with a priced field
    grown = True
    while grown:  # every type from which a priced field can be reached
        before = len(reads)
        reads |= {
            name
            for name, t in objects.items()
            for field in t.fields.values()
            if get_named_type(field.type).name in reads
            or get_named_type(field.type).name == "Node"
        }
        grown = len(reads) > before
    sized = {*list_sizes(Shape()), *PRICED}
    unsized = [
        f"{name}.{field_name}"
        for name, t in objects.items()
        for field_name, field in t.fields.items()
        if is_list_type(get_nullable_type(field.type))
        and get_named_type(field.type).name in reads
        and f"{name}.{field_name}" not in sized
        # a connection's edges are its page, sized by first or last
        and not name.endswith("Connection")
    ]
    assert unsized == []


# ---- a big store: thousands of claims, a long stream -------------------------


def test_searches_of_a_big_store_are_priced_by_its_size(big: httpx.Client) -> None:
    total = post(big, "{ claims(first: 0) { totalCount } }")
    claims = total["data"]["claims"]["totalCount"]
    assert claims == MANY + 1 + SEED_CLAIMS
    assert cost(total)["spent"] == 1  # the total alone judges nothing

    one = post(big, "{ " + SCAN + " }")
    assert "errors" not in one
    every = scan_units(claims)
    assert every > scan_units(SEED_CLAIMS)
    assert cost(one) == {
        "estimated": 1 + 2 * every + 5,
        "spent": 1 + 2 * every,
        "limit": LIMIT,
    }

    thirty = post(big, THIRTY_SCANS)
    assert thirty["data"] is None
    assert error_codes(thirty) == ["QUERY_TOO_COSTLY"]
    assert cost(thirty) == {
        "estimated": 30 * (1 + 2 * every + 5),
        "spent": 0,
        "limit": LIMIT,
    }


@pytest.mark.parametrize(
    "field",
    [
        "asOf(basis: {version: 250}) { version }",
        f"diff(fromVersion: 1, toVersion: {LONG_EVENTS}) {{ path }}",
    ],
)
def test_a_past_version_is_priced_by_the_events_it_replays(
    big: httpx.Client, field: str
) -> None:
    """A claim at a past version is loaded from the snapshot before it and
    the events since: at most 99 events, whatever the stream's length."""
    if field.startswith("asOf"):  # the claim read again, at version 250
        replay = 1 + load_units(250)
    else:  # the claim at both versions
        replay = load_units(LONG_EVENTS) + load_units(1)
    assert replay < replay_units(LONG_EVENTS)
    one = post(big, f'{{ claim(key: "{LONG}") {{ {field} }} }}')
    assert "errors" not in one
    assert cost(one) == {"estimated": 1 + replay, "spent": 1 + replay, "limit": LIMIT}

    many = post(big, f'{{ claim(key: "{LONG}") {{ {aliases(field, 29)} }} }}')
    assert error_codes(many) == ["QUERY_TOO_COSTLY"]
    assert cost(many) == {"estimated": 1 + 29 * replay, "spent": 0, "limit": LIMIT}


def test_a_page_of_history_is_priced_by_its_events_not_the_stream_s(
    big: httpx.Client,
) -> None:
    """The first page replays its own events; a page further on also loads
    the state before it, from the nearest snapshot and the events since."""
    first = post(
        big,
        f"""{{ claim(key: "{LONG}") {{ history(first: 100) {{
            edges {{ cursor node {{ version }} }}
            pageInfo {{ hasNextPage }} }} }} }}""",
    )
    assert "errors" not in first
    page = first["data"]["claim"]["history"]
    assert [e["node"]["version"] for e in page["edges"]] == list(range(1, 101))
    assert page["pageInfo"]["hasNextPage"]
    one_page = 1 + replay_units(100)
    assert cost(first) == {"estimated": one_page, "spent": one_page, "limit": LIMIT}

    cursor = page["edges"][-1]["cursor"]
    later = post(
        big,
        f"""query($after: String!) {{ claim(key: "{LONG}") {{
            history(first: 100, after: $after) {{ edges {{ node {{ version }} }} }}
        }} }}""",
        after=cursor,
    )
    assert "errors" not in later
    versions = [
        e["node"]["version"] for e in later["data"]["claim"]["history"]["edges"]
    ]
    assert versions == list(range(101, 201))
    # the state at version 100: from a snapshot (charged as the most events
    # a load may replay after one)
    assert cost(later) == {
        "estimated": one_page + load_units(LONG_EVENTS),
        "spent": one_page + load_units(100),
        "limit": LIMIT,
    }


def test_replays_under_an_interface_cost_what_they_read(big: httpx.Client) -> None:
    """Twenty-five histories in a fragment on Claim under ``node`` were free."""
    gid = global_id("Claim", claim_id_for(LONG))
    query = f"""query($id: ID!) {{ node(id: $id) {{
        ... on Claim {{ {aliases(LAST_PAGE, 25)} }} }} }}"""
    body = post(big, query, id=gid)

    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    last_page = replay_units(100) + replay_units(99)
    assert cost(body) == {"estimated": 1 + 25 * last_page, "spent": 0, "limit": LIMIT}


def test_a_mutation_whose_answer_is_over_budget_is_refused_before_it_writes(
    big: httpx.Client,
) -> None:
    claim = post(big, f'{{ claim(key: "{LONG}") {{ id version }} }}')["data"]["claim"]
    before = position(big)
    payload = aliases(LAST_PAGE, 20)
    body = post(
        big,
        f"""mutation($in: RecordStanceInput!) {{ recordStance(input: $in) {{
            version position claim {{ {payload} }} }} }}""",
        api_key=EDITOR_KEY,
        **{"in": stance_on(claim, source_id(big))},
    )

    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    assert "Nothing was written" in body["errors"][0]["message"]
    assert cost(body)["spent"] == 0
    assert position(big) == before


def stance_on(claim: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "claimId": claim["id"],
        "expectedVersion": claim["version"],
        "kind": "AFFIRMS",
        "chain": [source],
        "reported": {"precision": "DAY", "start": "2023-10-26"},
    }


# ---- budgets met while running ----------------------------------------------


@pytest.fixture
def behind(tmp_path: Path) -> Iterator[tuple[httpx.Client, Store, Server]]:
    """A running server, and its store, to write to behind the server's back
    (as another process on the same file would): until its follower next
    reads the log (a write through it, or the poll), its views price
    documents on what it knew before, while replays read the store as it is.
    SQLite with the feed's poll an hour apart: on PostgreSQL, NOTIFY tells
    the server at once, so the window in which it prices on stale sizes is
    too short to test."""
    store = Store.sqlite(tmp_path / "claims.sqlite")
    env = {"CLAIMS_FEED_POLL_INTERVAL": "3600"}
    server = Server(db=tmp_path / "claims.sqlite", env=env).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            post(http, "{ position }")
            yield http, store, server
    finally:
        server.stop()


def lengthen(settings: Settings, key: str, events: int) -> None:
    """Give the claim ``key`` more wording corrections, straight into the
    store, until its stream is ``events`` long."""
    ledger = ClaimsLedger(env=settings.ledger_env())
    try:
        claim: Claim = ledger.repository.get(claim_id_for(key))
        with acting_as("filler"):
            for i in range(claim.version, events):
                claim.correct_wording(f"wording {i}", reason="a typo")
        ledger.save(claim)
    finally:
        ledger.close()


def wake(http: httpx.Client) -> None:
    """A write through the server: its follower reads the log at once, the
    writes made behind its back included."""
    body = post(
        http,
        'mutation { registerSource(input: {name: "Wakes the follower", '
        "kind: OUTLET}) { version } }",
        api_key=EDITOR_KEY,
    )
    assert "errors" not in body, body


def test_a_query_reads_the_state_it_was_priced_on(
    behind: tuple[httpx.Client, Store, Server],
) -> None:
    """A claim lengthened behind the server's back is priced, and read, at
    the length the server's follower last saw; once the follower has read
    the log, the same query is priced on the new length and refused before
    it reads anything."""
    http, store, _ = behind
    fill(store.settings, long_stream=2)
    wake(http)
    lengthen(store.settings, LONG, LONG_EVENTS)
    query = f'{{ claim(key: "{LONG}") {{ {aliases(LAST_PAGE, 20)} }} }}'

    as_seen = post(http, query)
    assert "errors" not in as_seen, as_seen
    histories = as_seen["data"]["claim"].values()
    assert all([e["node"]["version"] for e in h["edges"]] == [1, 2] for h in histories)

    wake(http)
    refused = post(http, query)
    assert refused["data"] is None
    assert error_codes(refused) == ["QUERY_TOO_COSTLY"]
    assert cost(refused)["spent"] == 0
    assert cost(refused)["estimated"] > LIMIT


def test_a_mutation_whose_answer_runs_over_says_its_write_was_recorded(
    behind: tuple[httpx.Client, Store, Server],
) -> None:
    """The write commits before its answer is read; when the answer runs out
    of budget, the client is told the write is recorded, with its version and
    position, so it does not retry and record it twice."""
    http, store, server = behind
    outlet = source_id(http)
    fill(store.settings, long_stream=LONG_EVENTS)
    before = position(http)
    claim = {"id": global_id("Claim", claim_id_for(LONG)), "version": LONG_EVENTS}
    # priced on the stream the server last saw; each loads the claim at
    # versions 1 and 400
    payload = aliases(f"diff(fromVersion: 1, toVersion: {LONG_EVENTS}) {{ path }}", 29)
    body = post(
        http,
        f"""mutation($in: RecordStanceInput!) {{ recordStance(input: $in) {{
            version position claim {{ {payload} }} }} }}""",
        api_key=EDITOR_KEY,
        **{"in": stance_on(claim, outlet)},
    )

    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    (error,) = body["errors"]
    assert "The write was recorded" in error["message"]
    assert "Do not retry" in error["message"]
    (write,) = error["extensions"]["recorded"]
    assert write["field"] == "recordStance"
    assert write["version"] == LONG_EVENTS + 1
    assert write["position"] > before
    assert error["path"][0] == "recordStance"
    assert recorded_since(server, before) == ["Claim.StanceRecorded"]


# ---- refused without store work, in a busy big store --------------------------


@pytest.fixture
def watched_store(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The real app in this process over real HTTP, on a store holding MANY
    claims, with every call to the store's recorder written down."""
    # The change feed's poll reads the store on its own schedule; here it
    # would be counted as a request's read.
    settings = Settings(db_path=str(tmp_path / "c.sqlite"), feed_poll_interval=3600)
    fill(settings, MANY)
    calls: list[str] = []

    def build_watched(settings: Settings) -> Services:
        services = build(settings)
        recorder = services.ledger.recorder
        for name in ("select_notifications", "select_events", "max_notification_id"):
            original = getattr(recorder, name)

            def watched(
                *args: Any, _f: Callable[..., Any] = original, _n: str = name, **kw: Any
            ) -> Any:
                calls.append(_n)
                return _f(*args, **kw)

            setattr(recorder, name, watched)
        return services

    app = create_app(settings, build_watched)
    with served_in_process(app) as url:
        with httpx.Client(base_url=url, timeout=60) as http:
            post(http, "{ position }")  # the views catch up
        yield url, calls


def test_a_query_refused_for_its_price_never_reaches_the_store(
    watched_store: tuple[str, list[str]],
) -> None:
    url, calls = watched_store
    with httpx.Client(base_url=url, timeout=60) as http:
        calls.clear()
        refused = [post(http, THIRTY_PAGES), post(http, THIRTY_SCANS)]
        during_refusal = list(calls)
        answered = post(http, "{ " + SCAN + " }")
        replayed = post(
            http,
            "{ claims(first: 1) { edges { node { history { edges { cursor } } } } } }",
        )

    assert [error_codes(r) for r in refused] == [["QUERY_TOO_COSTLY"]] * 2
    assert during_refusal == []
    assert "errors" not in answered
    assert "errors" not in replayed
    assert calls, "a replay reads the store; the watch must see it"


def test_a_list_is_read_from_the_views_without_reading_the_log(
    watched_store: tuple[str, list[str]],
) -> None:
    """Readers take the views where the follower of the log left them: a
    page of claims with their statuses reads no event."""
    url, calls = watched_store
    with httpx.Client(base_url=url, timeout=60) as http:
        calls.clear()
        page = post(
            http,
            "{ claims(first: 20) "
            "{ totalCount edges { node { id status { value } } } } }",
        )

    assert "errors" not in page
    assert page["data"]["claims"]["totalCount"] >= MANY  # and the seeds
    assert calls == []


def test_refused_scans_do_not_hold_up_a_plain_query(
    watched_store: tuple[str, list[str]],
) -> None:
    """Forty thirty-alias searches of a few thousand claims, sent at once: each
    is refused before it judges a claim, so ``{ __typename }`` still answers
    (they took seconds each, and stalled everything else, when they ran)."""
    url, calls = watched_store

    async def run() -> tuple[list[dict[str, Any]], list[float]]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:

            async def scan() -> dict[str, Any]:
                response = await http.post("/graphql", json={"query": THIRTY_SCANS})
                body: dict[str, Any] = response.json()
                return body

            calls.clear()
            running = asyncio.gather(*(scan() for _ in range(40)))
            waits = [await plain(http) for _ in range(5)]
            return await running, waits

    answers, waits = asyncio.run(run())
    assert all(error_codes(a) == ["QUERY_TOO_COSTLY"] for a in answers)
    assert all(cost(a)["spent"] == 0 for a in answers)
    assert calls == []
    assert max(waits) < 10  # generous: the point is that it answers at all
