"""Where claims' snapshots are kept on SQLite.

The library keeps snapshots in a WITHOUT ROWID table, as it keeps events. A
snapshot holds a whole claim (hundreds of kilobytes for a claim with a
thousand stances), and SQLite reads a WITHOUT ROWID row's whole payload to
compare its key while searching the table: with a few hundred big snapshots
stored, every load of every claim paid milliseconds just to learn it had
none. The same table as an ordinary rowid table, its primary key an index of
its own, searches small keys and reads only the row it finds."""

from __future__ import annotations

from eventsourcing.sqlite import SQLiteAggregateRecorder


class SQLiteSnapshotRecorder(SQLiteAggregateRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {self.events_table_name} ("
            "originator_id TEXT, originator_version INTEGER, topic TEXT, "
            "state BLOB, PRIMARY KEY (originator_id, originator_version))"
        ]
