"""Writes schema/: the GraphQL SDL and one JSON Schema per stored event type.

Both are derived from the code; a test fails when the checked-in files differ,
so clients and integrators can rely on what is in schema/.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from service.domain.affiliations import Affiliations
from service.domain.claim import Claim
from service.domain.idempotency import IdempotencyRecord
from service.domain.recording import LedgerEvent
from service.domain.source import Source

AGGREGATES: tuple[type, ...] = (Claim, Source, IdempotencyRecord, Affiliations)

PERIOD = {
    "type": "object",
    "required": ["start", "end", "precision"],
    "additionalProperties": False,
    "properties": {
        "start": {"type": ["string", "null"], "format": "date"},
        "end": {"type": ["string", "null"], "format": "date"},
        "precision": {"enum": ["DAY", "MONTH", "YEAR", "UNKNOWN"]},
    },
}
DOCUMENT = {
    "type": "object",
    "required": ["title", "url", "publisher", "published"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": ["string", "null"]},
        "url": {"type": ["string", "null"]},
        "publisher": {"type": ["string", "null"]},
        "published": {"type": ["string", "null"], "format": "date"},
    },
}
# Fields whose dicts have a fixed shape; other dicts are free-form changes.
SHAPED_FIELDS = {"reported": PERIOD, "occurred": PERIOD, "document": DOCUMENT}
ENVELOPE = {
    "originator_id": {"type": "string", "format": "uuid"},
    "originator_version": {"type": "integer", "minimum": 1},
    "timestamp": {"type": "string", "format": "date-time"},
    "originator_topic": {"type": "string"},
    "actor": {"type": "string"},
    "idempotency_key": {"type": ["string", "null"]},
}


def event_classes(
    aggregates: tuple[type, ...] = AGGREGATES,
) -> list[type[LedgerEvent]]:
    """Every event type of the given aggregates (all stored ones by default)."""
    found = []
    for aggregate in aggregates:
        for name in sorted(vars(aggregate)):
            value = getattr(aggregate, name)
            if (
                isinstance(value, type)
                and issubclass(value, LedgerEvent)
                and value.__qualname__.startswith(aggregate.__name__ + ".")
                and name not in ("Event", "Created")
            ):
                found.append(value)
    return found


def event_type_name(cls: type) -> str:
    return cls.__qualname__


def _schema_for(annotation: Any, field: str) -> dict[str, Any]:
    if field in SHAPED_FIELDS:
        shaped = SHAPED_FIELDS[field]
        if _is_optional(annotation):
            return {"oneOf": [shaped, {"type": "null"}]}
        return shaped
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        options = [_schema_for(a, "") for a in typing.get_args(annotation)]
        return {"anyOf": options}
    if annotation is type(None):
        return {"type": "null"}
    if annotation is str:
        return {"type": "string"}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer"}
    if origin is list:
        (item,) = typing.get_args(annotation)
        return {"type": "array", "items": _schema_for(item, "")}
    if origin is dict or annotation is dict:
        return {"type": "object"}
    msg = f"no JSON Schema mapping for {annotation!r} ({field})"
    raise TypeError(msg)


def _is_optional(annotation: Any) -> bool:
    return type(None) in typing.get_args(annotation)


def json_schema(cls: type[LedgerEvent]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    for field in dataclasses.fields(cls):
        name = field.name
        properties[name] = ENVELOPE.get(name) or _schema_for(hints[name], name)
    required = sorted(properties)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:claims-ledger:event:{event_type_name(cls)}",
        "title": event_type_name(cls),
        "description": _docstring(cls),
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def _docstring(cls: type) -> str | None:
    doc = (cls.__doc__ or "").strip()
    # dataclasses invent a signature docstring for classes without one.
    return None if not doc or doc.startswith(cls.__name__ + "(") else doc


def rendered_files() -> dict[str, str]:
    """Every file under schema/, by relative path, as the code defines it."""
    from service.api.schema import schema

    files = {"schema.graphql": schema.as_str() + "\n"}
    for cls in event_classes():
        body = {k: v for k, v in json_schema(cls).items() if v is not None}
        files[f"events/{event_type_name(cls)}.json"] = json.dumps(body, indent=2) + "\n"
    return files


def write_schema_files(directory: Path, *, check: bool = False) -> list[str]:
    """Write (or with ``check``, compare) schema/; return the stale paths."""
    stale = []
    for relative, text in rendered_files().items():
        path = directory / relative
        current = path.read_text() if path.exists() else None
        if current != text:
            stale.append(relative)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
    return stale
