from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from service.application import ClaimsLedger
from service.clock import using_clock
from service.readings import Reader
from service.seeding import load_seeds
from service.settings import Settings
from service.views.reads import Views
from tests.fakes import Server, SteppingClock, scratch_schema

POSTGRES_URL_VAR = "CLAIMS_TEST_POSTGRES_URL"


@dataclass(frozen=True)
class Store:
    """One event store that several ledgers (service instances) can open,
    configured exactly as the service configures its own (``ledger_env``)."""

    backend: str
    settings: Settings

    @classmethod
    def sqlite(cls, path: Path) -> Store:
        return cls("sqlite", Settings(db_path=str(path)))

    @classmethod
    def postgres(cls, url: str) -> Store:
        return cls("postgres", Settings(database_url=url))

    @property
    def env(self) -> dict[str, str]:
        return self.settings.ledger_env()

    def open(self) -> ClaimsLedger:
        return ClaimsLedger(env=self.env)


CORPUS = Path(__file__).resolve().parent.parent / "bench" / "corpus.py"


def write_corpus(
    store: Store, claims: int, *, hot_every: int = 100, hot_events: int = 200
) -> subprocess.CompletedProcess[str]:
    """bench/corpus.py run on the store: a corpus of the seed's shape
    (chains, retractions, corrections, links, long streams), written through
    the ledger's own use cases. Its output, once it has succeeded."""
    where = (
        ["--database-url", store.settings.database_url]
        if store.settings.database_url
        else ["--db", store.settings.db_path]
    )
    done = subprocess.run(
        [
            *(sys.executable, str(CORPUS), "--claims", str(claims), *where),
            *("--hot-every", str(hot_every), "--hot-events", str(hot_events)),
            *("--batch", "64"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_VAR)
    if url:
        return url
    message = (
        f"PostgreSQL leg NOT RUN: set {POSTGRES_URL_VAR}="
        "postgresql://postgres@127.0.0.1:5432/test to run every store test on it"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL server; its URL, dropped after."""
    with scratch_schema(postgres_url()) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """Every store-level test runs on SQLite and on PostgreSQL (its own schema)."""
    if request.param == "sqlite":
        yield Store.sqlite(tmp_path / "claims.sqlite")
        return
    with postgres_schema() as url:
        yield Store.postgres(url)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "claims.sqlite"


@pytest.fixture
def clock() -> Iterator[SteppingClock]:
    stepping = SteppingClock()
    with using_clock(stepping):
        yield stepping


@pytest.fixture
def ledger(store: Store, clock: SteppingClock) -> Iterator[ClaimsLedger]:
    app = store.open()
    yield app
    app.close()


@pytest.fixture
def seeded(ledger: ClaimsLedger) -> ClaimsLedger:
    load_seeds(ledger)
    return ledger


@pytest.fixture
def reader(ledger: ClaimsLedger) -> Reader:
    return Reader(ledger, Views(ledger))


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One real server per test module and backend, on a fresh store with the seeds."""
    db = tmp_path_factory.mktemp("server") / "claims.sqlite"
    if request.param == "sqlite":
        running = Server(db=db).start()
        yield running
        running.stop()
        return
    with postgres_schema() as url:
        running = Server(db=db, env={"CLAIMS_DATABASE_URL": url}).start()
        yield running
        running.stop()


def recorded_since(server: Server, after: int) -> list[str]:
    """The type of every event the server's store holds past a position, read
    from the store itself: on PostgreSQL positions skip, since an insert that
    is rolled back still uses up its sequence number."""
    settings = Settings(
        db_path=str(server.db), database_url=server.env.get("CLAIMS_DATABASE_URL")
    )
    ledger = ClaimsLedger(env=settings.ledger_env())
    try:
        recorded = ledger.recorder.select_notifications(
            after, 1000, inclusive_of_start=False
        )
    finally:
        ledger.close()
    return [n.topic.rpartition(":")[2] for n in recorded]


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
