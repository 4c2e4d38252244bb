"""What a leaf of the audit tree is: the canonical encoding of one stored
event, defined here once and documented in the README ("Auditors").

A leaf is the UTF-8 of a JSON object with exactly these members, keys sorted,
no insignificant whitespace, non-ASCII characters as themselves (RFC 8785's
form for the strings, integers, booleans and nulls an event holds):

- ``stream``: the event's stream (a claim, a source, an idempotency record)
  as a UUID in its 36-character lower-case form;
- ``version``: its version in that stream (1 for the first);
- ``type``: the stored event type (the library's topic);
- ``event``: the stored event's state, as stored: every field, with its
  metadata (``timestamp``, the recorded time; ``actor``; ``idempotency_key``).

A state that is not JSON of well-formed Unicode (which this service never
stores, but an intruder might) has ``stored`` instead of ``event``: its
bytes, base64. So every row has a leaf, and a damaged one is told apart from
the event that was there.

The log position is not in the leaf: a leaf's index in the tree is its
place in the log, so a log replayed elsewhere (whose positions may be
numbered differently) has the same leaves and the same roots."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification

from service.audit.merkle import leaf_hash


@dataclass(frozen=True)
class StoredEvent:
    """One event as the store holds it."""

    position: int
    stream: UUID
    version: int
    type: str
    state: bytes

    @classmethod
    def of(cls, stored: Notification) -> StoredEvent:
        """An event as the library reads it from the log."""
        return cls(
            stored.id,
            UUID(str(stored.originator_id)),
            stored.originator_version,
            stored.topic,
            stored.state,
        )


def canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode()


def leaf_of(event: StoredEvent) -> bytes:
    """The leaf's bytes, whatever the stored state holds."""
    fields: dict[str, Any] = {
        "stream": str(event.stream),
        "version": event.version,
        "type": event.type,
    }
    try:
        return canonical({**fields, "event": json.loads(event.state)})
    except (ValueError, UnicodeError, RecursionError):
        return canonical({**fields, "stored": base64.b64encode(event.state).decode()})


def hash_of(event: StoredEvent) -> bytes:
    return leaf_hash(leaf_of(event))
