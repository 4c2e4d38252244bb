"""The views' updater: applies the log to the view tables a batch of events
at a time, each batch in one transaction with the position it reached.

So every event is applied exactly once, a crash loses at most an
uncommitted batch (the next run starts again from the committed position),
and several service instances on one database take turns: each batch begins
by locking the tracking row (``FOR UPDATE`` on PostgreSQL; on SQLite the
first write takes the database's write lock), and whoever holds it applies
what is still unapplied; the others find nothing left.

What one event changes:
- a claim's event: the claim's row (its whole state, status, times), the
  sources it names, its entities, its search text; a link's rows;
- a source's event: its state (every state is kept, for readings at a past
  basis) and, when amended, the status and search text of every claim whose
  chains name it or a source affiliated to it (independence is judged by
  affiliation, and search finds claims by their sources' names).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from eventsourcing.persistence import Notification

from service.application import ClaimsLedger
from service.domain.claim import Claim
from service.domain.source import Source
from service.domain.status import SourceFacts, derive_status
from service.views.codec import StateCodec
from service.views.database import Cursor, ViewDatabase, stamp
from service.views.sources import SourceDirectory, sources_under

TRACKING = "views"
BATCH = 500

REBUILD_BATCH = 5000
"""Events per transaction when the views apply the whole log afresh (the
first start, a new layout, a rebuild): a claim a batch touches is encoded
once per batch, and each commit costs, so fewer, larger batches run about a
third faster (10,300 against 7,900 events/s on a 5,000-claim corpus). Once
caught up, batches stay small: a write's answer waits for its batch."""

SHAPE = (
    "claims",
    "sources",
    "longest_stream",
    "most_stances",
    "most_hops",
    "most_links",
    "most_linked_from",
    "most_citing",
    "most_statements",
)


@dataclass
class _ClaimRow:
    """A claim's row, and which of its index rows the batch must rewrite."""

    claim: Claim
    seq: int
    changed_at: datetime
    changed_position: int
    status: str | None = None  # as the views hold it (None: a new claim)
    entities: bool = False  # what it is about
    chains: bool = False  # a chain lost a source
    words: bool = False  # its wording, a statement, a source's name

    def touched_by(self, event: Claim.Event) -> None:
        if isinstance(event, Claim.Proposed | Claim.Amended):
            self.entities = True
        if isinstance(event, Claim.StanceAmended) and "chain" in event.changes:
            self.chains = True
        if not isinstance(event, Claim.Linked | Claim.LinkWithdrawn):
            self.words = True


