"""Every input limit of the ledger, defined once.

Commands apply these wherever a field can be set (registration and amends
alike), and read filters apply the same rule to what they search by.
"""

from __future__ import annotations

import re

from service.domain.errors import InvalidInputError
from service.domain.text import TextRule, check_well_formed

CLAIM_TEXT = TextRule("text", 2_000)
ENTITY = TextRule("about", 200)
SOURCE_NAME = TextRule("name", 500)
DESCRIPTOR = TextRule("descriptor", 2_000)
QUOTE = TextRule("quote", 10_000, multiline=True)
NOTE = TextRule("note", 4_000, multiline=True)
REASON = TextRule("reason", 4_000, multiline=True)
DOCUMENT_TITLE = TextRule("document.title", 2_000)
DOCUMENT_URL = TextRule("document.url", 2_000)
DOCUMENT_PUBLISHER = TextRule("document.publisher", 500)
IDEMPOTENCY_KEY = TextRule("idempotencyKey", 200)
SEARCH_TEXT = TextRule("text", 200)

MAX_CHAIN = 20
MAX_ENTITIES = 50
MAX_FILTER_ITEMS = 100  # ids, types or actors in one change-feed filter

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")


def check_key(value: str | None, field: str = "key") -> str | None:
    """A natural key: 1-100 lowercase letters, digits and dashes."""
    if value is None:
        return None
    check_well_formed(value, field)
    if not KEY_PATTERN.fullmatch(value):
        raise InvalidInputError(
            "a key is 1-100 lowercase letters, digits and dashes", field=field
        )
    return value


def check_count(items: tuple[object, ...], field: str, limit: int) -> None:
    if len(items) > limit:
        raise InvalidInputError(f"{field} holds at most {limit} items", field=field)
