"""Source: a named or anonymous speaker, optionally affiliated with another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from service.domain.errors import InvalidInputError, NothingToChangeError
from service.domain.limits import DESCRIPTOR, REASON, SOURCE_NAME
from service.domain.recording import LedgerEvent
from service.domain.values import KEEP, Keep, SourceKind


@dataclass(frozen=True)
class SourceProfile:
    """Who a source is. Registration and every amend build one, so an amended
    source is always one that registration would have accepted.

    An anonymous source must say who it is (its descriptor): 'officials' alone
    tells a reader nothing about why to weigh it."""

    name: str
    kind: SourceKind
    anonymous: bool = False
    descriptor: str | None = None
    affiliation_id: UUID | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", SOURCE_NAME.clean(self.name))
        object.__setattr__(
            self, "descriptor", DESCRIPTOR.clean_optional(self.descriptor)
        )
        if self.anonymous and not self.descriptor:
            raise InvalidInputError(
                "an anonymous source needs a descriptor", field="descriptor"
            )

    def to_event_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "anonymous": self.anonymous,
            "descriptor": self.descriptor,
            "affiliation_id": str(self.affiliation_id) if self.affiliation_id else None,
        }


@dataclass(frozen=True)
class SourceChanges:
    """The fields an amend sets; KEEP leaves one as it is."""

    name: str | Keep = KEEP
    kind: SourceKind | Keep = KEEP
    anonymous: bool | Keep = KEEP
    descriptor: str | Keep | None = KEEP
    affiliation_id: UUID | Keep | None = KEEP

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not KEEP}


def check_no_affiliation_cycle(
    source_id: UUID, parent_id: UUID | None, parent_of: Callable[[UUID], UUID | None]
) -> None:
    """Refuse an affiliation that would lead back to the source itself."""
    seen: set[UUID] = set()
    current = parent_id
    while current is not None and current not in seen:
        if current == source_id:
            raise InvalidInputError(
                "the affiliation would make a cycle (a source under itself)",
                field="affiliationId",
            )
        seen.add(current)
        current = parent_of(current)


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
    def register(cls, *, id: UUID, key: str | None, profile: SourceProfile) -> Source:
        _check_not_self(id, profile)
        return cls(id=id, key=key, **profile.to_event_data())

    def _recorded_fields(self) -> dict[str, Any]:
        """The source as recorded, unchecked: a log written under older rules
        must still load, and an amend may be what repairs it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "anonymous": self.anonymous,
            "descriptor": self.descriptor,
            "affiliation_id": UUID(self.affiliation_id)
            if self.affiliation_id
            else None,
        }

    class Amended(Event):
        """Our own data-entry fix, never a statement by the source."""

        changes: dict[str, Any]
        reason: str

    def amend(self, changes: SourceChanges, reason: str) -> None:
        reason = REASON.clean(reason)
        recorded = self._recorded_fields()
        amended = SourceProfile(**{**recorded, **changes.given()})
        _check_not_self(self.id, amended)
        before = {
            **recorded,
            "kind": self.kind.value,
            "affiliation_id": self.affiliation_id,
        }
        real = {k: v for k, v in amended.to_event_data().items() if before[k] != v}
        if not real:
            raise NothingToChangeError("the fix changes nothing")
        self._amend(changes=real, reason=reason)

    @event(Amended)
    def _amend(self, changes: dict[str, Any], reason: str) -> None:
        for name, value in changes.items():
            setattr(self, name, SourceKind(value) if name == "kind" else value)


def _check_not_self(source_id: UUID, profile: SourceProfile) -> None:
    if profile.affiliation_id == source_id:
        raise InvalidInputError(
            "a source cannot be affiliated with itself", field="affiliationId"
        )
