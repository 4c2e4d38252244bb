"""Reads against a large corpus: what issue 12 must flatten, measured the
same way before and after it.

    .venv/bin/python bench/reads_at_scale.py --claims 20000 [--reads 100]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

The corpus comes from bench/corpus.py (the SQLite file is kept under
/tmp/bench/ for the next run of the same size; PostgreSQL gets a schema of
its own, dropped after). Its views are rebuilt from the log (events/s), then
the real server starts on it (no seeds to load), and one client asks, one
request at a time, over HTTP:

- start-up: from spawning the server to its first healthy answer, and its
  resident memory then and after the reads;
- one claim, current, as of a recorded time, and as of version 1;
- lists: the first page with its count, a status filter, a source filter,
  a text search, and the sources;
- at a basis: a claim at the head's position (an answer asked again), and
  the first page of claims at the head's position, at the middle claim's
  position and recorded time, and contested ones at that position.

Each is printed as p50/p99 in ms beside the baseline measured in the same
run, ``{ __typename }`` (HTTP and GraphQL with no read at all); a query the
read budget refuses counts as refused, and its time is not in the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import psycopg.sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.api.ids import global_id
from service.application import ClaimsLedger
from service.feed.log_reader import LogReader
from service.settings import Settings
from service.views.reads import Views
from tests.fakes import Server, scratch_schema

SCRATCH = Path("/tmp/bench")  # noqa: S108 - this helper's scratch directory
CORPUS = Path(__file__).resolve().parent / "corpus.py"
CLAIM = "query Q($id: ID!, $as: AsOf) { claim(id: $id, asOf: $as) { version status { value } stances { edges { node { kind chain { source { name } } } } } } }"  # noqa: E501
LIST = "query Q($status: ClaimStatus, $source: ID, $text: String, $order: ClaimOrder! = PROPOSED) { claims(status: $status, sourceId: $source, text: $text, first: 20, orderBy: $order) { edges { node { id status { value } } } } }"  # noqa: E501
COUNTED = "query Q($status: ClaimStatus, $source: ID, $text: String) { claims(status: $status, sourceId: $source, text: $text, first: 20) { totalCount edges { node { id status { value } } } } }"  # noqa: E501
AT = "query Q($status: ClaimStatus, $as: AsOf) { claims(status: $status, first: 20, asOf: $as) { edges { node { id status { value } } } } }"  # noqa: E501
SOURCES = "query Q { sources(first: 20) { edges { node { id name } } } }"
SEARCHES = [{"text": "militants Beirut"}, {"text": "Hezbollah"}, {"text": "trained"}]
BASELINE = "query Q { __typename }"


@dataclass
class Figures:
    times: list[float]
    refused: int


def percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ask(
    http: httpx.Client, query: str, variables: list[dict[str, Any]], reads: int
) -> Figures:
    times: list[float] = []
    refused = 0
    for i in range(reads):
        started = time.perf_counter()
        response = http.post(
            "/graphql",
            json={"query": query, "variables": variables[i % len(variables)]},
        )
        elapsed = (time.perf_counter() - started) * 1000
        body = response.json()
        if body.get("errors"):
            codes = {e.get("extensions", {}).get("code") for e in body["errors"]}
            if codes != {"QUERY_TOO_COSTLY"}:
                msg = f"{query[:40]}…: {body['errors'][:1]}"
                raise RuntimeError(msg)
            refused += 1
            continue
        times.append(elapsed)
    return Figures(sorted(times), refused)


def line(label: str, figures: Figures, base: Figures | None) -> str:
    p50 = percentile(figures.times, 0.5)
    p99 = percentile(figures.times, 0.99)
    text = f"{label:32s} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms"
    if base is not None and figures.times:
        text += f"  ({p50 / percentile(base.times, 0.5):6.1f}x baseline p50)"
    elif base is None:
        text += "  (baseline)"
    if figures.refused:
        text += f"  refused {figures.refused} of {figures.refused + len(figures.times)}"
    return text


def rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return float("nan")


def build_corpus(claims: int, where: list[str]) -> None:
    command = [sys.executable, str(CORPUS), "--claims", str(claims), *where]
    subprocess.run(command, check=True)  # noqa: S603 - our own script


@dataclass
class Sample:
    claims: list[str]  # global ids, a random sample
    sources: list[str]
    middle: str  # the recorded time of the middle claim's proposal
    middle_position: int  # its position
    head: int  # the log's last position


def sample(settings: Settings, count: int) -> Sample:
    """Claim ids, source ids, and a recorded time and position in the middle
    of the log."""
    ledger = ClaimsLedger(env=settings.ledger_env())
    try:
        reader = LogReader(ledger)
        claims: list[str] = []
        sources: list[str] = []
        times = []
        positions = []
        after = 0
        while True:
            page = reader.page(after, 500)
            for entry in page.entries:
                if entry.type == "Claim.Proposed":
                    claims.append(global_id("Claim", entry.stream_id))
                    times.append(entry.recorded_at)
                    positions.append(entry.position)
                elif entry.type == "Source.Registered":
                    sources.append(global_id("Source", entry.stream_id))
            after = page.end
            if page.at_head:
                break
    finally:
        ledger.close()
    rng = random.Random(7)
    half = len(times) // 2
    return Sample(
        rng.sample(claims, min(count, len(claims))),
        sources,
        times[half].isoformat(),
        positions[half],
        after,
    )


def rebuild(settings: Settings) -> None:
    """The views, dropped and rebuilt from the whole log."""
    ledger = ClaimsLedger(env=settings.ledger_env())
    try:
        events = 0

        def count(applied: int) -> None:
            nonlocal events
            events += applied

        started = time.perf_counter()
        Views(ledger).rebuild(progress=count)
        took = time.perf_counter() - started
    finally:
        ledger.close()
    print(
        f"view rebuild: {events} events in {took:.1f} s, "
        f"{events / took:,.0f} events/s (target 50,000)"
    )


def measure(label: str, server: Server, settings: Settings, reads: int) -> None:
    print(f"--- {label}")
    rebuild(settings)
    started = time.perf_counter()
    server.start(timeout=1800)
    start_up = time.perf_counter() - started
    assert server.process is not None
    pid = server.process.pid
    print(f"start-up {start_up:6.1f} s, resident memory {rss_mb(pid):7.1f} MB")
    found = sample(settings, reads)
    claims, sources, middle = found.claims, found.sources, found.middle
    head, half = {"position": found.head}, {"position": found.middle_position}
    lists = max(10, reads // 5)
    cases: list[tuple[str, str, list[dict[str, Any]], int]] = [
        ("claim, current", CLAIM, [{"id": c} for c in claims], reads),
        (
            "claim, as of a recorded time",
            CLAIM,
            [{"id": c, "as": {"recordedAt": middle}} for c in claims],
            reads,
        ),
        (
            "claim, as of version 1",
            CLAIM,
            [{"id": c, "as": {"version": 1}} for c in claims],
            reads,
        ),
        ("claims(first: 20)", LIST, [{}], lists),
        ("claims(first: 20) + count", COUNTED, [{}], lists),
        ("claims(LAST_CHANGED)", LIST, [{"order": "LAST_CHANGED"}], lists),
        ("claims(status: CONTESTED)", LIST, [{"status": "CONTESTED"}], lists),
        ("  + count", COUNTED, [{"status": "CONTESTED"}], lists),
        ("claims(sourceId: …)", LIST, [{"source": s} for s in sources[:20]], lists),
        ("  + count", COUNTED, [{"source": s} for s in sources[:20]], lists),
        ("claims(text: …)", LIST, SEARCHES, lists),
        ("  + count", COUNTED, SEARCHES, lists),
        ("sources", SOURCES, [{}], lists),
        (
            "claim, at the head's position",
            CLAIM,
            [{"id": c, "as": head} for c in claims],
            reads,
        ),
        ("claims at the head's position", AT, [{"as": head}], lists),
        ("claims at the middle position", AT, [{"as": half}], lists),
        ("claims at the middle time", AT, [{"as": {"recordedAt": middle}}], lists),
        (
            "  status: CONTESTED, middle",
            AT,
            [{"as": half, "status": "CONTESTED"}],
            lists,
        ),
    ]
    try:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            base = ask(http, BASELINE, [{}], reads)
            print(line("{ __typename }", base, None))
            for name, query, variables, count in cases:
                print(line(name, ask(http, query, variables, count), base))
        print(f"resident memory after the reads {rss_mb(pid):7.1f} MB")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--postgres", help="also on this PostgreSQL server")
    parser.add_argument("--port", type=int, default=8850)
    parser.add_argument(
        "--no-sqlite", action="store_true", help="PostgreSQL only (with --postgres)"
    )
    parser.add_argument(
        "--keep-schema",
        metavar="NAME",
        help="with --postgres: keep the corpus in this schema for the next run",
    )
    args = parser.parse_args()
    env = {"CLAIMS_LOAD_SEEDS": "0"}

    SCRATCH.mkdir(exist_ok=True)
    if not args.no_sqlite:
        db = SCRATCH / f"corpus-{args.claims}.sqlite"
        if not db.exists():
            build_corpus(args.claims, ["--db", str(db)])
        server = Server(db=db, env=env, port=args.port)
        settings = Settings(db_path=str(db))
        measure(f"SQLite, {args.claims} claims", server, settings, args.reads)

    if args.postgres:
        with contextlib.ExitStack() as stack:
            if args.keep_schema:
                url = kept_schema(args.postgres, args.keep_schema, args.claims)
            else:
                url = stack.enter_context(scratch_schema(args.postgres, "bench"))
                build_corpus(args.claims, ["--database-url", url])
            server = Server(
                db=SCRATCH / "unused.sqlite",
                env={**env, "CLAIMS_DATABASE_URL": url},
                port=args.port,
            )
            measure(
                f"PostgreSQL, {args.claims} claims",
                server,
                Settings(database_url=url),
                args.reads,
            )


def kept_schema(server: str, name: str, claims: int) -> str:
    """A schema kept between runs: the corpus is written once, the first time."""
    with psycopg.connect(server, autocommit=True) as connection:
        found = connection.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = 'claimsledger_events'",
            (name,),
        ).fetchone()
        connection.execute(
            psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                psycopg.sql.Identifier(name)
            )
        )
    url = f"{server}?schema={name}"
    if found is None:
        build_corpus(claims, ["--database-url", url])
    return url


if __name__ == "__main__":
    main()
