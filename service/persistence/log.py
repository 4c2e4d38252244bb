"""Reading the log in position order, filtered in SQL by event type and stream.

The library's ``select_notifications`` filters by topic only; a feed filtered
by claim must not scan the whole log to find that claim's few events, so this
adds the stream filter (the events table's primary key starts with the
stream id, so the filter is an index lookup).
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Notification
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier


def read_log(
    recorder: ApplicationRecorder,
    *,
    after: int,
    limit: int,
    topics: Collection[str],
    streams: Collection[UUID] | None = None,
) -> list[Notification]:
    """Up to ``limit`` notifications with positions above ``after``, oldest
    first, whose topic is one of ``topics`` (and, given ``streams``, whose
    stream is one of them)."""
    if not topics or (streams is not None and not streams):
        return []
    if isinstance(recorder, SQLiteApplicationRecorder):
        return _read_sqlite(recorder, after, limit, topics, streams)
    if isinstance(recorder, PostgresApplicationRecorder):
        return _read_postgres(recorder, after, limit, topics, streams)
    msg = f"read_log is not implemented for {type(recorder).__name__}"
    raise NotImplementedError(msg)


def _read_sqlite(
    recorder: SQLiteApplicationRecorder,
    after: int,
    limit: int,
    topics: Collection[str],
    streams: Collection[UUID] | None,
) -> list[Notification]:
    params: list[object] = [after, *topics]
    where = f"rowid > ? AND topic IN ({','.join('?' * len(topics))})"
    if streams is not None:
        where += f" AND originator_id IN ({','.join('?' * len(streams))})"
        params += [s.hex for s in streams]
    params.append(limit)
    statement = (
        "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608 - only placeholders are interpolated
        f"FROM {recorder.events_table_name} WHERE {where} ORDER BY rowid LIMIT ?"
    )
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(statement, params)
        return [
            Notification(
                id=row["rowid"],
                originator_id=recorder.convert_originator_id(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in cursor.fetchall()
        ]


def _read_postgres(
    recorder: PostgresApplicationRecorder,
    after: int,
    limit: int,
    topics: Collection[str],
    streams: Collection[UUID] | None,
) -> list[Notification]:
    where = "notification_id > %s AND topic = ANY(%s)"
    params: list[object] = [after, list(topics)]
    if streams is not None:
        where += " AND originator_id = ANY(%s)"
        params.append(list(streams))
    params.append(limit)
    statement = SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM {schema}.{table} WHERE " + where + " ORDER BY notification_id LIMIT %s"
    ).format(
        schema=Identifier(recorder.datastore.schema),
        table=Identifier(recorder.events_table_name),
    )
    with recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute(statement, params)
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in cursor.fetchall()
        ]
