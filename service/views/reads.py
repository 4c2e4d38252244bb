"""The views as readers see them: claims, links, citations and search from
the tables; sources, the lists' sizes and the long streams' lengths from
memory, brought up from the tables whenever the views move on.

Start-up reads the tables, never the log: the projector (service.views.
projector) has already applied the log, and applies what was recorded since
on the first catch-up.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from service.application import ClaimsLedger
from service.domain.claim import Claim, Link
from service.domain.source import Source
from service.domain.status import ClaimStatus
from service.domain.values import LinkKind
from service.views.codec import StateCodec
from service.views.cut import Cut
from service.views.database import Cursor, ViewDatabase
from service.views.projector import (
    BATCH,
    CHUNK,
    NAMED,
    SHAPE,
    STATUS,
    TRACKING,
    ViewProjector,
)
from service.views.sources import SourceDirectory

SHORT = 10
"""Streams up to this long are known only as short (priced as this long);
the exact length of every longer one is kept in memory, to price a read of
it before it runs, with no store call."""


EVERYTHING = "1 = 1"


@dataclass(frozen=True)
class Shape:
    """How big the views' lists are now, for pricing a query before it
    runs: counts, not contents. Each ``most_*`` is the largest such list any
    claim or source has ever had (a list never shrinks in the count: retracted
    stances, withdrawn links and old chains still count), so a price built
    from them holds for every claim, the hub source included."""

    claims: int = 0
    sources: int = 0
    longest_stream: int = 0  # events of the longest claim stream
    most_stances: int = 0  # stances of one claim
    most_hops: int = 0  # sources in one chain
    most_links: int = 0  # links from one claim
    most_linked_from: int = 0  # links to one claim
    most_citing: int = 0  # claims citing one source
    most_statements: int = 0  # stances whose chains name one source


@dataclass(frozen=True)
class IncomingLink:
    """A link pointing at a claim, with when (and at which position of the
    log) it was recorded, and when it was withdrawn."""

    from_claim_id: UUID
    link: Link
    linked_at: datetime
    linked_position: int
    withdrawn_at: datetime | None = None


@dataclass(frozen=True)
class ClaimQuery:
    """Which claims a list holds; every part is optional. Date ranges hold a
    claim when its period may overlap them (an open bound overlaps all)."""

    status: ClaimStatus | None = None
    source_ids: tuple[str, ...] = ()  # named by a chain as it stands now
    entity: str | None = None  # casefolded
    text: str | None = None
    occurred_from: date | None = None  # when the thing happened
    occurred_to: date | None = None
    reported_from: date | None = None  # when a source said something of it
    reported_to: date | None = None


class ClaimOrder(StrEnum):
    """The orders a list of claims comes in; ties go by the order proposed."""

    PROPOSED = "PROPOSED"
    LAST_CHANGED = "LAST_CHANGED"  # by the position of its latest event
    OCCURRED = "OCCURRED"  # by the start of its period; unknown starts last


# Each order's sort columns, the last one unique.
_SORT = {
    ClaimOrder.PROPOSED: ("c.seq",),
    ClaimOrder.LAST_CHANGED: ("c.changed_position",),
    # '~' after every digit, in byte order ({collate_bytes}: PostgreSQL's
    # default collation may put symbols first)
    ClaimOrder.OCCURRED: ("COALESCE(c.occurred_start, '~'){collate_bytes}", "c.seq"),
}


@dataclass(frozen=True)
class Place:
    """Where a claim sits in a list: its order's sort values."""

    values: tuple[int | str, ...]


@dataclass(frozen=True)
class ClaimSlice:
    """One page of a list."""

    claims: list[tuple[Place, Claim]]
    has_previous: bool
    has_next: bool


