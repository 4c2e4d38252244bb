"""Source: a named or anonymous speaker, optionally affiliated with another."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from service.domain.errors import InvalidInputError, NothingToChangeError
from service.domain.recording import LedgerEvent
from service.domain.values import SourceKind

AMENDABLE_SOURCE_FIELDS = ("name", "kind", "anonymous", "descriptor", "affiliation_id")


def _require_text(value: str | None, field: str) -> None:
    if value is not None and not value.strip():
        raise InvalidInputError(f"{field} cannot be blank", field=field)


class Source(Aggregate):
    class Event(LedgerEvent):
        pass

    class Registered(Event, Aggregate.Created):
        key: str | None
        name: str
        kind: str
        anonymous: bool
        descriptor: str | None
        affiliation_id: str | None

    @event(Registered)
    def __init__(
        self,
        *,
        id: UUID,
        key: str | None,
        name: str,
        kind: str,
        anonymous: bool,
        descriptor: str | None,
        affiliation_id: str | None,
    ) -> None:
        self._id = id
        self.key = key
        self.name = name
        self.kind = SourceKind(kind)
        self.anonymous = anonymous
        self.descriptor = descriptor
        self.affiliation_id = affiliation_id

    @classmethod
    def register(
        cls,
        *,
        id: UUID,
        key: str | None,
        name: str,
        kind: SourceKind,
        anonymous: bool,
        descriptor: str | None,
        affiliation_id: UUID | None,
    ) -> Source:
        """An anonymous source must say who it is (its descriptor): 'officials'
        alone tells a reader nothing about why to weigh it."""
        _require_text(name, "name")
        _require_text(descriptor, "descriptor")
        if anonymous and not descriptor:
            raise InvalidInputError(
                "an anonymous source needs a descriptor", field="descriptor"
            )
        if affiliation_id == id:
            raise InvalidInputError("a source cannot be affiliated with itself")
        return cls(
            id=id,
            key=key,
            name=name.strip(),
            kind=kind.value,
            anonymous=anonymous,
            descriptor=descriptor,
            affiliation_id=str(affiliation_id) if affiliation_id else None,
        )

    class Amended(Event):
        """Our own data-entry fix, never a statement by the source."""

        changes: dict[str, Any]
        reason: str

    def amend(self, changes: dict[str, Any], reason: str) -> None:
        unknown = set(changes) - set(AMENDABLE_SOURCE_FIELDS)
        if unknown:
            raise InvalidInputError(f"cannot amend {sorted(unknown)}")
        if not reason.strip():
            raise InvalidInputError("a fix needs a reason", field="reason")
        if "kind" in changes:
            changes["kind"] = SourceKind(changes["kind"]).value
        if changes.get("affiliation_id") == str(self.id):
            raise InvalidInputError("a source cannot be affiliated with itself")
        real = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if not real:
            raise NothingToChangeError("the fix changes nothing")
        self._amend(changes=real, reason=reason)

    @event(Amended)
    def _amend(self, changes: dict[str, Any], reason: str) -> None:
        for name, value in changes.items():
            setattr(self, name, SourceKind(value) if name == "kind" else value)
