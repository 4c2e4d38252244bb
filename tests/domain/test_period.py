from datetime import date

import pytest

from service.domain.errors import InvalidInputError
from service.domain.values import Period, Precision


def test_month_period_spans_the_whole_month() -> None:
    period = Period.from_dict({"start": "2023-09-01", "precision": "MONTH"})
    assert (period.start, period.end) == (date(2023, 9, 1), date(2023, 9, 30))


def test_day_period_must_be_one_day() -> None:
    with pytest.raises(InvalidInputError):
        Period(date(2023, 10, 2), date(2023, 10, 3), Precision.DAY)


def test_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidInputError):
        Period.between(date(2023, 10, 26), date(2023, 10, 7))


def test_bounded_period_is_certainly_said_only_after_its_end() -> None:
    period = Period.between(date(2023, 10, 7), date(2023, 10, 26))
    assert not period.certainly_by(date(2023, 10, 20))
    assert period.possibly_by(date(2023, 10, 20))
    assert period.certainly_by(date(2023, 10, 26))
    assert not period.possibly_by(date(2023, 10, 6))


def test_open_period_is_possible_at_any_day_and_certain_at_none() -> None:
    period = Period.unknown()
    assert period.possibly_by(date(1900, 1, 1))
    assert not period.certainly_by(date(2100, 1, 1))


def test_period_round_trips_through_its_stored_form() -> None:
    period = Period.month(2023, 9)
    assert Period.from_dict(period.to_dict()) == period


def test_malformed_dates_are_bad_input() -> None:
    with pytest.raises(InvalidInputError):
        Period.from_dict({"start": "2023-13-01", "precision": "DAY"})
