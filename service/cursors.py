"""Cursors of every Relay connection: a place in a list, opaque to clients.

A cursor names its list (``claims@PROPOSED``, ``sources``, ``statements``,
``history``) before the place's values, so a cursor given to another list,
or of an earlier format, is refused as malformed rather than read as a place
it is not."""

from __future__ import annotations

import base64
import binascii

from service.domain.errors import InvalidInputError


def encode_cursor(kind: str, values: tuple[int | str, ...]) -> str:
    """``kind``: the list (and, for claims, its order); values: the place."""
    text = f"{kind}:{':'.join(str(v) for v in values)}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_cursor(cursor: str, kind: str, field: str = "after") -> list[str]:
    """The values of a cursor of list ``kind`` (``BAD_USER_INPUT`` if it is
    not one)."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise malformed(field) from None
    named, _, values = text.partition(":")
    if named != kind or not values:
        raise malformed(field)
    return values.split(":")


def kind_of(cursor: str) -> str | None:
    """The list a cursor names, if it decodes at all."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    named, colon, _ = text.partition(":")
    return named if colon else None


LARGEST = 2**63 - 1  # a position or a version: a signed 64-bit column


def decode_numbers(cursor: str, kind: str, count: int, field: str) -> list[int]:
    """A cursor whose place is ``count`` integers."""
    values = decode_cursor(cursor, kind, field)
    numbers = [number(v, field) for v in values]
    if len(numbers) != count:
        raise malformed(field)
    return numbers


def number(value: str, field: str) -> int:
    """One of a cursor's integers, within what the store's columns hold."""
    try:
        found = int(value)
    except ValueError:
        raise malformed(field) from None
    if not -LARGEST <= found <= LARGEST:
        raise malformed(field)
    return found


def malformed(field: str) -> InvalidInputError:
    return InvalidInputError("malformed cursor", field=field)
