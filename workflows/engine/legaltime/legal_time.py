"""Legal deadlines for the responsibility system: PRC working days and calendar months.

The regulation sets two kinds of period (DOMAIN.md, "Time"):

* working-day periods, e.g. Art. 34 / O34.2 "report rectification measures within 10 working days after the
  interview": weekends and public holidays are off, make-up working days (调休) are worked;
* calendar-month periods, e.g. Art. 33 / O33.2 "rectify within 2 months": 15 March + 2 months = 15 May.

Both are computed here, in plain Python, and handed to the engine as absolute datetimes with an explicit
+08:00 offset, because SpiffWorkflow's own month arithmetic is not calendar months and a naive datetime would
be read in the server's zone (ENGINE_NOTES.md, "Timers").

Working days depend on the State Council's yearly schedule
(国务院办公厅关于某年部分节假日安排的通知), which is published only in November or December of the year
before. A deadline that reaches into a year without a published schedule can still be computed from the
statutory holidays (the law fixes which festivals are off and that a festival on a weekend is compensated on
the next working day), but the published schedule may move days around (bridge days, make-up Saturdays).
Such answers are *provisional*: ``WorkingCalendar.track()`` reports them so the engine can store the deadline
as provisional and recompute it once the schedule is loaded with ``WorkingCalendar.load_schedule()``.
The schedules themselves (a typed-in notice, the package's data, the supported years) are in
``holiday_schedule``; this module counts with them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from dateutil.relativedelta import relativedelta

from workflows.engine.legaltime.holiday_schedule import (
    CalendarError,
    YearSchedule,
    check_year,
    days_in_year,
    package_days_off,
    package_official_years,
)

__all__ = [
    "CST",
    "CalendarError",
    "CalendarUsage",
    "WorkingCalendar",
    "add_months",
    "end_of_day",
    "to_cst",
]

#: China Standard Time. Every deadline carries this offset so it means the same instant on any server.
CST = timezone(timedelta(hours=8))


def _check_count(n: int, unit: str) -> None:
    # bool is an int subclass; True working days is almost certainly a bug at the call site.
    if isinstance(n, bool) or not isinstance(n, int):
        raise CalendarError(f"the number of {unit} must be an integer, got {n!r}")
    if n < 1:
        raise CalendarError(f"the number of {unit} must be at least 1, got {n}")


def to_cst(dt: datetime) -> datetime:
    """Return ``dt`` as a +08:00 datetime.

    A naive datetime is taken to be CST already (that is how people in Nanyang write times; reading it in the
    server's zone would shift deadlines by eight hours on a UTC server). An aware datetime is converted, so
    23:30 UTC becomes 07:30 CST on the next day.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        return dt.replace(tzinfo=CST)
    return dt.astimezone(CST)


def _local_date(value: date | datetime) -> date:
    """The calendar date in Nanyang of ``value``; a plain ``date`` is already one."""
    if isinstance(value, datetime):
        return to_cst(value).date()
    return value


def end_of_day(d: date | datetime) -> datetime:
    """Return 23:59:59 CST of the (CST) day of ``d``.

    "Within N days" includes the whole last day, so a deadline is the last second of that day rather than
    midnight at its start, which would take the last day away from the unit.
    """
    return datetime.combine(_local_date(d), time(23, 59, 59), tzinfo=CST)


def add_months(start: date | datetime, n: int) -> datetime:
    """Deadline of a period of ``n`` calendar months from ``start``: the same day-of-month ``n`` months later.

    Used for Art. 33 / O33.2 (rectify within 2 months), Art. 34 (3 months), Art. 35 (6 months). When the
    target month is shorter, the period ends on its last day (31 Dec 2026 + 2 months = 28 Feb 2027), the
    usual rule for month periods in Chinese law. The arithmetic is dateutil's ``relativedelta`` (installed as
    a dependency of ``holidays``), not hand-written, and not SpiffWorkflow's ISO duration, which counts
    2024-12-31 + P2M as 2025-03-03.

    The result is deliberately *not* moved to the next working day when it falls on a weekend or holiday:
    the regulation and DOMAIN.md count plain calendar months, and a rolled date would depend on the holiday
    schedule, so a month deadline in a year without a published schedule would become provisional and could
    move when the schedule is published. A process that wants the Civil-Code style extension to the next
    working day (民法典第二百零三条) has to ask for it explicitly, so that the choice is visible in the
    model: the first working day on or after ``d`` is ``calendar.add_working_days(d - timedelta(days=1), 1)``.

    Returns the end of that day, 23:59:59 CST. ``start`` as a datetime is converted to CST first.
    """
    _check_count(n, "months")
    return end_of_day(_local_date(start) + relativedelta(months=n))


@dataclass
class CalendarUsage:
    """What a computation looked up while ``WorkingCalendar.track()`` was active.

    ``provisional_years`` are the years consulted that had no published schedule at the time; a deadline
    computed with any of them must be stored as provisional and recomputed when such a year's schedule is
    loaded. ``consulted_years`` are all years consulted, for recomputing after a correction to an official
    year.
    """

    provisional_years: set[int] = field(default_factory=set)
    consulted_years: set[int] = field(default_factory=set)

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


# Active trackers of the current context, innermost last. A ContextVar (not a thread-local or an attribute
# of the calendar) so that concurrent requests, threads and asyncio tasks sharing one calendar never see
# each other's lookups. Module level because ContextVars are meant to be created once, not per instance.
_ACTIVE_USAGE: ContextVar[tuple[tuple[WorkingCalendar, CalendarUsage], ...]] = ContextVar(
    "legal_time_active_usage", default=()
)


class WorkingCalendar:
    """PRC working days (Art. 34 / O34.2 "within 10 working days"): official where possible, else provisional.

    A year is answered from, in order of precedence:

    1. a schedule given to ``load_schedule`` (or the constructor): the published notice as typed in;
    2. the State Council schedule carried by the ``holidays`` package (2001–2026 in version 0.109);
    3. otherwise the statutory holidays as ``holidays`` computes them from the law (New Year, Spring
       Festival incl. New Year's Eve, Qingming, Labour Day, Dragon Boat, Mid-Autumn, National Day; a holiday
       falling on a weekend compensated on the next working day) and plain Saturdays/Sundays off. These
       answers are provisional and are reported through ``track()``; they are never an error, because a
       deadline in January must be computable in November before the notice is out.

    Years outside ``holiday_schedule.MIN_YEAR``–``MAX_YEAR`` raise CalendarError rather than guess.

    Known limit: a notice has occasionally made a Saturday in late December of the *previous* year a
    working day (2011-12-31 for 2012). The package knows the past cases; for a future notice such a day must
    be added to the earlier year's schedule with ``load_schedule``, and days of an official year are not
    marked provisional because of it.

    Thread-safe: per-year answers are computed once under a lock and kept as immutable sets.
    """

    def __init__(self, schedules: Iterable[YearSchedule] = ()) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[int, YearSchedule] = {}
        self._days_off: dict[int, frozenset[date]] = {}
        for schedule in schedules:
            self.load_schedule(schedule)

    def load_schedule(self, schedule: YearSchedule) -> None:
        """Make ``schedule`` the official answer for its year, replacing the package's or an earlier one.

        Deadlines computed before while this year was provisional are not updated here; the engine recomputes
        those whose ``CalendarUsage`` listed the year.
        """
        if not isinstance(schedule, YearSchedule):
            raise CalendarError(f"expected a YearSchedule, got {type(schedule).__name__}")
        days_off = frozenset(d for d in days_in_year(schedule.year) if not schedule.is_working_day(d))
        with self._lock:
            self._loaded[schedule.year] = schedule
            self._days_off[schedule.year] = days_off

    def official_years(self) -> frozenset[int]:
        """Years answered from a published schedule: loaded ones and those ``holidays`` carries."""
        with self._lock:
            loaded = frozenset(self._loaded)
        return loaded | package_official_years()

    def is_official(self, year: int) -> bool:
        """Whether ``year`` has a published schedule (see ``official_years``)."""
        return year in self._loaded or year in package_official_years()

    def is_working_day(self, d: date | datetime) -> bool:
        """Whether the CST day of ``d`` is a working day. Recorded by ``track()``."""
        day = _local_date(d)
        return day not in self._year_days_off(day.year)

    def add_working_days(self, start: date | datetime, n: int) -> datetime:
        """Deadline of "within ``n`` working days after ``start``" (Art. 34 / O34.2: measures within 10).

        Counting starts on the day after the CST date of ``start`` (the day of the interview itself does not
        count, whether it was a working day or not), and the result is the end of the ``n``-th working day,
        23:59:59 CST. A datetime in another zone is converted to CST first, so 2026-09-27 16:30 UTC is already
        the 28th in Nanyang; a naive datetime is taken as CST.
        """
        _check_count(n, "working days")
        day = _local_date(start)
        remaining = n
        while True:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
                if remaining == 0:
                    return end_of_day(day)

    def working_days_before(self, due: date | datetime, n: int) -> datetime:
        """Start (00:00 CST) of the ``n``-th working day before the CST day of ``due``: when a reminder
        starts. Three working days before a deadline on Friday 16 Oct 2026 is Tuesday 13 Oct."""
        _check_count(n, "working days")
        day = _local_date(due)
        remaining = n
        while True:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
                if remaining == 0:
                    return datetime.combine(day, time(0, 0), tzinfo=CST)

    @contextmanager
    def track(self) -> Iterator[CalendarUsage]:
        """Record which years this calendar consulted inside the ``with`` block.

        ``with calendar.track() as usage: due = calendar.add_working_days(...)``; then
        ``usage.provisional`` says whether ``due`` rests on a year without a published schedule. Nested blocks
        each see everything consulted inside them; other threads and tasks are not seen.
        """
        usage = CalendarUsage()
        token = _ACTIVE_USAGE.set((*_ACTIVE_USAGE.get(), (self, usage)))
        try:
            yield usage
        finally:
            _ACTIVE_USAGE.reset(token)

    def _year_days_off(self, year: int) -> frozenset[date]:
        check_year(year)
        days_off = self._days_off.get(year)
        if days_off is None:
            with self._lock:
                days_off = self._days_off.get(year)
                if days_off is None:
                    days_off = self._days_off[year] = package_days_off(year)
        self._record(year)
        return days_off

    def _record(self, year: int) -> None:
        active = _ACTIVE_USAGE.get()
        if not active:
            return
        official = self.is_official(year)
        for calendar, usage in active:
            if calendar is self:
                usage.consulted_years.add(year)
                if not official:
                    usage.provisional_years.add(year)
