"""The one rule for every text the ledger stores or filters by.

A text is accepted when it is a well-formed Unicode string (no lone UTF-16
surrogates), holds no control characters (a multi-line text may hold line
breaks and tabs), and has something visible in it: whitespace and invisible
format characters (zero-width spaces, joiners, direction marks) alone are blank.
It is stored NFC-normalised, with surrounding whitespace removed and line
breaks as ``\\n``. Format characters inside a text are kept: Persian needs the
zero-width non-joiner, and emoji need the joiner.

Each field's rule (its name as clients know it, its length, whether it may span
lines) is declared once in ``service.domain.limits``; every command that sets
the field, and every filter that searches it, applies that one rule.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, replace

from service.domain.errors import InvalidInputError

_LINE_BREAKS = {"\n", "\t"}
_INVISIBLE = {"Cf", "Zs", "Zl", "Zp", "Cc"}


@dataclass(frozen=True)
class TextRule:
    """How one field's text is checked: ``field`` is the name clients use."""

    field: str
    max_length: int
    multiline: bool = False

    def clean(self, value: str) -> str:
        """The text as stored, or InvalidInputError naming the field."""
        check_well_formed(value, self.field)
        text = unicodedata.normalize("NFC", value.replace("\r\n", "\n")).strip()
        for char in text:
            if unicodedata.category(char) == "Cc" and not (
                self.multiline and char in _LINE_BREAKS
            ):
                raise InvalidInputError(
                    f"{self.field} holds a control character "
                    f"(U+{ord(char):04X}); only "
                    + ("line breaks and tabs are" if self.multiline else "none is")
                    + " allowed",
                    field=self.field,
                )
            if not self.multiline and char in "\u2028\u2029":
                raise InvalidInputError(
                    f"{self.field} is a single line", field=self.field
                )
        if all(unicodedata.category(c) in _INVISIBLE for c in text):
            raise InvalidInputError(f"{self.field} cannot be blank", field=self.field)
        if len(text) > self.max_length:
            raise InvalidInputError(
                f"{self.field} is longer than {self.max_length} characters",
                field=self.field,
                max_length=self.max_length,
            )
        return text

    def for_field(self, field: str) -> TextRule:
        """The same rule, for an argument of another name (a filter)."""
        return replace(self, field=field)

    def clean_optional(self, value: str | None) -> str | None:
        return None if value is None else self.clean(value)


def check_well_formed(value: str, field: str) -> None:
    """Refuse lone surrogates: JSON can carry them (``"\\ud800"``), but no
    store, hash or UTF-8 encoder can."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInputError(
            f"{field} is not valid Unicode (it holds a lone surrogate)", field=field
        ) from None
