"""Value types of the ledger. Events store them as plain JSON-ready dicts so that
stored events stay readable by any tool (and by auditors) without our classes."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import Enum, StrEnum
from typing import Any

from service.domain.errors import InvalidInputError


class Precision(StrEnum):
    """How precisely a time is known. UNKNOWN means only the bounds (if any)."""

    DAY = "DAY"
    MONTH = "MONTH"
    YEAR = "YEAR"
    UNKNOWN = "UNKNOWN"


class StanceKind(StrEnum):
    AFFIRMS = "AFFIRMS"
    DISPUTES = "DISPUTES"
    DENIES = "DENIES"
    NO_EVIDENCE = "NO_EVIDENCE"
    QUALIFIES = "QUALIFIES"


class LinkKind(StrEnum):
    CONTRADICTS = "CONTRADICTS"
    REFINES = "REFINES"
    CORROBORATES = "CORROBORATES"
    SAME_AS = "SAME_AS"


class ChainRole(StrEnum):
    """A source's place in an attribution chain. A chain of one is its origin."""

    ORIGIN = "ORIGIN"
    INTERMEDIARY = "INTERMEDIARY"
    TELLER = "TELLER"

    @classmethod
    def at(cls, index: int, length: int) -> ChainRole:
        if index == 0:
            return cls.ORIGIN
        return cls.TELLER if index == length - 1 else cls.INTERMEDIARY


class SourceKind(StrEnum):
    OUTLET = "OUTLET"
    GOVERNMENT_BODY = "GOVERNMENT_BODY"
    OFFICIAL = "OFFICIAL"
    ORGANISATION = "ORGANISATION"
    PERSON = "PERSON"
    ANONYMOUS_GROUP = "ANONYMOUS_GROUP"


def _parse_day(value: object, field: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidInputError(f"{field} must be a YYYY-MM-DD date", field=field)


@dataclass(frozen=True)
class Period:
    """A span of days known to contain a moment, with the precision it is known to.

    DAY, MONTH and YEAR periods cover exactly that calendar unit; UNKNOWN periods
    carry whatever bounds are known (either may be open).
    """

    start: date | None
    end: date | None
    precision: Precision

    def __post_init__(self) -> None:
        s, e, p = self.start, self.end, self.precision
        if s is not None and e is not None and s > e:
            raise InvalidInputError("a period cannot end before it starts")
        if p is Precision.UNKNOWN:
            return
        if s is None or e is None:
            raise InvalidInputError(f"a {p.value} period needs both bounds")
        expected = {
            Precision.DAY: (s, s),
            Precision.MONTH: (
                s.replace(day=1),
                s.replace(day=calendar.monthrange(s.year, s.month)[1]),
            ),
            Precision.YEAR: (date(s.year, 1, 1), date(s.year, 12, 31)),
        }[p]
        if (s, e) != expected:
            raise InvalidInputError(
                f"a {p.value} period must span exactly one calendar {p.value.lower()}"
            )

    @classmethod
    def day(cls, d: date) -> Period:
        return cls(d, d, Precision.DAY)

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        last = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last), Precision.MONTH)

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31), Precision.YEAR)

    @classmethod
    def between(cls, start: date | None, end: date | None) -> Period:
        return cls(start, end, Precision.UNKNOWN)

    @classmethod
    def unknown(cls) -> Period:
        return cls(None, None, Precision.UNKNOWN)

    def certainly_by(self, day: date) -> bool:
        """True when the moment is known to be on or before ``day``."""
        return self.end is not None and self.end <= day

    def possibly_by(self, day: date) -> bool:
        """True when the moment may be on or before ``day``."""
        return self.start is None or self.start <= day

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "precision": self.precision.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Period:
        try:
            precision = Precision(data.get("precision", "UNKNOWN"))
        except ValueError:
            raise InvalidInputError("unknown precision", field="precision") from None
        start = _parse_day(data.get("start"), "start")
        end = _parse_day(data.get("end"), "end")
        if precision is not Precision.UNKNOWN and start is not None and end is None:
            # A DAY/MONTH/YEAR period is fully given by its start.
            end = {
                Precision.DAY: start,
                Precision.MONTH: start.replace(
                    day=calendar.monthrange(start.year, start.month)[1]
                ),
                Precision.YEAR: date(start.year, 12, 31),
            }[precision]
        return cls(start, end, precision)


@dataclass(frozen=True)
class Document:
    """Where we read a statement: the document a stance is recorded from."""

    title: str | None = None
    url: str | None = None
    publisher: str | None = None
    published: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "url": self.url,
            "publisher": self.publisher,
            "published": self.published.isoformat() if self.published else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Document | None:
        if data is None:
            return None
        return cls(
            title=data.get("title"),
            url=data.get("url"),
            publisher=data.get("publisher"),
            published=_parse_day(data.get("published"), "published"),
        )


class Keep(Enum):
    """A field an amend leaves as it is (``None`` would mean 'clear it')."""

    KEEP = "KEEP"


KEEP = Keep.KEEP
