"""Every request has an id: the client's when it is sane, else a fresh one. It
comes back in X-Request-ID and ties the request's log lines together, masked
errors included."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes import EDITOR_KEY, Server, error_codes

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(db=tmp_path_factory.mktemp("ids") / "claims.sqlite").start()
    yield running
    running.stop()


@pytest.fixture
def http(sqlite_server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sqlite_server.url, timeout=30) as client:
        yield client


def position(client: httpx.Client, **headers: str) -> httpx.Response:
    response = client.post("/graphql", json={"query": "{ position }"}, headers=headers)
    assert response.status_code == 200, response.text
    assert "errors" not in response.json()
    return response


def test_a_sane_incoming_id_is_echoed(http: httpx.Client) -> None:
    sent = "client-7f3a:retry/2"
    assert position(http, **{"X-Request-ID": sent}).headers["x-request-id"] == sent


def test_without_an_id_each_request_gets_a_fresh_one(http: httpx.Client) -> None:
    first = position(http).headers["x-request-id"]
    second = http.get("/healthz").headers["x-request-id"]
    assert GENERATED.fullmatch(first)
    assert GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    "incoming",
    [
        "x" * 129,  # too long for a log line
        "two words",  # a space would split the log line's fields
        "caf\xe9",  # not ASCII (sent as its Latin-1 byte)
        "",
    ],
)
def test_an_unfit_incoming_id_is_replaced(http: httpx.Client, incoming: str) -> None:
    response = http.post(
        "/graphql",
        json={"query": "{ position }"},
        headers={b"X-Request-ID": incoming.encode("latin-1")},
    )
    assert GENERATED.fullmatch(response.headers["x-request-id"])


def test_refusals_before_graphql_carry_an_id_too(http: httpx.Client) -> None:
    response = http.post(
        "/graphql", content=b"not json", headers={"X-Request-ID": "bad-body-1"}
    )
    assert response.status_code == 400
    assert response.headers["x-request-id"] == "bad-body-1"


def test_the_log_line_names_id_operation_and_principal_but_not_the_key(
    sqlite_server: Server, http: httpx.Client
) -> None:
    response = http.post(
        "/graphql",
        json={"query": "query WhereIsTheLog { position }"},
        headers={"Authorization": f"Bearer {EDITOR_KEY}", "X-Request-ID": "trace-1"},
    )
    assert response.status_code == 200
    (line,) = sqlite_server.log_lines_with("trace-1")
    assert "POST /graphql 200" in line
    assert "op=WhereIsTheLog" in line
    assert "principal=alice" in line
    assert EDITOR_KEY not in sqlite_server.log_text()


def test_a_given_operation_name_is_the_one_logged(
    sqlite_server: Server, http: httpx.Client
) -> None:
    document = "query First { position } query Second { position }"
    http.post(
        "/graphql",
        json={"query": document, "operationName": "Second"},
        headers={"X-Request-ID": "trace-2"},
    )
    (line,) = sqlite_server.log_lines_with("trace-2")
    assert "op=Second" in line
    assert "principal=-" in line


def test_a_masked_error_is_logged_under_its_request_id(tmp_path: Path) -> None:
    db = tmp_path / "claims.sqlite"
    server = Server(db=db).start()
    try:
        # Take the event table away under the running server: its next read
        # fails in a way no code path expects.
        with sqlite3.connect(db) as store:
            store.execute("ALTER TABLE stored_events RENAME TO hidden")
        response = httpx.post(
            f"{server.url}/graphql",
            json={"query": "query Broken { position }"},
            headers={"X-Request-ID": "fault-1"},
        )
        assert error_codes(response.json()) == ["INTERNAL_SERVER_ERROR"]
        assert "stored_events" not in response.text
        assert response.headers["x-request-id"] == "fault-1"
        lines = server.log_lines_with("fault-1")
        assert any(
            line.startswith("ERROR") and "unexpected error" in line for line in lines
        ), lines
        # The request's own line follows once the answer is sent.
        (summary,) = server.log_lines_with("op=Broken")
        assert "[fault-1]" in summary

        # Outside GraphQL, the same failure is a JSON 500 with the id.
        health = httpx.get(f"{server.url}/healthz", headers={"X-Request-ID": "fault-2"})
        assert health.status_code == 500
        assert error_codes(health.json()) == ["INTERNAL_SERVER_ERROR"]
        assert "stored_events" not in health.text
        assert health.headers["x-request-id"] == "fault-2"
        (summary,) = server.log_lines_with("GET /healthz 500")
        assert "[fault-2]" in summary
        lines = server.log_lines_with("[fault-2]")
        (error,) = [line for line in lines if line != summary]
        assert error.startswith("ERROR")
        assert "unhandled error" in error
    finally:
        server.stop()
