"""Waking instances whose timers are due: the scheduler job and the start-up catch-up are the same call.

Cost grows with the number of instances due, not the number waiting: the due set is one range scan of the
``next_wake_at`` index. Each due instance is woken in its own transaction under a row lock taken with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, and ``next_wake_at <= now`` is checked again under that lock, so
two schedulers sharing a database never fire the same timer twice: the second one either skips the locked
row or finds it already moved on. SQLite has one writer at a time, and ``lock_version`` backs this up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.core import Engine
from workflows.engine.errors import Conflict, EngineError
from workflows.engine.models import ProcessInstance

log = logging.getLogger(__name__)


@dataclass
class WakeReport:
    woken: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def due_instance_ids(session: Session, engine: Engine, limit: int) -> list[int]:
    now = engine.now()
    query = (
        select(ProcessInstance.id)
        .where(ProcessInstance.next_wake_at <= now)
        .order_by(ProcessInstance.next_wake_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def _lock_if_still_due(session: Session, engine: Engine, instance_id: int) -> bool:
    query = (
        select(ProcessInstance.id)
        .where(ProcessInstance.id == instance_id, ProcessInstance.next_wake_at <= engine.now())
        .with_for_update(skip_locked=True)
    )
    return session.scalar(query) is not None


def wake_due(session: Session, make_engine: Callable[[Session], Engine], limit: int = 500) -> WakeReport:
    """Wake every instance due now (up to ``limit``), committing each separately.

    A failing instance is rolled back, marked ``error`` with the message (so it is not retried every
    minute), and reported; the others go on.
    """
    engine = make_engine(session)
    report = WakeReport()
    ids = due_instance_ids(session, engine, limit)
    session.commit()
    for instance_id in ids:
        try:
            if not _lock_if_still_due(session, engine, instance_id):
                report.skipped.append(instance_id)
                session.rollback()
                continue
            if engine.wake(instance_id):
                session.commit()
                report.woken.append(instance_id)
            else:
                session.rollback()
                report.skipped.append(instance_id)
        except Conflict:
            session.rollback()
            report.skipped.append(instance_id)
        except EngineError as exc:
            session.rollback()
            log.exception("timer of instance %s failed", instance_id)
            inst = session.get(ProcessInstance, instance_id)
            if inst is not None:
                inst.status, inst.error, inst.next_wake_at = "error", str(exc), None
                session.commit()
            report.failed[instance_id] = str(exc)
    return report
