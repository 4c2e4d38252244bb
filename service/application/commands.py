"""The write use cases as typed commands: what a client asks the ledger to do.

Each command is a frozen dataclass holding domain values, so everything a
request says is in one object: the ledger fingerprints the whole command for
idempotency, and no field can be left out of that by accident. Changes to an
existing stance, claim or source are the domain's typed change values (KEEP
for what stays).

A command normalises its fields when it is built, by the domain's own rules
(service.domain.limits), so a request is refused before anything is read and
two requests that will record the same thing share a fingerprint. The
aggregates apply the same rules again (they are idempotent) to guard their
invariants for any caller.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from enum import Enum
from typing import Any
from uuid import UUID

from service.domain.claim import (
    ClaimChanges,
    StanceChanges,
    check_chain,
    check_document,
    check_entities,
)
from service.domain.limits import CLAIM_TEXT, NOTE, QUOTE, REASON, check_key
from service.domain.source import SourceChanges, SourceProfile
from service.domain.values import KEEP, Document, LinkKind, Period, StanceKind


@dataclass(frozen=True)
class Command:
    def _normalise(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    def fingerprint(self) -> str:
        """Equal for equal requests, different when any field differs."""
        canonical = json.dumps(
            [type(self).__name__, _plain(self)], sort_keys=True, ensure_ascii=True
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """A JSON-ready picture of a command: fields by name, KEEP left out."""
    if isinstance(value, Period | Document):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not KEEP
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class RegisterSource(Command):
    profile: SourceProfile
    key: str | None = None

    def __post_init__(self) -> None:
        check_key(self.key)


@dataclass(frozen=True)
class AmendSource(Command):
    source_id: UUID
    expected_version: int
    changes: SourceChanges
    reason: str

    def __post_init__(self) -> None:
        self._normalise("reason", REASON.clean(self.reason))


@dataclass(frozen=True)
class ProposeClaim(Command):
    text: str
    about: tuple[str, ...] = ()
    occurred: Period = dataclasses.field(default_factory=Period.unknown)
    key: str | None = None

    def __post_init__(self) -> None:
        check_key(self.key)
        self._normalise("text", CLAIM_TEXT.clean(self.text))
        self._normalise("about", tuple(check_entities(self.about)))


@dataclass(frozen=True)
class ClaimCommand(Command):
    """A change to an existing claim, at the version the client last read."""

    claim_id: UUID
    expected_version: int


@dataclass(frozen=True)
class RecordStance(ClaimCommand):
    kind: StanceKind
    chain: tuple[UUID, ...]
    reported: Period
    quote: str | None = None
    document: Document | None = None
    independent: bool = False
    note: str | None = None
    stance_id: UUID | None = None

    def __post_init__(self) -> None:
        self._normalise("chain", check_chain(self.chain))
        self._normalise("quote", QUOTE.clean_optional(self.quote))
        self._normalise("note", NOTE.clean_optional(self.note))
        self._normalise("document", check_document(self.document))


@dataclass(frozen=True)
class RetractStance(ClaimCommand):
    stance_id: UUID
    reason: str
    reported: Period

    def __post_init__(self) -> None:
        self._normalise("reason", REASON.clean(self.reason))


@dataclass(frozen=True)
class CorrectStance(ClaimCommand):
    stance_id: UUID
    changes: StanceChanges
    reason: str
    reported: Period

    def __post_init__(self) -> None:
        self._normalise("reason", REASON.clean(self.reason))


@dataclass(frozen=True)
class AmendStance(ClaimCommand):
    stance_id: UUID
    changes: StanceChanges
    reason: str

    def __post_init__(self) -> None:
        self._normalise("reason", REASON.clean(self.reason))


@dataclass(frozen=True)
class CorrectWording(ClaimCommand):
    text: str
    reason: str

    def __post_init__(self) -> None:
        self._normalise("text", CLAIM_TEXT.clean(self.text))
        self._normalise("reason", REASON.clean(self.reason))


@dataclass(frozen=True)
class AmendClaim(ClaimCommand):
    changes: ClaimChanges
    reason: str

    def __post_init__(self) -> None:
        self._normalise("reason", REASON.clean(self.reason))


@dataclass(frozen=True)
class LinkClaims(ClaimCommand):
    target_id: UUID
    kind: LinkKind
    note: str | None = None
    link_id: UUID | None = None

    def __post_init__(self) -> None:
        self._normalise("note", NOTE.clean_optional(self.note))


@dataclass(frozen=True)
class WithdrawLink(ClaimCommand):
    link_id: UUID
    reason: str

    def __post_init__(self) -> None:
        self._normalise("reason", REASON.clean(self.reason))
