"""Where the views live: tables in the event store's own database (beside the
events in the SQLite file; in the store's schema on PostgreSQL), reached
through the library's own connections, so a view update and its tracking
position commit in one transaction.

Statements are written once, with ``?`` placeholders and ``{name}`` table
names; ``sql`` turns them into either dialect. Only the search index differs
in kind: FTS5 on SQLite, a tsvector with a GIN index on PostgreSQL.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    Notification,
    PersistenceError,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
)

LOG = logging.getLogger("claims_ledger")

LAYOUT = 7
"""The tables' layout. Views hold nothing the log cannot rebuild: tables of
another layout are dropped and rebuilt from the log at start."""

READ_POOL = 5
READ_OVERFLOW = 40
"""Connections for the views' reads, beyond the pool's five: as many as
reads may run at once (the server's worker threads)."""

TABLES = (
    "view_meta",
    "view_tracking",
    "view_claims",
    "view_claim_sources",
    "view_claim_entities",
    "view_claim_reported",
    "view_claim_versions",
    "view_claim_search",
    "view_links",
    "view_sources",
    "view_source_states",
    "view_shape",
    "view_counts",
)

_COMMON = (
    "CREATE TABLE IF NOT EXISTS {view_meta} ("
    "name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS {view_tracking} ("
    "name TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    # seq: the position of the claim's first event, the order claims were
    # proposed in, and the cursor of every list of claims.
    "CREATE TABLE IF NOT EXISTS {view_claims} ("
    "claim_id TEXT PRIMARY KEY, seq BIGINT NOT NULL UNIQUE, "
    "version INTEGER NOT NULL, status TEXT NOT NULL, "
    "proposed_at TEXT NOT NULL, changed_at TEXT NOT NULL, "
    "changed_position BIGINT NOT NULL, "
    "occurred_start TEXT, occurred_end TEXT, state {blob} NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claims_status "
    "ON {view_claims} (status, seq)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claims_changed "
    "ON {view_claims} (changed_at, seq)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claims_occurred ON {view_claims} "
    "(occurred_start, seq)",
    # Every source a claim's chains ever named; now: named by a chain as it
    # stands (retracted stances included, as the claim's reading shows them).
    "CREATE TABLE IF NOT EXISTS {view_claim_sources} ("
    "source_id TEXT NOT NULL, seq BIGINT NOT NULL, claim_id TEXT NOT NULL, "
    "now {boolean} NOT NULL, PRIMARY KEY (source_id, seq)) {without_rowid}",
    "CREATE TABLE IF NOT EXISTS {view_claim_entities} ("
    "entity TEXT NOT NULL, seq BIGINT NOT NULL, PRIMARY KEY (entity, seq))",
    # when its sources said something of the claim: each stance, correction
    # and retraction's reported period (open bounds NULL)
    "CREATE TABLE IF NOT EXISTS {view_claim_reported} ("
    "seq BIGINT NOT NULL, said_from TEXT, said_to TEXT)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claim_reported_seq "
    "ON {view_claim_reported} (seq)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claims_occurred_order ON {view_claims} "
    "((COALESCE(occurred_start, '~'){collate_bytes}), seq)",
    # when, and at which position, each version of each claim was recorded: a
    # reading at a recorded time or position finds its version here and loads
    # just that version
    "CREATE TABLE IF NOT EXISTS {view_claim_versions} ("
    "claim_id TEXT NOT NULL, version INTEGER NOT NULL, recorded_at TEXT NOT NULL, "
    "position BIGINT NOT NULL, PRIMARY KEY (claim_id, version))",
    "CREATE INDEX IF NOT EXISTS {variant}view_claim_versions_time "
    "ON {view_claim_versions} "
    "(claim_id, recorded_at)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claim_versions_position ON "
    "{view_claim_versions} (claim_id, position)",
    "CREATE TABLE IF NOT EXISTS {view_links} ("
    "link_id TEXT PRIMARY KEY, from_claim TEXT NOT NULL, target_claim TEXT NOT NULL, "
    "kind TEXT NOT NULL, note TEXT, linked_at TEXT NOT NULL, "
    "linked_position BIGINT NOT NULL, withdrawn_at TEXT, withdrawn_position BIGINT)",
    "CREATE INDEX IF NOT EXISTS {variant}view_links_target "
    "ON {view_links} (target_claim)",
    "CREATE TABLE IF NOT EXISTS {view_sources} ("
    "source_id TEXT PRIMARY KEY, seq BIGINT NOT NULL UNIQUE, "
    "changed_position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {variant}view_sources_changed ON {view_sources} "
    "(changed_position)",
    "CREATE TABLE IF NOT EXISTS {view_source_states} ("
    "source_id TEXT NOT NULL, version INTEGER NOT NULL, position BIGINT NOT NULL, "
    "recorded_at TEXT NOT NULL, state {blob} NOT NULL, "
    "PRIMARY KEY (source_id, version))",
    "CREATE INDEX IF NOT EXISTS {variant}view_source_states_position ON "
    "{view_source_states} (position)",
    "CREATE TABLE IF NOT EXISTS {view_shape} ("
    "name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    # per-key counts: behind the shape, a claim's incoming links and a
    # source's citing claims and statements; kept for lists, the claims with
    # each status and the claims each source is named by now
    "CREATE TABLE IF NOT EXISTS {view_counts} ("
    "kind TEXT NOT NULL, key TEXT NOT NULL, value BIGINT NOT NULL, "
    "PRIMARY KEY (kind, key))",
    "CREATE INDEX IF NOT EXISTS {variant}view_claim_sources_seq "
    "ON {view_claim_sources} (seq)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claim_entities_seq "
    "ON {view_claim_entities} (seq)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claims_position ON {view_claims} "
    "(changed_position)",
    "INSERT INTO {view_tracking} (name, position) VALUES ('views', 0) "
    "ON CONFLICT (name) DO NOTHING",
)

_SQLITE_SEARCH = (
    # rowid is the claim's seq; porter stems English words, unicode61 folds
    # case and diacritics.
    "CREATE VIRTUAL TABLE IF NOT EXISTS {view_claim_search} USING fts5("
    "body, tokenize = 'porter unicode61 remove_diacritics 2')",
)

_POSTGRES_SEARCH = (
    "CREATE TABLE IF NOT EXISTS {view_claim_search} ("
    "seq BIGINT PRIMARY KEY, body TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS {variant}view_claim_search_body ON {view_claim_search} "
    "USING GIN (body)",
)


def stamp(moment: datetime) -> str:
    """A recorded time as the views store it: ISO 8601 in UTC with
    microseconds, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class ViewDatabase:
    """The store's database as the views use it: one dialect, its tables."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        factory: InfrastructureFactory[Any],
        variant: str = "",
    ) -> None:
        """``factory``: the ledger's, to open connections of the views' own;
        ``variant``: a prefix for the tables' and indexes' names, to build a
        second set beside the live one (``rebuild-views --check``)."""
        self._writes: ViewWriteConnections | None = None
        self._reads: SQLiteConnectionPool | None = None
        self._pinned = threading.local()  # the cursor a thread's reads share
        if isinstance(recorder, SQLiteApplicationRecorder):
            self.dialect = "sqlite"
            self._datastore: Any = recorder.datastore
            self._read_store: Any = recorder.datastore
            pool = recorder.datastore.pool
            if not pool.is_sqlite_memory_mode:
                self._writes = ViewWriteConnections(
                    db_name=pool.db_name, lock_timeout=pool.lock_timeout, pool_size=1
                )
                self._reads = SQLiteConnectionPool(
                    db_name=pool.db_name,
                    lock_timeout=pool.lock_timeout,
                    pool_size=READ_POOL,
                    max_overflow=READ_OVERFLOW,
                )
            prefix = ""
        elif isinstance(recorder, PostgresApplicationRecorder):
            self.dialect = "postgres"
            self._datastore = recorder.datastore
            # the views' reads on a pool of their own (the same settings)
            self._read_store = type(factory)(factory.env).datastore  # type: ignore[attr-defined]
            prefix = f'"{recorder.datastore.schema}".'
        else:
            msg = f"views are not implemented for {type(recorder).__name__}"
            raise NotImplementedError(msg)
        self._names = {table: f"{prefix}{variant}{table}" for table in TABLES}
        self._names["variant"] = variant
        self._names["events"] = f"{prefix}{recorder.events_table_name}"
        self._names["position"] = (
            "rowid" if self.dialect == "sqlite" else "notification_id"
        )
        self._names["blob"] = "BLOB" if self.dialect == "sqlite" else "BYTEA"
        self._names["boolean"] = "INTEGER" if self.dialect == "sqlite" else "BOOLEAN"
        self._names["collate_bytes"] = ' COLLATE "C"' if self.postgres else ""
        # small rows counted along their key: stored in it (SQLite)
        self._names["without_rowid"] = (
            "WITHOUT ROWID" if self.dialect == "sqlite" else ""
        )
        self._prefix = prefix
        self._cache: dict[str, str] = {}

    def name_tables(self, tables: Sequence[str]) -> None:
        """Let statements name these tables of the store's too (the audit
        tree's, which live beside the views but are never dropped with them)."""
        self._names.update({table: f"{self._prefix}{table}" for table in tables})
        self._cache.clear()

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgres"

    def sql(self, statement: str) -> str:
        """A statement in this dialect: table names filled in, ``?``
        placeholders as psycopg wants them on PostgreSQL."""
        found = self._cache.get(statement)
        if found is None:
            found = statement.format(**self._names)
            if self.postgres:
                found = re.sub(r"\?", "%s", found.replace("%", "%%"))
            self._cache[statement] = found
        return found

    @contextmanager
    def writing(self) -> Iterator[Cursor]:
        """A transaction that commits when the block ends without error.

        Its commit does not wait for the disk (synchronous_commit off on
        PostgreSQL; synchronous=NORMAL on the SQLite file, on connections of
        the views' own): a crash may lose the last batches applied, never
        half of one, and the tracking position goes with them, so they are
        applied again. Events are written by the library, durably."""
        if self._writes is not None:
            with self._own(self._writes, writes=True) as cursor:
                yield cursor
            return
        with self._datastore.transaction(commit=True) as cursor:
            if self.postgres:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            yield Cursor(self, cursor)

    @contextmanager
    def _own(self, pool: SQLiteConnectionPool, *, writes: bool) -> Iterator[Cursor]:
        """A transaction on one of the views' own SQLite connections,
        committed at the end when it ``writes``."""
        connection = pool.get_connection(is_writer=writes or None)
        try:
            with connection.transaction(commit=writes) as cursor:
                yield Cursor(self, cursor)
        finally:
            pool.put_connection(connection)

    def close(self) -> None:
        if self._writes is not None:
            self._writes.close()
        if self._reads is not None:
            self._reads.close()
        if self._read_store is not self._datastore:
            self._read_store.close()

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        """A read that sees one state of the views throughout (a snapshot:
        SQLite's read transaction; REPEATABLE READ on PostgreSQL); inside
        ``pinned``, the pinned one."""
        held: Cursor | None = getattr(self._pinned, "cursor", None)
        if held is not None:
            yield held
            return
        if self._reads is not None:
            with self._own(self._reads, writes=False) as cursor:
                yield cursor
            return
        with self._read_store.transaction(commit=False) as cursor:
            if self.postgres:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield Cursor(self, cursor)

    @property
    def pins(self) -> bool:
        """Whether reads can be pinned to one snapshot: on connections of the
        views' own (not an in-memory SQLite database, whose one connection
        a pinned read would hold while it loads claims through the ledger)."""
        return self.postgres or self._reads is not None

    @contextmanager
    def pinned(self) -> Iterator[Cursor]:
        """Every read of this thread, until the block ends, in one snapshot:
        the several queries of one answer see one state of the views. Its
        connection is the views' own, so a read pinned to one and loading
        claims from the store (the ledger's connections) waits for no other
        pinned read to end."""
        held: Cursor | None = getattr(self._pinned, "cursor", None)
        if held is not None:
            yield held
            return
        with self.reading() as cursor:
            self._pinned.cursor = cursor
            try:
                yield cursor
            finally:
                self._pinned.cursor = None

    def create(self) -> None:
        """The tables, as this code lays them out; tables of another layout
        are dropped first (the log rebuilds them)."""
        search = _POSTGRES_SEARCH if self.postgres else _SQLITE_SEARCH
        with self.writing() as cursor:
            if self.postgres:
                # One instance lays the tables out; the others wait for it.
                cursor.execute("SELECT pg_advisory_xact_lock(?)", (_LAYOUT_LOCK,))
            cursor.execute(_COMMON[0])
            found = cursor.one("SELECT value FROM {view_meta} WHERE name = 'layout'")
            if found is not None and found[0] == LAYOUT:
                # Laid out already: creating an index that exists would still
                # lock its table, against the projectors of other instances.
                return
            if found is not None:
                for table in reversed(TABLES[1:]):
                    cursor.execute(f"DROP TABLE IF EXISTS {{{table}}}")
            for statement in (*_COMMON[1:], *search):
                cursor.execute(statement)
            cursor.execute(
                "INSERT INTO {view_meta} (name, value) VALUES ('layout', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (LAYOUT,),
            )

    def analyze(self) -> None:
        """Fresh statistics for the planner, after the tables were filled in
        one go (a rebuild): without them PostgreSQL may scan a whole table
        for a page. Each table in a transaction of its own, and one that
        fails is left to the database's own statistics: PostgreSQL refuses an
        ANALYZE that meets autovacuum's on the same table ("tuple
        concurrently updated"), and statistics only speed reads up."""
        for table in TABLES[1:]:
            if table == "view_claim_search" and not self.postgres:
                continue  # a virtual table keeps its own
            try:
                with self._datastore.transaction(commit=True) as cursor:
                    cursor.execute(self.sql(f"ANALYZE {{{table}}}"))
            except PersistenceError:
                LOG.info("no fresh statistics for %s", table, exc_info=True)

    def drop(self) -> None:
        """Every view table, gone (the log rebuilds them)."""
        with self.writing() as cursor:
            for table in reversed(TABLES):
                cursor.execute(f"DROP TABLE IF EXISTS {{{table}}}")

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every view, in a stable order: what two builds of
        the views are compared by."""
        return self.dump_at()[1]

    def dump_at(self) -> tuple[int, dict[str, list[tuple[Any, ...]]]]:
        """The position the views reflect, and every row of every view, read
        in one snapshot."""
        found = {}
        with self.reading() as cursor:
            tracked = cursor.one(
                "SELECT position FROM {view_tracking} WHERE name = 'views'"
            )
            position = int(tracked[0]) if tracked else 0
            for table in TABLES[1:]:
                if table == "view_claim_search":
                    columns = "seq, body::text" if self.postgres else "rowid, body"
                else:
                    columns = "*"
                rows = cursor.all(f"SELECT {columns} FROM {{{table}}}")  # noqa: S608 - our own names
                found[table] = sorted(
                    (
                        tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                        for row in rows
                    ),
                    key=repr,
                )
        return position, found

    def index_texts(self, cursor: Cursor, texts: Sequence[tuple[int, str]]) -> None:
        """What search finds each claim by (its wording, quotes, sources),
        by the claim's seq."""
        if self.postgres:
            cursor.executemany(
                "INSERT INTO {view_claim_search} (seq, body) "
                "VALUES (?, to_tsvector('english', ?)) "
                "ON CONFLICT (seq) DO UPDATE SET body = excluded.body",
                texts,
            )
        else:
            cursor.executemany(
                "DELETE FROM {view_claim_search} WHERE rowid = ?",
                [(seq,) for seq, _ in texts],
            )
            cursor.executemany(
                "INSERT INTO {view_claim_search} (rowid, body) VALUES (?, ?)", texts
            )


