"""Legal deadlines in a year the holiday calendar does not know yet (2027: no State Council notice): the
statutory holidays from the law, provisional deadlines marked as such, an invented notice loaded later; the
range of years the calendar answers; and the parser of a notice. The published 2026 schedule, timezones and
calendar months: tests/test_legal_time.py."""

from __future__ import annotations

import threading
from datetime import date, datetime

import holidays
import pytest
from holidays.calendars.chinese import _ChineseLunisolar

from tests.test_legal_time import eod
from workflows.engine.legaltime.holiday_schedule import MAX_YEAR, MIN_YEAR, YearSchedule, parse_schedule
from workflows.engine.legaltime.legal_time import (
    CST,
    CalendarError,
    CalendarUsage,
    WorkingCalendar,
)


@pytest.fixture
def calendar() -> WorkingCalendar:
    """A calendar of this test's own: these tests load schedules into it (tests/conftest.py's is shared)."""
    return WorkingCalendar()


@pytest.fixture
def made_up_2027() -> YearSchedule:
    """An invented 2027 notice (the real one is not out): 5–10 Feb off, Sunday 14 Feb worked."""
    return YearSchedule(
        year=2027,
        holidays=frozenset(
            [date(2027, 1, 1)]
            + [date(2027, 2, d) for d in range(5, 11)]  # Spring Festival
            + [date(2027, 10, d) for d in range(1, 8)]  # National Day with bridge days
        ),
        workdays=frozenset({date(2027, 2, 14)}),
        source="test fixture, not a real notice",
    )


def require_2027_unpublished(calendar: WorkingCalendar) -> None:
    # These tests describe today's situation (holidays 0.109). When a newer package carries the 2027 notice,
    # they must move to the next year without a published schedule rather than silently test nothing.
    assert 2027 not in calendar.official_years(), "holidays now carries 2027: move these tests to 2028"


# --- a year without a published schedule -----------------------------------------------------------------


def test_2027_statutory_holidays(calendar: WorkingCalendar) -> None:
    """2027 is answered from the law: Spring Festival (除夕 Fri 5 Feb, 6–8 Feb, with 6/7 Feb on the weekend
    compensated on 9/10 Feb) is off 5–10 Feb."""
    require_2027_unpublished(calendar)
    assert calendar.is_working_day(date(2027, 2, 4))
    for d in range(5, 11):
        assert not calendar.is_working_day(date(2027, 2, d)), f"2027-02-{d:02d}"
    assert calendar.is_working_day(date(2027, 2, 11))


def test_2027_deadline_is_provisional(calendar: WorkingCalendar) -> None:
    """Art. 34 / O34.2 deadline in 2027: computed from statutory holidays and marked provisional.

    From Thu 2027-02-04: 5–10 Feb off, Thu 02-11 (1), Fri 02-12 (2), Sat/Sun off, Mon 02-15 (3).
    """
    require_2027_unpublished(calendar)
    with calendar.track() as usage:
        due = calendar.add_working_days(date(2027, 2, 4), 3)
    assert due == eod(2027, 2, 15)
    assert usage.provisional
    assert usage.provisional_years == {2027}


def test_deadline_crossing_into_2027_is_provisional(calendar: WorkingCalendar) -> None:
    """Art. 34 / O34.2: an interview in late December 2026 has its 10 working days end in January 2027."""
    require_2027_unpublished(calendar)
    # Mon 12-28 (1) … Thu 12-31 (4), Fri 01-01 off (New Year), Mon 01-04 (5) … Fri 01-08 (9), Mon 01-11 (10).
    with calendar.track() as usage:
        due = calendar.add_working_days(date(2026, 12, 25), 10)
    assert due == eod(2027, 1, 11)
    assert usage.provisional_years == {2027}
    assert usage.consulted_years == {2026, 2027}


def test_loading_the_schedule_makes_2027_official(
    calendar: WorkingCalendar, made_up_2027: YearSchedule
) -> None:
    """Once the 2027 notice is loaded, the same Art. 34 / O34.2 computation uses it and is not provisional.

    From Thu 2027-02-04: 5–10 Feb off, Thu 02-11 (1), Fri 02-12 (2), Sat 02-13 off, Sun 02-14 make-up
    working day (3).
    """
    require_2027_unpublished(calendar)
    calendar.load_schedule(made_up_2027)
    assert 2027 in calendar.official_years()
    with calendar.track() as usage:
        due = calendar.add_working_days(date(2027, 2, 4), 3)
    assert due == eod(2027, 2, 14)
    assert not usage.provisional
    assert usage.consulted_years == {2027}
    # The loaded notice replaces the law-based answer for the whole year: bridge days it lists are off.
    assert not calendar.is_working_day(date(2027, 10, 6))
    assert not calendar.is_working_day(date(2027, 10, 7))


