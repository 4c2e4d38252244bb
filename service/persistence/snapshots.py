"""Where claims' snapshots are kept on SQLite, and how those of an earlier
store are taken in.

The library keeps snapshots in a WITHOUT ROWID table, as it keeps events. A
snapshot holds a whole claim (hundreds of kilobytes for a claim with a
thousand stances), and SQLite reads a WITHOUT ROWID row's whole payload to
compare its key while searching the table: with a few hundred big snapshots
stored, every load of every claim paid milliseconds just to learn it had
none. The same table as an ordinary rowid table, its primary key an index of
its own, searches small keys and reads only the row it finds."""

from __future__ import annotations

import zlib

from eventsourcing.persistence import AggregateRecorder
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier


class SQLiteSnapshotRecorder(SQLiteAggregateRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.events_table_name} ("
            "originator_id TEXT, originator_version INTEGER, topic TEXT, "
            "state BLOB, PRIMARY KEY (originator_id, originator_version))"
        ]


LEGACY_CHUNK = 100  # snapshots compressed and moved per round trip


def adopt_legacy(recorder: AggregateRecorder, legacy_table: str) -> int:
    """Snapshots a store kept before they were compressed (in
    ``legacy_table``), compressed into ``recorder``'s table and the old
    table dropped: a store upgraded keeps loading long claims from a
    snapshot, and gives back the old table's space. Several instances may
    start at once: on PostgreSQL one does it under a lock while the others
    wait, and on either a snapshot already moved is kept as it is. How many
    were moved."""
    if isinstance(recorder, SQLiteAggregateRecorder):
        return _adopt_sqlite(recorder, legacy_table)
    if isinstance(recorder, PostgresAggregateRecorder):
        return _adopt_postgres(recorder, legacy_table)
    return 0


def _adopt_sqlite(recorder: SQLiteAggregateRecorder, legacy: str) -> int:
    moved = 0
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (legacy,)
        )
        if cursor.fetchone() is None:
            return 0
        after = 0
        while True:  # a chunk at a time: the old snapshots may be gigabytes
            cursor.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608 - table names are ours
                f"FROM {legacy} WHERE rowid > ? ORDER BY rowid LIMIT ?",
                (after, LEGACY_CHUNK),
            )
            chunk = cursor.fetchall()
            if not chunk:
                break
            cursor.executemany(
                f"INSERT OR IGNORE INTO {recorder.events_table_name} "  # noqa: S608 - table names are ours
                "(originator_id, originator_version, topic, state) "
                "VALUES (?, ?, ?, ?)",
                [(r[1], r[2], r[3], zlib.compress(r[4])) for r in chunk],
            )
            moved += len(chunk)
            after = chunk[-1][0]
        cursor.execute(f"DROP TABLE {legacy}")
    return moved


def _adopt_postgres(recorder: PostgresAggregateRecorder, legacy: str) -> int:
    schema = recorder.datastore.schema
    moved = 0
    with recorder.datastore.transaction(commit=True) as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (_ADOPTING,))
        cursor.execute(
            "SELECT 1 FROM information_schema.tables "
            "WHERE table_schema = %s AND table_name = %s",
            (schema, legacy),
        )
        if cursor.fetchone() is None:
            return 0
        table = SQL("{}.{}").format(Identifier(schema), Identifier(legacy))
        target = SQL("{}.{}").format(
            Identifier(schema), Identifier(recorder.events_table_name)
        )
        last: tuple[object, int] | None = None
        while True:  # a chunk at a time: the old snapshots may be gigabytes
            beyond = SQL("WHERE (originator_id, originator_version) > (%s, %s) ")
            cursor.execute(
                SQL(
                    "SELECT originator_id, originator_version, topic, state FROM {} "
                    "{}ORDER BY originator_id, originator_version LIMIT %s"
                ).format(table, beyond if last else SQL("")),
                (*last, LEGACY_CHUNK) if last else (LEGACY_CHUNK,),
            )
            chunk = cursor.fetchall()
            if not chunk:
                break
            cursor.executemany(
                SQL(
                    "INSERT INTO {} (originator_id, originator_version, topic, "
                    "state) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
                ).format(target),
                [
                    (
                        r["originator_id"],
                        r["originator_version"],
                        r["topic"],
                        zlib.compress(bytes(r["state"])),
                    )
                    for r in chunk
                ],
            )
            moved += len(chunk)
            last = (chunk[-1]["originator_id"], chunk[-1]["originator_version"])
        cursor.execute(SQL("DROP TABLE {}").format(table))
    return moved


_ADOPTING = 0x736E617073  # "snaps": one instance moves the old snapshots
