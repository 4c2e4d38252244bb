"""The one rule for every text the ledger stores or filters by.

A text is accepted when it is a well-formed Unicode string (no lone UTF-16
surrogates, no noncharacters such as U+FFFF), holds no control characters (a
multi-line text may hold line breaks and tabs), and has something visible in
it: at least one letter, number, punctuation mark or symbol that is not one of
Unicode's default-ignorable code points (zero-width spaces and joiners,
direction marks, variation selectors, the Hangul fillers) or a blank glyph
(the Braille blank). Whitespace, combining marks and format characters alone
are blank.
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
_VISIBLE_CATEGORIES = ("L", "N", "P", "S")

# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt),
# plus the Braille pattern blank, which renders as nothing.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def _invisible(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def _visible(char: str) -> bool:
    return unicodedata.category(char).startswith(_VISIBLE_CATEGORIES) and not (
        _invisible(char)
    )


def _noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


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
            if _noncharacter(char):
                raise InvalidInputError(
                    f"{self.field} holds a noncharacter (U+{ord(char):04X})",
                    field=self.field,
                )
            if unicodedata.category(char) == "Cc" and not (
                self.multiline and char in _LINE_BREAKS
            ):
                allowed = (
                    "; only line breaks and tabs are allowed" if self.multiline else ""
                )
                raise InvalidInputError(
                    f"{self.field} holds a control character "
                    f"(U+{ord(char):04X}){allowed}",
                    field=self.field,
                )
            if not self.multiline and char in "\u2028\u2029":
                raise InvalidInputError(
                    f"{self.field} is a single line", field=self.field
                )
        if not any(_visible(c) for c in text):
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


def malformed(value: str) -> bool:
    """True for a string with a lone surrogate: JSON can carry one
    (``"\\ud800"``), but no store, hash or UTF-8 encoder can."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_well_formed(value: str, field: str) -> None:
    if malformed(value):
        raise InvalidInputError(
            f"{field} is not valid Unicode (it holds a lone surrogate)", field=field
        )
