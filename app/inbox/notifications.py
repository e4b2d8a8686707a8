"""Notifications when a task arrives, when its reminder window opens, when it is overdue, and when
someone urges it (催办). :func:`send_due_alerts` is a step of the background pass (``app/jobs.py``, run by the
scheduler and by ``flask timers``), which commits; here it only flushes. A new task's notice comes from the
scheduler's notices job a few seconds after the step that opened it, never from the request itself.
TaskAlert rows make it send each kind once per task.

Two schedulers (two app processes) may run the pass at once and pick the same due tasks. Each alert row is
inserted first and idempotently (:func:`record_alert`: ``INSERT … ON CONFLICT DO NOTHING``); only the pass
whose insert happened sends that alert's notifications, and the other skips it and commits the rest of its
batch, instead of failing on the unique (task, kind) and rolling its whole batch back (issue 16, point 8).
Tasks are taken in id order so two passes lock alert rows in the same order and cannot deadlock."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Table, and_, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from app.auth.models import RoleGrant, User
from app.inbox.models import Notification, TaskAlert
from workflows.engine.counters import insert_ignoring_conflicts
from workflows.engine.models import Task


def kind_label(kind: str) -> str:
    """Shown at display time in the reader's language (the job that creates notifications has none)."""
    return {
        "arrived": _("新任务"),
        "reminder": _("即将到期"),
        "overdue": _("已逾期"),
        "urged": _("催办"),
        "transferred": _("转办"),
        "unassigned": _("无人办理"),
        "document": _("收到公文"),
        "incident": _("运行异常"),
    }.get(kind, _("通知"))


def notify(session: Session, task: Task, kind: str, message: str, now: datetime) -> int:
    """One notification to each holder of the task (whoever claimed it, else every holder of its role at its
    organisation), written by one ``INSERT … SELECT``: no round trip to list the holders first."""
    table: Table = Notification.__table__  # type: ignore[assignment]
    if task.claimed_by:
        holders = select(User.id.label("user_id")).where(User.username == task.claimed_by)
    else:
        holders = select(RoleGrant.user_id).where(
            RoleGrant.role == task.role, RoleGrant.org_code == task.org_code
        )
    rows = holders.subquery()
    values = select(
        rows.c.user_id,
        literal(kind, table.c.kind.type),
        literal(task.instance_id, table.c.instance_id.type),
        literal(task.id, table.c.task_id.type),
        literal(message, table.c.message.type),
        literal(now, table.c.created_at.type),
    )
    columns = ["user_id", "kind", "instance_id", "task_id", "message", "created_at"]
    written = session.execute(insert(table).from_select(columns, values).returning(table.c.id))
    return len(written.all())  # what was written (a driver's rowcount for INSERT … SELECT is not reliable)


def record_alert(session: Session, task_id: str, kind: str, now: datetime) -> bool:
    """Record that ``kind`` went out for the task, unless it already has (or a concurrent pass is recording
    it: the insert waits for that pass's transaction). True when this call recorded it, and so is the one
    to send the notifications."""
    table = TaskAlert.__table__
    insert = insert_ignoring_conflicts(session, table)  # type: ignore[arg-type]
    row = session.execute(insert.values(task_id=task_id, kind=kind, sent_at=now).returning(table.c.id))
    return row.first() is not None


ALERT_KINDS = ("arrived", "reminder", "overdue")


def send_due_alerts(
    session: Session, now: datetime, limit: int = 2000, kinds: tuple[str, ...] = ALERT_KINDS
) -> int:
    """Send the alerts that are due now: arrived (any open task), reminder (remind_at passed), overdue.

    ``kinds=("arrived",)`` is the notices job the scheduler runs every few seconds: a new task's notice is
    not written by the request that opened the task (issue 17: notifications leave the request path)."""
    sent = 0
    conditions = {
        "arrived": Task.state == "ready",
        "reminder": and_(Task.state == "ready", Task.remind_at <= now, Task.due_at >= now),
        "overdue": and_(Task.state == "ready", Task.due_at < now),
    }
    for kind in kinds:
        condition = conditions[kind]
        already = exists().where(TaskAlert.task_id == Task.id, TaskAlert.kind == kind)
        tasks = session.scalars(select(Task).where(condition, ~already).order_by(Task.id).limit(limit)).all()
        for task in tasks:
            if record_alert(session, task.id, kind, now):  # else another pass sent it
                sent += notify(session, task, kind, task.name, now)
    session.flush()
    return sent


def unread_count(user: User) -> int:
    from app.extensions import db

    done = exists().where(Task.id == Notification.task_id, Task.state != "ready")  # the task was done since
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None), ~done)
        )
        or 0
    )
