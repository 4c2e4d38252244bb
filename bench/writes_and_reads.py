"""Write throughput and read latency: GraphQL over HTTP against direct library
calls on the same machine, in one run, on SQLite and optionally PostgreSQL.

    .venv/bin/python bench/writes_and_reads.py [--writes 300] [--reads 300]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--served-db FILE]

Prints figures and ratios; the baseline is the library's own sequential saves
(ClaimsLedger called directly, one transaction per write, same SQLite settings),
beside raw sqlite3 inserts with the same durability (WAL, synchronous FULL,
one row per transaction). ``--served-db`` serves an existing SQLite store
(a copy of a large corpus, say) instead of a fresh one: the seeds are loaded
into it, so use a copy.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.application import Actor, ClaimsLedger
from service.application.commands import ProposeClaim, RecordStance
from service.domain.ids import source_id_for
from service.domain.values import Period, StanceKind
from service.seeding import load_seeds
from service.settings import Settings, postgres_env
from tests.fakes import EDITOR_KEY, Server, scratch_schema

RECORD = """mutation($input: RecordStanceInput!) {
  recordStance(input: $input) { version position } }"""
PROPOSE = """mutation($input: ProposeClaimInput!) {
  proposeClaim(input: $input) { version claim { id } } }"""
READ = """query($key: String!, $basis: AsOf) { claim(key: $key, asOf: $basis) {
  status { value } stances
    { edges { node { kind quote chain { source { name } } } } } } }"""
BEIRUT = "quds-force-approved-attack-at-beirut-meeting"


def timed(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


CLAIMS = 32  # writes are spread over this many claims in every mode


def direct_writes(store_env: dict[str, str], n: int) -> float:
    ledger = ClaimsLedger(env=store_env)
    load_seeds(ledger)
    wsj = source_id_for("wsj")
    versions = {}
    for i in range(CLAIMS):
        result = ledger.propose_claim(
            Actor("bench"), ProposeClaim(text=f"Bench claim {i}.")
        )
        versions[result.aggregate_id] = result.version
    order = list(versions)
    count = 0

    def write() -> None:
        nonlocal count
        claim_id = order[count % CLAIMS]
        count += 1
        result = ledger.record_stance(
            Actor("bench"),
            RecordStance(
                claim_id=claim_id,
                expected_version=versions[claim_id],
                kind=StanceKind.AFFIRMS,
                chain=(wsj,),
                reported=Period.day(date(2023, 11, 1)),
            ),
        )
        versions[claim_id] = result.version

    rate = timed(write, n)
    ledger.close()
    return rate


def raw_inserts(path: Path, n: int) -> float:
    """sqlite3 alone, committing as the library does: WAL, the default
    synchronous=FULL, one transaction per write (one event's worth of bytes)."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        "CREATE TABLE events (stream BLOB, version INTEGER, state BLOB, "
        "PRIMARY KEY (stream, version))"
    )
    stream, state = uuid4().bytes, bytes(400)
    version = 0

    def write() -> None:
        nonlocal version
        version += 1
        connection.execute("BEGIN")
        connection.execute(
            "INSERT INTO events VALUES (?, ?, ?)", (stream, version, state)
        )
        connection.execute("COMMIT")

    rate = timed(write, n)
    connection.close()
    return rate


def stance_input(claim_id: str, version: int, wsj: str) -> dict[str, Any]:
    return {
        "input": {
            "claimId": claim_id,
            "expectedVersion": version,
            "kind": "AFFIRMS",
            "chain": [wsj],
            "reported": {"precision": "DAY", "start": "2023-11-01"},
        }
    }


