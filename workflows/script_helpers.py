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

from workflows import clock
from workflows.legal_time import CST, WorkingCalendar, add_months
from workflows.records import record
from workflows.roles import OrgTree


def _instant(value: str | date | datetime) -> datetime | date:
    if isinstance(value, datetime | date):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO date/datetime string, got {type(value).__name__}")
    if len(value) == 10:
        return date.fromisoformat(value)
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CST)


def make_helpers(
    calendar: WorkingCalendar, org: Callable[[], OrgTree] | None = None
) -> dict[str, Callable[..., Any]]:
    """Helpers bound to one calendar (and the organisation tree, read lazily); time comes from the active
    clock so tests and simulations move it."""

    def subordinate_units(unit_code: str, levels: list[str] | None = None) -> list[str]:
        """Codes of the units directly under ``unit_code`` (a city's counties and city-direct units, a
        county's townships), optionally only those of the given levels; sorted, for 层层签订 (Art. 13)."""
        if org is None:
            return []
        tree = org()
        return sorted(
            n.code
            for n in tree.nodes.values()
            if n.parent_code == unit_code and (not levels or n.level in levels)
        )

    def name_of_unit(unit_code: str) -> str:
        if org is None:
            return unit_code
        node = org().nodes.get(unit_code)
        return node.name if node else unit_code

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
        "subordinate_units": subordinate_units,
        "name_of_unit": name_of_unit,
    }
