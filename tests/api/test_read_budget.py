"""The read budget counts what a query really reads, and a query priced over it
is refused before it reads anything; over real HTTP, on both stores."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from graphql import GraphQLObjectType

from service.api.app import create_app
from service.api.cost import PRICES, list_sizes
from service.api.schema import schema
from service.bootstrap import Services, build
from service.catalog import Shape
from service.settings import Settings
from tests.fakes import Server, error_codes, free_port

LIMIT = Settings().max_reads_per_request
PAGE = """claims(first: 100) {
    edges { node { key text status { value } stances { kind quote } } } }"""
THIRTY_PAGES = "{ " + " ".join(f"p{i}: {PAGE}" for i in range(30)) + " }"
README_LIST = """{ claims(first: 20) {
    totalCount
    edges { cursor node { key text status { value ruleVersion } } }
    pageInfo { hasNextPage endCursor } } }"""
OUTLET = "ukrainska-pravda"


def post(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cost(body: dict[str, Any]) -> dict[str, int]:
    found: dict[str, int] = body["extensions"]["cost"]
    return found


def outlet_id(client: httpx.Client) -> str:
    sources = post(client, "{ sources { id key } }")["data"]["sources"]
    return str(next(s["id"] for s in sources if s["key"] == OUTLET))


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


def test_a_readme_sized_query_runs_and_is_charged_what_it_read(
    client: httpx.Client,
) -> None:
    body = post(client, README_LIST)
    assert "errors" not in body
    page = body["data"]["claims"]
    assert len(page["edges"]) == min(20, page["totalCount"]) > 0
    assert cost(body)["spent"] == 1 + len(page["edges"])

    histories = "{ claims(first: 100) { edges { node { history { version } } } } }"
    body = post(client, histories)
    assert "errors" not in body
    claims = len(body["data"]["claims"]["edges"])
    # one pass, then a reading and a replay of its stream for each claim
    assert cost(body) == {"estimated": 201, "spent": 1 + 2 * claims, "limit": LIMIT}


def test_every_source_s_statements_are_charged_per_claim_read(
    client: httpx.Client,
) -> None:
    body = post(client, "{ sources { statements { claim { key } } } }")
    assert "errors" not in body
    sources = body["data"]["sources"]
    claims_read = sum(
        len({s["claim"]["key"] for s in source["statements"]}) for source in sources
    )
    assert claims_read > len(sources)
    assert cost(body)["spent"] == 1 + len(sources) + claims_read


def test_a_query_that_reads_more_than_it_was_priced_stops_at_the_budget(
    client: httpx.Client,
) -> None:
    """The estimate prices a source's statements at the average; the outlet
    passed on every stance, so replaying each one's history many times over
    is found out while running, and stopped there."""
    histories = " ".join(f"h{i}: history {{ version }}" for i in range(29))
    query = f"""query($id: ID!) {{ source(id: $id) {{
        statements {{ claim {{ {histories} }} }} }} }}"""
    body = post(client, query, id=outlet_id(client))

    assert body["data"] is None
    assert error_codes(body) == ["QUERY_TOO_COSTLY"]
    assert body["errors"][0]["extensions"]["limit"] == LIMIT
    spent = cost(body)
    assert spent["estimated"] <= LIMIT
    assert 0 < spent["spent"] <= LIMIT


def test_a_plain_query_answers_while_heavy_ones_run(server: Server) -> None:
    """Fifty pricey documents at once (refused) and a dozen heavy ones within
    the budget must not hold up a trivial query for long."""
    statements = " ".join(f"h{i}: history {{ version }}" for i in range(5))
    heavy = f"""query($id: ID!) {{ source(id: $id) {{
        statements {{ claim {{ {statements} status {{ value }} }} }} }} }}"""

    async def run() -> tuple[list[dict[str, Any]], list[float]]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            sources = (
                await http.post("/graphql", json={"query": "{ sources { id key } }"})
            ).json()
            source = next(
                s["id"] for s in sources["data"]["sources"] if s["key"] == OUTLET
            )

            async def ask(query: str, **variables: Any) -> dict[str, Any]:
                response = await http.post(
                    "/graphql", json={"query": query, "variables": variables}
                )
                body: dict[str, Any] = response.json()
                return body

            async def plain() -> float:
                start = time.monotonic()
                body = await ask("{ __typename }")
                assert body["data"] == {"__typename": "Query"}
                return time.monotonic() - start

            load = [ask(THIRTY_PAGES) for _ in range(50)]
            load += [ask(heavy, id=source) for _ in range(12)]
            running = asyncio.gather(*load)
            waits = []
            for _ in range(5):
                waits.append(await plain())
            return await running, waits

    answers, waits = asyncio.run(run())
    assert sum(error_codes(a) == ["QUERY_TOO_COSTLY"] for a in answers) == 50
    assert sum("errors" not in a for a in answers) == 12
    assert max(waits) < 10  # generous: the point is that it answers at all


def test_every_priced_field_is_a_field_of_the_schema() -> None:
    graphql = schema._schema
    for key in [*PRICES, *list_sizes(Shape(1, 1, 1, 1, 1, 1))]:
        type_name, field = key.split(".")
        found = graphql.get_type(type_name)
        assert isinstance(found, GraphQLObjectType), key
        assert field in found.fields, key


@pytest.fixture
def watched_store(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """The real app in this process over real HTTP, with every call to the
    store's recorder written down."""
    calls: list[str] = []

    def build_watched(settings: Settings) -> Services:
        services = build(settings)
        recorder = services.ledger.recorder
        for name in ("select_notifications", "select_events", "max_notification_id"):
            original = getattr(recorder, name)

            def watched(
                *args: Any, _f: Any = original, _n: str = name, **kw: Any
            ) -> Any:
                calls.append(_n)
                return _f(*args, **kw)

            setattr(recorder, name, watched)
        return services

    app = create_app(Settings(db_path=str(tmp_path / "c.sqlite")), build_watched)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", calls
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_a_query_refused_for_its_price_never_reaches_the_store(
    watched_store: tuple[str, list[str]],
) -> None:
    url, calls = watched_store
    with httpx.Client(base_url=url, timeout=30) as http:
        calls.clear()
        refused = post(http, THIRTY_PAGES)
        during_refusal = list(calls)
        answered = post(http, README_LIST)

    assert error_codes(refused) == ["QUERY_TOO_COSTLY"]
    assert during_refusal == []
    assert "errors" not in answered
    assert calls, "an answered query reads the store; the watch must see it"
