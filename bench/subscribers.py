"""The change feed under load: fan-out latency to many WebSocket subscribers,
and how fast one subscriber catches up on a long log, against baselines
measured in the same run, on SQLite and optionally PostgreSQL.

    .venv/bin/python bench/subscribers.py [--subscribers 1000] [--writes 200]
        [--rate 2] [--client-processes 1] [--events 100000]
        [--no-deflate] [--only fanout|catchup]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Fan-out: the real server (``claims-ledger serve`` in a subprocess, no seeds)
and N graphql-transport-ws subscribers to ``events`` from now on, all in one
client process (or split over ``--client-processes``) on the ``websockets``
library. Writes are proposeClaim mutations over HTTP at a steady rate; a
delivery's latency runs from just before its write is sent to the moment the
subscriber's reader task has the message. The baseline is the same writes to
one subscriber. Every subscriber must see every write once, in order; the
script counts what is missing, repeated or out of order instead of stopping.

Catch-up: a log of ``--events`` ledger events (claims of five events each,
built through the domain aggregates and saved a thousand claims per
transaction; the SQLite file is kept under /tmp/bench/ for the next run),
replayed by one subscriber with ``events(after: 0)``; the baseline is
``LogReader.page`` read in a loop in this process, the same pages the
subscription reads.

The server, the clients and this script share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.application import ClaimsLedger
from service.domain.claim import Claim
from service.domain.ids import source_id_for
from service.domain.recording import acting_as
from service.domain.values import Period, StanceKind
from service.feed.entries import EVERYTHING
from service.feed.log_reader import BATCH, LogReader
from service.seeding import load_seeds
from service.settings import Settings, postgres_env
from tests.fakes import EDITOR_KEY, READER_KEY, Server, scratch_schema

SUBSCRIBE = "subscription S { events { position type streamId } }"
CATCH_UP = (
    "subscription S($after: Position) "
    "{ events(after: $after) { position type streamId } }"
)
PROPOSE = 'mutation P($text: String!) { proposeClaim(input: {text: $text, about: ["x"]}) { position } }'  # noqa: E501
SCRATCH = Path("/tmp/bench")  # noqa: S108 - this helper's scratch directory
CONNECTING = 50  # connections opened at once


# ---- subscribers (in their own processes) -------------------------------


def ws_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://") + "/graphql"


async def open_subscription(
    url: str,
    query: str,
    variables: dict[str, Any],
    deflate: bool,
) -> ClientConnection:
    ws = await websockets.connect(
        url,
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        compression="deflate" if deflate else None,
        proxy=None,
        open_timeout=120,
        ping_interval=None,
    )
    payload = {"Authorization": f"Bearer {READER_KEY}"}
    await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
    ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
    if ack.get("type") != "connection_ack":
        msg = f"no connection_ack: {ack}"
        raise RuntimeError(msg)
    subscribe = {"query": query, "operationName": "S", "variables": variables}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
    return ws


def position_of(raw: str | bytes) -> int:
    """The position a ``next`` message carries; -1 for any other message."""
    message = json.loads(raw)
    if message.get("type") != "next":
        return -1
    try:
        return int(message["payload"]["data"]["events"]["position"])
    except (KeyError, TypeError):
        return -1


def subscriber_group(url: str, count: int, deflate: bool, pipe: Connection) -> None:
    """One client process: ``count`` subscribers, driven over ``pipe``."""
    asyncio.run(_group(url, count, deflate, pipe))


async def _group(url: str, count: int, deflate: bool, pipe: Connection) -> None:
    gate = asyncio.Semaphore(CONNECTING)

    async def open_one() -> ClientConnection:
        async with gate:
            return await open_subscription(url, SUBSCRIBE, {}, deflate)

    sockets = await asyncio.gather(*(open_one() for _ in range(count)))
    # The sockets live to the end: keep them out of the collector's full
    # sweeps, which would pause every reader here and count as latency.
    gc.collect()
    gc.freeze()
    received: list[list[tuple[float, str | bytes]]] = [[] for _ in sockets]

    async def read(ws: ClientConnection, into: list[tuple[float, str | bytes]]) -> None:
        clock = time.monotonic  # one clock for every process on Linux
        try:
            async for raw in ws:
                into.append((clock(), raw))
        except websockets.ConnectionClosed:
            return

    readers = [
        asyncio.create_task(read(ws, into))
        for ws, into in zip(sockets, received, strict=True)
    ]
    pipe.send(("ready", count))
    while True:
        command = await asyncio.to_thread(pipe.recv)
        if command[0] == "live?":
            pipe.send(sum(1 for into in received if into))
        elif command[0] == "drain":
            last, timeout = command[1], command[2]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if all(into and position_of(into[-1][1]) >= last for into in received):
                    break
                await asyncio.sleep(0.05)
            pipe.send("drained")
        elif command[0] == "report":
            break
    for task in readers:
        task.cancel()
    await asyncio.gather(
        *(asyncio.wait_for(ws.close(), 5) for ws in sockets), return_exceptions=True
    )
    pipe.send([[(t, position_of(raw)) for t, raw in into] for into in received])


@dataclass
class Group:
    process: multiprocessing.process.BaseProcess
    pipe: Connection
    count: int


@contextmanager
def subscribers(
    base_url: str, count: int, processes: int, deflate: bool
) -> Iterator[list[Group]]:
    context = multiprocessing.get_context("spawn")
    groups = []
    shares = [count // processes + (i < count % processes) for i in range(processes)]
    for share in shares:
        ours, theirs = context.Pipe()
        process = context.Process(
            target=subscriber_group,
            args=(ws_url(base_url), share, deflate, theirs),
            daemon=True,
        )
        process.start()
        groups.append(Group(process, ours, share))
    try:
        for group in groups:
            if not group.pipe.poll(600):
                msg = "subscribers did not connect within 600 s"
                raise RuntimeError(msg)
            group.pipe.recv()
        yield groups
    finally:
        for group in groups:
            group.process.join(timeout=30)
            if group.process.is_alive():
                group.process.terminate()


# ---- fan-out ------------------------------------------------------------


@dataclass
class Written:
    position: int
    sent: float  # time.monotonic() just before the request
    answered: float


def propose(http: httpx.Client, text: str) -> Written:
    sent = time.monotonic()
    response = http.post(
        "/graphql",
        json={"query": PROPOSE, "operationName": "P", "variables": {"text": text}},
    )
    answered = time.monotonic()
    body = response.json()
    if "errors" in body:
        msg = f"write failed: {body}"
        raise RuntimeError(msg)
    return Written(body["data"]["proposeClaim"]["position"], sent, answered)


def until_live(http: httpx.Client, groups: list[Group]) -> int:
    """Write markers until every subscriber has received one; the position
    of the last marker (later events are measured)."""
    deadline = time.monotonic() + 120
    last = 0
    while time.monotonic() < deadline:
        last = propose(http, f"marker {uuid4()}").position
        time.sleep(0.5)
        live = 0
        for group in groups:
            group.pipe.send(("live?",))
            live += group.pipe.recv()
        if live == sum(g.count for g in groups):
            time.sleep(0.5)  # let the last markers' deliveries finish
            return last
    msg = "subscribers did not all receive a marker within 120 s"
    raise RuntimeError(msg)


def steady_writes(http: httpx.Client, count: int, rate: float) -> list[Written]:
    written = []
    start = time.monotonic()
    for i in range(count):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        written.append(propose(http, f"Bench claim {i} {uuid4()}"))
    return written


def percentile(ordered: Sequence[float], q: float) -> float:
    """Nearest rank."""
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class FanOut:
    subscribers: int
    latencies: list[float]  # ms, every (subscriber, event) delivery
    first: list[float]  # ms, per event: its first delivery
    last: list[float]  # ms, per event: its last delivery
    writes: list[float]  # ms, each write's round trip
    rate: float  # writes per second achieved
    missing: int
    repeated: int
    out_of_order: int
    unexpected: int
    complete: int  # subscribers that got every event once, in order
    slowest: list[tuple[int, float, float]]  # (write's number, first, last ms)
    server_cpu: float = 0.0  # ms per write, from the first write to the last delivery
    client_cpu: list[float] = field(default_factory=list)  # the same, per client


def fan_out(
    base_url: str, server_pid: int, count: int, args: argparse.Namespace
) -> FanOut:
    headers = {"Authorization": f"Bearer {EDITOR_KEY}"}
    with (
        httpx.Client(base_url=base_url, headers=headers, timeout=60) as http,
        subscribers(
            base_url, count, min(args.client_processes, count), not args.no_deflate
        ) as groups,
    ):
        marker = until_live(http, groups)
        pids = [server_pid, *(g.process.pid or -1 for g in groups)]
        before = [cpu_seconds(pid) for pid in pids]
        written = steady_writes(http, args.writes, args.rate)
        rate = (len(written) - 1) / max(written[-1].sent - written[0].sent, 1e-9)
        for group in groups:
            group.pipe.send(("drain", written[-1].position, 30.0))
        for group in groups:
            group.pipe.recv()
        spent = [cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True)]
        seen: list[list[tuple[float, int]]] = []
        for group in groups:
            group.pipe.send(("report",))
        for group in groups:
            seen.extend(group.pipe.recv())
    result = tally(count, marker, written, seen, rate)
    result.server_cpu = spent[0] * 1000 / len(written)
    result.client_cpu = [c * 1000 / len(written) for c in spent[1:]]
    return result


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tally(
    count: int,
    marker: int,
    written: list[Written],
    seen: list[list[tuple[float, int]]],
    rate: float,
) -> FanOut:
    sent = {w.position: w.sent for w in written}
    expected = [w.position for w in written]
    latencies: list[float] = []
    per_event: dict[int, list[float]] = {p: [] for p in expected}
    missing = repeated = out_of_order = unexpected = complete = 0
    for deliveries in seen:
        got = [(t, p) for t, p in deliveries if p > marker or p < 0]
        positions = [p for _, p in got]
        if positions == expected:
            complete += 1
        missing += len(set(expected) - set(positions))
        repeated += len(positions) - len(set(positions))
        out_of_order += sum(1 for a, b in itertools.pairwise(positions) if b <= a)
        unexpected += sum(1 for p in set(positions) if p not in sent)
        firsts: dict[int, float] = {}
        for t, p in got:
            if p in sent and p not in firsts:
                firsts[p] = t
        for p, t in firsts.items():
            ms = (t - sent[p]) * 1000
            latencies.append(ms)
            per_event[p].append(ms)
    number = {w.position: i for i, w in enumerate(written, 1)}
    slowest = sorted(
        ((number[p], min(v), max(v)) for p, v in per_event.items() if v),
        key=lambda worst: -worst[2],
    )[:3]
    return FanOut(
        subscribers=count,
        latencies=sorted(latencies),
        first=sorted(min(v) for v in per_event.values() if v),
        last=sorted(max(v) for v in per_event.values() if v),
        writes=sorted((w.answered - w.sent) * 1000 for w in written),
        rate=rate,
        missing=missing,
        repeated=repeated,
        out_of_order=out_of_order,
        unexpected=unexpected,
        complete=complete,
        slowest=slowest,
    )


def spread(values: Sequence[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):7.1f}  p90 {percentile(values, 0.9):7.1f}  "
        f"p99 {percentile(values, 0.99):7.1f}  max {values[-1] if values else 0:7.1f}"
    )


def report_fan_out(result: FanOut, base: FanOut | None) -> None:
    n = result.subscribers
    events = len(result.writes)
    print(
        f"{n:5d} subscriber(s), {events} writes at {result.rate:.2f}/s: "
        f"{len(result.latencies)} deliveries of {n * events}; "
        f"complete {result.complete}/{n}, missing {result.missing}, "
        f"repeated {result.repeated}, out of order {result.out_of_order}, "
        f"unexpected {result.unexpected}"
    )
    print(f"  append-to-delivery ms:  {spread(result.latencies)}", end="")
    if base is not None and base.latencies:
        ratio = percentile(result.latencies, 0.99) / percentile(base.latencies, 0.99)
        p50 = percentile(result.latencies, 0.5) / percentile(base.latencies, 0.5)
        print(f"  ({p50:.1f}x baseline p50, {ratio:.1f}x p99)")
    else:
        print("  (baseline)")
    print(f"  first delivery of each: {spread(result.first)}")
    print(f"  last delivery of each:  {spread(result.last)}")
    print(f"  write round trip ms:    {spread(result.writes)}")
    worst = ", ".join(f"#{n} {a:.0f}-{b:.0f}" for n, a, b in result.slowest)
    print(f"  slowest writes, first-last delivery ms: {worst}")
    clients = " + ".join(f"{c:.1f}" for c in result.client_cpu)
    print(
        f"  CPU per write, ms:      server {result.server_cpu:.1f}, "
        f"subscriber process(es) {clients}"
    )


def run_fan_out(label: str, server: Server, args: argparse.Namespace) -> None:
    print(f"--- {label}: fan-out")
    server.start(timeout=120)
    try:
        assert server.process is not None
        pid = server.process.pid
        base = fan_out(server.url, pid, 1, args)
        report_fan_out(base, None)
        for count in args.subscribers:
            report_fan_out(fan_out(server.url, pid, count, args), base)
    finally:
        server.stop()
    target = 100.0
    print(f"  target: p99 <= {target:.0f} ms at 1,000 subscribers")


# ---- catch-up ------------------------------------------------------------

STANCES = 4  # per claim, after its proposal: five events a claim
PER_SAVE = 1000  # events per transaction


def build_log(store: dict[str, str], events: int) -> int:
    """Seeds, then claims of five events until ``events`` are recorded; the
    events are those the ledger's commands record (the same aggregate
    methods, under an actor), saved many claims per transaction."""
    ledger = ClaimsLedger(env=store)
    try:
        load_seeds(ledger)
        wsj = source_id_for("wsj")
        said = Period.day(date(2023, 10, 27))
        count = 0
        with acting_as("bench"):
            while count < events:
                batch: list[Claim] = []
                while count < events and len(batch) * (STANCES + 1) < PER_SAVE:
                    claim = Claim.propose(
                        id=uuid4(),
                        key=None,
                        text=f"Bench claim {count}.",
                        about=("Bench",),
                        occurred=Period.unknown(),
                    )
                    count += 1
                    for k in range(min(STANCES, events - count)):
                        claim.record_stance(
                            stance_id=uuid4(),
                            kind=StanceKind.AFFIRMS,
                            chain=(wsj,),
                            quote=f"statement {k}",
                            document=None,
                            reported=said,
                            independent=False,
                            note=None,
                        )
                        count += 1
                    batch.append(claim)
                ledger.save(*batch)
        return ledger.last_position()
    finally:
        ledger.close()


def cached_sqlite_log(events: int) -> Path:
    """The SQLite file of ``events`` bench events, built once per size."""
    SCRATCH.mkdir(exist_ok=True)
    path = SCRATCH / f"log-{events}.sqlite"
    if not path.exists():
        started = time.perf_counter()
        building = path.with_name(path.name + f".{os.getpid()}.building")
        build_log(Settings(db_path=str(building)).ledger_env(), events)
        building.rename(path)  # closed, so the WAL is checkpointed into it
        print(f"  built {path} in {time.perf_counter() - started:.0f} s")
    return path


def read_directly(store: dict[str, str]) -> tuple[int, int, float]:
    """Events, last position and seconds for LogReader.page from 0 to the
    head, as the subscription's replay reads it (best of two)."""
    ledger = ClaimsLedger(env=store)
    try:
        reader = LogReader(ledger)
        best = float("inf")
        count = last = 0
        for _ in range(2):
            started = time.perf_counter()
            after, count = 0, 0
            while True:
                page = reader.page(after, BATCH, EVERYTHING)
                count += len(page.entries)
                if page.entries:
                    last = page.entries[-1].position
                after = page.end
                if page.at_head:
                    break
            best = min(best, time.perf_counter() - started)
        return count, last, best
    finally:
        ledger.close()


