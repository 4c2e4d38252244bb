"""The audit tree: an RFC 9162 Merkle tree over the log in position order,
kept in the store's own database beside the views, and the signed
checkpoints of it.

It follows the log as the views do: a batch of events at a time, in one
transaction with the position it reached, under a lock on its tracking row,
so each event becomes one leaf once, a crash loses at most a batch (applied
again), and instances sharing a PostgreSQL database keep one tree and one
sequence of checkpoints. Its tables are never dropped with the views: a
checkpoint, once signed, is evidence.

Stored: each leaf (its index, the position of its event, its hash) and the
root of every perfect subtree above the leaves, so a root or a proof at any
size reads O(log n) rows."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from service.audit.leaves import StoredEvent, hash_of
from service.audit.merkle import (
    CompactRange,
    Subtree,
    consistency_proof,
    inclusion_proof,
    node_hash,
    perfect_ranges,
    split,
)
from service.audit.notes import (
    DASH,
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    open_checkpoint,
)
from service.cursors import LARGEST
from service.domain.errors import DomainError
from service.views.database import Cursor, ViewDatabase, stamp

LOG = logging.getLogger("claims_ledger.audit")

TABLES = ("audit_tracking", "audit_leaves", "audit_nodes", "audit_checkpoints")
BATCH = 500
"""Events per transaction: short, since on SQLite a batch holds the one
write lock the ledger's writes and the views' need too."""

_CREATE = (
    "CREATE TABLE IF NOT EXISTS {audit_tracking} ("
    "name TEXT PRIMARY KEY, position BIGINT NOT NULL, size BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {audit_leaves} ("
    "leaf BIGINT PRIMARY KEY, position BIGINT NOT NULL UNIQUE, hash {blob} NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {audit_nodes} ("
    "level INTEGER NOT NULL, idx BIGINT NOT NULL, hash {blob} NOT NULL, "
    "PRIMARY KEY (level, idx)) {without_rowid}",
    "CREATE TABLE IF NOT EXISTS {audit_checkpoints} ("
    "size BIGINT PRIMARY KEY, root {blob} NOT NULL, note TEXT NOT NULL, "
    "signed_at TEXT NOT NULL)",
    "INSERT INTO {audit_tracking} (name, position, size) VALUES ('tree', 0, 0) "
    "ON CONFLICT (name) DO NOTHING",
)
_CREATE_LOCK = 0x61756469742D74  # "audit-t": serialises laying the tables out


@dataclass(frozen=True)
class TreeHead:
    """The tree as it stands: its size, its root, and the log position of
    its last leaf."""

    size: int
    root: bytes
    position: int


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    note: str
    signed_at: datetime


class AuditTree:
    def __init__(self, database: ViewDatabase) -> None:
        self._db = database
        database.name_tables(TABLES)

    def create(self) -> None:
        with self._db.writing() as cursor:
            if self._db.postgres:
                cursor.execute("SELECT pg_advisory_xact_lock(?)", (_CREATE_LOCK,))
            for statement in _CREATE:
                cursor.execute(statement)

    def catch_up(
        self, limit: int | None = None, progress: Callable[[int], object] | None = None
    ) -> TreeHead:
        """Add every event recorded since the tree's last leaf (at most
        ``limit``, for tests that stop half-way). Blocking.

        On SQLite a batch is read and hashed from a snapshot, then written
        if nobody added it meanwhile: the one write lock, which the ledger's
        writes need too, is held for the writing only. On PostgreSQL the
        tree's own row is locked first, which holds back only other
        instances' trees: they wait rather than hash the same batch."""
        added = 0
        while True:
            wanted = BATCH if limit is None else min(BATCH, limit - added)
            if self._db.postgres:
                with self._db.writing() as cursor:
                    position, size = self._lock(cursor)
                    done = self._add(cursor, position, size, wanted)
            else:
                with self._reading() as cursor:
                    position, size = self._tracking(cursor)
                    done = self._add(cursor, position, size, wanted, write=False)
                if isinstance(done, _Batch):
                    with self._db.writing() as cursor:
                        if self._lock(cursor) != (position, size):
                            continue  # another process added them meanwhile
                        done.write(cursor)
            if isinstance(done, TreeHead):
                return done
            added += done.events
            if progress is not None:
                progress(done.events)

    def _add(
        self,
        cursor: Cursor,
        position: int,
        size: int,
        wanted: int,
        *,
        write: bool = True,
    ) -> _Batch | TreeHead:
        """The next batch after ``position``, hashed (and written, if
        ``write``), or the tree's head when there is none."""
        events = cursor.events_after(position, wanted) if wanted else []
        if not events:
            return self._head(cursor, size, position)
        frontier = self._frontier(cursor, size)
        batch = _Batch(len(events), events[-1].id, 0)
        for event in events:
            leaf = hash_of(StoredEvent.of(event))
            batch.leaves.append((frontier.size, event.id, leaf))
            batch.nodes += frontier.append(leaf)
        batch.size = frontier.size
        if write:
            batch.write(cursor)
        return batch

    def tracking(self) -> tuple[int, int]:
        """Where the tree stands, as its tracking row says: the log position
        of its last leaf, and its size ((0, 0) if the row is gone)."""
        with self._reading() as cursor:
            found = cursor.one(
                "SELECT position, size FROM {audit_tracking} WHERE name = 'tree'"
            )
        return (int(found[0]), int(found[1])) if found else (0, 0)

    def _tracking(self, cursor: Cursor) -> tuple[int, int]:
        found = cursor.one(
            "SELECT position, size FROM {audit_tracking} WHERE name = 'tree'"
        )
        assert found is not None  # noqa: S101 - create() inserts it
        return int(found[0]), int(found[1])

    def _lock(self, cursor: Cursor) -> tuple[int, int]:
        """Take the tree for this transaction: its position and size."""
        if self._db.postgres:
            found = cursor.one(
                "SELECT position, size FROM {audit_tracking} "
                "WHERE name = 'tree' FOR UPDATE"
            )
        else:
            cursor.execute(
                "UPDATE {audit_tracking} SET size = size WHERE name = 'tree'"
            )
            return self._tracking(cursor)
        assert found is not None  # noqa: S101 - create() inserts it
        return int(found[0]), int(found[1])

    def _frontier(self, cursor: Cursor, size: int) -> CompactRange:
        """The first ``size`` leaves, as the roots of their perfect subtrees."""
        return CompactRange(
            size,
            [
                self._node(cursor, level, start >> level)
                for level, start in perfect_ranges(size)
            ],
        )

    def _node(self, cursor: Cursor, level: int, index: int) -> bytes:
        if level == 0:
            found = cursor.one(
                "SELECT hash FROM {audit_leaves} WHERE leaf = ?", (index,)
            )
        else:
            found = cursor.one(
                "SELECT hash FROM {audit_nodes} WHERE level = ? AND idx = ?",
                (level, index),
            )
        if found is None:
            msg = f"the audit tree has no node {index} at level {level}"
            raise LookupError(msg)
        return bytes(found[0])

    def _head(self, cursor: Cursor, size: int, position: int) -> TreeHead:
        return TreeHead(size, self._frontier(cursor, size).root(), position)

    @contextmanager
    def _reading(self) -> Iterator[Cursor]:
        with self._db.reading() as cursor:
            yield cursor

    def head(self) -> TreeHead:
        with self._reading() as cursor:
            position, size = self._tracking(cursor)
            return self._head(cursor, size, position)

    def subtree(self, cursor: Cursor) -> Subtree:
        """The tree's subtree roots, read through ``cursor``."""

        def root(start: int, end: int) -> bytes:
            width = end - start
            if width & (width - 1) == 0 and start % width == 0:
                return self._node(cursor, width.bit_length() - 1, start // width)
            k = split(width)
            return node_hash(root(start, start + k), root(start + k, end))

        return root

    def inclusion(self, index: int, size: int) -> list[bytes]:
        with self._reading() as cursor:
            return inclusion_proof(index, size, self.subtree(cursor))

    def consistency(self, old: int, new: int) -> list[bytes]:
        with self._reading() as cursor:
            return consistency_proof(old, new, self.subtree(cursor))

    def leaf_at(self, position: int) -> tuple[int, bytes] | None:
        """The leaf of the event at a log position: its index and hash."""
        with self._reading() as cursor:
            found = cursor.one(
                "SELECT leaf, hash FROM {audit_leaves} WHERE position = ?",
                (position,),
            )
        return (int(found[0]), bytes(found[1])) if found else None

    # ---- checkpoints -----------------------------------------------------

    def sign(self, signer: Signer, origin: str, now: datetime) -> SignedCheckpoint:
        """A signed checkpoint of the tree as it stands, unless the latest
        one has its size already (then that one). Refuses to sign after a
        checkpoint another key signed (one log, one key), and on a tree whose
        stored nodes no longer make the latest checkpoint's root (they were
        altered: a new checkpoint would contradict it)."""
        with self._db.writing() as cursor:
            position, size = self._lock(cursor)
            latest = self._latest(cursor, signer.verifier, origin, strict=True)
            if latest is not None:
                if latest.size == size:
                    return latest
                try:
                    then = (
                        self.subtree(cursor)(0, latest.size)
                        if latest.size
                        else latest.root
                    )
                except LookupError:
                    then = b""
                if then != latest.root:
                    msg = (
                        f"the tree's first {latest.size} leaves no longer make "
                        "the root of the checkpoint signed for them: its tables "
                        "were altered; run claims-ledger verify"
                    )
                    raise TreeDamagedError(msg)
            root = self._head(cursor, size, position).root
            note = signer.sign(Checkpoint(origin, size, root).text())
            # a row already at this size was edited by hand (ours would have
            # been found above): it stays for verify to name
            cursor.execute(
                "INSERT INTO {audit_checkpoints} (size, root, note, signed_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING",
                (size, root, note, stamp(now)),
            )
            return SignedCheckpoint(size, root, note, now)

    def _latest(
        self, cursor: Cursor, verifier: Verifier, origin: str, *, strict: bool = False
    ) -> SignedCheckpoint | None:
        """The largest checkpoint this key signed for this origin, its size
        and root read from its signed note (a row's columns may have been
        edited; verify names such rows). A row whose note does not open is
        passed over, unless ``strict`` and it names another key: then it is
        refused (one log, one key)."""
        best: SignedCheckpoint | None = None
        for size, note, signed_at in self._newest_first(cursor):
            try:
                said = open_checkpoint(str(note), verifier, origin)
                at = datetime.fromisoformat(str(signed_at)).astimezone(UTC)
            except NoteError as refused:
                if strict and best is None and _names_another_key(str(note), verifier):
                    msg = (
                        f"the latest checkpoint was signed by another key "
                        f"({refused}); give every instance the same audit key "
                        "and origin"
                    )
                    raise NoteError(msg) from None
                continue
            except ValueError:
                continue
            if best is None or said.size > best.size:
                best = SignedCheckpoint(said.size, said.root, str(note), at)
            if int(size) == said.size:  # a row as signed: no later one below
                break
        return best

    def _newest_first(self, cursor: Cursor) -> Iterator[tuple[int, str, str]]:
        """Checkpoint rows by size, largest first, a page at a time: the
        newest is nearly always the one wanted, and the table grows by one
        row a second."""
        below = LARGEST  # above any size a tree can reach
        while True:
            rows = cursor.all(
                "SELECT size, note, signed_at FROM {audit_checkpoints} "
                "WHERE size < ? ORDER BY size DESC LIMIT ?",
                (below, PAGE),
            )
            for size, note, signed_at in rows:
                yield int(size), str(note), str(signed_at)
            if len(rows) < PAGE:
                return
            below = int(rows[-1][0])

    def latest_checkpoint(
        self, verifier: Verifier, origin: str
    ) -> SignedCheckpoint | None:
        """The latest checkpoint this key signed for this origin."""
        with self._reading() as cursor:
            return self._latest(cursor, verifier, origin)

    def checkpoints(self) -> list[tuple[int, bytes, str]]:
        """Every stored checkpoint row as stored: (size, root, note)."""
        with self._reading() as cursor:
            rows = cursor.all(
                "SELECT size, root, note FROM {audit_checkpoints} ORDER BY size"
            )
        return [(int(size), bytes(root), str(note)) for size, root, note in rows]


def _names_another_key(note: str, verifier: Verifier) -> bool:
    """Whether a note's signatures are all by keys other than this one (a
    configuration mistake), rather than by this key and damaged."""
    _, blank, signatures = note.rpartition("\n\n")
    lines = [line.split(" ") for line in signatures.splitlines()] if blank else []
    signed = [parts for parts in lines if len(parts) == 3 and parts[0] == DASH]
    for _, name, stamp_text in signed:
        try:
            if (
                name == verifier.name
                and base64.b64decode(stamp_text)[:4] == verifier.id
            ):
                return False
        except ValueError:
            continue
    return bool(signed)


@dataclass
class _Batch:
    """Leaves and nodes hashed from a batch of events, to write together with
    the position and size they bring the tree to."""

    events: int
    position: int
    size: int
    leaves: list[tuple[int, int, bytes]] = field(default_factory=list)
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)

    def write(self, cursor: Cursor) -> None:
        cursor.executemany(
            "INSERT INTO {audit_leaves} (leaf, position, hash) VALUES (?, ?, ?)",
            self.leaves,
        )
        cursor.executemany(
            "INSERT INTO {audit_nodes} (level, idx, hash) VALUES (?, ?, ?)",
            self.nodes,
        )
        cursor.execute(
            "UPDATE {audit_tracking} SET position = ?, size = ? WHERE name = 'tree'",
            (self.position, self.size),
        )


PAGE = 20
"""Checkpoint rows read at a time when looking for the newest that holds."""


class TreeDamagedError(DomainError):
    """The tree's stored nodes contradict a checkpoint signed for them."""

    code = "TREE_DAMAGED"
