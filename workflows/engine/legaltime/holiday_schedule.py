"""Where a year's days off come from: the State Council's published schedule, or the ``holidays`` package.

A published notice (国务院办公厅关于某年部分节假日安排的通知) is typed in as JSON, checked here
(``parse_schedule``) and becomes a ``YearSchedule``; stored in the database by ``calendar_store`` and handed
to ``legal_time.WorkingCalendar``, which counts working days with it. Years without a typed-in notice are
answered from the ``holidays`` package: its encoded notices (``package_official_years``) or, for years not
published yet, the statutory holidays alone (``package_days_off``), which ``WorkingCalendar`` reports as
provisional.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import holidays as holidays_pkg

__all__ = [
    "MAX_YEAR",
    "MIN_YEAR",
    "CalendarError",
    "YearSchedule",
    "check_year",
    "days_in_year",
    "package_days_off",
    "package_official_years",
    "parse_schedule",
]

#: First year the calendar answers. The ``holidays`` package encodes the State Council's notices from 2001
#: on ("Only checked with the official General Office of the State Council Notice from 2001 onwards"); for
#: earlier years it would silently return statutory holidays without the make-up days that were in force
#: since 1999, and the 2017 regulation has no cases that old anyway.
MIN_YEAR = 2001

#: Last year the calendar answers. The package's lunisolar tables (Spring Festival, Dragon Boat,
#: Mid-Autumn) end in 2100 and its Qingming approximation is documented as reliable for 1901–2099 only.
#: Past its ``end_year`` the package returns *no* holidays at all: every weekday would look like a working
#: day, silently.
MAX_YEAR = 2099

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SCHEDULE_KEYS = frozenset({"year", "source", "holidays", "workdays"})


class CalendarError(ValueError):
    """The calendar cannot give a trustworthy answer (unsupported year, malformed schedule, bad argument).

    A ValueError so that callers validating user input can treat it like any other bad value; a separate class
    so that the engine can tell "no calendar for this year" apart from programming errors.
    """


def check_year(year: int) -> None:
    """Refuse a year the calendar cannot answer trustworthily (see MIN_YEAR, MAX_YEAR)."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarError(
            f"year {year} is outside the supported range {MIN_YEAR}-{MAX_YEAR} "
            "of the PRC working-day calendar"
        )


@dataclass(frozen=True)
class YearSchedule:
    """The State Council's published holiday schedule for one year.

    ``holidays`` are all days off that the notice lists, including bridge days (e.g. 2026-10-06/07) and
    days that fall on weekends; ``workdays`` are the make-up working days (调休), which are always Saturdays
    or Sundays. ``source`` names the notice (e.g. "国务院办公厅关于2026年部分节假日安排的通知") because a
    legal deadline must be traceable to the document it was computed from.

    Days of the year in neither set follow the normal week: Monday–Friday worked, Saturday/Sunday off.

    Any iterable of dates is accepted and stored as a frozenset. Dates of another year are refused: a
    notice occasionally put a make-up day in late December of the previous year (2011-12-31 for New Year
    2012); such a day belongs in the previous year's schedule.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str

    def __post_init__(self) -> None:
        where = f"schedule for {self.year}"
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise CalendarError(f"schedule year must be an integer, got {self.year!r}")
        check_year(self.year)
        if not isinstance(self.source, str) or not self.source.strip():
            raise CalendarError(f"{where}: source must name the published notice")
        for name in ("holidays", "workdays"):
            value = getattr(self, name)
            if isinstance(value, str | bytes) or not isinstance(value, Iterable):
                raise CalendarError(f"{where}: {name} must be a collection of dates")
            dates = frozenset(value)
            for d in sorted(dates, key=repr):
                # datetime is a date subclass, but a time of day in a list of days is a mix-up.
                if isinstance(d, datetime) or not isinstance(d, date):
                    raise CalendarError(f"{where}: {name} contains {d!r}, which is not a date")
                if d.year != self.year:
                    raise CalendarError(f"{where}: {name} contains {d}, which is not in {self.year}")
            object.__setattr__(self, name, dates)
        if overlap := self.holidays & self.workdays:
            days = ", ".join(str(d) for d in sorted(overlap))
            raise CalendarError(f"{where}: dates listed both as holidays and workdays: {days}")
        for d in sorted(self.workdays):
            if d.weekday() < 5:
                raise CalendarError(
                    f"{where}: workday {d} is a {_WEEKDAY_NAMES[d.weekday()]}; make-up working days are "
                    "Saturdays or Sundays, a weekday is a working day anyway (wrong date?)"
                )

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` (a day of ``year``) is worked under this schedule."""
        if d in self.workdays:
            return True
        return d not in self.holidays and d.weekday() < 5


