"""A case's earliest open deadline (``process_instance.earliest_due_at``, issue 17) checked against its open
tasks, and repaired where it differs.

The engine writes the column with the task rows in every step (``Engine._write_back``), and the case lists
count overdue cases from it alone. A writer that bypasses the engine — a bulk import, hand-written SQL, a
benchmark's fill — can leave it wrong, and then a case is silently missing from the overdue count (or counted
when it is not late). The daily upkeep (``app/jobs.py``) calls :func:`repair` so such drift lasts a day at
most and is logged, as it does for the case counts (:mod:`workflows.engine.tally`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from workflows.engine.models import ProcessInstance, Task


@dataclass(frozen=True)
class DueDrift:
    instance_id: int
    stored: datetime | None  # what the column said
    counted: datetime | None  # the earliest deadline of the case's open tasks


def _drifted(session: Session, ids: list[int] | None = None, lock: bool = False) -> list[DueDrift]:
    # The open tasks' earliest deadlines in one grouped pass over the open tasks, joined to the cases: a
    # correlated subquery per case let SQLite walk the open tasks by deadline for each case (minutes at
    # 100,000 cases; this form: see docs/benchmarks.md).
    open_due = (
        select(Task.instance_id, func.min(Task.due_at).label("due"))
        .where(Task.state == "ready")
        .group_by(Task.instance_id)
        .subquery()
    )
    query = (
        select(ProcessInstance.id, ProcessInstance.earliest_due_at, open_due.c.due)
        .outerjoin(open_due, open_due.c.instance_id == ProcessInstance.id)
        .where(
            # a case neither running nor with a stored deadline has nothing open: skip it unread
            or_(ProcessInstance.status == "running", ProcessInstance.earliest_due_at.is_not(None)),
            ProcessInstance.earliest_due_at.is_distinct_from(open_due.c.due),
        )
    )
    if ids is not None:
        query = query.where(ProcessInstance.id.in_(ids))
    if lock:  # PostgreSQL: a step of these cases in flight commits first, a new one waits (SQLite: no-op)
        query = query.with_for_update(of=ProcessInstance)
    return [DueDrift(i, stored, due) for i, stored, due in session.execute(query)]


def check(session: Session) -> list[DueDrift]:
    """The cases whose stored earliest deadline is not that of their open tasks (read only)."""
    return _drifted(session)


def repair(session: Session) -> list[DueDrift]:
    """Rewrite the column of every case where it differs and return those cases (the caller commits). The
    cases found are checked again under their row locks, so a step that committed meanwhile (and wrote the
    column itself) is neither reported nor overwritten."""
    found = check(session)
    if not found:
        return []
    confirmed = _drifted(session, [d.instance_id for d in found], lock=True)
    for drift in confirmed:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == drift.instance_id)
            .values(earliest_due_at=drift.counted)
            .execution_options(synchronize_session=False)
        )
    return confirmed
