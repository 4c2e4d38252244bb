"""Every state of every source, in memory, read from the source views.

Sources are few beside claims (their number grows with the people and
outlets quoted, not with what is recorded about them), and every reading of a
claim needs the sources of its chains and their affiliations, now or at a
past basis: so this process keeps them all, loaded from the view's rows (not
by replaying the log) and brought up from the rows written since.

A published mapping is never changed in place: a reader holding one keeps a
consistent set while newer states arrive."""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from service.domain.source import Source
from service.views.codec import StateCodec
from service.views.cut import Cut
from service.views.database import Cursor


@dataclass(frozen=True)
class SourceState:
    position: int
    recorded_at: datetime
    source: Source


class SourceDirectory:
    def __init__(self, codec: StateCodec) -> None:
        self._codec = codec
        self._lock = threading.Lock()
        self._states: dict[str, list[SourceState]] = {}
        self._now: dict[str, Source] = {}
        self._registered: list[tuple[int, str]] = []  # (position, id), ascending
        self.position = 0  # the directory holds every state recorded by here

    def refresh(self, cursor: Cursor, through: int, *, onward: bool = False) -> None:
        """Take in the states recorded after what it holds, up to
        ``through`` (the position the views read in ``cursor`` reflect).
        ``onward``: ``cursor`` is a read's snapshot, perhaps older than what
        the directory holds (then nothing changes); else views behind the
        directory went back."""
        if through == self.position or (onward and through < self.position):
            return
        with self._lock:
            if onward and through <= self.position:
                return
            if through < self.position:
                # the views went back (a database restored, or one that lost
                # its last commits in a crash): hold what they hold, afresh
                self._states, self._now, self.position = {}, {}, 0
                self._registered = []
            if through <= self.position:
                return
            rows = cursor.all(
                "SELECT source_id, version, position, recorded_at, state "
                "FROM {view_source_states} WHERE position > ? AND position <= ? "
                "ORDER BY position",
                (self.position, through),
            )
            if rows:
                now = dict(self._now)
                registered = list(self._registered)
                for source_id, version, position, recorded_at, state in rows:
                    source = self._codec.source(UUID(source_id), version, state)
                    found = SourceState(
                        position, datetime.fromisoformat(recorded_at), source
                    )
                    if source_id not in self._states:
                        registered.append((position, source_id))
                    self._states.setdefault(source_id, []).append(found)
                    now[source_id] = source
                self._now = now  # published before the order that names them
                self._registered = registered
            self.position = through

    def now(self) -> Mapping[str, Source]:
        """Every source as it stands, by id."""
        return self._now

    def registered(self) -> list[tuple[int, Source]]:
        """Every source as it stands, by the position it was registered at."""
        registered = self._registered  # read before the states it names
        now = self._now
        return [(p, now[source_id]) for p, source_id in registered if source_id in now]

    def as_of(self, position: int) -> Mapping[str, Source]:
        """Every source as it stood at a position the directory has reached:
        as it stands, unless it has taken in later states since."""
        with self._lock:  # the states and their position, from one moment
            if self.position <= position:
                return self._now
        return self.at(Cut(position=position))

    def get(self, source_id: UUID | str) -> Source | None:
        return self._now.get(str(source_id))

    def at(self, cut: Cut) -> dict[str, Source]:
        """Every source as the ledger held it at a cut of the log, by id.

        A stance can only cite sources registered before it, so a chain read
        at a cut finds its sources here; should clocks disagree (a source
        registered by a server whose clock runs ahead), a source not yet
        registered then stands in with its first state rather than none."""
        found = {}
        for source_id, states in list(self._states.items()):
            index = len(states)
            if cut.recorded_at is not None:
                times = [s.recorded_at for s in states]
                index = min(index, bisect_right(times, cut.recorded_at))
            if cut.position is not None:
                positions = [s.position for s in states]
                index = min(index, bisect_right(positions, cut.position))
            found[source_id] = states[max(index - 1, 0)].source
        return found

    def under(self, source_id: UUID | str) -> set[str]:
        """The source and every source affiliated to it, as affiliations stand now."""
        return sources_under(self._now, source_id)


def sources_under(sources: Mapping[str, Source], source_id: UUID | str) -> set[str]:
    """The source and every source affiliated to it, directly or through
    others: whose status rests on it."""
    children: dict[str, list[str]] = {}
    for source in sources.values():
        if source.affiliation_id:
            children.setdefault(str(source.affiliation_id), []).append(str(source.id))
    found = {str(source_id)}
    frontier = [str(source_id)]
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found
