"""Global positions of given events: the one query the library's recorder API
does not offer (it reads streams without positions, and the log without
filtering by stream)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


def positions_of(
    recorder: ApplicationRecorder,
    originator_id: UUID,
    after: int = 0,
    up_to: int | None = None,
) -> dict[int, int]:
    """Map each version of a stream (those above ``after`` and up to
    ``up_to``) to its global position in the log."""
    highest = (1 << 62) if up_to is None else up_to
    if isinstance(recorder, SQLiteApplicationRecorder):
        table = recorder.events_table_name
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT originator_version, rowid FROM {table} "  # noqa: S608 - table name is ours
                "WHERE originator_id = ? AND originator_version > ? "
                "AND originator_version <= ?",
                (originator_id.hex, after, highest),
            )
            return {int(row[0]): int(row[1]) for row in cursor.fetchall()}
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL(
            "SELECT originator_version, notification_id FROM {schema}.{table} "
            "WHERE originator_id = %s AND originator_version > %s "
            "AND originator_version <= %s"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(statement, (originator_id, after, highest))
            return {
                int(row["originator_version"]): int(row["notification_id"])
                for row in cursor.fetchall()
            }
    msg = f"positions_of is not implemented for {type(recorder).__name__}"
    raise NotImplementedError(msg)
