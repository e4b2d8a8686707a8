"""Official holiday schedules in the database, and the working calendar built from them.

The `holidays` package knows the State Council's schedule up to the current year; next year's arrives in
November or December (ENGINE_NOTES.md). Until then deadlines in that year are provisional. An admin loads the
published schedule (``flask calendar load``), and every provisional deadline is recomputed with it
(``app/jobs.py: recompute_provisional_deadlines``, which owns the commits; nothing here commits).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.legaltime import clock
from workflows.engine.legaltime.holiday_schedule import YearSchedule
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.models import CalendarSchedule, ProcessInstance


def load_calendar(session: Session) -> WorkingCalendar:
    rows = session.scalars(select(CalendarSchedule))
    return WorkingCalendar(
        YearSchedule(
            year=r.year,
            holidays=frozenset(_dates(r.holidays)),
            workdays=frozenset(_dates(r.workdays)),
            source=r.source,
        )
        for r in rows
    )


def _dates(values: list[str]):  # type: ignore[no-untyped-def]
    from datetime import date

    return [date.fromisoformat(v) for v in values]


def store_schedule(session: Session, schedule: YearSchedule, loaded_by: str) -> CalendarSchedule:
    row = session.get(CalendarSchedule, schedule.year) or CalendarSchedule(year=schedule.year)
    row.holidays = sorted(d.isoformat() for d in schedule.holidays)
    row.workdays = sorted(d.isoformat() for d in schedule.workdays)
    row.source = schedule.source
    row.loaded_at = clock.now()
    row.loaded_by = loaded_by
    session.add(row)
    session.flush()
    return row


def provisional_instance_ids(session: Session) -> list[int]:
    """Instances holding a deadline computed without a published schedule (recomputed after a load)."""
    return list(session.scalars(select(ProcessInstance.id).where(ProcessInstance.has_provisional)))
