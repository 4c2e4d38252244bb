"""Browser apps on the origins the operator lists may call the API; others not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes import Server

APP = "https://claims-app.example"


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    db = tmp_path_factory.mktemp("cors") / "claims.sqlite"
    running = Server(db=db, env={"CLAIMS_CORS_ORIGINS": APP}).start()
    yield running
    running.stop()


def preflight(server: Server, origin: str) -> httpx.Response:
    return httpx.options(
        f"{server.url}/graphql",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_a_listed_origin_may_send_keyed_posts(browser_server: Server) -> None:
    response = preflight(browser_server, APP)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == APP
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed


def test_answers_to_a_listed_origin_carry_the_cors_header(
    browser_server: Server,
) -> None:
    response = httpx.post(
        f"{browser_server.url}/graphql",
        json={"query": "{ position }"},
        headers={"Origin": APP},
    )
    assert response.json()["data"]["position"] > 0
    assert response.headers["access-control-allow-origin"] == APP


def test_other_origins_are_not_allowed(browser_server: Server, tmp_path: Path) -> None:
    assert preflight(browser_server, "https://elsewhere.example").status_code == 400
    closed = Server(db=tmp_path / "c.sqlite").start()  # no origins configured
    try:
        response = httpx.post(
            f"{closed.url}/graphql",
            json={"query": "{ position }"},
            headers={"Origin": APP},
        )
        assert "access-control-allow-origin" not in response.headers
    finally:
        closed.stop()