class ViewProjector:
    def __init__(
        self,
        ledger: ClaimsLedger,
        database: ViewDatabase,
        codec: StateCodec,
        directory: SourceDirectory,
        batch: int = BATCH,
    ) -> None:
        """``batch``: events per transaction; given (tests), it is used
        throughout, else the whole log afresh goes ``REBUILD_BATCH`` at a
        time."""
        self._ledger = ledger
        self._db = database
        self._codec = codec
        self._directory = directory
        self._batch = batch
        self._fresh_batch = REBUILD_BATCH if batch == BATCH else batch

    def catch_up(
        self, limit: int | None = None, progress: Callable[[int], object] | None = None
    ) -> int:
        """Apply every event recorded since the views' position (at most
        ``limit`` events, for tests that stop half-way); return the position
        the views now reflect. ``progress`` is told how many events each
        committed batch applied. Blocking: call it from a worker thread."""
        applied = 0
        batch = self._batch
        while True:
            with self._db.writing() as cursor:
                position = self._lock(cursor)
                if position == 0 and applied == 0 and limit is None:
                    batch = self._fresh_batch  # the whole log, afresh
                self._directory.refresh(cursor, position)
                size = batch if limit is None else min(batch, limit - applied)
                notifications = cursor.events_after(position, size) if size else []
                if not notifications:
                    return position
                self._apply(cursor, notifications)
                cursor.execute(
                    "UPDATE {view_tracking} SET position = ? WHERE name = ?",
                    (notifications[-1].id, TRACKING),
                )
                applied += len(notifications)
            if progress is not None:
                progress(len(notifications))

    def _lock(self, cursor: Cursor) -> int:
        """Take the views for this transaction; the position they reflect."""
        if self._db.postgres:
            found = cursor.one(
                "SELECT position FROM {view_tracking} WHERE name = ? FOR UPDATE",
                (TRACKING,),
            )
        else:
            cursor.execute(
                "UPDATE {view_tracking} SET position = position WHERE name = ?",
                (TRACKING,),
            )
            found = cursor.one(
                "SELECT position FROM {view_tracking} WHERE name = ?", (TRACKING,)
            )
        assert found is not None  # noqa: S101 - ViewDatabase.create inserts it
        return int(found[0])

    def _apply(self, cursor: Cursor, notifications: list[Notification]) -> None:
        """The batch's events, applied in memory in log order, then written
        with one statement per kind of row (not one per event)."""
        events = [self._ledger.mapper.to_domain_event(n) for n in notifications]
        claims = self._load(
            cursor, [e.originator_id for e in events if isinstance(e, Claim.Event)]
        )
        sources: dict[str, Source] = {}  # changed in this batch
        amended: set[str] = set()
        rows = _Rows()
        shape = _Shape(cursor)
        for notification, event in zip(notifications, events, strict=True):
            if isinstance(event, Claim.Event):
                row = claims.get(event.originator_id)
                claim = cast(Claim, event.mutate(row.claim if row else None))
                if row is None:
                    row = _ClaimRow(claim, notification.id, event.timestamp, 0)
                    shape.add("claims")
                row.claim = claim
                row.changed_at = event.timestamp
                row.changed_position = notification.id
                row.touched_by(event)
                claims[claim.id] = row
                self._index(event, row, rows, shape)
            elif isinstance(event, Source.Event):
                key = str(event.originator_id)
                current = sources.get(key) or self._directory.get(key)
                source = cast(
                    Source, event.mutate(copy.deepcopy(current) if current else None)
                )
                sources[key] = source
                rows.source_state(source, notification.id, event.timestamp, self._codec)
                if isinstance(event, Source.Registered):
                    shape.add("sources")
                else:
                    amended.add(key)
        seqs = sorted(row.seq for row in claims.values())
        named_before = _named_now(cursor, seqs)
        rows.write_index(cursor, shape)
        everyone = {**self._directory.now(), **sources}
        if amended:
            naming = self._naming(cursor, everyone, amended)
            claims.update(self._load(cursor, [c for c in naming if c not in claims]))
            for claim_id in naming:
                claims[claim_id].words = True  # a source's name may have changed
        facts = {
            sid: SourceFacts(anonymous=s.anonymous, affiliation_id=s.affiliation_id)
            for sid, s in everyone.items()
        }
        for row in claims.values():
            rows.claim(row, everyone, facts, self._codec)
        rows.write_claims(cursor, self._db)
        # the kept counts of the lists one filter holds: by status, and by a
        # source the chains name now (citations added, dropped, named again)
        # (the batch's own claims: only their events change whom they name)
        named = _named_now(cursor, seqs)
        named.subtract(named_before)
        shape.adjust(NAMED, named)
        shape.adjust(STATUS, rows.statuses)
        shape.save()

    def _load(self, cursor: Cursor, claim_ids: Iterable[UUID]) -> dict[UUID, _ClaimRow]:
        """These claims' rows, as the views hold them (absent: not yet)."""
        wanted = [str(c) for c in dict.fromkeys(claim_ids)]
        found: dict[UUID, _ClaimRow] = {}
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            for (
                claim_id,
                version,
                seq,
                changed_at,
                changed_position,
                status,
                state,
            ) in cursor.all(
                "SELECT claim_id, version, seq, changed_at, changed_position, "  # noqa: S608 - only placeholders are interpolated
                f"status, state FROM {{view_claims}} WHERE claim_id IN ({marks})",
                chunk,
            ):
                key = UUID(claim_id)
                claim = self._codec.claim(key, version, state)
                found[key] = _ClaimRow(
                    claim,
                    seq,
                    datetime.fromisoformat(changed_at),
                    changed_position,
                    status,
                )
        return found

    def _naming(
        self, cursor: Cursor, everyone: Mapping[str, Source], amended: Iterable[str]
    ) -> list[UUID]:
        """Claims whose chains name one of the amended sources, or a source
        affiliated to one of them."""
        under: set[str] = set()
        for source_id in amended:
            under |= sources_under(everyone, source_id)
        found: dict[str, None] = {}
        for source_id in sorted(under):
            for (claim_id,) in cursor.all(
                "SELECT claim_id FROM {view_claim_sources} WHERE source_id = ?",
                (source_id,),
            ):
                found[claim_id] = None
        return [UUID(c) for c in found]

    def _index(
        self, event: Claim.Event, row: _ClaimRow, rows: _Rows, shape: _Shape
    ) -> None:
        """Links, who cites whom, and the largest lists, from the event."""
        claim = row.claim
        rows.versions.append(
            (str(claim.id), claim.version, stamp(event.timestamp), row.changed_position)
        )
        shape.grow("longest_stream", claim.version)
        if isinstance(event, Claim.Linked):
            link = claim.links[event.link_id]
            rows.links.append(
                (
                    link.link_id,
                    str(claim.id),
                    link.target_id,
                    link.kind.value,
                    link.note,
                    stamp(event.timestamp),
                    row.changed_position,
                )
            )
            rows.linked_from[link.target_id] += 1
            shape.grow("most_links", len(claim.links))
        elif isinstance(event, Claim.LinkWithdrawn):
            rows.withdrawn.append(
                (stamp(event.timestamp), row.changed_position, event.link_id)
            )
        elif isinstance(event, Claim.StanceRecorded):
            shape.grow("most_stances", len(claim.stances))
            rows.cite(row, event.chain, shape)
        elif isinstance(event, Claim.StanceAmended) and "chain" in event.changes:
            rows.cite(row, [str(s) for s in event.changes["chain"]], shape)


