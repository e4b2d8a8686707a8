"""What happened in a drill between two instants: the page the instructor reads after moving the clock.

Read from what the system itself wrote while the clock moved, so the list is the truth of the database, not
a log the drill keeps: the instances' working-file entries (``instance_event``: deadlines reached, cases and
cycles started, escalations…, and the tasks that arrived — an inspection to make after a rectification
period, a check that opened — by name), the reminders and overdue flags sent (``task_alert``),
rectification items found past their deadline, and failures (incidents).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.inbox.models import TaskAlert
from workflows.engine.models import Incident, InstanceEvent, OrgUnit, ProcessInstance, Task
from workflows.regulation.rectification import RectificationItem

LIMIT = 1000

# Where a row comes from (the page names each in the reader's language).
EVENT, REMINDER, OVERDUE, ITEM_OVERDUE, INCIDENT = (
    "event",
    "reminder",
    "overdue",
    "item_overdue",
    "incident",
)


@dataclass(frozen=True)
class Happening:
    at: datetime
    source: str  # one of the constants above
    kind: str  # the event's kind for EVENT rows (labelled like the working file), else the source
    what: str  # a task's or item's own words, an element, a failure
    unit: str  # the unit's name
    instance_id: int | None
    business_key: str | None


def happenings(session: Session, since: datetime, until: datetime, limit: int = LIMIT) -> list[Happening]:
    """Everything of the kinds above stamped in (``since``, ``until``], in time order (at most ``limit``)."""
    units = {code: name for code, name in session.execute(select(OrgUnit.code, OrgUnit.name))}
    rows: list[Happening] = []
    events = session.execute(
        select(
            InstanceEvent, ProcessInstance.business_key, ProcessInstance.unit_code, Task.name, Task.unit_code
        )
        .join(ProcessInstance, ProcessInstance.id == InstanceEvent.instance_id)
        .outerjoin(Task, Task.id == InstanceEvent.task_id)  # a task's arrival names the task and its unit
        .where(InstanceEvent.at > since, InstanceEvent.at <= until)
        .order_by(InstanceEvent.at, InstanceEvent.id)
        .limit(limit)
    )
    for event, key, case_unit, task_name, task_unit in events:
        unit = task_unit or case_unit
        what = task_name or ""
        rows.append(
            Happening(event.at, EVENT, event.kind, what, units.get(unit, unit), event.instance_id, key)
        )
    alerts = session.execute(
        select(TaskAlert, Task, ProcessInstance.business_key)
        .join(Task, Task.id == TaskAlert.task_id)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(TaskAlert.kind.in_((REMINDER, OVERDUE)), TaskAlert.sent_at > since, TaskAlert.sent_at <= until)
        .order_by(TaskAlert.sent_at, TaskAlert.id)
        .limit(limit)
    )
    for alert, task, key in alerts:
        unit = units.get(task.unit_code, task.unit_code)
        rows.append(Happening(alert.sent_at, alert.kind, alert.kind, task.name, unit, task.instance_id, key))
    items = session.scalars(
        select(RectificationItem)
        .where(RectificationItem.overdue_at > since, RectificationItem.overdue_at <= until)
        .order_by(RectificationItem.overdue_at, RectificationItem.id)
        .limit(limit)
    )
    for item in items:
        assert item.overdue_at is not None
        unit = units.get(item.unit_code, item.unit_code)
        rows.append(
            Happening(
                item.overdue_at,
                ITEM_OVERDUE,
                ITEM_OVERDUE,
                item.problem,
                unit,
                item.source_instance_id,
                item.source_key,
            )
        )
    incidents = session.execute(
        select(Incident, ProcessInstance.business_key, ProcessInstance.unit_code)
        .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
        .where(Incident.created_at > since, Incident.created_at <= until)
        .limit(limit)
    )
    for incident, key, unit in incidents:
        what = incident.element_name or incident.element_id or incident.message[:200]
        rows.append(
            Happening(
                incident.created_at,
                INCIDENT,
                INCIDENT,
                what,
                units.get(unit, unit),
                incident.instance_id,
                key,
            )
        )
    order = {REMINDER: 2, OVERDUE: 3, ITEM_OVERDUE: 4, INCIDENT: 5}
    rows.sort(key=lambda h: (h.at, order.get(h.source, 0)))
    return rows[:limit]


def counts(rows: list[Happening]) -> dict[str, int]:
    """How many of each (the summary above the list): working-file kinds by kind, the rest by source."""
    out: dict[str, int] = {}
    for row in rows:
        out[row.kind] = out.get(row.kind, 0) + 1
    return out
