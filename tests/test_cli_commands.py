"""The claims-ledger commands besides serve, run as a user runs them: in a
subprocess, on a real store or a real checkout."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, postgres_schema
from tests.fakes import Server, environ_without_settings, gql

ROOT = Path(__file__).resolve().parent.parent
SEED_CLAIMS = json.loads((ROOT / "seeds" / "claims.json").read_text())["claims"]


def claims_ledger(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={**environ_without_settings(), **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextmanager
def store_env(backend: str) -> Iterator[dict[str, str]]:
    if backend == "sqlite":
        yield {}
        return
    with postgres_schema() as url:
        yield {"CLAIMS_DATABASE_URL": url}


def loaded(run: subprocess.CompletedProcess[str]) -> tuple[int, int]:
    assert run.returncode == 0, run.stderr
    found = re.fullmatch(r"recorded (\d+) events; log position (\d+)\n", run.stdout)
    assert found, run.stdout
    return int(found[1]), int(found[2])


@pytest.mark.parametrize("backend", BACKENDS)
def test_load_seeds_fills_the_store_once(tmp_path: Path, backend: str) -> None:
    db = tmp_path / "claims.sqlite"
    with store_env(backend) as env:
        recorded, position = loaded(
            claims_ledger("load-seeds", "--db", str(db), env=env)
        )
        assert recorded > len(SEED_CLAIMS)
        again = loaded(claims_ledger("load-seeds", "--db", str(db), env=env))
        assert again == (0, position), "loading the seeds twice records nothing new"

        server = Server(db=db, env={**env, "CLAIMS_LOAD_SEEDS": "0"}).start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                assert http.get("/healthz").json()["position"] == position
                body = gql(http, "{ claims(first: 100) { edges { node { key } } } }")
                keys = [e["node"]["key"] for e in body["data"]["claims"]["edges"]]
                assert keys == [c["key"] for c in SEED_CLAIMS]
        finally:
            server.stop()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the code and its schema/, so the command can be pointed at a
    stale schema/ without touching the repository's."""
    copy = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "service", copy / "service", ignore=ignore)
    shutil.copytree(ROOT / "schema", copy / "schema")
    return copy


def files_under(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): p.read_text()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_export_schema_check_names_stale_files_and_writing_fixes_them(
    checkout: Path,
) -> None:
    schema = checkout / "schema"
    sdl = schema / "schema.graphql"
    sdl.write_text(sdl.read_text() + "type Stale { field: Int }\n")
    missing = sorted((schema / "events").glob("*.json"))[0]
    missing.unlink()
    stale = files_under(schema)

    check = claims_ledger("export-schema", "--check", cwd=checkout)
    assert check.returncode == 1
    named = check.stderr.removeprefix("schema/ is stale: ").strip().split(", ")
    assert sorted(named) == sorted(["schema.graphql", f"events/{missing.name}"])
    assert files_under(schema) == stale, "--check must not write"

    write = claims_ledger("export-schema", cwd=checkout)
    assert write.returncode == 0, write.stderr
    assert sorted(write.stdout.splitlines()) == sorted(
        ["wrote schema/schema.graphql", f"wrote schema/events/{missing.name}"]
    )
    assert files_under(schema) == files_under(ROOT / "schema")

    current = claims_ledger("export-schema", "--check", cwd=checkout)
    assert (current.returncode, current.stdout, current.stderr) == (0, "", "")
