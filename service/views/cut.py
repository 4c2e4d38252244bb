"""A prefix of the log, which a reading at a past basis sees: the events
recorded by a time, or up to a position, or both.

Positions order the log exactly; recorded times are the writers' clocks, so
two instances may record out of step. A position answers the same again
whatever is recorded later; a time is what people ask for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from service.views.database import stamp

Moment = TypeVar("Moment", datetime, int)


@dataclass(frozen=True)
class Cut:
    recorded_at: datetime | None = None  # events recorded at or before
    position: int | None = None  # events at or before this position

    def within(self, other: Cut | None) -> Cut:
        """What both cuts hold: nothing later than either."""
        if other is None:
            return self
        return Cut(
            _least(self.recorded_at, other.recorded_at),
            _least(self.position, other.position),
        )

    def admits(self, recorded_at: datetime, position: int) -> bool:
        """Whether an event recorded then and there lies in the cut."""
        return (self.recorded_at is None or recorded_at <= self.recorded_at) and (
            self.position is None or position <= self.position
        )

    def sql(self, time_column: str, position_column: str) -> tuple[str, list[object]]:
        """The condition that a row recorded at these columns lies in the cut."""
        clauses, params = ["1 = 1"], list[object]()
        if self.recorded_at is not None:
            clauses.append(f"{time_column} <= ?")
            params.append(stamp(self.recorded_at))
        if self.position is not None:
            clauses.append(f"{position_column} <= ?")
            params.append(self.position)
        return " AND ".join(clauses), params

    def later(self, time_column: str, position_column: str) -> tuple[str, list[object]]:
        """The condition that a row (a withdrawal, a later version) was
        recorded after the cut; a NULL column was never recorded."""
        clauses, params = [], list[object]()
        if self.recorded_at is not None:
            clauses.append(f"{time_column} > ?")
            params.append(stamp(self.recorded_at))
        if self.position is not None:
            clauses.append(f"{position_column} > ?")
            params.append(self.position)
        return f"({' OR '.join(clauses) or '1 = 0'})", params


def _least(a: Moment | None, b: Moment | None) -> Moment | None:
    if a is None or b is None:
        return a if b is None else b
    return min(a, b)
