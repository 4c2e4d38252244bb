"""Read use cases: a claim at any basis, its history and diffs, lists, and what a
source said. Synchronous (they touch the store): call from a worker thread."""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Concatenate, ParamSpec, TypeVar
from uuid import UUID

from service.application import ClaimsLedger
from service.application.ledger import SNAPSHOT_EVERY
from service.cursors import (
    decode_cursor,
    decode_numbers,
    encode_cursor,
    kind_of,
    malformed,
    number,
)
from service.domain.claim import Claim, Link, ReportedBasis, StanceState
from service.domain.errors import ClaimNotFoundError, InvalidInputError
from service.domain.source import Source
from service.domain.status import ClaimStatus, SourceFacts, StatusVerdict, derive_status
from service.domain.values import ChainRole, Period
from service.history import Change, HistoryEntry, diff, entry, summarise
from service.paging import (
    FIRST_PAGE,
    Page,
    PageRequest,
    keyset_page,
    page_in_hand,
    page_of,
    window,
)
from service.views.cut import Cut
from service.views.reads import ClaimOrder, ClaimQuery, IncomingLink, Place, Views
from service.views.sources import sources_under

T = TypeVar("T")

Charge = Callable[[int], None]
"""Told how many units of work a read is about to do, before it does them
(see ``replay_units`` and ``scan_units``); it raises to stop the read. The API
keeps a budget with it.

A unit is about the work of reading one claim for an answer (its state,
status and links: a fraction of a millisecond), and the units price other work
at about that cost each: one claim read; one look-up in the views; a replay
of a stream from the store, ``EVENTS_PER_UNIT`` events a unit and at least one
(the trip to the store); a count of a filter's claims, or a search, which
goes over every entry the index holds for it, ``ENTRIES_PER_UNIT`` claims a
unit (priced at the most it could be: every claim). So a request of 300 units
does a few tenths of a second of work at most, whichever kind it is."""

EVENTS_PER_UNIT = 10
ENTRIES_PER_UNIT = 1000


def replay_units(events: int) -> int:
    """A replay of a stream: a unit per ``EVENTS_PER_UNIT`` events it reads,
    at least one (the trip to the store)."""
    return max(1, math.ceil(events / EVENTS_PER_UNIT))


def load_units(version: int) -> int:
    """Loading a claim at a version up to ``version``: the snapshot at or
    before it and at most ``SNAPSHOT_EVERY - 1`` events since."""
    return replay_units(min(version, SNAPSHOT_EVERY - 1))


def scan_units(claims: int) -> int:
    """A count or a search over an index of ``claims`` claims."""
    return math.ceil(max(claims, 0) / ENTRIES_PER_UNIT)


def free(units: int) -> None:
    """The charge of reads nobody budgets (a write's own answer, tests)."""


@dataclass(frozen=True)
class Basis:
    """Which state of the ledger a reading shows, and everything reachable
    from it: the links to and from the claim, the claims at their ends, the
    sources in its chains and their affiliations, the status judged from them.

    ``recorded_at``: the ledger as it held at that recorded time.
    ``position``: the ledger as it held when its log ended at that position
    (exact, and the same answer whatever is recorded later). ``version``: the
    ledger as it stood when the claim's n-th event was recorded, i.e. at that
    event's recorded time, with the claim at exactly that version (the same
    answer as ``recorded_at`` = that time). ``reported``: only what had been
    said publicly by then, as that ledger knew it. Empty means now,
    everything; more than one of version, recorded time and position is
    refused."""

    version: int | None = None
    recorded_at: datetime | None = None
    reported: ReportedBasis | None = None
    position: int | None = None

    def cut(self) -> Cut | None:
        """The part of the log this basis sees (None: all of it)."""
        if self.recorded_at is None and self.position is None:
            return None
        return Cut(self.recorded_at, self.position)

    def reached(self) -> Basis:
        """The basis of what a reading leads to: its cut of the log and its
        reported lens (a version is one claim's; its time is everyone's)."""
        return Basis(
            recorded_at=self.recorded_at, reported=self.reported, position=self.position
        )


