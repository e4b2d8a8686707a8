"""What a person may see: open tasks whose (role, organisation) they hold. One indexed query on the
projection; no workflow is loaded. The web inbox and the API build their filters on top of this."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from workflows.engine.actors import Actor
from workflows.engine.models import Task


def held_by(grants: Collection[tuple[str, str]]) -> ColumnElement[bool]:
    """Task rows of one of ``grants`` (role, organisation). One equality pair per grant, not ``(role,
    org_code) IN (VALUES …)``: SQLite's planner, once it has statistics (the daily upkeep's ANALYZE), would
    scan every open task by deadline for the row values rather than look each pair up in ix_task_inbox
    (issue 17: 2× at 10,000 open tasks)."""
    if not grants:
        return false()
    return or_(*(and_(Task.role == role, Task.org_code == org) for role, org in sorted(grants)))


def visible_tasks(actor: Actor) -> Select[Task]:
    """Open tasks the actor may work (a base query to filter, sort and page further)."""
    return select(Task).where(Task.state == "ready", held_by(actor.grants))


def open_tasks_for(session: Session, actor: Actor) -> list[Task]:
    return list(session.scalars(visible_tasks(actor).order_by(Task.due_at, Task.created_at)))


# Supervision colours Chinese offices use: blue = due soon (inside the reminder window), yellow = due today
# or within a day, red = overdue.
ON_TRACK, DUE_SOON, DUE_TODAY, OVERDUE = "on_track", "due_soon", "due_today", "overdue"
COLOURS = {ON_TRACK: "", DUE_SOON: "blue", DUE_TODAY: "yellow", OVERDUE: "red"}


def deadline_status(
    due_at: datetime | None,
    remind_at: datetime | None,
    now: datetime,
    yellow_window: timedelta = timedelta(days=1),
) -> str:
    if due_at is None:
        return ON_TRACK
    if now > due_at:
        return OVERDUE
    if due_at - now <= yellow_window:
        return DUE_TODAY
    if remind_at is not None and now >= remind_at:
        return DUE_SOON
    return ON_TRACK
