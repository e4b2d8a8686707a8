"""Legal deadlines: PRC working days (Art. 34 / O34.2) and calendar months (Art. 33 / O33.2).

The expected dates are worked out by hand from the State Council's 2026 notice
(国务院办公厅关于2026年部分节假日安排的通知) as carried by holidays 0.109, and from the statutory holidays
for 2027, which has no published schedule yet.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from workflows.engine.legaltime.holiday_schedule import MIN_YEAR
from workflows.engine.legaltime.legal_time import (
    CST,
    CalendarError,
    WorkingCalendar,
    add_months,
    end_of_day,
    to_cst,
)


def eod(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, tzinfo=CST)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


# --- the published 2026 schedule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 9, 25),  # 中秋节, Friday
        date(2026, 9, 26),  # Saturday of the Mid-Autumn break
        date(2026, 9, 27),  # Sunday of the Mid-Autumn break
        *(date(2026, 10, d) for d in range(1, 8)),  # 国庆节 1–7 Oct, incl. bridge days 6 and 7 Oct
        date(2026, 3, 14),  # an ordinary Saturday
        date(2026, 3, 15),  # an ordinary Sunday
        date(2026, 2, 16),  # 除夕 (Spring Festival 15–23 Feb)
        date(2026, 2, 23),  # last bridge day of the Spring Festival
        date(2026, 5, 5),  # Labour Day bridge day
    ],
)
def test_2026_days_off(calendar: WorkingCalendar, day: date) -> None:
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize(
    "day",
    [
        # The six make-up working days (调休) of the 2026 notice: all Saturdays or Sundays.
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
        date(2026, 9, 28),  # an ordinary Monday
        date(2026, 10, 8),  # first working day after National Day
    ],
)
def test_2026_working_days(calendar: WorkingCalendar, day: date) -> None:
    assert calendar.is_working_day(day)


def test_2026_is_official_2027_is_not(calendar: WorkingCalendar) -> None:
    official = calendar.official_years()
    assert 2026 in official
    assert 2027 not in official
    # Derived from the package's data: every year it carries a notice for, and nothing we made up.
    assert official == frozenset(range(MIN_YEAR, 2027))


def test_national_day_week_2026(calendar: WorkingCalendar) -> None:
    """Art. 34 / O34.2: measures within 10 working days after an interview held on Monday 2026-09-28.

    Counting starts the day after the interview:
      Tue 09-29 (1), Wed 09-30 (2), Thu 10-01 … Wed 10-07 off (National Day incl. bridge days),
      Thu 10-08 (3), Fri 10-09 (4), Sat 10-10 make-up working day (5), Sun 10-11 off,
      Mon 10-12 (6), Tue 10-13 (7), Wed 10-14 (8), Thu 10-15 (9), Fri 10-16 (10).
    """
    with calendar.track() as usage:
        due = calendar.add_working_days(date(2026, 9, 28), 10)
    assert due == eod(2026, 10, 16)
    assert due.utcoffset() == timedelta(hours=8)
    assert not usage.provisional
    assert usage.provisional_years == set()
    assert usage.consulted_years == {2026}


def test_make_up_sunday_counts(calendar: WorkingCalendar) -> None:
    """Sat 09-19 is off, Sun 09-20 is a make-up working day: one working day after Fri 09-18 is the 20th."""
    assert calendar.add_working_days(date(2026, 9, 18), 1) == eod(2026, 9, 20)


def test_start_on_a_holiday_counts_from_the_next_day(calendar: WorkingCalendar) -> None:
    # Interview on 10-03 (a holiday): next day off too, first working day is Thu 10-08.
    assert calendar.add_working_days(date(2026, 10, 3), 1) == eod(2026, 10, 8)


@pytest.mark.parametrize("n", [0, -1, True, 1.5])
def test_working_days_must_be_a_positive_integer(calendar: WorkingCalendar, n: object) -> None:
    with pytest.raises(CalendarError, match="working days"):
        calendar.add_working_days(date(2026, 9, 28), n)  # type: ignore[arg-type]


# --- timezones -------------------------------------------------------------------------------------------


def test_utc_evening_is_next_cst_day(calendar: WorkingCalendar) -> None:
    """A UTC time late in the evening is already the next day in Nanyang (Art. 34 / O34.2 counting)."""
    # 2026-09-27 16:30 UTC = 2026-09-28 00:30 CST: counted like an interview on Monday 09-28 (see above).
    late_utc = datetime(2026, 9, 27, 16, 30, tzinfo=UTC)
    assert calendar.add_working_days(late_utc, 10) == eod(2026, 10, 16)
    # 15:59 UTC = 23:59 CST on Sunday 09-27: counting starts on Monday 09-28, which is working day 1, so the
    # tenth working day is one earlier, Thu 10-15.
    still_sunday = datetime(2026, 9, 27, 15, 59, tzinfo=UTC)
    assert calendar.add_working_days(still_sunday, 10) == eod(2026, 10, 15)


def test_naive_datetime_is_cst(calendar: WorkingCalendar) -> None:
    assert calendar.add_working_days(datetime(2026, 9, 28, 23, 30), 10) == eod(2026, 10, 16)
    assert to_cst(datetime(2026, 9, 28, 23, 30)) == datetime(2026, 9, 28, 23, 30, tzinfo=CST)


def test_to_cst_and_end_of_day() -> None:
    utc_evening = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert to_cst(utc_evening) == datetime(2027, 1, 1, 4, 0, tzinfo=CST)
    assert to_cst(utc_evening).utcoffset() == timedelta(hours=8)
    assert end_of_day(utc_evening) == eod(2027, 1, 1)
    assert end_of_day(date(2026, 5, 15)) == eod(2026, 5, 15)


def test_is_working_day_reads_datetimes_in_cst(calendar: WorkingCalendar) -> None:
    # Friday 2026-10-09 17:00 UTC is Saturday 10-10 01:00 CST, a make-up working day.
    assert calendar.is_working_day(datetime(2026, 10, 9, 17, 0, tzinfo=UTC))
    # Saturday 2026-10-10 17:00 UTC is Sunday 10-11 in Nanyang: off.
    assert not calendar.is_working_day(datetime(2026, 10, 10, 17, 0, tzinfo=UTC))


# --- calendar months -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 3, 15), 2, eod(2026, 5, 15)),  # DOMAIN.md's example
        (date(2026, 12, 31), 2, eod(2027, 2, 28)),  # no 31 Feb: last day of February
        (date(2025, 8, 31), 6, eod(2026, 2, 28)),  # Spiff's P6M would give 2026-03-03
        (date(2028, 2, 29), 12, eod(2029, 2, 28)),  # leap day to a common year
        (date(2027, 12, 31), 2, eod(2028, 2, 29)),  # leap year: 29 Feb exists
        (date(2026, 1, 31), 3, eod(2026, 4, 30)),
    ],
)
def test_add_months(start: date, months: int, expected: datetime) -> None:
    """Art. 33 / O33.2: rectify within 2 months; Art. 34 three months, Art. 35 six months."""
    assert add_months(start, months) == expected


def test_add_months_does_not_roll_to_a_working_day() -> None:
    """Art. 33 / O33.2: a 2-month deadline ending on a holiday stays there (documented choice)."""
    # 2026-08-01 + 2 months = Thu 2026-10-01, National Day.
    assert add_months(date(2026, 8, 1), 2) == eod(2026, 10, 1)


def test_add_months_uses_the_cst_date() -> None:
    # 2026-03-14 17:00 UTC is already 15 March in Nanyang.
    assert add_months(datetime(2026, 3, 14, 17, 0, tzinfo=UTC), 2) == eod(2026, 5, 15)


@pytest.mark.parametrize("n", [0, -2, True])
def test_add_months_refuses_non_positive(n: int) -> None:
    with pytest.raises(CalendarError, match="months"):
        add_months(date(2026, 3, 15), n)
