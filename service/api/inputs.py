"""Input types and their shape checks (lengths, formats, ids). Rules about
existence and invariants belong to the ledger, not here."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import strawberry

from service.api import types as _registered_enums  # noqa: F401 - registers enums
from service.api.ids import expect_id
from service.domain.errors import InvalidInputError
from service.domain.values import (
    Document,
    LinkKind,
    Period,
    Precision,
    SourceKind,
    StanceKind,
)

KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
MAX_TEXT = 2_000
MAX_QUOTE = 10_000
MAX_NOTE = 4_000
MAX_CHAIN = 20
MAX_ENTITIES = 50


def check_length(value: str | None, field: str, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise InvalidInputError(
            f"{field} is longer than {limit} characters", field=field
        )
    return value


def check_key(value: str | None) -> str | None:
    if value is not None and not KEY_PATTERN.match(value):
        raise InvalidInputError(
            "a key is 1-100 lowercase letters, digits and dashes", field="key"
        )
    return value


def check_idempotency_key(value: str | None) -> str | None:
    return check_length(value, "idempotencyKey", 200)


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
        check_length(self.title, "document.title", MAX_TEXT)
        check_length(self.url, "document.url", MAX_TEXT)
        check_length(self.publisher, "document.publisher", MAX_TEXT)
        return Document(self.title, self.url, self.publisher, self.published)


@strawberry.input
class RegisterSourceInput:
    name: str
    kind: SourceKind
    anonymous: bool = False
    key: str | None = None
    descriptor: str | None = None
    affiliation_id: strawberry.ID | None = None
    idempotency_key: str | None = None


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


@strawberry.input
class ProposeClaimInput:
    text: str
    about: list[str] = strawberry.field(default_factory=list)
    occurred: PeriodInput | None = None
    key: str | None = None
    idempotency_key: str | None = None


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


@strawberry.input(description="The source withdrew its stance.")
class RetractStanceInput:
    claim_id: strawberry.ID
    expected_version: int
    stance_id: str
    reason: str
    reported: PeriodInput
    idempotency_key: str | None = None


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


@strawberry.input
class CorrectClaimWordingInput:
    claim_id: strawberry.ID
    expected_version: int
    text: str
    reason: str
    idempotency_key: str | None = None


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


@strawberry.input
class LinkClaimsInput:
    claim_id: strawberry.ID
    expected_version: int
    target_id: strawberry.ID
    kind: LinkKind
    note: str | None = None
    idempotency_key: str | None = None


@strawberry.input
class WithdrawLinkInput:
    claim_id: strawberry.ID
    expected_version: int
    link_id: str
    reason: str
    idempotency_key: str | None = None


def set_fields(data: object, names: tuple[str, ...]) -> dict[str, Any]:
    """The optional fields a client actually sent (UNSET means 'leave as is')."""
    return {
        name: getattr(data, name)
        for name in names
        if getattr(data, name) is not strawberry.UNSET
    }


def revision_changes(data: object, names: tuple[str, ...]) -> dict[str, Any]:
    changes = set_fields(data, names)
    if changes.get("kind") is not None:
        changes["kind"] = changes["kind"].value
    if "document" in changes and changes["document"] is not None:
        changes["document"] = changes["document"].to_domain().to_dict()
    if "reported" in changes:
        if changes["reported"] is None:
            raise InvalidInputError("reported cannot be null", field="reported")
        changes["reported"] = changes["reported"].to_dict()
    if "chain" in changes:
        if changes["chain"] is None:
            raise InvalidInputError("chain cannot be null", field="chain")
        changes["chain"] = [str(expect_id(s, "Source")) for s in changes["chain"]]
    check_length(changes.get("quote"), "quote", MAX_QUOTE)
    check_length(changes.get("note"), "note", MAX_NOTE)
    for name in ("kind", "independent"):
        if name in changes and changes[name] is None:
            raise InvalidInputError(f"{name} cannot be null", field=name)
    return changes


def chain_ids(chain: list[strawberry.ID]):  # type: ignore[no-untyped-def]
    if len(chain) > MAX_CHAIN:
        raise InvalidInputError(f"a chain has at most {MAX_CHAIN} hops", field="chain")
    return [expect_id(s, "Source") for s in chain]


def entities(about: list[str]) -> list[str]:
    if len(about) > MAX_ENTITIES:
        raise InvalidInputError(f"at most {MAX_ENTITIES} entities", field="about")
    for entity in about:
        check_length(entity, "about", 200)
    return about