@dataclass(frozen=True)
class ClaimReading:
    """A claim at a basis; ``basis.recorded_at`` is the recorded time it was
    read at (None: now), also for a version basis."""

    claim: Claim
    stances: list[StanceState]
    verdict: StatusVerdict
    basis: Basis
    position: int
    sources: Mapping[str, Source]
    incoming: list[IncomingLink] = field(default_factory=list)
    outgoing: list[Link] = field(default_factory=list)


@dataclass(frozen=True)
class ClaimFilter:
    status: ClaimStatus | None = None
    source_id: UUID | None = None
    affiliated: bool = False  # also the sources affiliated to source_id
    entity: str | None = None
    text: str | None = None
    occurred_from: date | None = None
    occurred_to: date | None = None
    reported_from: date | None = None
    reported_to: date | None = None


@dataclass(frozen=True)
class Statement:
    """A stance as seen from one source in its chain, with its claim's reading."""

    reading: ClaimReading
    stance: StanceState
    role: ChainRole


CLAIMS = "claims@"
"""What the list named in every cursor of a list of claims starts with,
before its order: a cursor of the earlier format (``claims:<index>``) is
refused as malformed, never read as a place it is not."""


def encode_claims_cursor(order: ClaimOrder, place: Place) -> str:
    """A place in a list of claims: its order and its sort values."""
    return encode_cursor(f"{CLAIMS}{order.value}", place.values)


def decode_claims_cursor(cursor: str, order: ClaimOrder, field: str = "after") -> Place:
    named = kind_of(cursor) or ""
    if named.startswith(CLAIMS) and named != f"{CLAIMS}{order.value}":
        found = named.removeprefix(CLAIMS)
        if found in ClaimOrder.__members__:
            raise InvalidInputError(
                f"the cursor is a place in the {found} order, not {order.value}",
                field=field,
            )
    parts = decode_cursor(cursor, f"{CLAIMS}{order.value}", field)
    try:
        if order is ClaimOrder.OCCURRED:
            day, seq = parts
            return Place((day, number(seq, field)))
        (value,) = parts
        return Place((number(value, field),))
    except ValueError:
        raise malformed(field) from None


P = ParamSpec("P")
R = TypeVar("R")