class ViewWriteConnections(SQLiteConnectionPool):
    """Connections to the SQLite file for the views' writes only, which
    commit without waiting for the disk (see ViewDatabase.writing)."""

    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        connection.cursor().execute("PRAGMA synchronous=NORMAL")
        return connection


_LAYOUT_LOCK = 0x636C61696D73  # "claims": serialises laying the tables out


class Cursor:
    """A cursor that speaks the views' statements in either dialect."""

    def __init__(self, database: ViewDatabase, cursor: Any) -> None:
        self.database = database
        self._cursor = cursor

    def execute(self, statement: str, params: Sequence[object] = ()) -> None:
        self._cursor.execute(self.database.sql(statement), tuple(params))

    def executemany(self, statement: str, rows: Sequence[Sequence[object]]) -> None:
        if rows:
            self._cursor.executemany(self.database.sql(statement), rows)

    def all(
        self, statement: str, params: Sequence[object] = ()
    ) -> list[tuple[Any, ...]]:
        self.execute(statement, params)
        return [
            tuple(row.values()) if isinstance(row, dict) else tuple(row)
            for row in self._cursor.fetchall()
        ]

    def one(
        self, statement: str, params: Sequence[object] = ()
    ) -> Sequence[Any] | None:
        found = self.all(statement, params)
        return found[0] if found else None

    def events_after(self, after: int, limit: int) -> list[Notification]:
        """The log's next ``limit`` events after position ``after``, as
        stored, read in this transaction."""
        rows = self.all(
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
