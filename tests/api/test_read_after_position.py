"""Read-your-writes across instances: a client that wrote through one
instance sends the position its write answered with, and its read through
another instance reflects that write, or says it could not in time."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS, postgres_schema
from tests.fakes import EDITOR_KEY, Server, error_codes, gql

COUNT = "query Count { claims(first: 0) { totalCount } }"
REGISTER = (
    "mutation Register { registerSource(input: "
    '{name: "Written through the first instance", kind: OUTLET}) '
    "{ position source { id } } }"
)
SOURCE = "query Source($id: ID!) { source(id: $id) { name } }"


@pytest.fixture(params=BACKENDS)
def two_instances(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Server, Server]]:
    """Two servers on one store whose followers look at the log once an hour
    unless told (NOTIFY on PostgreSQL, the header here)."""
    db = tmp_path / "claims.sqlite"
    env = {"CLAIMS_FEED_POLL_INTERVAL": "3600", "CLAIMS_READ_WAIT": "1"}
    with ExitStack() as stack:
        if request.param == "postgres":
            env["CLAIMS_DATABASE_URL"] = stack.enter_context(postgres_schema())
        first = Server(db=db, env=env).start()
        stack.callback(first.stop)
        second = Server(db=db, env={**env, "CLAIMS_LOAD_SEEDS": "0"}).start()
        stack.callback(second.stop)
        yield first, second


def ask(
    http: httpx.Client,
    query: str,
    after: int | None = None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {"Read-After-Position": str(after)} if after is not None else {}
    response = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def count(http: httpx.Client, after: int | None = None) -> dict[str, Any]:
    return ask(http, COUNT, after)


def test_a_read_after_a_write_elsewhere_reflects_it(
    two_instances: tuple[Server, Server],
) -> None:
    first, second = two_instances
    with (
        httpx.Client(base_url=first.url, timeout=30) as one,
        httpx.Client(base_url=second.url, timeout=30) as other,
    ):
        written = gql(one, REGISTER, key=EDITOR_KEY)["data"]["registerSource"]
        wanted = {"id": written["source"]["id"]}
        # the views are shared and a write is answered once they hold it: a
        # read through another instance takes in what they hold, header or
        # not (no wake-up reaches the other's follower here)
        plain = ask(other, SOURCE, variables=wanted)
        assert plain["data"]["source"] == {"name": "Written through the first instance"}
        seen = ask(other, SOURCE, written["position"], wanted)
        assert "errors" not in seen, seen
        assert seen["data"]["source"]["name"] == "Written through the first instance"
        health = other.get("/healthz").json()
        assert health["readsAt"] >= written["position"]


def test_a_position_not_reached_in_time_is_said_with_a_code(
    two_instances: tuple[Server, Server],
) -> None:
    _, second = two_instances
    with httpx.Client(base_url=second.url, timeout=30) as http:
        head = http.get("/healthz").json()["position"]
        body = count(http, after=head + 1000)
    assert error_codes(body) == ["POSITION_NOT_REACHED"]
    (error,) = body["errors"]
    assert error["extensions"]["position"] == head + 1000
    assert error["extensions"]["readsAt"] <= head


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "", str(2**63)])
def test_a_malformed_position_is_bad_input(
    two_instances: tuple[Server, Server], value: str
) -> None:
    first, _ = two_instances
    response = httpx.post(
        f"{first.url}/graphql",
        json={"query": COUNT, "operationName": "Count"},
        headers={"Read-After-Position": value},
    )
    assert error_codes(response.json()) == ["BAD_USER_INPUT"]
