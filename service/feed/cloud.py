"""Log entries as CloudEvents 1.0, in the structured JSON format.

``type`` names the event as schema/events/ does, under the product's prefix;
``dataschema`` is that file's ``$id``, so a consumer can validate ``data``
against it. ``id`` is unique per event and the same on every delivery, so a
consumer that sees it twice knows it is a repeat.
"""

from __future__ import annotations

import json
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from service.feed.entries import LogEntry

SOURCE = "urn:claims-ledger"
TYPE_PREFIX = "org.claims-ledger."
SCHEMA_ID = "urn:claims-ledger:event:{type}"
_FORMAT = JSONFormat()


def cloud_event(entry: LogEntry) -> CloudEvent:
    return CloudEvent(
        {
            "id": entry.event_id,
            "source": SOURCE,
            "type": TYPE_PREFIX + entry.type,
            "subject": f"{entry.stream_kind}s/{entry.stream_id}",
            "time": entry.recorded_at,
            "datacontenttype": "application/json",
            "dataschema": SCHEMA_ID.format(type=entry.type),
            "position": entry.position,
            "streamversion": entry.version,
        },
        entry.data,
    )


def cloud_event_json(entry: LogEntry) -> str:
    """One line of NDJSON: the structured-mode document, no newline inside."""
    return _FORMAT.write(cloud_event(entry)).decode("utf-8")


def cloud_event_dict(entry: LogEntry) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(cloud_event_json(entry))
    return parsed
