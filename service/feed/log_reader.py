"""Pages of the log in position order: the one way every reader of the feed
(the events query, subscriptions catching up, the CLI) reads stored events.

A page says how far it looked (``end``), not only what it found: with a
filter, the next page starts after the last position examined, so a client
never scans the same stretch of log twice. Positions only grow and an event
never commits below one already visible (see README, "Integrators"), so a page
never changes once read.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application

from service.feed.entries import EVERYTHING, EntryFilter, LogEntry, entry_from
from service.persistence.log import read_log

BATCH = 500
"""Notifications read from the store per trip."""


@dataclass(frozen=True)
class LogPage:
    entries: list[LogEntry]
    end: int
    """Every matching entry at or below ``end`` and above the page's start is
    in ``entries``."""
    at_head: bool
    """Nothing matching lay beyond ``end`` when the page was read; ``end`` is
    then at least the log's head as it was when the read began."""
    examined: int
    """Stored events read to make the page (what it cost)."""


class LogReader:
    def __init__(self, application: Application[UUID]) -> None:
        self._recorder = application.recorder
        self._mapper = application.mapper

    def head(self) -> int:
        """The last position written (any stream). Blocking."""
        return self._recorder.max_notification_id() or 0

    def page(
        self,
        after: int,
        first: int,
        where: EntryFilter = EVERYTHING,
        most_examined: int = 10 * BATCH,
    ) -> LogPage:
        """Up to ``first`` entries after ``after`` that match ``where``,
        examining at most about ``most_examined`` stored events. Blocking."""
        found: list[LogEntry] = []
        end, examined = after, 0
        # Everything up to the head as it is now has committed, so a page that
        # reads to the end has looked that far, matches or not.
        head = self.head()
        while examined < most_examined:
            want = first - len(found) + 1  # one more than needed says if more follow
            limit = min(BATCH, max(want, 1)) if where.actors is None else BATCH
            batch = read_log(
                self._recorder,
                after=end,
                limit=limit,
                topics=where.topics,
                streams=where.streams,
            )
            for notification in batch:
                entry = entry_from(notification, self._mapper)
                if entry is None or not where.matches(entry):
                    examined += 1
                    end = notification.id
                    continue
                if len(found) == first:
                    return LogPage(found, end, at_head=False, examined=examined)
                examined += 1
                end = notification.id
                found.append(entry)
            if len(batch) < limit:
                return LogPage(found, max(end, head), at_head=True, examined=examined)
        return LogPage(found, end, at_head=False, examined=examined)
