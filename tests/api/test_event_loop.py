"""No store call runs on the event loop: each one happens in a worker thread.

The server runs in this process so the store can be watched: every recorder
call checks whether an event loop is running in its thread (as it would be on
the loop's own thread, and never is in a worker thread).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from service.api.app import create_app
from service.bootstrap import Services, build
from service.settings import Settings, parse_api_keys
from tests.fakes import API_KEYS, EDITOR_KEY, gql, served_in_process

WATCHED = (
    "select_notifications",
    "max_notification_id",
    "insert_events",
    "select_events",
)


def on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def watching(
    calls_on_loop: list[str], calls: list[str]
) -> Callable[[Settings], Services]:
    def build_watched(settings: Settings) -> Services:
        services = build(settings)
        recorder = services.ledger.recorder
        targets: list[tuple[Any, str]] = [(recorder, n) for n in WATCHED]
        targets.append((recorder.datastore, "transaction"))  # type: ignore[attr-defined]
        for owner, name in targets:
            original = getattr(owner, name)

            def watched(
                *args: Any, _f: Any = original, _n: str = name, **kw: Any
            ) -> Any:
                calls.append(_n)
                if on_loop():
                    calls_on_loop.append(_n)
                return _f(*args, **kw)

            setattr(owner, name, watched)
        return services

    return build_watched


def test_store_calls_stay_off_the_event_loop(tmp_path: Path) -> None:
    calls_on_loop: list[str] = []
    calls: list[str] = []
    settings = Settings(
        db_path=str(tmp_path / "c.sqlite"), api_keys=parse_api_keys(API_KEYS)
    )
    app = create_app(settings, build_services=watching(calls_on_loop, calls))
    with (
        served_in_process(app) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert http.get("/healthz").status_code == 200
        created = gql(
            http,
            """mutation { proposeClaim(input: {text: "Watched."}) {
            claim { id } } }""",
            key=EDITOR_KEY,
        )["data"]["proposeClaim"]["claim"]
        body = gql(
            http,
            """query($id: ID!) { claim(id: $id) {
            status { value } history { edges { node { position changes { path } } } }
            asOf(basis: {version: 1}) { version }
            diff(fromVersion: 0, toVersion: 1) { path }
            } claims { totalCount }
            sources { edges { node { statements { edges { node { role } } } } } } }""",
            {"id": created["id"]},
        )
        assert "errors" not in body
    assert calls, "the watch saw no store call at all"
    assert calls_on_loop == []
