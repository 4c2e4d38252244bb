"""The log taken away and replayed elsewhere: NDJSON, one CloudEvents 1.0
structured JSON document a line, in log order, every stored event with all
its metadata, internal streams included (every leaf of the audit tree), so
a replay into an empty store has the same events, the same states and
statuses, and the same tree roots.

Each line's ``data`` is the stored event's state exactly as stored (its
fields, ``timestamp``, ``actor``, ``idempotency_key``); the extension
attributes say where it sat: ``position``, ``streamversion``, ``storedtype``
(the stored topic, which the replay writes back), ``actor``,
``idempotencykey`` (absent when none) and ``leafindex`` (its index in the
audit tree: its place in the log, counted from 0)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.persistence import StoredEvent as LibraryEvent
from eventsourcing.utils import get_topic

from service.audit.leaves import StoredEvent
from service.export import AGGREGATES, event_classes, event_type_name
from service.feed.cloud import SOURCE, TYPE_PREFIX
from service.views.database import ViewDatabase

CHUNK = 2000
_FORMAT = JSONFormat()
_NAMES = {get_topic(cls): event_type_name(cls) for cls in event_classes(AGGREGATES)}
_SUBJECTS = {
    "Claim": "claims",
    "Source": "sources",
    "IdempotencyRecord": "idempotency-records",
    "Affiliations": "affiliations",
}


class ArchiveError(ValueError):
    """A line that is not an archived event, or a store that is not empty."""


def archived(event: StoredEvent, leaf_index: int) -> str:
    """One line: the event as a CloudEvent, with no newline inside. A state
    that is not JSON (damaged) goes as ``data_base64``, byte for byte."""
    try:
        state: Any = json.loads(event.state)
        json.dumps(state, ensure_ascii=False).encode()  # well-formed Unicode
    except (ValueError, UnicodeError, RecursionError):
        state = event.state
    name = _NAMES.get(event.type, event.type)
    attributes: dict[str, Any] = {
        "id": f"{event.stream}/{event.version}",
        "source": SOURCE,
        "type": TYPE_PREFIX + name,
        "subject": f"{_SUBJECTS.get(name.split('.')[0], 'streams')}/{event.stream}",
        "datacontenttype": "application/octet-stream"
        if isinstance(state, bytes)
        else "application/json",
        "position": event.position,
        "streamversion": event.version,
        "storedtype": event.type,
        "leafindex": leaf_index,
    }
    if isinstance(state, dict):
        _metadata(state, attributes)
    return _FORMAT.write(CloudEvent(attributes, state)).decode()


def _metadata(state: dict[str, Any], attributes: dict[str, Any]) -> None:
    recorded = state.get("timestamp")
    if isinstance(recorded, dict) and isinstance(recorded.get("_data_"), str):
        with contextlib.suppress(ValueError):  # damaged: the data says what
            attributes["time"] = datetime.fromisoformat(recorded["_data_"])
    if isinstance(state.get("actor"), str):
        attributes["actor"] = state["actor"]
    if isinstance(state.get("idempotency_key"), str):
        attributes["idempotencykey"] = state["idempotency_key"]


def export_lines(
    database: ViewDatabase,
    streams: frozenset[UUID] | None = None,
    progress: Callable[[int], object] | None = None,
) -> Iterator[str]:
    """The whole log, or only these streams' events, in log order, each
    line read in a chunk of its own (a long export holds no transaction)."""
    after, index = 0, 0
    while True:
        with database.reading() as cursor:
            rows = cursor.events_after(after, CHUNK)
        if not rows:
            return
        for row in rows:
            event = StoredEvent.of(row)
            if streams is None or event.stream in streams:
                yield archived(event, index)
            index += 1
        after = rows[-1].id
        if progress is not None:
            progress(len(rows))


@dataclass(frozen=True)
class Imported:
    events: int
    last_position: int


def parse_line(line: str, number: int) -> tuple[int, LibraryEvent]:
    """An archived line: its leaf index, and the stored event to write back."""
    try:
        event = _FORMAT.read(CloudEvent, line.encode())
        attributes = event.get_attributes()
        leaf_index = int(attributes["leafindex"])
        stream, version = str(attributes["id"]).split("/")
        data = event.get_data()
        state = (
            data
            if isinstance(data, bytes)
            else json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
        )
        return leaf_index, LibraryEvent(
            originator_id=UUID(stream),
            originator_version=int(version),
            topic=str(attributes["storedtype"]),
            state=state,
        )
    except (KeyError, ValueError, TypeError, BaseCloudEventException) as error:
        msg = f"line {number}: not an archived event ({error})"
        raise ArchiveError(msg) from None


def _parsed(lines: Iterable[str]) -> Iterator[LibraryEvent]:
    """The file's events, each line checked, and its leaf index the next
    one: a whole log, from its first event, none missing."""
    expected = 0
    versions: dict[UUID | str, int] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        leaf_index, event = parse_line(line, number)
        if leaf_index != expected:
            msg = (
                f"line {number}: leaf {leaf_index} where leaf {expected} was "
                "due: import takes a whole exported log (not one claim's or "
                "source's events, nor a file with lines missing)"
            )
            raise ArchiveError(msg)
        stream = event.originator_id
        if event.originator_version != versions.get(stream, 0) + 1:
            msg = (
                f"line {number}: version {event.originator_version} of stream "
                f"{stream} where version {versions.get(stream, 0) + 1} was due"
            )
            raise ArchiveError(msg)
        versions[stream] = event.originator_version
        expected += 1
        yield event


def import_lines(
    recorder: ApplicationRecorder,
    lines: Callable[[], Iterable[str]],
    progress: Callable[[int], object] | None = None,
) -> Imported:
    """Write archived events into an empty store, in their order, a chunk
    per transaction; ``lines`` gives the file's lines, twice: the whole file
    is checked before anything is written."""
    if recorder.max_notification_id():
        msg = "the store is not empty: import into a new one"
        raise ArchiveError(msg)
    for _ in _parsed(lines()):
        pass
    batch: list[LibraryEvent] = []
    count, last = 0, 0
    for event in _parsed(lines()):
        batch.append(event)
        if len(batch) == CHUNK:
            last = _write(recorder, batch) or last
            count += len(batch)
            if progress is not None:
                progress(len(batch))
            batch = []
    if batch:
        last = _write(recorder, batch) or last
        count += len(batch)
        if progress is not None:
            progress(len(batch))
    return Imported(count, last)


def _write(recorder: ApplicationRecorder, batch: list[LibraryEvent]) -> int:
    positions = recorder.insert_events(batch)
    return max(positions) if positions else 0
