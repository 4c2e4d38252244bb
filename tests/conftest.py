from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.application import ClaimsLedger
from service.catalog import Catalog
from service.clock import using_clock
from service.readings import Reader
from service.seeding import load_seeds
from tests.fakes import Server, SteppingClock


def open_ledger(path: Path) -> ClaimsLedger:
    return ClaimsLedger(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    )


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "claims.sqlite"


@pytest.fixture
def clock() -> Iterator[SteppingClock]:
    stepping = SteppingClock()
    with using_clock(stepping):
        yield stepping


@pytest.fixture
def ledger(db_path: Path, clock: SteppingClock) -> Iterator[ClaimsLedger]:
    app = open_ledger(db_path)
    yield app
    app.close()


@pytest.fixture
def seeded(ledger: ClaimsLedger) -> ClaimsLedger:
    load_seeds(ledger)
    return ledger


@pytest.fixture
def reader(ledger: ClaimsLedger) -> Reader:
    return Reader(ledger, Catalog(ledger))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per test module, on a fresh SQLite file with the seeds."""
    running = Server(db=tmp_path_factory.mktemp("server") / "claims.sqlite").start()
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
