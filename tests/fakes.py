"""Test doubles: a clock that steps, and helpers to run the real server."""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import uvicorn
from psycopg import sql

EDITOR_KEY = "test-editor-key"
READER_KEY = "test-reader-key"
API_KEYS = (
    f"{EDITOR_KEY}=alice:editor,{READER_KEY}=bob:reader,other-editor=carol:editor"
)


class SteppingClock:
    """Each reading is one second after the previous one."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        self.current += timedelta(seconds=1)
        return self.current


def environ_without_settings() -> dict[str, str]:
    """This process's environment less every ``CLAIMS_*`` variable: a server or
    command started by a test runs with exactly the settings the test gives it,
    never with whatever the person running the tests has exported."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CLAIMS_")}


@contextmanager
def served_in_process(app: Any, startup: float = 60.0, **config: Any) -> Iterator[str]:
    """The app under a real uvicorn in a thread of this process (so a test
    can hand it test doubles); yields its base URL, stops it after."""
    port = free_port()
    config.setdefault("log_level", "warning")
    server = uvicorn.Server(uvicorn.Config(app, port=port, **config))
    thread = threading.Thread(target=server.run)
    thread.start()
    try:
        deadline = time.monotonic() + startup
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the in-process server did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """The real service, started with its console command in a subprocess."""

    db: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where start() sends the server's stdout and stderr."""
        return self.db.with_name(self.db.name + f".{self.port}.log")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines_with(self, text: str, timeout: float = 10.0) -> list[str]:
        """The log's lines containing ``text``, waiting until there is one
        (the server writes a request's line after answering it)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.log_text().splitlines() if text in line]
            if lines or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def start(self, timeout: float = 30.0) -> Server:
        env = {**environ_without_settings(), "CLAIMS_API_KEYS": API_KEYS, **self.env}
        env.setdefault("CLAIMS_AUDIT_KEY_FILE", str(self.audit_key_path(env)))
        log = self.db.with_name(self.db.name + f".{self.port}.log")
        with log.open("wb") as sink:
            self.process = self._spawn(env, sink)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not become healthy:\n{log.read_text()}")

    def audit_key_path(self, env: dict[str, str]) -> Path:
        """Beside the SQLite file; for a PostgreSQL database, one key that
        every instance on it shares (as their operators would give them)."""
        url = env.get("CLAIMS_DATABASE_URL")
        if not url:
            return self.db.with_name(self.db.name + ".audit-key")
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"claims-audit-{digest}.key"

    def command(self) -> list[str]:
        """How the server process is started: the console command's module."""
        return [sys.executable, "-m", "service.cli", *self.serve_arguments()]

    def serve_arguments(self) -> list[str]:
        return ["serve", "--db", str(self.db), "--port", str(self.port)]

    def _spawn(self, env: dict[str, str], sink: Any) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command(), env=env, stdout=sink, stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks; what was acknowledged must survive."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def gql(
    client: httpx.Client,
    query: str,
    variables: dict[str, Any] | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def nodes(connection: dict[str, Any]) -> list[Any]:
    """The nodes of a page of a Relay connection, in order."""
    return [edge["node"] for edge in connection["edges"]]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]


@contextmanager
def scratch_schema(url: str, prefix: str = "test") -> Iterator[str]:
    """A fresh schema on a PostgreSQL server: its URL, dropped after."""
    name = f"{prefix}_{uuid4().hex[:12]}"
    schema = sql.Identifier(name)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    try:
        yield f"{url}?schema={name}"
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))
