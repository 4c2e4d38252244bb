"""Whether the live views are what the log makes: every view built afresh
from the log into tables of their own, up to the position the live views
reflect, and the two compared row by row. The live views are read in one
snapshot and never written; the fresh tables are dropped after."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.application import ClaimsLedger
from service.views.database import ViewDatabase
from service.views.reads import Views

CHECK = "check_"
SHOWN = 3  # rows of a difference shown each way


@dataclass(frozen=True)
class Difference:
    table: str
    only_live: list[tuple[Any, ...]]  # rows the live views hold, a rebuild does not
    only_rebuilt: list[tuple[Any, ...]]
    live_count: int
    rebuilt_count: int

    def __str__(self) -> str:
        lines = [
            f"{self.table}: {len(self.only_live)} rows only in the live views, "
            f"{len(self.only_rebuilt)} only in the rebuild"
        ]
        lines += [f"  live:    {row!r}" for row in self.only_live[:SHOWN]]
        lines += [f"  rebuilt: {row!r}" for row in self.only_rebuilt[:SHOWN]]
        return "\n".join(lines)


@dataclass(frozen=True)
class CheckReport:
    position: int  # where both stand
    events: int  # the events the rebuild applied
    differences: list[Difference]


def check_views(
    ledger: ClaimsLedger, progress: Callable[[int], object] | None = None
) -> CheckReport:
    """The live views compared with a rebuild from the log. Blocking."""
    live = ViewDatabase(ledger.recorder, ledger.factory)
    try:
        position, rows = live.dump_at()
        with live.reading() as cursor:
            counted = cursor.one(
                "SELECT count(*) FROM {events} WHERE {position} <= ?", (position,)
            )
        events = int(counted[0]) if counted else 0
    finally:
        live.close()
    leftover = ViewDatabase(ledger.recorder, ledger.factory, variant=CHECK)
    leftover.drop()  # what an interrupted check left
    leftover.close()
    rebuilt = Views(ledger, variant=CHECK)
    try:
        rebuilt.catch_up(limit=events, progress=progress)
        fresh_position, fresh = rebuilt.database.dump_at()
        assert fresh_position == position, (fresh_position, position)  # noqa: S101
        differences = [
            found
            for table in rows
            if (found := _compare(table, rows[table], fresh.get(table, [])))
        ]
    finally:
        rebuilt.database.drop()
        rebuilt.close()
    return CheckReport(position, events, differences)


def _compare(
    table: str, live: list[tuple[Any, ...]], rebuilt: list[tuple[Any, ...]]
) -> Difference | None:
    if live == rebuilt:
        return None
    left, right = Counter(live), Counter(rebuilt)
    return Difference(
        table,
        sorted((left - right).elements(), key=repr),
        sorted((right - left).elements(), key=repr),
        len(live),
        len(rebuilt),
    )
