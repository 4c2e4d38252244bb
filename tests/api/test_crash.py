"""kill -9 while several clients are writing: every acknowledged write is there
after a restart, nothing is half-written, and retrying what was in flight with
its idempotency key records it exactly once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

import httpx
import pytest

from tests.conftest import BACKENDS, postgres_schema
from tests.fakes import EDITOR_KEY, Server, gql

PROPOSE = """mutation($input: ProposeClaimInput!) {
  proposeClaim(input: $input) { position replayed claim { id text } } }"""
COUNT = "query($text: String!) { claims(text: $text, first: 0) { totalCount } }"
WRITERS = 4
ACKED_BEFORE_KILL = 40


@dataclass
class Writes:
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)


def text_for(key: str) -> str:
    """A wording no other key's wording matches, word for word or by prefix."""
    return f"Claim written under key {uuid5(NAMESPACE_URL, key).hex}."


def write_until_refused(url: str, writer: int, writes: Writes) -> None:
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(10_000):
            key = f"crash-{writer}-{i}"
            variables = {"input": {"text": text_for(key), "idempotencyKey": key}}
            with writes.lock:
                writes.in_flight.add(key)
            try:
                body = gql(http, PROPOSE, variables, key=EDITOR_KEY)
            except httpx.HTTPError:
                return  # the server died under this request: it stays in flight
            with writes.lock:
                writes.in_flight.discard(key)
                writes.acknowledged[key] = body["data"]["proposeClaim"]
                if len(writes.acknowledged) >= ACKED_BEFORE_KILL:
                    writes.enough.set()


@contextmanager
def server_env(backend: str) -> Iterator[dict[str, str]]:
    if backend == "sqlite":
        yield {}
        return
    with postgres_schema() as url:
        yield {"CLAIMS_DATABASE_URL": url}


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_during_concurrent_writes_loses_and_doubles_nothing(
    tmp_path: Path, backend: str
) -> None:
    db = tmp_path / "claims.sqlite"
    with server_env(backend) as env:
        first = Server(db=db, env=env).start()
        writes = Writes()
        writers = [
            threading.Thread(target=write_until_refused, args=(first.url, n, writes))
            for n in range(WRITERS)
        ]
        try:
            for thread in writers:
                thread.start()
            assert writes.enough.wait(timeout=120), "writers never got going"
        finally:
            first.kill()
            for thread in writers:
                thread.join(timeout=60)
        assert writes.in_flight, "the kill should land while requests are in flight"

        second = Server(db=db, env=env).start()
        try:
            with httpx.Client(base_url=second.url, timeout=30) as http:
                acked_head = max(w["position"] for w in writes.acknowledged.values())
                assert http.get("/healthz").json()["position"] >= acked_head
                for key, write in writes.acknowledged.items():
                    body = gql(
                        http,
                        "query($id: ID!) { claim(id: $id) { text } }",
                        {"id": write["claim"]["id"]},
                    )
                    assert body["data"]["claim"]["text"] == text_for(key)

                for key in writes.in_flight:
                    variables = {
                        "input": {"text": text_for(key), "idempotencyKey": key}
                    }
                    retried = gql(http, PROPOSE, variables, key=EDITOR_KEY)
                    assert "errors" not in retried, retried
                    assert retried["data"]["proposeClaim"]["claim"]["text"] == (
                        text_for(key)
                    )

                for key in [*writes.acknowledged, *writes.in_flight]:
                    count = gql(http, COUNT, {"text": text_for(key)})
                    assert count["data"]["claims"]["totalCount"] == 1, key
        finally:
            second.stop()
