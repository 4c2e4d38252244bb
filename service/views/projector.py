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
from collections.abc import Iterable, Mapping
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
from service.views.database import Cursor, ViewDatabase
from service.views.sources import SourceDirectory, sources_under, stamp

TRACKING = "views"
BATCH = 500

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
    claim: Claim
    seq: int
    changed_at: datetime
    changed_position: int


class ViewProjector:
    def __init__(
        self,
        ledger: ClaimsLedger,
        database: ViewDatabase,
        codec: StateCodec,
        directory: SourceDirectory,
        batch: int = BATCH,
    ) -> None:
        self._ledger = ledger
        self._db = database
        self._codec = codec
        self._directory = directory
        self._batch = batch

    def catch_up(self, limit: int | None = None) -> int:
        """Apply every event recorded since the views' position (at most
        ``limit`` events, for tests that stop half-way); return the position
        the views now reflect. Blocking: call it from a worker thread."""
        applied = 0
        while True:
            with self._db.writing() as cursor:
                position = self._lock(cursor)
                self._directory.refresh(cursor, position)
                size = (
                    self._batch if limit is None else min(self._batch, limit - applied)
                )
                notifications = self._read_log(cursor, position, size) if size else []
                if not notifications:
                    return position
                self._apply(cursor, notifications)
                cursor.execute(
                    "UPDATE {view_tracking} SET position = ? WHERE name = ?",
                    (notifications[-1].id, TRACKING),
                )
                applied += len(notifications)

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

    def _read_log(self, cursor: Cursor, after: int, limit: int) -> list[Notification]:
        """The next events of the log, read in this transaction."""
        rows = cursor.all(
            "SELECT {position}, originator_id, originator_version, topic, state "
            "FROM {events} WHERE {position} > ? ORDER BY {position} LIMIT ?",
            (after, limit),
        )
        return [
            Notification(
                id=int(position),
                originator_id=UUID(str(originator_id)),
                originator_version=version,
                topic=topic,
                state=bytes(state),
            )
            for position, originator_id, version, topic, state in rows
        ]

    def _apply(self, cursor: Cursor, notifications: list[Notification]) -> None:
        claims: dict[UUID, _ClaimRow] = {}
        sources: dict[str, Source] = {}  # changed in this batch
        amended: set[str] = set()
        shape = _Shape(cursor)
        for notification in notifications:
            event = self._ledger.mapper.to_domain_event(notification)
            if isinstance(event, Claim.Event):
                row = claims.get(event.originator_id) or self._load(
                    cursor, event.originator_id
                )
                claim = cast(Claim, event.mutate(row.claim if row else None))
                if row is None:
                    row = _ClaimRow(claim, notification.id, event.timestamp, 0)
                    shape.add("claims")
                row.claim = claim
                row.changed_at = event.timestamp
                row.changed_position = notification.id
                claims[claim.id] = row
                self._index(cursor, event, row, shape)
            elif isinstance(event, Source.Event):
                key = str(event.originator_id)
                current = sources.get(key) or self._directory.get(key)
                source = cast(
                    Source, event.mutate(copy.deepcopy(current) if current else None)
                )
                sources[key] = source
                self._write_source(cursor, source, notification.id, event.timestamp)
                if isinstance(event, Source.Registered):
                    shape.add("sources")
                else:
                    amended.add(key)
        everyone = {**self._directory.now(), **sources}
        if amended:
            for claim_id in self._naming(cursor, everyone, amended):
                if claim_id not in claims:
                    found = self._load(cursor, claim_id)
                    if found is not None:
                        claims[claim_id] = found
        facts = {
            sid: SourceFacts(anonymous=s.anonymous, affiliation_id=s.affiliation_id)
            for sid, s in everyone.items()
        }
        for row in claims.values():
            self._write_claim(cursor, row, everyone, facts)
        shape.save()

    def _load(self, cursor: Cursor, claim_id: UUID) -> _ClaimRow | None:
        found = cursor.one(
            "SELECT version, seq, changed_at, changed_position, state "
            "FROM {view_claims} WHERE claim_id = ?",
            (str(claim_id),),
        )
        if found is None:
            return None
        version, seq, changed_at, changed_position, state = found
        claim = self._codec.claim(claim_id, version, state)
        return _ClaimRow(
            claim, seq, datetime.fromisoformat(changed_at), changed_position
        )

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
        self, cursor: Cursor, event: Claim.Event, row: _ClaimRow, shape: _Shape
    ) -> None:
        """Links, who cites whom, and the largest lists, from the event."""
        claim = row.claim
        shape.grow("longest_stream", claim.version)
        if isinstance(event, Claim.Linked):
            link = claim.links[event.link_id]
            cursor.execute(
                "INSERT INTO {view_links} (link_id, from_claim, target_claim, "
                "kind, note, linked_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (link_id) DO NOTHING",
                (
                    link.link_id,
                    str(claim.id),
                    link.target_id,
                    link.kind.value,
                    link.note,
                    stamp(event.timestamp),
                ),
            )
            shape.grow("most_links", len(claim.links))
            shape.grow("most_linked_from", shape.count("linked_from", link.target_id))
        elif isinstance(event, Claim.LinkWithdrawn):
            cursor.execute(
                "UPDATE {view_links} SET withdrawn_at = ? WHERE link_id = ?",
                (stamp(event.timestamp), event.link_id),
            )
        elif isinstance(event, Claim.StanceRecorded):
            shape.grow("most_stances", len(claim.stances))
            self._cite(cursor, row, event.chain, shape)
        elif isinstance(event, Claim.StanceAmended) and "chain" in event.changes:
            self._cite(cursor, row, [str(s) for s in event.changes["chain"]], shape)

    def _cite(
        self, cursor: Cursor, row: _ClaimRow, chain: list[str], shape: _Shape
    ) -> None:
        shape.grow("most_hops", len(chain))
        for source_id in dict.fromkeys(chain):
            added = cursor.one(
                "INSERT INTO {view_claim_sources} (source_id, seq, claim_id, now) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (source_id, seq) DO NOTHING "
                "RETURNING seq",
                (source_id, row.seq, str(row.claim.id), True),
            )
            if added is not None:
                shape.grow("most_citing", shape.count("citing", source_id))
            shape.grow("most_statements", shape.count("statements", source_id))

    def _write_source(
        self, cursor: Cursor, source: Source, position: int, recorded_at: datetime
    ) -> None:
        cursor.execute(
            "INSERT INTO {view_source_states} (source_id, version, position, "
            "recorded_at, state) VALUES (?, ?, ?, ?, ?)",
            (
                str(source.id),
                source.version,
                position,
                stamp(recorded_at),
                self._codec.encode(source),
            ),
        )
        cursor.execute(
            "INSERT INTO {view_sources} (source_id, seq, changed_position) "
            "VALUES (?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
            "changed_position = excluded.changed_position",
            (str(source.id), position, position),
        )

    def _write_claim(
        self,
        cursor: Cursor,
        row: _ClaimRow,
        sources: Mapping[str, Source],
        facts: Mapping[str, SourceFacts],
    ) -> None:
        claim = row.claim
        stances = claim.stances_at()
        status = derive_status(stances, facts).status
        cursor.execute(
            "INSERT INTO {view_claims} (claim_id, seq, version, status, "
            "proposed_at, changed_at, changed_position, occurred_start, "
            "occurred_end, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (claim_id) DO UPDATE SET version = excluded.version, "
            "status = excluded.status, changed_at = excluded.changed_at, "
            "changed_position = excluded.changed_position, "
            "occurred_start = excluded.occurred_start, "
            "occurred_end = excluded.occurred_end, state = excluded.state",
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
                self._codec.encode(claim),
            ),
        )
        cursor.execute("DELETE FROM {view_claim_entities} WHERE seq = ?", (row.seq,))
        cursor.executemany(
            "INSERT INTO {view_claim_entities} (entity, seq) VALUES (?, ?)",
            [(e, row.seq) for e in dict.fromkeys(e.casefold() for e in claim.about)],
        )
        named = dict.fromkeys(s for stance in stances for s in stance.chain)
        cursor.execute(
            "UPDATE {view_claim_sources} SET now = ? WHERE seq = ?", (False, row.seq)
        )
        cursor.executemany(
            "UPDATE {view_claim_sources} SET now = ? WHERE source_id = ? AND seq = ?",
            [(True, s, row.seq) for s in named],
        )
        words = [claim.text]
        for stance in stances:
            words.append(stance.quote or "")
        for source_id in named:
            source = sources.get(source_id)
            if source is not None:
                words += [source.name, source.descriptor or ""]
        self._db.index_text(cursor, row.seq, " ".join(w for w in words if w))


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

    def count(self, kind: str, key: str) -> int:
        """One more of a per-key count (a claim's incoming links, a source's
        citing claims or statements); the new count."""
        found = self._cursor.one(
            "INSERT INTO {view_counts} (kind, key, value) VALUES (?, ?, 1) "
            "ON CONFLICT (kind, key) DO UPDATE SET value = {view_counts}.value + 1 "
            "RETURNING value",
            (kind, key),
        )
        assert found is not None  # noqa: S101 - an upsert returns its row
        return int(found[0])

    def save(self) -> None:
        self._cursor.executemany(
            "INSERT INTO {view_shape} (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [(name, self._sizes[name]) for name in sorted(self._changed)],
        )
