"""The functions BPMN scripts, conditions, timers and due dates may call.

Legal deadlines are calendar months and PRC working days (DOMAIN.md, "Time"), which Spiff's own ISO
durations get wrong (ENGINE_NOTES.md: 2024-12-31 + P2M is 2025-03-03 there). Task data holds instants as
ISO 8601 strings with +08:00, so helpers take and return strings: they serialize without a custom type and
a timer's ``timeDate`` can be exactly ``add_months(decided_at, 2)``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import CST, WorkingCalendar, add_months
from workflows.engine.records import record

# Helpers run in the application, outside the script budget: a count of working days is walked day by day,
# so it is bounded (about ten years, far beyond any period of the regulation).
MAX_WORKING_DAYS = 2500


def _instant(value: str | date | datetime) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO date/datetime string, got {type(value).__name__}")
    if len(value) == 10:
        return date.fromisoformat(value)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CST)


def make_helpers(calendar: WorkingCalendar) -> dict[str, Callable[..., Any]]:
    """Helpers bound to one calendar; time comes from the active clock so tests and simulations move it.
    A regulation adds its own (e.g. the units below a unit) through ``EngineParts.helpers``."""

    def now() -> str:
        """The current instant, +08:00."""
        return clock.now().isoformat()

    def today() -> str:
        return clock.now().date().isoformat()

    def months_after(start: str, months: int) -> str:
        """End of the day ``months`` calendar months after ``start`` (Art. 33–35: 2, 3, 6 months)."""
        return add_months(_instant(start), int(months)).isoformat()

    def working_days_after(start: str, days: int) -> str:
        """End of the ``days``-th PRC working day after ``start`` (Art. 34, 35: 10 working days)."""
        if int(days) > MAX_WORKING_DAYS:  # counted day by day, here in the application (issue 16)
            raise ValueError(f"at most {MAX_WORKING_DAYS} working days, got {days}")
        return calendar.add_working_days(_instant(start), int(days)).isoformat()

    def date_of(value: str) -> str:
        """The +08:00 calendar date of an instant, e.g. for display or comparisons in conditions."""
        inst = _instant(value)
        return (inst.astimezone(CST).date() if isinstance(inst, datetime) else inst).isoformat()

    def before(a: str, b: str) -> bool:
        """Whether instant ``a`` is strictly earlier than ``b`` (compares real instants, not strings)."""
        ia, ib = _instant(a), _instant(b)
        if isinstance(ia, datetime) and isinstance(ib, datetime):
            return ia < ib
        da = ia.astimezone(CST).date() if isinstance(ia, datetime) else ia
        db = ib.astimezone(CST).date() if isinstance(ib, datetime) else ib
        return da < db

    return {
        "now": now,
        "today": today,
        "months_after": months_after,
        "working_days_after": working_days_after,
        "date_of": date_of,
        "before": before,
        "record": record,
    }
