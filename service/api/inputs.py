"""Input types, and how each becomes a command: strings to ids and enums,
UNSET to KEEP. Text rules and limits are the domain's (service.domain.limits),
applied when the command and its values are built, never here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import strawberry

from service.api import types as _registered_enums  # noqa: F401 - registers enums
from service.api.ids import expect_id
from service.application.commands import (
    AmendClaim,
    AmendSource,
    AmendStance,
    CorrectStance,
    CorrectWording,
    LinkClaims,
    ProposeClaim,
    RecordStance,
    RegisterSource,
    RetractStance,
    WithdrawLink,
)
from service.domain.claim import ClaimChanges, StanceChanges
from service.domain.errors import InvalidInputError
from service.domain.source import SourceChanges, SourceProfile
from service.domain.values import (
    KEEP,
    Document,
    Keep,
    LinkKind,
    Period,
    Precision,
    SourceKind,
    StanceKind,
)

T = TypeVar("T")
R = TypeVar("R")


def given(value: T | None, convert: Callable[[T], R]) -> R | Keep | None:
    """An optional amend field: UNSET keeps, null clears, a value converts."""
    if value is strawberry.UNSET:
        return KEEP
    return None if value is None else convert(value)


def required(value: T | None, convert: Callable[[T], R], field: str) -> R | Keep:
    """An amend field every record must have: UNSET keeps, null is refused."""
    if value is None:
        raise InvalidInputError(f"{field} cannot be null", field=field)
    return KEEP if value is strawberry.UNSET else convert(value)


def source_id(value: strawberry.ID) -> UUID:
    return expect_id(value, "Source")


def claim_id(value: strawberry.ID) -> UUID:
    return expect_id(value, "Claim")


def chain_ids(chain: list[strawberry.ID]) -> tuple[UUID, ...]:
    return tuple(source_id(s) for s in chain)


def plain_uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInputError(f"{field} is not a valid id", field=field) from None


@strawberry.input(description="A span of days; DAY/MONTH/YEAR need only start.")
class PeriodInput:
    precision: Precision
    start: date | None = None
    end: date | None = None

    def to_domain(self) -> Period:
        return Period.from_dict(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "precision": self.precision.value,
        }


@strawberry.input
class DocumentInput:
    title: str | None = None
    url: str | None = None
    publisher: str | None = None
    published: date | None = None

    def to_domain(self) -> Document:
        return Document(self.title, self.url, self.publisher, self.published)


def _period(value: PeriodInput) -> Period:
    return value.to_domain()


def _document(value: DocumentInput) -> Document:
    return value.to_domain()


@strawberry.input
class RegisterSourceInput:
    name: str
    kind: SourceKind
    anonymous: bool = False
    key: str | None = None
    descriptor: str | None = None
    affiliation_id: strawberry.ID | None = None
    idempotency_key: str | None = None

    def to_command(self) -> RegisterSource:
        profile = SourceProfile(
            name=self.name,
            kind=self.kind,
            anonymous=self.anonymous,
            descriptor=self.descriptor,
            affiliation_id=source_id(self.affiliation_id)
            if self.affiliation_id is not None
            else None,
        )
        return RegisterSource(profile=profile, key=self.key)


@strawberry.input(
    description="Our own data-entry fix to a source; set only what changes."
)
class AmendSourceInput:
    source_id: strawberry.ID
    expected_version: int
    reason: str
    name: str | None = strawberry.UNSET
    kind: SourceKind | None = strawberry.UNSET
    anonymous: bool | None = strawberry.UNSET
    descriptor: str | None = strawberry.UNSET
    affiliation_id: strawberry.ID | None = strawberry.UNSET
    idempotency_key: str | None = None

    def to_command(self) -> AmendSource:
        changes = SourceChanges(
            name=required(self.name, str, "name"),
            kind=required(self.kind, SourceKind, "kind"),
            anonymous=required(self.anonymous, bool, "anonymous"),
            descriptor=given(self.descriptor, str),
            affiliation_id=given(self.affiliation_id, source_id),
        )
        return AmendSource(
            source_id=source_id(self.source_id),
            expected_version=self.expected_version,
            changes=changes,
            reason=self.reason,
        )


@strawberry.input
class ProposeClaimInput:
    text: str
    about: list[str] = strawberry.field(default_factory=list)
    occurred: PeriodInput | None = None
    key: str | None = None
    idempotency_key: str | None = None

    def to_command(self) -> ProposeClaim:
        return ProposeClaim(
            text=self.text,
            about=tuple(self.about),
            occurred=self.occurred.to_domain() if self.occurred else Period.unknown(),
            key=self.key,
        )


@strawberry.input(
    description="A source's stance, through a chain from origin to teller."
)
class RecordStanceInput:
    claim_id: strawberry.ID
    expected_version: int
    kind: StanceKind
    chain: list[strawberry.ID]
    reported: PeriodInput
    quote: str | None = None
    document: DocumentInput | None = None
    independent: bool = False
    note: str | None = None
    idempotency_key: str | None = None

    def to_command(self) -> RecordStance:
        return RecordStance(
            claim_id=claim_id(self.claim_id),
            expected_version=self.expected_version,
            kind=self.kind,
            chain=chain_ids(self.chain),
            reported=self.reported.to_domain(),
            quote=self.quote,
            document=self.document.to_domain() if self.document else None,
            independent=self.independent,
            note=self.note,
        )


@strawberry.input(description="The source withdrew its stance.")
class RetractStanceInput:
    claim_id: strawberry.ID
    expected_version: int
    stance_id: str
    reason: str
    reported: PeriodInput
    idempotency_key: str | None = None

    def to_command(self) -> RetractStance:
        return RetractStance(
            claim_id=claim_id(self.claim_id),
            expected_version=self.expected_version,
            stance_id=plain_uuid(self.stance_id, "stanceId"),
            reason=self.reason,
            reported=self.reported.to_domain(),
        )


@strawberry.input(
    description="The source published a correction; set only what changed."
)
class CorrectStanceInput:
    claim_id: strawberry.ID
    expected_version: int
    stance_id: str
    reason: str
    reported: PeriodInput
    kind: StanceKind | None = strawberry.UNSET
    quote: str | None = strawberry.UNSET
    document: DocumentInput | None = strawberry.UNSET
    note: str | None = strawberry.UNSET
    idempotency_key: str | None = None

    def to_command(self) -> CorrectStance:
        changes = StanceChanges(
            kind=required(self.kind, StanceKind, "kind"),
            quote=given(self.quote, str),
            document=given(self.document, _document),
            note=given(self.note, str),
        )
        return CorrectStance(
            claim_id=claim_id(self.claim_id),
            expected_version=self.expected_version,
            stance_id=plain_uuid(self.stance_id, "stanceId"),
            changes=changes,
            reason=self.reason,
            reported=self.reported.to_domain(),
        )


@strawberry.input(
    description="Our own data-entry fix to a stance; set only what changes."
)
class AmendStanceInput:
    claim_id: strawberry.ID
    expected_version: int
    stance_id: str
    reason: str
    kind: StanceKind | None = strawberry.UNSET
    quote: str | None = strawberry.UNSET
    document: DocumentInput | None = strawberry.UNSET
    note: str | None = strawberry.UNSET
    chain: list[strawberry.ID] | None = strawberry.UNSET
    reported: PeriodInput | None = strawberry.UNSET
    independent: bool | None = strawberry.UNSET
    idempotency_key: str | None = None

    def to_command(self) -> AmendStance:
        changes = StanceChanges(
            kind=required(self.kind, StanceKind, "kind"),
            quote=given(self.quote, str),
            document=given(self.document, _document),
            note=given(self.note, str),
            chain=required(self.chain, chain_ids, "chain"),
            reported=required(self.reported, _period, "reported"),
            independent=required(self.independent, bool, "independent"),
        )
        return AmendStance(
            claim_id=claim_id(self.claim_id),
            expected_version=self.expected_version,
            stance_id=plain_uuid(self.stance_id, "stanceId"),
            changes=changes,
            reason=self.reason,
        )


@strawberry.input
class CorrectClaimWordingInput:
    claim_id: strawberry.ID
    expected_version: int
    text: str
    reason: str
    idempotency_key: str | None = None

    def to_command(self) -> CorrectWording:
        return CorrectWording(
            claim_id=claim_id(self.claim_id),
            expected_version=self.expected_version,
            text=self.text,
            reason=self.reason,
        )


@strawberry.input(
    description="Our own data-entry fix to a claim; set only what changes."
)
class AmendClaimInput:
    claim_id: strawberry.ID
    expected_version: int
    reason: str
    about: list[str] | None = strawberry.UNSET
    occurred: PeriodInput | None = strawberry.UNSET
    idempotency_key: str | None = None

    def to_command(self) -> AmendClaim:
        return AmendClaim(
            claim_id=claim_id(self.claim_id),
            expected_version=self.expected_version,
            changes=ClaimChanges(
                about=required(self.about, tuple, "about"),
                occurred=required(self.occurred, _period, "occurred"),
            ),
            reason=self.reason,
        )


@strawberry.input
class LinkClaimsInput:
    claim_id: strawberry.ID
    expected_version: int
    target_id: strawberry.ID
    kind: LinkKind
    note: str | None = None
    idempotency_key: str | None = None

    def to_command(self) -> LinkClaims:
        return LinkClaims(
            claim_id=claim_id(self.claim_id),
            expected_version=self.expected_version,
            target_id=claim_id(self.target_id),
            kind=self.kind,
            note=self.note,
        )


@strawberry.input
class WithdrawLinkInput:
    claim_id: strawberry.ID
    expected_version: int
    link_id: str
    reason: str
    idempotency_key: str | None = None

    def to_command(self) -> WithdrawLink:
        return WithdrawLink(
            claim_id=claim_id(self.claim_id),
            expected_version=self.expected_version,
            link_id=plain_uuid(self.link_id, "linkId"),
            reason=self.reason,
        )
