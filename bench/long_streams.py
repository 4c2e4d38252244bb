"""What a claim's length costs: one write, the views following it, and reads
now and at the claim's first version, for claims of 10, 100 and 1,000 events,
in process on an SQLite file. The baseline is the 10-event claim.

    .venv/bin/python bench/long_streams.py [--lengths 10 100 1000] [--repeat 50]

Without snapshots, loading a claim to write replays its whole stream, and so
does a read at a past version; current reads come from the views, which
write a claim's whole state for each batch of events they apply.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service.application import Actor, ClaimsLedger
from service.application.commands import ProposeClaim, RecordStance
from service.domain.ids import source_id_for
from service.domain.values import Period, StanceKind
from service.readings import Basis, Reader
from service.seeding import load_seeds
from service.settings import Settings
from service.views.reads import Views

BENCH = Actor("bench")
SAID = Period.day(date(2023, 10, 27))


def median_ms(fn: Callable[[], Any], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def claim_of_length(ledger: ClaimsLedger, length: int) -> UUID:
    claim = ledger.propose_claim(
        BENCH, ProposeClaim(text=f"A claim of {length} events.")
    ).aggregate_id
    for version in range(1, length):
        affirm(ledger, claim, version)
    return claim


def affirm(ledger: ClaimsLedger, claim: UUID, version: int) -> None:
    ledger.record_stance(
        BENCH,
        RecordStance(
            claim_id=claim,
            expected_version=version,
            kind=StanceKind.AFFIRMS,
            chain=(source_id_for("wsj"),),
            reported=SAID,
            quote=f"statement {version}",
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        db = str(Path(directory) / "bench.sqlite")
        ledger = ClaimsLedger(env=Settings(db_path=db).ledger_env())
        load_seeds(ledger)
        reader = Reader(ledger, Views(ledger))
        rows = []
        for length in args.lengths:
            claim = claim_of_length(ledger, length)
            reader.views.catch_up()
            rows.append((length, *measure(ledger, reader, claim, args.repeat)))
        ledger.close()
    base = rows[0]
    print(f"median of {args.repeat}, ms (ratio to the {base[0]}-event claim)")
    headings = ("store write", "views follow", "read now", "at version 1")
    print(f"{'events':>7} " + " ".join(f"{h:>16}" for h in headings))
    for row in rows:
        cells = [
            f"{v:7.2f} ({v / b:5.1f}x)" for v, b in zip(row[1:], base[1:], strict=True)
        ]
        print(f"{row[0]:>7} " + " ".join(f"{c:>16}" for c in cells))


def measure(
    ledger: ClaimsLedger, reader: Reader, claim: UUID, repeat: int
) -> tuple[float, float, float, float]:
    """A write as the API makes it (the client names the version it read),
    the views taking in that one event, and reads now and at version 1."""
    writes, follows = [], []
    for _ in range(repeat):
        version = reader.views.claim(claim).version  # type: ignore[union-attr]
        start = time.perf_counter()
        affirm(ledger, claim, version)
        written = time.perf_counter()
        reader.views.catch_up()
        writes.append((written - start) * 1000)
        follows.append((time.perf_counter() - written) * 1000)

    def read_now() -> None:
        reader.claim(claim)

    def read_first() -> None:
        reader.claim(claim, Basis(version=1))

    return (
        statistics.median(writes),
        statistics.median(follows),
        median_ms(read_now, repeat),
        median_ms(read_first, repeat),
    )


if __name__ == "__main__":
    main()
