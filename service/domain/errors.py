"""Domain errors, each with a stable machine-readable code.

    DomainError
    ├── InvalidInputError            BAD_USER_INPUT
    ├── NotFoundError
    │   ├── ClaimNotFoundError       CLAIM_NOT_FOUND
    │   ├── SourceNotFoundError      SOURCE_NOT_FOUND
    │   ├── StanceNotFoundError      STANCE_NOT_FOUND
    │   └── LinkNotFoundError        LINK_NOT_FOUND
    ├── ConflictError
    │   ├── VersionConflictError     VERSION_CONFLICT
    │   ├── AlreadyExistsError       ALREADY_EXISTS
    │   └── IdempotencyKeyReusedError IDEMPOTENCY_KEY_REUSED
    └── RuleViolationError
        ├── StanceAlreadyRetractedError STANCE_ALREADY_RETRACTED
        ├── NothingToChangeError     NOTHING_TO_CHANGE
        └── SelfLinkError            SELF_LINK

Callers catch a family (``NotFoundError``) or a leaf; the GraphQL layer only
reads ``code``, ``message`` and ``details``.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "DOMAIN_ERROR"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInputError(DomainError):
    """Raised when a value breaks a rule of its type (an inverted interval, an
    empty quote)."""

    code = "BAD_USER_INPUT"


class NotFoundError(DomainError):
    code = "NOT_FOUND"


class ClaimNotFoundError(NotFoundError):
    code = "CLAIM_NOT_FOUND"


class SourceNotFoundError(NotFoundError):
    code = "SOURCE_NOT_FOUND"


class StanceNotFoundError(NotFoundError):
    code = "STANCE_NOT_FOUND"


class LinkNotFoundError(NotFoundError):
    code = "LINK_NOT_FOUND"


class ConflictError(DomainError):
    code = "CONFLICT"


class VersionConflictError(ConflictError):
    """Raised when the client's expected version is not the stream's current one:
    somebody else wrote first, so the client must re-read and decide again."""

    code = "VERSION_CONFLICT"


class AlreadyExistsError(ConflictError):
    """Raised when a natural key (a source's or claim's key) is already taken."""

    code = "ALREADY_EXISTS"


class IdempotencyKeyReusedError(ConflictError):
    """Raised when an idempotency key comes back with a different request:
    replaying the first answer would hide that the second was never recorded."""

    code = "IDEMPOTENCY_KEY_REUSED"


class RuleViolationError(DomainError):
    code = "RULE_VIOLATION"


class StanceAlreadyRetractedError(RuleViolationError):
    code = "STANCE_ALREADY_RETRACTED"


class NothingToChangeError(RuleViolationError):
    """Raised when a correction or fix would record no change at all."""

    code = "NOTHING_TO_CHANGE"


class SelfLinkError(RuleViolationError):
    code = "SELF_LINK"