def test_load_schedule_replaces_a_year(made_up_2027: YearSchedule) -> None:
    calendar = WorkingCalendar([made_up_2027])
    assert calendar.add_working_days(date(2027, 2, 4), 3) == eod(2027, 2, 14)
    corrected = YearSchedule(2027, made_up_2027.holidays, frozenset(), source="corrected test fixture")
    calendar.load_schedule(corrected)
    assert not calendar.is_working_day(date(2027, 2, 14))
    assert calendar.add_working_days(date(2027, 2, 4), 3) == eod(2027, 2, 15)


def test_a_loaded_schedule_overrides_the_package() -> None:
    """A correction to a published year (as in 2007, 2013, 2024) is loaded the same way."""
    calendar = WorkingCalendar()
    assert calendar.is_working_day(date(2026, 9, 28))
    calendar.load_schedule(
        YearSchedule(2026, frozenset({date(2026, 9, 28)}), frozenset(), source="test: invented correction")
    )
    assert not calendar.is_working_day(date(2026, 9, 28))
    # The invented correction lists only 28 Sep, so Thursday 1 Oct becomes a working day: a loaded notice is
    # the whole truth for its year, not a patch on top of the package's.
    assert calendar.is_working_day(date(2026, 10, 1))
    assert not calendar.is_working_day(date(2026, 10, 10))  # a Saturday, no longer a make-up day


def test_tracking_is_per_calendar_and_nested(calendar: WorkingCalendar) -> None:
    other = WorkingCalendar()
    with calendar.track() as outer:
        with calendar.track() as inner:
            calendar.is_working_day(date(2027, 3, 1))
        calendar.is_working_day(date(2026, 3, 2))
        with other.track() as elsewhere:
            other.is_working_day(date(2028, 3, 1))
    assert inner.consulted_years == {2027}
    assert outer.consulted_years == {2026, 2027}
    assert outer.provisional_years == {2027}
    assert elsewhere.provisional_years == {2028}
    # Outside any track() block nothing is recorded and nothing fails.
    assert calendar.is_working_day(date(2027, 3, 1))


def test_tracking_does_not_mix_threads(calendar: WorkingCalendar) -> None:
    """Two threads track at the same time on one calendar; each sees only its own lookups."""
    both_tracking = threading.Barrier(2, timeout=10)
    first_done = threading.Event()
    results: dict[str, tuple[datetime, CalendarUsage]] = {}
    errors: list[BaseException] = []

    def provisional_2027() -> None:
        try:
            with calendar.track() as usage:
                both_tracking.wait()
                due = calendar.add_working_days(date(2027, 2, 4), 3)
                first_done.set()
            results["2027"] = (due, usage)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    def official_2026() -> None:
        try:
            with calendar.track() as usage:
                both_tracking.wait()
                assert first_done.wait(timeout=10)
                due = calendar.add_working_days(date(2026, 9, 28), 10)
            results["2026"] = (due, usage)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=provisional_2027), threading.Thread(target=official_2026)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert results["2027"] == (eod(2027, 2, 15), CalendarUsage({2027}, {2027}))
    assert results["2026"] == (eod(2026, 10, 16), CalendarUsage(set(), {2026}))


# --- supported range -------------------------------------------------------------------------------------


def test_supported_range_matches_the_package() -> None:
    """MIN_YEAR/MAX_YEAR are what holidays 0.109 can answer for China; re-checked on every package upgrade."""
    assert holidays.China.start_year <= MIN_YEAR
    assert holidays.China.end_year >= MAX_YEAR
    # The first State Council notice the package encodes is 2001's.
    assert min(WorkingCalendar().official_years()) == MIN_YEAR
    # Lunisolar festival tables and the Qingming approximation must cover MAX_YEAR.
    lunisolar = _ChineseLunisolar()
    assert lunisolar.lunar_new_year_date(MAX_YEAR)[0] is not None
    assert lunisolar.mid_autumn_date(MAX_YEAR)[0] is not None
    assert lunisolar.dragon_boat_date(MAX_YEAR)[0] is not None
    assert lunisolar.qingming_date(MAX_YEAR)[1] is False  # False = not an estimate


@pytest.mark.parametrize("day", [date(MIN_YEAR - 1, 12, 29), date(MAX_YEAR + 1, 1, 4), date(1949, 10, 3)])
def test_years_outside_the_range_are_refused(calendar: WorkingCalendar, day: date) -> None:
    with pytest.raises(CalendarError, match=rf"year {day.year} is outside the supported range"):
        calendar.is_working_day(day)


def test_a_deadline_running_past_the_range_is_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(CalendarError, match=rf"year {MAX_YEAR + 1}"):
        calendar.add_working_days(date(MAX_YEAR, 12, 28), 10)


def test_edges_of_the_range_work(calendar: WorkingCalendar) -> None:
    assert calendar.is_working_day(date(MIN_YEAR, 1, 2))  # Tuesday 2001-01-02
    assert not calendar.is_working_day(date(MAX_YEAR, 1, 1))  # New Year's Day 2099


