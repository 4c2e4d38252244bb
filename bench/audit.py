"""What tamper evidence costs, in one run: the audit tree built over a
store's whole log (events/s), `verify` over it (events/s), and writes with
and without the tree following them (writes/s, and the ratio).

    .venv/bin/python bench/audit.py (--db FILE | --database-url URL)
        [--writes 2000] [--covered 50]

``--db``/``--database-url`` name a store already written (bench/corpus.py
makes one; use a copy: the audit tree's tables are dropped and built
afresh). The writes go to a fresh store of the same kind, a stance at a
time through the ledger's own use case, each its own durable transaction,
while the views follow in a thread as in the service, and the tree too in
every other round: with and without, the same writer, the same run.
Last, how soon a signed checkpoint covers a write: ``--covered`` writes
over GraphQL to a real server on a fresh store of the same kind
(checkpoints every ``CLAIMS_CHECKPOINT_INTERVAL``, 1 s by default), each
followed by asking for its inclusion proof until one is given (every 5 ms):
the time from the write's answer to the proof. A progress bar on a terminal
for the long parts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.application import Actor, ClaimsLedger
from service.application.commands import ProposeClaim, RecordStance
from service.audit.notes import Signer
from service.audit.tree import TABLES, AuditTree
from service.audit.verify import verify
from service.domain.ids import source_id_for
from service.domain.values import Period, StanceKind
from service.seeding import load_seeds
from service.settings import Settings
from service.views.database import ViewDatabase
from service.views.reads import Views
from tests.fakes import EDITOR_KEY, Server, gql, scratch_schema

ORIGIN = "bench.claims-ledger/log"


def fresh_tree(database: ViewDatabase) -> AuditTree:
    tree = AuditTree(database)
    with database.writing() as cursor:
        for table in reversed(TABLES):
            cursor.execute(f"DROP TABLE IF EXISTS {{{table}}}")
    tree.create()
    return tree


def build_and_verify(settings: Settings) -> None:
    ledger = ClaimsLedger(env=settings.ledger_env())
    database = ViewDatabase(ledger.recorder, ledger.factory)
    try:
        events = ledger.recorder.max_notification_id() or 0
        tree = fresh_tree(database)
        started = time.perf_counter()
        with tqdm(total=events, unit="ev", disable=None, desc="tree") as bar:
            head = tree.catch_up(progress=bar.update)
        built = time.perf_counter() - started
        signer = Signer.generate(ORIGIN)
        tree.sign(signer, ORIGIN, datetime.now(UTC))
        started = time.perf_counter()
        with tqdm(total=events, unit="ev", disable=None, desc="verify") as bar:
            report = verify(
                database, tree, signer.verifier, ORIGIN, progress=bar.update
            )
        checked = time.perf_counter() - started
        assert report.ok, report.findings
        print(
            f"tree built over {head.size} events in {built:.1f} s: "
            f"{head.size / built:,.0f} events/s"
        )
        print(
            f"verify read {report.events} events in {checked:.1f} s: "
            f"{report.events / checked:,.0f} events/s"
        )
    finally:
        database.close()
        ledger.close()


@contextmanager
def following(step: Callable[[], object]) -> Iterator[None]:
    """``step`` run again and again in a thread until the block ends."""
    done = threading.Event()

    def run() -> None:
        while not done.is_set():
            step()
            done.wait(0.005)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


ROUNDS = 8  # with and without the tree, alternating
CLAIMS = 50  # fresh claims each round, a stance at a time on each in turn


def writes(settings: Settings, n: int) -> None:
    """Writes/s with the views following, and with the views and the tree,
    in alternating rounds (so neither gets the quieter moments of a shared
    machine), each round on fresh claims (so neither writes to longer
    claims than the other)."""
    ledger = ClaimsLedger(env=settings.ledger_env())
    load_seeds(ledger)
    views = Views(ledger)
    tree = AuditTree(views.database)
    tree.create()
    signer = Signer.generate(ORIGIN)
    wsj = source_id_for("wsj")
    per_round = max(n // ROUNDS, CLAIMS)

    def write_round(label: int) -> float:
        """Seconds for ``per_round`` stances on ``CLAIMS`` new claims."""
        claims = {}
        for c in range(CLAIMS):
            made = ledger.propose_claim(
                Actor("bench"), ProposeClaim(text=f"Bench claim {label}.{c}.")
            )
            claims[made.aggregate_id] = made.version
        order = list(claims)
        started = time.perf_counter()
        for i in range(per_round):
            claim_id = order[i % CLAIMS]
            result = ledger.record_stance(
                Actor("bench"),
                RecordStance(
                    claim_id=claim_id,
                    expected_version=claims[claim_id],
                    kind=StanceKind.AFFIRMS,
                    chain=(wsj,),
                    reported=Period.day(date(2023, 10, 26)),
                    quote=f"Bench {i}.",
                ),
            )
            claims[claim_id] = result.version
        return time.perf_counter() - started

    def tree_step() -> None:
        tree.catch_up()
        tree.sign(signer, ORIGIN, datetime.now(UTC))

    tree.catch_up()
    spent = {False: 0.0, True: 0.0}
    try:
        with following(views.catch_up):
            for r in range(ROUNDS):
                with_tree = r % 2 == 1
                if with_tree:
                    with following(tree_step):
                        spent[True] += write_round(r)
                else:
                    spent[False] += write_round(r)
        tree_step()
        done = per_round * ROUNDS // 2
        without, with_tree_rate = done / spent[False], done / spent[True]
        print(
            f"writes, views following:          {without:8.0f}/s  (baseline)\n"
            f"writes, views and tree following: {with_tree_rate:8.0f}/s  "
            f"({with_tree_rate / without:.2f}x); {ROUNDS} alternating rounds of "
            f"{per_round} stances on {CLAIMS} fresh claims"
        )
    finally:
        views.close()
        ledger.close()


PROPOSE = """mutation($in: ProposeClaimInput!) {
  proposeClaim(input: $in) { position } }"""
PROVE = """query($p: Position!) { inclusionProof(position: $p) { treeSize } }"""


def covered(server: Server, n: int) -> None:
    """Seconds from a write's answer to a signed checkpoint covering it."""
    waits = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(n):
            done = gql(
                client, PROPOSE, {"in": {"text": f"Covered {i}."}}, key=EDITOR_KEY
            )
            answered = time.perf_counter()
            position = done["data"]["proposeClaim"]["position"]
            while "errors" in gql(client, PROVE, {"p": position}, key=EDITOR_KEY):
                time.sleep(0.005)
            waits.append(time.perf_counter() - answered)
            time.sleep(random.uniform(0, 0.5))  # writes arrive at any moment
    waits.sort()
    print(
        f"write answered to signed checkpoint covering it: p50 "
        f"{statistics.median(waits):.2f} s, p99 {waits[int(len(waits) * 0.99)]:.2f} "
        f"s, max {waits[-1]:.2f} s over {n} writes (interval 1 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    store = parser.add_mutually_exclusive_group(required=True)
    store.add_argument("--db", type=Path, help="a SQLite file (a copy)")
    store.add_argument("--database-url", help="postgresql://…?schema=name")
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--covered", type=int, default=50)
    args = parser.parse_args()
    if args.db:
        print(f"--- SQLite, {args.db}")
        build_and_verify(Settings(db_path=str(args.db)))
        with tempfile.TemporaryDirectory() as scratch:
            writes(Settings(db_path=str(Path(scratch) / "writes.sqlite")), args.writes)
            server = Server(db=Path(scratch) / "served.sqlite").start()
            try:
                covered(server, args.covered)
            finally:
                server.stop()
        return
    print("--- PostgreSQL")
    build_and_verify(Settings(database_url=args.database_url))
    server = args.database_url.split("?")[0]  # scratch schemas beside the corpus
    with scratch_schema(server, prefix="bench_audit") as url:
        writes(Settings(database_url=url), args.writes)
    with (
        scratch_schema(server, prefix="bench_audit") as url,
        tempfile.TemporaryDirectory() as scratch,
    ):
        server = Server(
            db=Path(scratch) / "unused.sqlite", env={"CLAIMS_DATABASE_URL": url}
        ).start()
        try:
            covered(server, args.covered)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