class Views:
    def __init__(
        self, ledger: ClaimsLedger, *, batch: int = BATCH, variant: str = ""
    ) -> None:
        """``batch``: events the projector applies per transaction;
        ``variant``: a second set of tables (see ViewDatabase)."""
        self._ledger = ledger
        self._batch = batch
        self._db = ViewDatabase(ledger.recorder, ledger.factory, variant)
        self._db.create()
        self._codec = StateCodec(ledger.mapper)
        self.directory = SourceDirectory(self._codec)
        self._projector = ViewProjector(
            ledger, self._db, self._codec, self.directory, batch
        )
        self._lock = threading.Lock()
        self.position = 0  # what this process has taken in from the views
        self._shape = Shape()
        self._long: dict[UUID, int] = {}
        self.refresh()

    @property
    def database(self) -> ViewDatabase:
        """The store's database as the views reach it (the audit tree keeps
        its tables there too)."""
        return self._db

    # ---- following --------------------------------------------------------

    def catch_up(
        self, limit: int | None = None, progress: Callable[[int], object] | None = None
    ) -> int:
        """Apply what the log holds beyond the views, then take in what
        changed; the position the views reflect. Blocking."""
        self._projector.catch_up(limit, progress)
        return self.refresh()

    def rebuild(self, progress: Callable[[int], object] | None = None) -> int:
        """Drop the views and apply the whole log again (in batches of
        ``REBUILD_BATCH`` events). Blocking."""
        with self._lock:
            self._db.drop()
            self._db.create()
            self.directory = SourceDirectory(self._codec)
            self._projector = ViewProjector(
                self._ledger, self._db, self._codec, self.directory, self._batch
            )
            self.position = 0
            self._shape = Shape()
            self._long = {}
        position = self.catch_up(progress=progress)
        self._db.analyze()
        return position

    def close(self) -> None:
        self._db.close()

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every view, in a stable order (see ViewDatabase.dump)."""
        return self._db.dump()

    def refresh(self) -> int:
        """Take in what the views hold beyond what this process has (another
        instance may have applied it). Blocking."""
        with self._db.reading() as cursor:
            return self._take(cursor)

    @contextmanager
    def pinned(self) -> Iterator[int]:
        """Every read of this thread, until the block ends, sees one state of
        the views: the position it reflects is yielded (taken in, if this
        process had not yet), and the sources read now are as of it."""
        if not self._db.pins:  # an in-memory database: reads as they come
            with self._db.reading() as cursor:
                position = self._take(cursor, onward=True)
            yield position
            return
        with self._db.pinned() as cursor:
            yield self._take(cursor, onward=True)

    def sources_as_of(self, position: int) -> Mapping[str, Source]:
        """Every source as it stood at a position the views reflect (now,
        unless this process has since taken in later states)."""
        return self.directory.as_of(position)

    def _take(self, cursor: Cursor, *, onward: bool = False) -> int:
        """Take in what the views in ``cursor`` hold beyond this process;
        the position they reflect. ``onward``: a read's snapshot, which may
        be older than what another thread has taken in since (then nothing
        is taken); else views behind this process went back."""
        found = cursor.one(
            "SELECT position FROM {view_tracking} WHERE name = ?", (TRACKING,)
        )
        position = int(found[0]) if found else 0
        if position == self.position or (onward and position < self.position):
            return position
        with self._lock:
            if onward and position <= self.position:
                return position
            if position < self.position:
                # the views went back (a restored database, or one that lost
                # its last commits in a crash): take them in afresh
                self._long, self.position = {}, 0
            if position > self.position:
                self.directory.refresh(cursor, position, onward=onward)
                sizes = dict(cursor.all("SELECT name, value FROM {view_shape}"))
                self._shape = Shape(**{k: int(sizes.get(k, 0)) for k in SHAPE})
                rows = cursor.all(
                    "SELECT claim_id, version FROM {view_claims} "
                    "WHERE changed_position > ? AND version > ?",
                    (self.position, SHORT),
                )
                if rows:
                    longer = dict(self._long)
                    longer.update((UUID(c), int(v)) for c, v in rows)
                    self._long = longer
                self.position = position
        return self.position

    # ---- from memory --------------------------------------------------------

    def shape(self) -> Shape:
        """The views' sizes as last taken in: no store call, so a query can
        be priced (and refused) without one."""
        return replace(self._shape, sources=len(self.directory.now()))

    def version_of(self, claim_id: UUID) -> int:
        """A bound on a claim's version for pricing, with no store call: exact
        for a long stream, ``SHORT`` for a short one or none."""
        return self._long.get(claim_id, SHORT)

    def source(self, source_id: UUID) -> Source | None:
        return self.directory.get(source_id)

    def sources(self) -> list[Source]:
        return list(self.directory.now().values())

    def registered(self) -> list[tuple[int, Source]]:
        """Every source as it stands, in the order registered, each with the
        position it was registered at."""
        return self.directory.registered()

    def sources_at(self, cut: Cut) -> dict[str, Source]:
        return self.directory.at(cut)

    def sources_under(self, source_id: UUID) -> set[str]:
        return self.directory.under(source_id)

    # ---- from the tables ----------------------------------------------------

    def claim(self, claim_id: UUID) -> Claim | None:
        return self.claims_by_id([claim_id]).get(claim_id)

    def claims_by_id(self, claim_ids: Iterable[UUID]) -> dict[UUID, Claim]:
        wanted = list(dict.fromkeys(claim_ids))
        rows = self._by_claim(
            "SELECT claim_id, version, state FROM {view_claims} WHERE claim_id IN",
            [str(c) for c in wanted],
        )
        decoded = {UUID(c): self._codec.claim(UUID(c), v, s) for c, v, s in rows}
        return {c: decoded[c] for c in wanted if c in decoded}

    def proposed(self, claim_ids: Iterable[str]) -> dict[str, tuple[datetime, int]]:
        """When and where each of these claims was proposed: its recorded
        time and its seq, the position of its first event (absent: no such
        claim)."""
        rows = self._by_claim(
            "SELECT claim_id, proposed_at, seq FROM {view_claims} WHERE claim_id IN",
            list(dict.fromkeys(claim_ids)),
        )
        return {c: (datetime.fromisoformat(t), int(seq)) for c, t, seq in rows}

    def _by_claim(self, select: str, claim_ids: list[str]) -> list[tuple[Any, ...]]:
        """Rows of ``select ... IN (ids)``, the ids in chunks (a hub source's
        citing claims outnumber what one statement may hold)."""
        found: list[tuple[Any, ...]] = []
        if not claim_ids:
            return found
        with self._db.reading() as cursor:
            for start in range(0, len(claim_ids), CHUNK):
                chunk = claim_ids[start : start + CHUNK]
                marks = ",".join("?" * len(chunk))
                found += cursor.all(f"{select} ({marks})", chunk)
        return found

    def incoming_links_of(
        self, claim_ids: Iterable[UUID], cut: Cut | None = None
    ) -> dict[UUID, list[IncomingLink]]:
        """Links to each of these claims from other claims, in force now or
        at a cut of the log, from claims that existed then: one query."""
        wanted = [str(c) for c in dict.fromkeys(claim_ids)]
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        query = (
            "SELECT l.target_claim, l.link_id, l.from_claim, l.kind, l.note, "  # noqa: S608 - only placeholders are interpolated
            "l.linked_at, l.linked_position, l.withdrawn_at "
            "FROM {view_links} l JOIN {view_claims} c "
            f"ON c.claim_id = l.from_claim WHERE l.target_claim IN ({marks}) "
        )
        params: list[object] = list(wanted)
        if cut is None:
            query += "AND l.withdrawn_at IS NULL "
        else:
            linked, at_link = cut.sql("l.linked_at", "l.linked_position")
            proposed, at_proposal = cut.sql("c.proposed_at", "c.seq")
            later, after = cut.later("l.withdrawn_at", "l.withdrawn_position")
            query += (
                f"AND {linked} AND {proposed} AND (l.withdrawn_at IS NULL OR {later}) "
            )
            params += [*at_link, *at_proposal, *after]
        with self._db.reading() as cursor:
            rows = cursor.all(query + "ORDER BY l.linked_position", params)
        found: dict[UUID, list[IncomingLink]] = {}
        for target, link_id, source, kind, note, at, position, withdrawn in rows:
            found.setdefault(UUID(target), []).append(
                IncomingLink(
                    UUID(source),
                    Link(link_id, target, LinkKind(kind), note),
                    datetime.fromisoformat(at),
                    int(position),
                    datetime.fromisoformat(withdrawn) if withdrawn else None,
                )
            )
        return found

    def version_at(self, claim_id: UUID, cut: Cut) -> int:
        """The claim's version in a cut of the log: the versions before the
        first one recorded after it (0: not yet proposed)."""
        later, params = cut.later("recorded_at", "position")
        with self._db.reading() as cursor:
            found = cursor.one(
                "SELECT min(version) FROM {view_claim_versions} "  # noqa: S608 - clauses are ours, values are placeholders
                f"WHERE claim_id = ? AND {later}",
                [str(claim_id), *params],
            )
            if found is not None and found[0] is not None:
                return int(found[0]) - 1
            found = cursor.one(
                "SELECT max(version) FROM {view_claim_versions} WHERE claim_id = ?",
                (str(claim_id),),
            )
        return int(found[0]) if found is not None and found[0] is not None else 0

    def citations(
        self,
        source_id: UUID,
        *,
        cut: Cut | None,
        beyond: int | None,
        inclusive: bool,
        forward: bool,
        limit: int,
    ) -> list[tuple[int, UUID]]:
        """Up to ``limit`` claims whose chains name the source, each with its
        seq, in the order proposed (or its reverse) from a seq on: as chains
        stand now, or, at a cut of the log, those proposed by then whose
        chains named it at any time (the caller replays them to see)."""
        clauses: list[str] = ["d.source_id = ?"]
        params: list[object] = [str(source_id)]
        source = "{view_claim_sources} d"
        if cut is None:
            clauses.append("d.now = ?")
            params.append(True)
        else:
            source += " CROSS JOIN {view_claims} c"
            proposed, at_proposal = cut.sql("c.proposed_at", "c.seq")
            clauses.append(f"c.seq = d.seq AND {proposed}")
            params += at_proposal
        if beyond is not None:
            sign = (">" if forward else "<") + ("=" if inclusive else "")
            clauses.append(f"d.seq {sign} ?")
            params.append(beyond)
        direction = "ASC" if forward else "DESC"
        with self._db.reading() as cursor:
            rows = cursor.all(
                f"SELECT d.seq, d.claim_id FROM {source} "  # noqa: S608 - clauses are ours, values are placeholders
                f"WHERE {' AND '.join(clauses)} ORDER BY d.seq {direction} LIMIT ?",
                [*params, limit],
            )
        return [(int(seq), UUID(claim_id)) for seq, claim_id in rows]

    def proposed_within(
        self,
        cut: Cut | None,
        *,
        source_ids: tuple[str, ...],
        beyond: int | None,
        inclusive: bool,
        ascending: bool,
        limit: int,
    ) -> list[tuple[int, Claim, bool]]:
        """Up to ``limit`` claims proposed within a cut of the log (None: all
        of it), each with its seq, its state now, and whether that is its
        state at the cut too (nothing recorded of it since), in the order
        proposed (or its reverse) from a seq on; given sources, only the
        claims whose chains named one of them at any time (the caller judges
        them at the cut)."""
        clauses: list[str] = ["1 = 1"]
        params: list[object] = []
        if cut is not None:
            within, at = cut.sql("c.proposed_at", "c.seq")
            clauses.append(within)
            params += at
        if source_ids:
            marks = ",".join("?" * len(source_ids))
            clauses.append(
                "c.seq IN (SELECT seq FROM {view_claim_sources} "  # noqa: S608 - only placeholders are interpolated
                f"WHERE source_id IN ({marks}))"
            )
            params += source_ids
        if beyond is not None:
            sign = (">" if ascending else "<") + ("=" if inclusive else "")
            clauses.append(f"c.seq {sign} ?")
            params.append(beyond)
        direction = "ASC" if ascending else "DESC"
        with self._db.reading() as cursor:
            rows = cursor.all(
                "SELECT c.seq, c.claim_id, c.version, c.state, c.changed_at, "  # noqa: S608 - clauses are ours, values are placeholders
                f"c.changed_position FROM {{view_claims}} c "
                f"WHERE {' AND '.join(clauses)} ORDER BY c.seq {direction} LIMIT ?",
                [*params, limit],
            )
        return [
            (
                int(seq),
                self._codec.claim(UUID(claim_id), version, state),
                cut is None
                or cut.admits(
                    datetime.fromisoformat(changed_at), int(changed_at_position)
                ),
            )
            for seq, claim_id, version, state, changed_at, changed_at_position in rows
        ]

    def count_within(self, cut: Cut) -> int:
        """How many claims were proposed within a cut of the log."""
        within, params = cut.sql("proposed_at", "seq")
        with self._db.reading() as cursor:
            found = cursor.one(
                f"SELECT count(*) FROM {{view_claims}} WHERE {within}",  # noqa: S608 - clauses are ours
                params,
            )
        return int(found[0]) if found else 0

    def cites(self, claim_id: UUID, source_ids: Iterable[str]) -> bool:
        """Whether a claim's chains name, or once named, one of these sources."""
        wanted = list(source_ids)
        if not wanted:
            return False
        marks = ",".join("?" * len(wanted))
        with self._db.reading() as cursor:
            # by the claim's seq: the citations' key is (source, seq)
            found = cursor.one(
                "SELECT 1 FROM {view_claim_sources} WHERE seq = "  # noqa: S608 - only placeholders are interpolated
                "(SELECT seq FROM {view_claims} WHERE claim_id = ?) "
                f"AND source_id IN ({marks}) LIMIT 1",
                [str(claim_id), *wanted],
            )
        return found is not None

    def page(
        self,
        query: ClaimQuery,
        *,
        order: ClaimOrder = ClaimOrder.PROPOSED,
        descending: bool = False,
        after: Place | None = None,
        before: Place | None = None,
        first: int | None = None,
        last: int | None = None,
    ) -> ClaimSlice:
        """The ``first`` claims after ``after``, or the ``last`` before
        ``before`` (in the list's order), of those the query holds, and
        whether any lie on either side. Keyset pages: a cursor is a place
        in the order, so pages stay put while claims are added or change."""
        columns = _SORT[order]
        source = "{view_claims} c"
        driver = self._driver(query) if order is ClaimOrder.PROPOSED else None
        if driver is not None:  # its filter is the join; the rest filter on
            source, key, clause, driver_params = driver
            columns = (key,)
            rest = (
                replace(query, text=None)
                if query.text
                else replace(query, source_ids=())
            )
            where, params = self._where(rest)
            assert where is not None  # noqa: S101 - only a search can hold nothing
            where, params = f"{where} AND {clause}", [*params, *driver_params]
        else:
            where, params = self._where(query)
            if where is None:
                return ClaimSlice([], False, False)
        size = first if last is None else last
        assert size is not None  # noqa: S101 - the reader settles the size
        forward = not descending

        def beyond(
            place: Place, later: bool, inclusive: bool = False
        ) -> tuple[str, list[object]]:
            """Claims later (or earlier) in the list than a place: a range of
            the sort key, which an index serves."""
            sign = (">" if later == forward else "<") + ("=" if inclusive else "")
            marks = ", ".join("?" * len(columns))
            return f"({', '.join(columns)}) {sign} ({marks})", list(place.values)

        clauses, values = [where], list(params)
        for place, later in ((after, True), (before, False)):
            if place is not None:
                clause, more_values = beyond(place, later)
                clauses.append(clause)
                values += more_values
        direction = "ASC" if forward == (last is None) else "DESC"
        ordering = ", ".join(f"{c} {direction}" for c in columns)
        with self._db.reading() as cursor:
            rows = cursor.all(
                f"SELECT {', '.join(columns)}, c.claim_id, c.version, c.state "  # noqa: S608 - clauses are ours, values are placeholders
                f"FROM {source} WHERE {' AND '.join(clauses)} "
                f"ORDER BY {ordering} LIMIT ?",
                [*values, size + 1],
            )
            more = len(rows) > size
            rows = rows[:size]
            if last is not None:
                rows.reverse()

            def any_beyond(place: Place, later: bool, inclusive: bool = False) -> bool:
                clause, extra = beyond(place, later, inclusive)
                # ordered by the sort key, so the planner walks its index from
                # the place (unordered, PostgreSQL may scan the whole table to
                # learn that nothing lies there)
                return (
                    cursor.one(
                        f"SELECT 1 FROM {source} "  # noqa: S608 - clauses are ours
                        f"WHERE {where} AND {clause} "
                        f"ORDER BY {', '.join(columns)} LIMIT 1",
                        [*params, *extra],
                    )
                    is not None
                )

            places = [Place(tuple(row[: len(columns)])) for row in rows]
            if rows:
                has_previous = (
                    more if last is not None else any_beyond(places[0], later=False)
                )
                has_next = more if last is None else any_beyond(places[-1], later=True)
            else:  # an empty page sits at its cursor: in the direction of
                # paging, more between the cursors (a page of 0 still looked
                # for one claim); behind it, anything at or past its cursor
                if last is None:
                    has_next = more
                    has_previous = after is not None and any_beyond(
                        after, False, inclusive=True
                    )
                else:
                    has_previous = more
                    has_next = before is not None and any_beyond(
                        before, True, inclusive=True
                    )
        claims = [
            (place, self._codec.claim(UUID(row[-3]), row[-2], row[-1]))
            for place, row in zip(places, rows, strict=True)
        ]
        return ClaimSlice(claims, has_previous, has_next)

    def count(self, query: ClaimQuery) -> int:
        """How many claims the query holds: kept for every claim, one status
        or one source (see ``kept``); else counted over the filter's index."""
        where, params = self._where(query)
        if where is None:
            return 0
        kept = self.kept(query)
        with self._db.reading() as cursor:
            if kept is not None:
                found = cursor.one(
                    "SELECT value FROM {view_counts} WHERE kind = ? AND key = ?", kept
                )
            elif where == EVERYTHING:
                found = cursor.one(
                    "SELECT value FROM {view_shape} WHERE name = 'claims'"
                )
            else:
                found = cursor.one(
                    f"SELECT count(*) FROM {{view_claims}} c WHERE {where}",  # noqa: S608 - clauses are ours
                    params,
                )
        return int(found[0]) if found else 0

    @staticmethod
    def kept(query: ClaimQuery) -> tuple[str, str] | None:
        """The kept count that answers a query's count, if one does: a list
        filtered by one status, or by one source and nothing else."""
        if query == ClaimQuery(status=query.status) and query.status is not None:
            return STATUS, query.status.value
        if (
            query == ClaimQuery(source_ids=query.source_ids)
            and len(query.source_ids) == 1
        ):
            return NAMED, query.source_ids[0]
        return None

    def _driver(self, query: ClaimQuery) -> tuple[str, str, str, list[object]] | None:
        """For a list in the order proposed, an index that holds the query's
        claims in that order (a search's, or one source's claims): a page
        read along it stops at its last claim, where the same index as a
        filter would have every match looked up and sorted first. The FROM
        clause, the sort key, the condition joining it to claims ``c``."""
        if query.text is not None:
            match = self._match(query.text)
            if match is None:
                return None
            if self._db.postgres:
                return (
                    "{view_claim_search} d JOIN {view_claims} c ON c.seq = d.seq",
                    "d.seq",
                    "d.body @@ to_tsquery('english', ?)",
                    [match],
                )
            return (  # the first table of a CROSS JOIN is SQLite's outer loop
                "{view_claim_search} CROSS JOIN {view_claims} c",
                "{view_claim_search}.rowid",
                "{view_claim_search} MATCH ? AND c.seq = {view_claim_search}.rowid",
                [match],
            )
        if len(query.source_ids) == 1:
            # a join condition in WHERE: CROSS JOIN fixes SQLite's loop order,
            # and PostgreSQL plans it as any inner join
            return (
                "{view_claim_sources} d CROSS JOIN {view_claims} c",
                "d.seq",
                "d.source_id = ? AND d.now = ? AND c.seq = d.seq",
                [query.source_ids[0], True],
            )
        return None

    def _match(self, text: str) -> str | None:
        """A search's words as this database's full-text query: every word,
        each also as the start of a longer one (None: no words at all)."""
        words = re.findall(r"\w+", text)
        if not words:
            return None
        if self._db.postgres:
            return " & ".join(f"{w}:*" for w in words)
        return " ".join(f'"{w}"*' for w in words)

    def _where(self, query: ClaimQuery) -> tuple[str | None, list[object]]:
        """The SQL condition on claims ``c`` for a query, or None when it can
        hold nothing (a search with no words)."""
        clauses = [EVERYTHING]
        params: list[object] = []
        if query.status is not None:
            clauses.append("c.status = ?")
            params.append(query.status.value)
        if query.source_ids:
            marks = ",".join("?" * len(query.source_ids))
            clauses.append(
                "c.seq IN (SELECT seq FROM {view_claim_sources} "  # noqa: S608 - only placeholders are interpolated
                f"WHERE source_id IN ({marks}) AND now = ?)"
            )
            params += [*query.source_ids, True]
        if query.entity is not None:
            clauses.append(
                "c.seq IN (SELECT seq FROM {view_claim_entities} WHERE entity = ?)"
            )
            params.append(query.entity)
        if query.occurred_from is not None:
            clauses.append("(c.occurred_end IS NULL OR c.occurred_end >= ?)")
            params.append(query.occurred_from.isoformat())
        if query.occurred_to is not None:
            clauses.append("(c.occurred_start IS NULL OR c.occurred_start <= ?)")
            params.append(query.occurred_to.isoformat())
        if query.reported_from is not None or query.reported_to is not None:
            said = ["1 = 1"]
            if query.reported_from is not None:
                said.append("(said_to IS NULL OR said_to >= ?)")
                params.append(query.reported_from.isoformat())
            if query.reported_to is not None:
                said.append("(said_from IS NULL OR said_from <= ?)")
                params.append(query.reported_to.isoformat())
            clauses.append(
                "c.seq IN (SELECT seq FROM {view_claim_reported} "  # noqa: S608 - clauses are ours
                f"WHERE {' AND '.join(said)})"
            )
        if query.text is not None:
            match = self._match(query.text)
            if match is None:
                return None, []
            if self._db.postgres:
                clauses.append(
                    "c.seq IN (SELECT seq FROM {view_claim_search} "
                    "WHERE body @@ to_tsquery('english', ?))"
                )
            else:
                clauses.append(
                    "c.seq IN (SELECT rowid FROM {view_claim_search} "
                    "WHERE {view_claim_search} MATCH ?)"
                )
            params.append(match)
        return " AND ".join(clauses), params