CHUNK = 500  # ids per IN (...) list: well under either database's limit


class _Rows:
    """What one batch writes, gathered while its events are applied."""

    def __init__(self) -> None:
        self.versions: list[tuple[object, ...]] = []
        self.links: list[tuple[object, ...]] = []
        self.withdrawn: list[tuple[object, ...]] = []
        self.linked_from: Counter[str] = Counter()
        self.citations: dict[tuple[str, int], str] = {}  # (source, seq) -> claim
        self.statements: Counter[str] = Counter()
        self.source_states: list[tuple[object, ...]] = []
        self.sources: dict[str, tuple[int, int]] = {}  # id -> first, last position
        self.claims: list[tuple[object, ...]] = []
        self.entities: list[tuple[object, ...]] = []
        self.about: list[tuple[object, ...]] = []  # seqs whose entities change
        self.rechained: list[tuple[object, ...]] = []  # seqs whose chains change
        self.named: list[tuple[object, ...]] = []
        self.resaid: list[tuple[object, ...]] = []  # seqs whose statements change
        self.said: list[tuple[object, ...]] = []
        self.texts: list[tuple[int, str]] = []
        self.statuses: Counter[str] = Counter()  # claims gained or lost

    def cite(self, row: _ClaimRow, chain: list[str], shape: _Shape) -> None:
        shape.grow("most_hops", len(chain))
        for source_id in dict.fromkeys(chain):
            self.citations[(source_id, row.seq)] = str(row.claim.id)
            self.statements[source_id] += 1

    def source_state(
        self, source: Source, position: int, recorded_at: datetime, codec: StateCodec
    ) -> None:
        key = str(source.id)
        self.source_states.append(
            (key, source.version, position, stamp(recorded_at), codec.encode(source))
        )
        first, _ = self.sources.get(key, (position, position))
        self.sources[key] = (first, position)

    def write_index(self, cursor: Cursor, shape: _Shape) -> None:
        """Versions, links, citations, source states and the counts behind
        the shape."""
        cursor.executemany(
            "INSERT INTO {view_claim_versions} (claim_id, version, recorded_at, "
            "position) VALUES (?, ?, ?, ?)",
            self.versions,
        )
        cursor.executemany(
            "INSERT INTO {view_links} (link_id, from_claim, target_claim, "
            "kind, note, linked_at, linked_position) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (link_id) DO NOTHING",
            self.links,
        )
        cursor.executemany(
            "UPDATE {view_links} SET withdrawn_at = ?, withdrawn_position = ? "
            "WHERE link_id = ?",
            self.withdrawn,
        )
        cursor.executemany(
            "INSERT INTO {view_source_states} (source_id, version, position, "
            "recorded_at, state) VALUES (?, ?, ?, ?, ?)",
            self.source_states,
        )
        cursor.executemany(
            "INSERT INTO {view_sources} (source_id, seq, changed_position) "
            "VALUES (?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
            "changed_position = excluded.changed_position",
            [(key, first, last) for key, (first, last) in self.sources.items()],
        )
        new = self._new_citations(cursor)
        cursor.executemany(
            "INSERT INTO {view_claim_sources} (source_id, seq, claim_id, now) "
            "VALUES (?, ?, ?, ?)",
            [(s, seq, self.citations[(s, seq)], True) for s, seq in new],
        )
        # named again by a stance recorded now, after an amended chain had
        # dropped it: named now, whatever the batch in which it was dropped
        added = set(new)
        cursor.executemany(
            "UPDATE {view_claim_sources} SET now = ? WHERE source_id = ? AND seq = ?",
            [(True, s, seq) for s, seq in self.citations if (s, seq) not in added],
        )
        citing = Counter(source_id for source_id, _ in new)
        for kind, counts, most in (
            ("linked_from", self.linked_from, "most_linked_from"),
            ("citing", citing, "most_citing"),
            ("statements", self.statements, "most_statements"),
        ):
            for value in shape.count(kind, counts):
                shape.grow(most, value)

    def _new_citations(self, cursor: Cursor) -> list[tuple[str, int]]:
        """The batch's (source, claim) pairs the views do not hold yet."""
        seqs = sorted({seq for _, seq in self.citations})
        held: set[tuple[str, int]] = set()
        for start in range(0, len(seqs), CHUNK):
            chunk = seqs[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            held.update(
                (source_id, int(seq))
                for source_id, seq in cursor.all(
                    "SELECT source_id, seq FROM {view_claim_sources} "  # noqa: S608 - only placeholders are interpolated
                    f"WHERE seq IN ({marks})",
                    chunk,
                )
            )
        return [pair for pair in self.citations if pair not in held]

    def claim(
        self,
        row: _ClaimRow,
        sources: Mapping[str, Source],
        facts: Mapping[str, SourceFacts],
        codec: StateCodec,
    ) -> None:
        claim = row.claim
        stances = claim.stances_at()
        status = derive_status(stances, facts).status
        if status.value != row.status:
            self.statuses[status.value] += 1
            if row.status is not None:
                self.statuses[row.status] -= 1
            row.status = status.value
        self.claims.append(
            (
                str(claim.id),
                row.seq,
                claim.version,
                status.value,
                stamp(claim.created_on),
                stamp(row.changed_at),
                row.changed_position,
                _day(claim.occurred.start),
                _day(claim.occurred.end),
                codec.encode(claim),
            )
        )
        if row.entities:
            self.about.append((row.seq,))
            self.entities += [
                (e, row.seq) for e in dict.fromkeys(e.casefold() for e in claim.about)
            ]
        named = dict.fromkeys(s for stance in stances for s in stance.chain)
        if row.chains:
            self.rechained.append((row.seq,))
            self.named += [(True, s, row.seq) for s in named]
        if not row.words:
            return
        self.resaid.append((row.seq,))
        for record in claim.stances.values():
            periods = [r.reported for r in record.revisions]
            if record.retraction is not None:
                periods.append(record.retraction.reported)
            self.said += [(row.seq, _day(p.start), _day(p.end)) for p in periods]
        words = [claim.text]
        for stance in stances:
            words.append(stance.quote or "")
        for source_id in named:
            source = sources.get(source_id)
            if source is not None:
                words += [source.name, source.descriptor or ""]
        self.texts.append((row.seq, " ".join(w for w in words if w)))

    def write_claims(self, cursor: Cursor, database: ViewDatabase) -> None:
        """Each changed claim's row, entities, named sources and search text."""
        cursor.executemany(
            "INSERT INTO {view_claims} (claim_id, seq, version, status, "
            "proposed_at, changed_at, changed_position, occurred_start, "
            "occurred_end, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (claim_id) DO UPDATE SET version = excluded.version, "
            "status = excluded.status, changed_at = excluded.changed_at, "
            "changed_position = excluded.changed_position, "
            "occurred_start = excluded.occurred_start, "
            "occurred_end = excluded.occurred_end, state = excluded.state",
            self.claims,
        )
        cursor.executemany(
            "DELETE FROM {view_claim_entities} WHERE seq = ?", self.about
        )
        cursor.executemany(
            "INSERT INTO {view_claim_entities} (entity, seq) VALUES (?, ?)",
            self.entities,
        )
        cursor.executemany(
            "UPDATE {view_claim_sources} SET now = FALSE WHERE seq = ?",
            self.rechained,
        )
        cursor.executemany(
            "UPDATE {view_claim_sources} SET now = ? WHERE source_id = ? AND seq = ?",
            self.named,
        )
        cursor.executemany(
            "DELETE FROM {view_claim_reported} WHERE seq = ?", self.resaid
        )
        cursor.executemany(
            "INSERT INTO {view_claim_reported} (seq, said_from, said_to) "
            "VALUES (?, ?, ?)",
            self.said,
        )
        database.index_texts(cursor, self.texts)


STATUS = "status"
"""Kept counts (``view_counts``) of the claims with each status now, and of
the claims whose chains name each source now: what a list filtered by one
status, or by one source, holds."""
NAMED = "named"


def _named_now(cursor: Cursor, seqs: list[int]) -> Counter[str]:
    """How many of these claims each source is named by now."""
    found: Counter[str] = Counter()
    for start in range(0, len(seqs), CHUNK):
        chunk = seqs[start : start + CHUNK]
        marks = ",".join("?" * len(chunk))
        for source_id, count in cursor.all(
            "SELECT source_id, count(*) FROM {view_claim_sources} "  # noqa: S608 - only placeholders are interpolated
            f"WHERE now = ? AND seq IN ({marks}) GROUP BY source_id",
            [True, *chunk],
        ):
            found[source_id] += int(count)
    return found


def _day(value: object) -> str | None:
    return value.isoformat() if value is not None else None  # type: ignore[attr-defined]


class _Shape:
    """The largest lists, and the counts they come from, for one batch."""

    def __init__(self, cursor: Cursor) -> None:
        self._cursor = cursor
        self._sizes = dict(cursor.all("SELECT name, value FROM {view_shape}"))
        self._changed: set[str] = set()

    def add(self, name: str, by: int = 1) -> None:
        self._sizes[name] = self._sizes.get(name, 0) + by
        self._changed.add(name)

    def grow(self, name: str, size: int) -> None:
        if size > self._sizes.get(name, 0):
            self._sizes[name] = size
            self._changed.add(name)

    def count(self, kind: str, more: Counter[str]) -> list[int]:
        """Add to per-key counts (a claim's incoming links, a source's citing
        claims or statements); the new counts."""
        self._cursor.executemany(
            "INSERT INTO {view_counts} (kind, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET "
            "value = {view_counts}.value + excluded.value",
            [(kind, key, n) for key, n in more.items()],
        )
        keys = sorted(more)
        found: list[int] = []
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            marks = ",".join("?" * len(chunk))
            found += [
                int(value)
                for (value,) in self._cursor.all(
                    "SELECT value FROM {view_counts} WHERE kind = ? "  # noqa: S608 - only placeholders are interpolated
                    f"AND key IN ({marks})",
                    [kind, *chunk],
                )
            ]
        return found

    def adjust(self, kind: str, by: Counter[str]) -> None:
        """Add to per-key counts, some perhaps down."""
        self._cursor.executemany(
            "INSERT INTO {view_counts} (kind, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET "
            "value = {view_counts}.value + excluded.value",
            [(kind, key, n) for key, n in sorted(by.items()) if n],
        )
        # a count down to nothing is no row, as a rebuild would leave it
        self._cursor.executemany(
            "DELETE FROM {view_counts} WHERE kind = ? AND key = ? AND value = 0",
            [(kind, key) for key, n in sorted(by.items()) if n < 0],
        )

    def save(self) -> None:
        self._cursor.executemany(
            "INSERT INTO {view_shape} (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [(name, self._sizes[name]) for name in sorted(self._changed)],
        )