def _pinned(
    read: Callable[Concatenate[Reader, P], R],
) -> Callable[Concatenate[Reader, P], R]:
    """A read of the views as one snapshot (``Reader._pin``)."""

    @functools.wraps(read)
    def pinned(self: Reader, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._pin():
            return read(self, *args, **kwargs)

    return pinned


class Reader:
    def __init__(
        self, ledger: ClaimsLedger, views: Views, *, followed: bool = False
    ) -> None:
        """``followed``: something else (the service's follower of the log)
        brings the views up as the log grows, and a read takes them where
        they are; otherwise (scripts, tests) each read first brings them up."""
        self.ledger = ledger
        self.views = views
        self._followed = followed
        # the facts status is judged on, for the last sources mapping seen:
        # the current one is the same object until a source changes
        self._facts: tuple[Mapping[str, Source], dict[str, SourceFacts]] | None = None
        self._local = threading.local()  # the position a thread's read is pinned at

    def _position(self) -> int:
        """The position the views reflect, as this read sees them: every
        read runs pinned (``_pinned``) to one state of the views."""
        position: int = self._local.position
        return position

    @contextmanager
    def _pin(self) -> Iterator[None]:
        """One snapshot of the views for a whole read, and the position it
        reflects: the claims, links and sources of an answer are all as of
        the position it reports (nested reads share it)."""
        if getattr(self._local, "position", None) is not None:
            yield
            return
        if not self._followed:
            self.views.catch_up()
        with self.views.pinned() as position:
            self._local.position = position
            try:
                yield
            finally:
                self._local.position = None

    @_pinned
    def claim(
        self,
        claim_id: UUID,
        basis: Basis = Basis(),
        *,
        within: Cut | None = None,
        charge: Charge = free,
    ) -> ClaimReading | None:
        """The claim at a basis, or None when it did not exist at that basis.

        ``within`` is the cut of the reading this one is asked from: seen
        from there, the ledger holds nothing recorded later, so a later time
        or position reads as that one and later versions do not exist."""
        given = [basis.version, basis.recorded_at, basis.position]
        if sum(g is not None for g in given) > 1:
            raise InvalidInputError(
                "read at a version, a recorded time or a position: one of them",
                field="asOf",
            )
        charge(1)
        position = self._position()
        current = self.views.claim(claim_id)
        if current is None:
            raise ClaimNotFoundError("no such claim", id=str(claim_id))
        cut = _within(basis.cut(), within)
        claim: Claim | None = current
        if basis.version is not None:
            if within is None:
                _check_version(basis.version, current.version)
            claim = self._replay(current, basis.version, within, charge)
            if claim is not None:  # that version's event's recorded time
                cut = _within(Cut(recorded_at=claim.modified_on), within)
        elif cut is not None:
            claim = self._replay(current, None, cut, charge)
        if claim is None:
            return None
        position = _reflected(position, cut)
        return self._reading(claim, _resolved(basis, cut), position, self._sources(cut))

    def _replay(
        self, current: Claim, version: int | None, cut: Cut | None, charge: Charge
    ) -> Claim | None:
        """The claim in a cut of the log, at ``version`` (which must lie in
        the cut), or None if not yet recorded: the version found in the
        views' timeline, loaded from the nearest snapshot at or before it and
        the events since (``current`` itself when that is its version)."""
        target = version
        if cut is not None:
            recorded = self.views.version_at(current.id, cut)
            if version is not None:
                _check_version(version, recorded)
            else:
                target = recorded
            if not target:
                return None
        if target is None or target == current.version:
            return current
        charge(load_units(target))
        return self._load(current, target)

    def _version(self, claim_id: UUID) -> int:
        """A bound on the claim's version, known with no store call, to price
        a replay of its stream before reading it."""
        return self.views.version_of(claim_id)

    def _sources(self, cut: Cut | None) -> Mapping[str, Source]:
        if cut is None:
            return self.views.sources_as_of(self._position())
        return self.views.sources_at(cut)

    def _facts_of(self, sources: Mapping[str, Source]) -> dict[str, SourceFacts]:
        memo = self._facts
        if memo is not None and memo[0] is sources:
            return memo[1]
        facts = _facts(sources)
        self._facts = (sources, facts)
        return facts

    def _reading(
        self,
        claim: Claim,
        basis: Basis,
        position: int,
        sources: Mapping[str, Source],
    ) -> ClaimReading:
        return self._readings([claim], basis, position, sources)[0]

    def _readings(
        self,
        claims: list[Claim],
        basis: Basis,
        position: int,
        sources: Mapping[str, Source],
    ) -> list[ClaimReading]:
        """Readings of several claims at one basis, with the links to and
        from them looked up together (two queries, not two per claim)."""
        cut = basis.cut()
        incoming = self.views.incoming_links_of((c.id for c in claims), cut)
        active = {c.id: c.active_links() for c in claims}
        proposed = self.views.proposed(
            link.target_id for links in active.values() for link in links
        )
        facts = self._facts_of(sources)
        readings = []
        for claim in claims:
            stances = claim.stances_at(basis.reported)
            outgoing = [
                link
                for link in active[claim.id]
                if link.target_id in proposed
                and (cut is None or cut.admits(*proposed[link.target_id]))
            ]
            readings.append(
                ClaimReading(
                    claim,
                    stances,
                    derive_status(stances, facts),
                    basis,
                    position,
                    sources,
                    incoming.get(claim.id, []),
                    outgoing,
                )
            )
        return readings

    @_pinned
    def list_claims(
        self,
        claim_filter: ClaimFilter,
        *,
        page: PageRequest = FIRST_PAGE,
        order: ClaimOrder = ClaimOrder.PROPOSED,
        descending: bool = False,
        basis: Basis = Basis(),
        charge: Charge = free,
    ) -> Page[ClaimReading]:
        """Claims in an order (the order proposed by default); a cursor is a
        place in that order, so pages stay stable while claims are added or
        change. Filters judge claims as they
        stand now, in the views' indexes; a search goes over every entry its
        words match, and a filtered list in another order than proposed sorts
        every claim it holds (each priced as all claims); then one reading
        per claim on the page. At a basis, see ``_list_at``."""
        if basis != Basis():
            return self._list_at(
                claim_filter,
                basis,
                page=page,
                order=order,
                descending=descending,
                charge=charge,
            )
        charge(1)
        every = scan_units(self.views.shape().claims)
        if claim_filter.text is not None:
            charge(every)
        if claim_filter != ClaimFilter() and order is not ClaimOrder.PROPOSED:
            charge(every)
        position = self._position()
        after, before = page.after, page.before
        found = self.views.page(
            self._query(claim_filter),
            order=order,
            descending=descending,
            after=decode_claims_cursor(after, order) if after else None,
            before=decode_claims_cursor(before, order, "before") if before else None,
            first=page.size if page.forward else None,
            last=page.last,
        )
        charge(len(found.claims))
        readings = self._readings(
            [claim for _, claim in found.claims], Basis(), position, self._sources(None)
        )
        items = [
            (encode_claims_cursor(order, place), reading)
            for (place, _), reading in zip(found.claims, readings, strict=True)
        ]
        return page_of(
            items,
            position,
            page,
            has_previous=found.has_previous,
            has_next=found.has_next,
        )

    def _list_at(
        self,
        claim_filter: ClaimFilter,
        basis: Basis,
        *,
        page: PageRequest,
        order: ClaimOrder,
        descending: bool,
        charge: Charge,
    ) -> Page[ClaimReading]:
        """The list as the ledger held it at a basis, in the order proposed:
        the claims proposed within its cut of the log, each read at the
        basis (its current state when it has not changed since, else loaded
        from a snapshot) and judged there by the filters. A page walks the
        claims from its cursor, a unit each and its load, until it has its
        items; given a source, only the claims that ever cited it are read."""
        if basis.version is not None:
            raise InvalidInputError(
                "a list is read at a recorded time or a position, not a "
                "claim's version",
                field="asOf.version",
            )
        if order is not ClaimOrder.PROPOSED:
            raise InvalidInputError(
                "at a basis, a list comes in the order proposed", field="orderBy"
            )
        if claim_filter.text is not None:
            raise InvalidInputError(
                "a search reads the claims as they stand now; at a basis, "
                "filter by status, source, entity or dates",
                field="text",
            )
        charge(1)
        position = self._position()
        cut = basis.cut()
        position = _reflected(position, cut)
        resolved = _resolved(basis, cut)
        sources = self._sources(cut)
        wanted: set[str] = set()
        if claim_filter.source_id is not None:
            wanted = {str(claim_filter.source_id)}
            if claim_filter.affiliated:  # as affiliations stood then
                wanted = sources_under(sources, claim_filter.source_id)
        sign = -1 if descending else 1  # places ascend in the list's order

        def walk(
            start: int | None, ahead: bool, inclusive: bool, hint: int
        ) -> Iterator[tuple[int, ClaimReading]]:
            seq = None if start is None else start * sign
            begin = inclusive
            while True:
                rows = self.views.proposed_within(
                    cut,
                    source_ids=tuple(sorted(wanted)),
                    beyond=seq,
                    inclusive=begin,
                    ascending=ahead != descending,
                    limit=hint,
                )
                begin = False
                charge(len(rows))
                then = [
                    (n, c if same else self._replay(c, None, cut, charge))
                    for n, c, same in rows
                ]
                kept = [(n, c) for n, c in then if c is not None]
                readings = self._readings(
                    [c for _, c in kept], resolved, position, sources
                )
                for (seq_of, _), reading in zip(kept, readings, strict=True):
                    if _holds(claim_filter, wanted, reading):
                        yield seq_of * sign, reading
                if len(rows) < hint:
                    return
                seq = rows[-1][0]

        lower = _number_at(page.after, order, "after")
        upper = _number_at(page.before, order, "before")
        forward = page.forward
        found, has_previous, has_next = keyset_page(
            walk,
            size=page.size,
            forward=forward,
            start=_signed(lower if forward else upper, sign),
            stop=_signed(upper if forward else lower, sign),
        )
        items = [
            (encode_claims_cursor(order, Place((place * sign,))), reading)
            for place, reading in found
        ]
        return page_of(
            items, position, page, has_previous=has_previous, has_next=has_next
        )

    @_pinned
    def count_claims(
        self,
        claim_filter: ClaimFilter,
        basis: Basis = Basis(),
        *,
        charge: Charge = free,
    ) -> int:
        """How many claims a list holds: kept as claims change for every
        claim, one status or one source; a count of the filter's index
        entries otherwise. At a
        cut of the log, the claims proposed within it (a filtered list there
        would read every claim to count, and is not counted)."""
        cut = basis.cut()
        if basis != Basis():
            if claim_filter != ClaimFilter():
                raise InvalidInputError(
                    "at a basis only an unfiltered list is counted: a "
                    "filtered one would read every claim",
                    field="totalCount",
                )
            if cut is None:  # a lens on what was said hides no claim
                return self.views.count(ClaimQuery())
            charge(scan_units(self.views.shape().claims))
            return self.views.count_within(cut)
        query = self._query(claim_filter)
        if claim_filter != ClaimFilter() and self.views.kept(query) is None:
            charge(scan_units(self.views.shape().claims))
        self._position()
        return self.views.count(query)

    def _query(self, claim_filter: ClaimFilter) -> ClaimQuery:
        f = claim_filter
        source_ids: tuple[str, ...] = ()
        if f.source_id is not None:
            under = self.views.sources_under(f.source_id) if f.affiliated else set()
            source_ids = tuple(sorted(under | {str(f.source_id)}))
        return ClaimQuery(
            status=f.status,
            source_ids=source_ids,
            entity=f.entity.casefold() if f.entity else None,
            text=f.text,
            occurred_from=f.occurred_from,
            occurred_to=f.occurred_to,
            reported_from=f.reported_from,
            reported_to=f.reported_to,
        )

    def sources_as_of(self, position: int) -> Mapping[str, Source]:
        """Every source as it stood at a position a read reflected (a page's
        sources, with their affiliations, as of the page): from memory."""
        return self.views.sources_as_of(position)

    @_pinned
    def sources(self) -> list[Source]:
        return list(self.views.sources_as_of(self._position()).values())

    @_pinned
    def source(self, source_id: UUID) -> Source | None:
        return self.views.sources_as_of(self._position()).get(str(source_id))

    @_pinned
    def source_page(self, page: PageRequest = FIRST_PAGE) -> Page[Source]:
        """Sources in the order they were registered, a page at a time: a
        cursor is the position a source was registered at, so pages stay
        put while sources are added or amended."""
        position = self._position()
        return page_in_hand(SOURCES, self.views.registered(), page, position)

    @_pinned
    def statements(
        self,
        source_id: UUID,
        basis: Basis = Basis(),
        *,
        page: PageRequest = FIRST_PAGE,
        charge: Charge = free,
    ) -> Page[Statement]:
        """What a source said or passed on, in any position of a chain, at
        a basis: stances in the order their claims were proposed, then the
        order they were recorded in. A page walks the claims that cite the
        source along the citations' index, from its cursor, reading (or, at
        a past recorded time, replaying) one claim per unit, until it has
        its items and knows whether more lie beyond."""
        charge(1)
        position = _reflected(self._position(), basis.cut())
        forward = page.forward
        lower = _statement_place(page.after, "after")
        upper = _statement_place(page.before, "before")

        def walk(
            start: StatementPlace | None, ahead: bool, inclusive: bool, hint: int
        ) -> Iterator[tuple[StatementPlace, Statement]]:
            return self._statement_walk(
                source_id, basis, position, start, ahead, inclusive, hint, charge
            )

        found, has_previous, has_next = keyset_page(
            walk,
            size=page.size,
            forward=forward,
            start=lower if forward else upper,
            stop=upper if forward else lower,
        )
        items = [(encode_cursor(STATEMENTS, place), st) for place, st in found]
        return page_of(
            items, position, page, has_previous=has_previous, has_next=has_next
        )

    def _statement_walk(
        self,
        source_id: UUID,
        basis: Basis,
        position: int,
        start: StatementPlace | None,
        forward: bool,
        inclusive: bool,
        hint: int,
        charge: Charge,
    ) -> Iterator[tuple[StatementPlace, Statement]]:
        """The source's statements from a place on (or from either end), in
        one direction: claims read ``hint`` at a time, each charged first."""
        cut = basis.cut()
        reached = basis.reached()
        wanted = str(source_id)
        sources = self._sources(cut)
        seq = start[0] if start is not None else None
        begin = True
        while True:
            rows = self.views.citations(
                source_id,
                cut=cut,
                beyond=seq,
                inclusive=begin,
                forward=forward,
                # the cursor's own claim, read again, may hold nothing more
                limit=hint + int(begin and seq is not None),
            )
            begin = False
            if not rows:
                return
            ids = [claim_id for _, claim_id in rows]
            charge(len(ids))
            claims = self.views.claims_by_id(ids)
            if cut is not None:
                replayed = (
                    (c, self._replay(c, None, cut, charge)) for c in claims.values()
                )
                claims = {c.id: claim for c, claim in replayed if claim is not None}
            found = self._readings(list(claims.values()), reached, position, sources)
            readings = {reading.claim.id: reading for reading in found}
            for seq_of, claim_id in rows:
                if claim_id not in readings:
                    continue
                said = _said_by(wanted, seq_of, readings[claim_id])
                for place, statement in said if forward else reversed(said):
                    if start is None or _beyond(place, start, forward, inclusive):
                        yield place, statement
            seq = rows[-1][0]

    @_pinned
    def history(
        self, claim_id: UUID, up_to: int | None = None, *, charge: Charge = free
    ) -> list[HistoryEntry]:
        """Every event of a claim with what it changed, oldest first (up to
        a version: at a past basis nothing after it is known)."""
        self._position()
        latest = self._latest(claim_id, up_to)
        whole = self.history_page(
            claim_id, latest, page=PageRequest(first=latest), charge=charge
        )
        return [item for _, item in whole.items]

    @_pinned
    def history_page(
        self,
        claim_id: UUID,
        up_to: int | None = None,
        *,
        page: PageRequest = FIRST_PAGE,
        charge: Charge = free,
    ) -> Page[HistoryEntry]:
        """A page of a claim's events with what each changed: versions
        ``first`` after a version, or ``last`` before one, up to ``up_to``
        (the version of the reading asked from; default the latest). The
        state before the page is loaded from the nearest snapshot, then the
        page's events are replayed: the cost of a page, whatever the
        stream's length."""
        position = self._position()
        latest = self._latest(claim_id, up_to)
        found = window(
            range(1, latest + 1),
            first=page.size,
            after=page.bound(HISTORY, "after"),
            last=page.last,
            before=page.bound(HISTORY, "before"),
        )
        low, high = found.start + 1, found.stop  # versions
        entries: list[tuple[str, HistoryEntry]] = []
        if high >= low:
            charge(replay_units(high - low + 1))
            if low > 1:  # the snapshot at or before it, and the events since
                charge(load_units(low - 1))
            state = self.ledger.get_claim(claim_id, low - 1) if low > 1 else None
            older = summarise(state) if state is not None else {}
            for recorded in self.ledger.stream(claim_id, high, after=low - 1):
                event = recorded.event
                state = event.mutate(state)
                assert state is not None  # noqa: S101 - a stream starts with its creation
                newer = summarise(state)
                cursor = encode_cursor(HISTORY, (event.originator_version,))
                entries.append(
                    (cursor, entry(recorded.position, event, diff(older, newer)))
                )
                older = newer
        return page_of(
            entries,
            position,
            page,
            has_previous=found.has_previous,
            has_next=found.has_next,
            total=latest,
        )

    def _latest(self, claim_id: UUID, up_to: int | None) -> int:
        """The last version a history may show: ``up_to`` if given (a
        reading's own version), else the claim's current one."""
        if up_to is not None:
            return up_to
        current = self.views.claim(claim_id)
        if current is None:
            raise ClaimNotFoundError("no such claim", id=str(claim_id))
        return current.version

    @_pinned
    def diff(
        self,
        claim_id: UUID,
        from_version: int,
        to_version: int,
        latest: int | None = None,
        *,
        charge: Charge = free,
    ) -> list[Change]:
        """What changed between two versions, both at most ``latest`` (the
        claim's version at the reading's basis; default now): the claim
        loaded at each (from the nearest snapshot), compared."""
        self._position()
        current = self.views.claim(claim_id)
        if current is None:
            raise ClaimNotFoundError("no such claim", id=str(claim_id))
        _check_version(to_version, current.version if latest is None else latest)
        if not 0 <= from_version <= to_version:
            raise InvalidInputError(
                "fromVersion must be 0..toVersion", field="fromVersion"
            )
        charge(
            load_units(to_version) + (load_units(from_version) if from_version else 0)
        )
        newer = summarise(self._load(current, to_version))
        older = summarise(self._load(current, from_version)) if from_version else {}
        return diff(older, newer)

    def _load(self, current: Claim, version: int) -> Claim:
        """The claim at a version: ``current`` itself, or from the store."""
        if version == current.version:
            return current
        return self.ledger.get_claim(current.id, version)


SOURCES = "sources"
STATEMENTS = "statements"
HISTORY = "history"

StatementPlace = tuple[int, int]
"""Where a statement sits in a source's list: its claim's seq (the order
proposed) and the stance's place among the claim's stances (recorded order)."""


def _statement_place(cursor: str | None, field: str) -> StatementPlace | None:
    if cursor is None:
        return None
    seq, ordinal = decode_numbers(cursor, STATEMENTS, 2, field)
    return seq, ordinal


def _number_at(cursor: str | None, order: ClaimOrder, field: str) -> int | None:
    if cursor is None:
        return None
    (number,) = decode_claims_cursor(cursor, order, field).values
    return int(number)


def _signed(number: int | None, sign: int) -> int | None:
    return None if number is None else number * sign


def _holds(claim_filter: ClaimFilter, wanted: set[str], reading: ClaimReading) -> bool:
    """Whether a claim, as a reading at a basis shows it, is in a filtered
    list: the filters' meaning, judged on the claim rather than on the
    views' indexes (which hold claims as they stand now)."""
    f, claim = claim_filter, reading.claim
    if f.status is not None and reading.verdict.status is not f.status:
        return False
    if wanted and not any(wanted & set(s.chain) for s in reading.stances):
        return False
    if f.entity is not None and f.entity.casefold() not in {
        e.casefold() for e in claim.about
    }:
        return False
    if not _overlaps(claim.occurred, f.occurred_from, f.occurred_to):
        return False
    if f.reported_from is None and f.reported_to is None:
        return True
    lens = reading.basis.reported
    said = [  # every revision said by the basis, and the retraction in force
        revision.reported
        for stance in reading.stances
        for revision in claim.stances[stance.stance_id].revisions
        if lens is None or lens.admits(revision.reported)
    ]
    said += [s.retraction.reported for s in reading.stances if s.retraction]
    return any(_overlaps(p, f.reported_from, f.reported_to) for p in said)


def _overlaps(period: Period, low: date | None, high: date | None) -> bool:
    """Whether a period may overlap a range of days (open ends overlap all)."""
    if low is not None and period.end is not None and period.end < low:
        return False
    return not (high is not None and period.start is not None and period.start > high)


def _said_by(
    source_id: str, number: int, reading: ClaimReading
) -> list[tuple[StatementPlace, Statement]]:
    """The statements of one claim (its seq ``number``) whose chains name a
    source, in the order the stances were recorded."""
    ordinal = {stance_id: i for i, stance_id in enumerate(reading.claim.stances)}
    return [
        (
            (number, ordinal[stance.stance_id]),
            Statement(
                reading,
                stance,
                ChainRole.at(stance.chain.index(source_id), len(stance.chain)),
            ),
        )
        for stance in reading.stances
        if source_id in stance.chain
    ]


def _beyond(
    place: StatementPlace, start: StatementPlace, forward: bool, inclusive: bool
) -> bool:
    if inclusive and place == start:
        return True
    return place > start if forward else place < start


def _reflected(position: int, cut: Cut | None) -> int:
    """The position a reading reflects: the views', or its cut's if earlier."""
    if cut is None or cut.position is None:
        return position
    return min(position, cut.position)


def _within(cut: Cut | None, bound: Cut | None) -> Cut | None:
    """A cut seen from a reading at ``bound`` (None: all of the log)."""
    if cut is None:
        return bound
    return cut.within(bound)


def _resolved(basis: Basis, cut: Cut | None) -> Basis:
    """The basis a reading shows: as asked, with the cut it was read at."""
    if cut is None:
        return Basis(basis.version, None, basis.reported)
    return Basis(basis.version, cut.recorded_at, basis.reported, cut.position)


def _check_version(version: int, latest: int) -> None:
    if not 1 <= version <= latest:
        raise InvalidInputError(
            f"the claim has versions 1 to {latest}", field="version", latest=latest
        )


def _facts(sources: Mapping[str, Source]) -> dict[str, SourceFacts]:
    return {
        sid: SourceFacts(anonymous=s.anonymous, affiliation_id=s.affiliation_id)
        for sid, s in sources.items()
    }
