"""The claims-ledger command as a user runs it: a misconfigured service refuses
to start with one line saying what to fix; a started one says where it
listens, which store it opened and what it seeded."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import postgres_schema
from tests.fakes import Server

# (variable, malformed value, what the message must name)
BAD_SETTINGS = [
    ("CLAIMS_API_KEYS", "not-a-key-entry", "secret=principal:role"),
    ("CLAIMS_API_KEYS_FILE", "/nonexistent/keys", "CLAIMS_API_KEYS_FILE"),
    ("CLAIMS_READS", "keys", "CLAIMS_READS"),
    ("CLAIMS_SEEDS_DIR", "/nonexistent/seeds", "CLAIMS_SEEDS_DIR"),
    ("CLAIMS_DATABASE_URL", "mysql://db/claims", "CLAIMS_DATABASE_URL"),
    ("CLAIMS_CORS_ORIGINS", "app.example", "CLAIMS_CORS_ORIGINS"),
    ("CLAIMS_DB", "", "CLAIMS_DB"),
    ("CLAIMS_DB", "/nonexistent/dir/claims.sqlite", "CLAIMS_DB"),
    ("CLAIMS_DEV", "ture", "CLAIMS_DEV"),
    ("CLAIMS_LOAD_SEEDS", "flase", "CLAIMS_LOAD_SEEDS"),
    ("CLAIMS_HEADER_TIMEOUT", "soon", "CLAIMS_HEADER_TIMEOUT"),
    ("CLAIMS_BODY_TIMEOUT", "-1", "CLAIMS_BODY_TIMEOUT"),
    ("CLAIMS_MAX_CONNECTIONS", "0", "CLAIMS_MAX_CONNECTIONS"),
]


def run_cli(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("variable", "value", "hint"),
    BAD_SETTINGS,
    ids=[f"{variable}={value!r}" for variable, value, _ in BAD_SETTINGS],
)
def test_serve_refuses_bad_settings_with_one_line(
    variable: str, value: str, hint: str, tmp_path: Path
) -> None:
    # Run in an empty directory: whatever the service would open lands there.
    db_args = [] if variable == "CLAIMS_DB" else ["--db", str(tmp_path / "c")]
    run = run_cli(["serve", *db_args], {variable: value}, cwd=tmp_path)
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert line.startswith("claims-ledger: ")
    assert hint in line
    assert list(tmp_path.iterdir()) == [], "nothing may be opened before settings pass"


@pytest.mark.parametrize(
    "args", [["--db", ""], ["--port", "70000"], ["--port", "http"]]
)
def test_serve_refuses_bad_arguments(args: list[str], tmp_path: Path) -> None:
    run = run_cli(["serve", *args], {}, cwd=tmp_path)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_load_seeds_refuses_bad_settings_the_same_way(tmp_path: Path) -> None:
    run = run_cli(["load-seeds"], {"CLAIMS_LOAD_SEEDS": "maybe"}, cwd=tmp_path)
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert "CLAIMS_LOAD_SEEDS" in line


def start_lines(server: Server) -> list[str]:
    lines = server.log_lines_with("listening on")
    assert lines, server.log_text()
    return [
        line
        for line in server.log_text().splitlines()
        if line.startswith("INFO claims_ledger ")
    ]


def test_serve_says_where_it_listens_what_it_opened_and_seeded(tmp_path: Path) -> None:
    db = tmp_path / "claims.sqlite"
    server = Server(db=db, env={"CLAIMS_DEV": "1"})
    server.start()
    server.stop()
    opened, listening = start_lines(server)
    url = f"http://127.0.0.1:{server.port}/graphql"
    assert listening == f"INFO claims_ledger listening on {url}; GraphiQL at {url}"
    found = re.fullmatch(
        rf"INFO claims_ledger opened SQLite {re.escape(str(db))}; "
        r"seeds recorded (\d+) events; log position (\d+)",
        opened,
    )
    assert found, opened
    recorded, position = map(int, found.groups())
    assert recorded == position > 0

    again = Server(db=db, env={"CLAIMS_LOAD_SEEDS": "0"})
    again.start()
    again.stop()
    opened, listening = start_lines(again)
    assert opened.endswith(f"seeds not loaded; log position {position}")
    assert "GraphiQL" not in listening


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema() as url:
        yield url


@pytest.mark.postgres
def test_serve_names_the_postgres_store_but_never_its_password(
    tmp_path: Path, postgres_url: str
) -> None:
    parts = urlsplit(postgres_url)
    user, host, port = parts.username, parts.hostname, parts.port or 5432
    # The test server trusts local connections, so any password is accepted.
    url = parts._replace(netloc=f"{user}:s3cret@{host}:{port}").geturl()
    server = Server(db=tmp_path / "unused.sqlite", env={"CLAIMS_DATABASE_URL": url})
    server.start()
    server.stop()
    opened, _ = start_lines(server)
    schema = parts.query.rpartition("schema=")[2]
    where = f"PostgreSQL {user}@{host}:{port}{parts.path} schema {schema}"
    assert where in opened
    assert "seeds recorded" in opened
    assert "s3cret" not in server.log_text()