def _parse_dates(year: int, field_name: str, raw: Any) -> frozenset[date]:
    if isinstance(raw, str | bytes) or not isinstance(raw, list | tuple):
        raise CalendarError(
            f"schedule {year}: {field_name} must be a list of 'YYYY-MM-DD' strings, got {raw!r}"
        )
    dates: set[date] = set()
    for i, item in enumerate(raw):
        where = f"schedule {year}: {field_name}[{i}] = {item!r}"
        # date.fromisoformat also takes "20270101" and "2027-W05-5"; our JSON uses one form only.
        if not isinstance(item, str) or not _ISO_DATE.fullmatch(item):
            raise CalendarError(f"{where} is not a date in the form YYYY-MM-DD")
        try:
            d = date.fromisoformat(item)
        except ValueError as exc:
            raise CalendarError(f"{where} is not a valid date ({exc})") from None
        if d.year != year:
            raise CalendarError(f"{where} is not in year {year}")
        if d in dates:
            raise CalendarError(f"{where} is listed twice")
        dates.add(d)
    return frozenset(dates)


def parse_schedule(data: Mapping[str, Any]) -> YearSchedule:
    """Build a YearSchedule from its JSON form, refusing anything ambiguous.

    Expected: ``{"year": 2027, "source": "国务院办公厅通知 …", "holidays": ["2027-01-01", …],
    "workdays": ["2027-02-07", …]}``. All four keys are required (an empty ``workdays`` list is fine) and no
    others are allowed, so a misspelt key ("workday") is an error instead of a schedule silently missing its
    make-up days. Messages name the field, the index and the value, because whoever types in the notice needs
    to find the mistake.
    """
    if not isinstance(data, Mapping):
        raise CalendarError(f"schedule must be a JSON object, got {type(data).__name__}")
    if unknown := set(data) - _SCHEDULE_KEYS:
        raise CalendarError(f"schedule has unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    if missing := _SCHEDULE_KEYS - set(data):
        raise CalendarError(f"schedule is missing field(s): {', '.join(sorted(missing))}")
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int):
        raise CalendarError(f"schedule year must be an integer, got {year!r}")
    check_year(year)
    source = data["source"]
    if not isinstance(source, str) or not source.strip():
        raise CalendarError(
            f"schedule {year}: source must be a non-empty string naming the notice, got {source!r}"
        )
    return YearSchedule(
        year=year,
        holidays=_parse_dates(year, "holidays", data["holidays"]),
        workdays=_parse_dates(year, "workdays", data["workdays"]),
        source=source.strip(),
    )


@cache
def package_official_years() -> frozenset[int]:
    """Years for which the installed ``holidays`` package carries a published State Council schedule.

    ``holidays.China`` keeps the notices in ``special_public_holidays`` (year → substituted days off such
    as ``(OCT, 6, SEP, 20)`` = "6 Oct off, 20 Sep worked", plus one-off days) and
    ``special_public_holidays_observed``; the years present there are the years whose notice has been
    encoded. Every notice since 2001 moved at least one day, so a year that is missing has no published
    schedule in this package version (2027 in 0.109). Read from the data rather than hard-coded so that
    upgrading the package makes a year official by itself.
    """
    china = holidays_pkg.China()  # no years: nothing is populated, only the static tables are attached
    years: set[int] = set()
    for attribute in ("special_public_holidays", "special_public_holidays_observed"):
        years.update(year for year, entries in getattr(china, attribute, {}).items() if entries)
    return frozenset(y for y in years if MIN_YEAR <= y <= MAX_YEAR)


def days_in_year(year: int) -> Iterator[date]:
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


def package_days_off(year: int) -> frozenset[date]:
    """Days off in ``year`` as the ``holidays`` package has them: the encoded notice if there is one, else
    the statutory holidays (with weekend compensation) and plain weekends."""
    # A fresh instance per year: holidays objects populate themselves lazily and keep the year being
    # populated in an attribute, so sharing one between threads is not safe. Only the public category is
    # used (the half-day category covers Women's Day etc., which are not days off for everyone).
    china = holidays_pkg.China(years=year)
    return frozenset(d for d in days_in_year(year) if not china.is_working_day(d))
