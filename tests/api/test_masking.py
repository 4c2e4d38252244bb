"""An unexpected exception (a bug, not a refusal) reaches the client as
"Unexpected error." with INTERNAL_SERVER_ERROR and nothing else: no exception
text, no type, no traceback. The log has the traceback.

A bug cannot be provoked in the real server from outside, so the real app runs
in this process under uvicorn, on a ledger whose write and read blow up once
the service is up, and is called over real HTTP.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from service.api.app import create_app
from service.application import ClaimsLedger, RecordedEvent, WriteResult
from service.bootstrap import Services, assemble
from service.seeding import load_seeds
from service.settings import Settings, parse_api_keys
from tests.fakes import API_KEYS, EDITOR_KEY, served_in_process

SECRET = "password=hunter2 in /srv/claims/secret.py"  # noqa: S105 - bait, not a secret
BEIRUT = "quds-force-approved-attack-at-beirut-meeting"


class BuggyLedger(ClaimsLedger):
    """Proposing a claim and reading a claim's history fail as a bug would:
    with an exception that is no DomainError, carrying text no client may see."""

    armed = False

    def propose_claim(self, *args: Any, **kwargs: Any) -> WriteResult:
        if self.armed:
            raise RuntimeError(SECRET)
        return super().propose_claim(*args, **kwargs)

    def stream(
        self, aggregate_id: UUID, up_to: int | None = None, after: int = 0
    ) -> list[RecordedEvent]:
        if self.armed:
            raise KeyError(SECRET)
        return super().stream(aggregate_id, up_to, after)


def build_buggy(settings: Settings) -> Services:
    ledger = BuggyLedger(env=settings.ledger_env())
    load_seeds(ledger, settings.seeds_dir)
    ledger.armed = True
    return assemble(settings, ledger)


@pytest.fixture(scope="module")
def buggy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    db = tmp_path_factory.mktemp("buggy") / "claims.sqlite"
    settings = Settings(db_path=str(db), api_keys=parse_api_keys(API_KEYS))
    app = create_app(settings, build_services=build_buggy)
    with (
        served_in_process(app, startup=30, log_config=None) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        yield http


def assert_masked(response: httpx.Response, path: list[str]) -> dict[str, Any]:
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    (error,) = body["errors"]
    assert error["message"] == "Unexpected error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert error["path"] == path
    assert set(error) <= {"message", "locations", "path", "extensions"}
    for leak in ("hunter2", "secret", "Traceback", "RuntimeError", "KeyError", ".py"):
        assert leak not in response.text
    return body


def assert_logged_with_traceback(
    caplog: pytest.LogCaptureFixture, error: type[Exception]
) -> None:
    (record,) = [r for r in caplog.records if r.name == "claims_ledger.api"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is error
    assert "Traceback" in caplog.text
    assert SECRET in caplog.text
    assert __file__ in caplog.text  # the frame that raised


def test_a_bug_in_a_write_is_masked_and_logged(
    buggy: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    before = buggy.get("/healthz").json()["position"]
    response = buggy.post(
        "/graphql",
        json={"query": 'mutation { proposeClaim(input: {text: "Boom."}) { version } }'},
        headers={"Authorization": f"Bearer {EDITOR_KEY}"},
    )
    body = assert_masked(response, ["proposeClaim"])
    assert body["data"] is None
    assert_logged_with_traceback(caplog, RuntimeError)
    assert buggy.get("/healthz").json()["position"] == before


def test_a_bug_in_a_read_is_masked_and_logged(
    buggy: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    query = """query($key: String!) { claim(key: $key) {
        key history { edges { node { version } } } } }"""
    response = buggy.post(
        "/graphql", json={"query": query, "variables": {"key": BEIRUT}}
    )
    body = assert_masked(response, ["claim", "history"])
    assert body["data"] == {"claim": None}  # history is non-null: the claim goes too
    assert_logged_with_traceback(caplog, KeyError)


def test_a_refusal_is_not_mistaken_for_a_bug(
    buggy: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """The same server still answers refusals with their own code, unlogged."""
    query = """mutation {
        registerSource(input: {key: "wsj", name: "W", kind: OUTLET}) { version } }"""
    response = buggy.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {EDITOR_KEY}"},
    )
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "ALREADY_EXISTS"
    assert [r for r in caplog.records if r.name == "claims_ledger.api"] == []