async def replay(base_url: str, last: int, deflate: bool) -> tuple[int, float, float]:
    """Events received, seconds to the first and to the last, from the
    moment ``events(after: 0)`` is sent."""
    started = time.monotonic()
    ws = await open_subscription(ws_url(base_url), CATCH_UP, {"after": 0}, deflate)
    first = 0.0
    count = 0
    try:
        async for raw in ws:
            position = position_of(raw)
            if position < 0:
                msg = f"subscription failed: {raw!r}"
                raise RuntimeError(msg)
            count += 1
            if count == 1:
                first = time.monotonic() - started
            if position >= last:
                break
    finally:
        await ws.close()
    return count, first, time.monotonic() - started


def run_catch_up(
    store: dict[str, str], server: Server, args: argparse.Namespace
) -> None:
    count, last, seconds = read_directly(store)
    direct = count / seconds
    print(
        f"LogReader.page in a loop, in process: {count} events in {seconds:.2f} s, "
        f"{direct:8.0f} events/s (baseline)"
    )
    started = time.perf_counter()
    server.start(timeout=1800)
    print(f"  (server started in {time.perf_counter() - started:.0f} s)")
    try:
        received, first, total = asyncio.run(
            replay(server.url, last, not args.no_deflate)
        )
    finally:
        server.stop()
    rate = received / total
    print(
        f"events(after: 0) over WebSocket:      {received} events in {total:.2f} s, "
        f"{rate:8.0f} events/s ({rate / direct:.2f}x baseline); "
        f"first after {first * 1000:.0f} ms"
    )


