"""The README's table of input limits says what service/domain/limits.py does."""

from __future__ import annotations

import re
from pathlib import Path

from service.domain import limits

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
TABLE = README.split("<!-- limits:")[1].split("\n\n")[0]


def row(field: str) -> str:
    (line,) = [r for r in TABLE.splitlines() if r.startswith(f"| {field}")]
    return line


def numbers(line: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", line.split("|")[2])]


def test_every_text_limit_is_in_the_readme_as_defined() -> None:
    rules = {
        "claim `text`": [limits.CLAIM_TEXT.max_length],
        "`about`": [limits.ENTITY.max_length, limits.MAX_ENTITIES],
        "source `name`": [limits.SOURCE_NAME.max_length],
        "`descriptor`": [limits.DESCRIPTOR.max_length],
        "`quote`": [limits.QUOTE.max_length],
        "`note`, `reason`": [limits.NOTE.max_length],
        "`document.title`": [limits.DOCUMENT_TITLE.max_length],
        "`document.publisher`": [limits.DOCUMENT_PUBLISHER.max_length],
        "`idempotencyKey`": [limits.IDEMPOTENCY_KEY.max_length],
        "`claims(text:)`": [limits.SEARCH_TEXT.max_length],
        "`chain`": [limits.MAX_CHAIN],
    }
    assert limits.REASON.max_length == limits.NOTE.max_length
    assert limits.DOCUMENT_URL.max_length == limits.DOCUMENT_TITLE.max_length
    for field, expected in rules.items():
        assert numbers(row(field)) == expected, field
    assert len(TABLE.splitlines()) - 3 == len(rules) + 1  # + the key pattern
