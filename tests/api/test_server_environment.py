"""The test server runs with the settings its test gives it and no others, so
the SQLite leg is on SQLite even when the person running the tests has a
CLAIMS_DATABASE_URL (or any other CLAIMS_* setting) exported."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from service.application import ClaimsLedger
from service.settings import Settings
from tests.fakes import Server, error_codes, gql

NOWHERE = "postgresql://nobody@127.0.0.1:9/nowhere"
SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "claims.json"
SEED_CLAIMS = len(json.loads(SEEDS.read_text())["claims"])


def test_the_sqlite_server_ignores_the_callers_claims_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAIMS_DATABASE_URL", NOWHERE)
    monkeypatch.setenv("CLAIMS_READS", "key")
    monkeypatch.setenv("CLAIMS_LOAD_SEEDS", "0")
    db = tmp_path / "claims.sqlite"
    server = Server(db=db).start()  # on NOWHERE it would exit early and raise
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            body = gql(http, "{ claims { totalCount } }")  # open reads, seeds loaded
            assert error_codes(body) == []
            assert body["data"]["claims"]["totalCount"] == SEED_CLAIMS
            served = http.get("/healthz").json()["position"]
        on_file = ClaimsLedger(env=Settings(db_path=str(db)).ledger_env())
        try:
            assert on_file.last_position() == served
        finally:
            on_file.close()
    finally:
        server.stop()