def test_schedule_for_an_unsupported_year_is_refused() -> None:
    with pytest.raises(CalendarError, match="year 2100 is outside"):
        YearSchedule(2100, frozenset(), frozenset(), source="x")
    with pytest.raises(CalendarError, match="year 2150 is outside"):
        parse_schedule({"year": 2150, "source": "x", "holidays": [], "workdays": []})


def test_cross_year_make_up_days_from_the_package(calendar: WorkingCalendar) -> None:
    # The 2012 notice made Saturday 2011-12-31 a working day; the package files it under 2012.
    assert calendar.is_working_day(date(2011, 12, 31))


# --- parse_schedule --------------------------------------------------------------------------------------


def valid_json() -> dict[str, object]:
    return {
        "year": 2027,
        "source": "国务院办公厅通知 国办发明电〔2026〕N号 (test)",
        "holidays": ["2027-01-01", "2027-02-05", "2027-02-06"],
        "workdays": ["2027-02-14"],
    }


def test_parse_schedule() -> None:
    schedule = parse_schedule(valid_json())
    assert schedule == YearSchedule(
        year=2027,
        holidays=frozenset({date(2027, 1, 1), date(2027, 2, 5), date(2027, 2, 6)}),
        workdays=frozenset({date(2027, 2, 14)}),
        source="国务院办公厅通知 国办发明电〔2026〕N号 (test)",
    )
    assert WorkingCalendar([schedule]).is_working_day(date(2027, 2, 14))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"holidays": ["2027-01-01", "2027-02-30"]}, r"holidays\[1\] = '2027-02-30' is not a valid date"),
        ({"holidays": ["2027/01/01"]}, r"holidays\[0\] = '2027/01/01' is not a date in the form YYYY-MM-DD"),
        ({"holidays": ["20270101"]}, r"holidays\[0\] = '20270101' is not a date in the form YYYY-MM-DD"),
        ({"workdays": ["2026-12-26"]}, r"workdays\[0\] = '2026-12-26' is not in year 2027"),
        ({"workdays": ["2027-02-06"]}, r"both as holidays and workdays: 2027-02-06"),
        ({"workdays": ["2027-02-10"]}, r"workday 2027-02-10 is a Wednesday"),
        ({"holidays": ["2027-01-01", "2027-01-01"]}, r"holidays\[1\] = '2027-01-01' is listed twice"),
        ({"holidays": "2027-01-01"}, r"holidays must be a list"),
        ({"year": "2027"}, r"year must be an integer, got '2027'"),
        ({"source": " "}, r"source must be a non-empty string"),
        ({"workday": []}, r"unknown field\(s\): workday"),
    ],
)
def test_parse_schedule_rejects_malformed_input(change: dict[str, object], message: str) -> None:
    data = valid_json() | change
    with pytest.raises(CalendarError, match=message):
        parse_schedule(data)


def test_parse_schedule_requires_all_fields() -> None:
    data = valid_json()
    del data["workdays"]
    with pytest.raises(CalendarError, match="missing field"):
        parse_schedule(data)
    with pytest.raises(CalendarError, match="JSON object"):
        parse_schedule(["2027-01-01"])  # type: ignore[arg-type]


def test_year_schedule_validates_direct_construction() -> None:
    with pytest.raises(CalendarError, match="2026-12-31, which is not in 2027"):
        YearSchedule(2027, frozenset({date(2026, 12, 31)}), frozenset(), source="x")
    with pytest.raises(CalendarError, match="both as holidays and workdays: 2027-02-14"):
        YearSchedule(2027, frozenset({date(2027, 2, 14)}), frozenset({date(2027, 2, 14)}), source="x")
    with pytest.raises(CalendarError, match="not a date"):
        YearSchedule(2027, frozenset({datetime(2027, 2, 5, 0, 0)}), frozenset(), source="x")
    with pytest.raises(CalendarError, match="source"):
        YearSchedule(2027, frozenset(), frozenset(), source="")


def test_working_days_before_for_reminders() -> None:
    """Reminders start N working days before a deadline (issue default 3): across 国庆 2026, 3 working days
    before Friday 16 Oct is Tuesday 13 Oct; 3 before Monday 12 Oct is Thursday 8 Oct (10 Oct, a Saturday,
    is a make-up working day and counts; 11 Oct is a Sunday)."""
    cal = WorkingCalendar()
    assert cal.working_days_before(date(2026, 10, 16), 3) == datetime(2026, 10, 13, tzinfo=CST)
    assert cal.working_days_before(datetime(2026, 10, 12, 23, 59, 59, tzinfo=CST), 3) == datetime(
        2026, 10, 8, tzinfo=CST
    )
    with pytest.raises(CalendarError):
        cal.working_days_before(date(2026, 10, 16), 0)