# ---- backends ------------------------------------------------------------


def server_for(db: Path, port: int, **env: str) -> Server:
    settings = {
        "CLAIMS_LOAD_SEEDS": "0",
        "CLAIMS_MAX_STREAMS": "5000",
        **env,
    }
    return Server(db=db, env=settings, port=port)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--subscribers",
        type=int,
        nargs="+",
        default=[1000],
        help="fan-out sizes, each beside the 1-subscriber baseline",
    )
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2.0, help="writes per second")
    parser.add_argument(
        "--client-processes",
        type=int,
        default=1,
        help="processes the subscribers are split over",
    )
    parser.add_argument("--events", type=int, default=100_000, help="catch-up log")
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="subscribers do not offer permessage-deflate (browsers do)",
    )
    parser.add_argument("--only", choices=["fanout", "catchup"])
    parser.add_argument("--port", type=int, default=8830, help="the server's port")
    parser.add_argument(
        "--postgres", help="also run on this PostgreSQL (postgresql://user@host/db)"
    )
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} cores shared by the server, the subscribers' "
        f"{args.client_processes} process(es) and this script; "
        f"permessage-deflate {'off' if args.no_deflate else 'offered'}"
    )
    SCRATCH.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        scratch = Path(tmp)
        if args.only != "catchup":
            run_fan_out(
                "SQLite", server_for(scratch / "fanout.sqlite", args.port), args
            )
        if args.only != "fanout":
            print(f"--- SQLite: catch-up over {args.events} events and the seeds")
            db = scratch / "log.sqlite"
            shutil.copyfile(cached_sqlite_log(args.events), db)
            store = Settings(db_path=str(db)).ledger_env()
            run_catch_up(store, server_for(db, args.port), args)
        if args.postgres:
            if args.only != "catchup":
                with scratch_schema(args.postgres, "bench") as url:
                    server = server_for(
                        scratch / "pg-fanout.sqlite",
                        args.port,
                        CLAIMS_DATABASE_URL=url,
                    )
                    run_fan_out("PostgreSQL", server, args)
            if args.only != "fanout":
                print(
                    f"--- PostgreSQL: catch-up over {args.events} events and the seeds"
                )
                with scratch_schema(args.postgres, "bench") as url:
                    started = time.perf_counter()
                    build_log(postgres_env(url), args.events)
                    print(
                        f"  built the PostgreSQL log in "
                        f"{time.perf_counter() - started:.0f} s"
                    )
                    server = server_for(
                        scratch / "pg-log.sqlite", args.port, CLAIMS_DATABASE_URL=url
                    )
                    run_catch_up(postgres_env(url), server, args)


if __name__ == "__main__":
    main()