async def http_writes(url: str, n: int, clients: int) -> float:
    headers = {"Authorization": f"Bearer {EDITOR_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        query = "{ sources(first: 100) { edges { node { id key } } } }"
        sources = (await http.post("/graphql", json={"query": query})).json()
        wsj = next(
            edge["node"]["id"]
            for edge in sources["data"]["sources"]["edges"]
            if edge["node"]["key"] == "wsj"
        )
        claims = []
        for i in range(CLAIMS):
            body = (
                await http.post(
                    "/graphql",
                    json={
                        "query": PROPOSE,
                        "variables": {"input": {"text": f"Bench claim {i}."}},
                    },
                )
            ).json()["data"]["proposeClaim"]
            claims.append(body["claim"]["id"])

        async def client(mine: list[str], count: int) -> None:
            versions = dict.fromkeys(mine, 1)
            for i in range(count):
                claim_id = mine[i % len(mine)]
                response = await http.post(
                    "/graphql",
                    json={
                        "query": RECORD,
                        "variables": stance_input(claim_id, versions[claim_id], wsj),
                    },
                )
                versions[claim_id] = response.json()["data"]["recordStance"]["version"]

        per_client = n // clients
        start = time.perf_counter()
        await asyncio.gather(
            *(client(claims[i::clients], per_client) for i in range(clients))
        )
        return per_client * clients / (time.perf_counter() - start)


def read_latencies(
    url: str, n: int, basis: dict[str, Any] | None
) -> tuple[float, float]:
    samples = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for _ in range(n):
            start = time.perf_counter()
            response = http.post(
                "/graphql",
                json={
                    "query": READ,
                    "variables": {"key": BEIRUT, "basis": basis},
                },
            )
            samples.append((time.perf_counter() - start) * 1000)
            assert "errors" not in response.json(), response.text
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def run_backend(
    label: str,
    store_env: dict[str, str],
    server: Server,
    args: Any,
    raw: Path | None = None,
) -> None:
    print(f"--- {label}")
    base = direct_writes(store_env, args.writes)
    print(
        f"direct ClaimsLedger.record_stance, sequential: {base:8.0f} writes/s"
        " (baseline)"
    )
    if raw is not None:
        rate = raw_inserts(raw, args.writes)
        print(
            f"raw sqlite3, one insert per transaction:       {rate:8.0f} writes/s"
            f"  ({rate / base:.2f}x baseline)"
        )
    server.start()
    try:
        for clients in (1, 8, 32):
            rate = asyncio.run(http_writes(server.url, args.writes, clients))
            print(
                f"GraphQL recordStance over HTTP, {clients:2d} clients: "
                f"{rate:8.0f} writes/s  ({rate / base:.2f}x baseline)"
            )
        current = read_latencies(server.url, args.reads, None)
        print(
            f"read one claim, current:        p50 {current[0]:6.2f} ms"
            f"  p99 {current[1]:6.2f} ms"
        )
        for name, basis in (
            (
                "as of reported 2023-10-20",
                {"reportedBy": "2023-10-20", "reportedCertain": False},
            ),
            ("as of version 2         ", {"version": 2}),
        ):
            p50, p99 = read_latencies(server.url, args.reads, basis)
            print(
                f"read one claim, {name}: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms"
                f"  ({p50 / current[0]:.2f}x current p50)"
            )
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument(
        "--postgres", help="also run on this PostgreSQL (postgresql://user@host/db)"
    )
    parser.add_argument("--served-db", type=Path, help="serve this SQLite store")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "direct.sqlite"
        store = Settings(db_path=str(db)).ledger_env()
        served = args.served_db or Path(tmp) / "http.sqlite"
        label = f"SQLite, served from {served}" if args.served_db else "SQLite"
        run_backend(label, store, Server(db=served), args, Path(tmp) / "raw.sqlite")
        if args.postgres:
            with (
                scratch_schema(args.postgres, "bench") as direct,
                scratch_schema(args.postgres, "bench") as served,
            ):
                server = Server(
                    db=Path(tmp) / "unused.sqlite", env={"CLAIMS_DATABASE_URL": served}
                )
                run_backend("PostgreSQL", postgres_env(direct), server, args)


if __name__ == "__main__":
    main()
