"""Relay global ids: base64 of 'Type:uuid', opaque to clients."""

from __future__ import annotations

import binascii
from uuid import UUID

from strawberry.relay import from_base64, to_base64

from service.domain.errors import InvalidInputError


def global_id(type_name: str, value: UUID) -> str:
    return to_base64(type_name, str(value))


def parse_global_id(value: str, expected: str | None = None) -> tuple[str, UUID]:
    """Decode a global id; a bare UUID is accepted for the expected type."""
    try:
        return (
            (expected, UUID(value)) if expected and _is_uuid(value) else _decode(value)
        )
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInputError("malformed id", id=value) from None


def _decode(value: str) -> tuple[str, UUID]:
    type_name, raw = from_base64(value)
    return type_name, UUID(raw)


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def expect_id(value: str, type_name: str) -> UUID:
    found, uuid = parse_global_id(value, type_name)
    if found != type_name:
        raise InvalidInputError(f"expected a {type_name} id", id=value)
    return uuid
