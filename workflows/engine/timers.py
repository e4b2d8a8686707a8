"""The queries behind waking due timers; the transactions around them are ``app/jobs.py``'s (``wake_due``).

Cost grows with the number of instances due, not the number waiting: the due set is one range scan of the
``next_wake_at`` index. The job wakes each due instance in its own transaction under a row lock taken with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (:func:`lock_if_still_due`), and ``next_wake_at <= now`` is checked
again under that lock, so two schedulers sharing a database never fire the same timer twice: the second one
either skips the locked row or finds it already moved on. SQLite has one writer at a time, and
``lock_version`` backs this up. Nothing here commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.models import ProcessInstance


def due_instance_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Instances whose next timer is due at ``now``, earliest first, at most ``limit``."""
    query = (
        select(ProcessInstance.id)
        .where(ProcessInstance.next_wake_at <= now)
        .order_by(ProcessInstance.next_wake_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def lock_if_still_due(session: Session, instance_id: int, now: datetime) -> bool:
    """Lock the instance's row for this transaction if it is still due; False if another scheduler holds
    the lock (SKIP LOCKED) or already moved it on."""
    query = (
        select(ProcessInstance.id)
        .where(ProcessInstance.id == instance_id, ProcessInstance.next_wake_at <= now)
        .with_for_update(skip_locked=True)
    )
    return session.scalar(query) is not None


def mark_failed(session: Session, instance_id: int, message: str) -> None:
    """Take an instance whose wake-up failed out of the due set (``error``, no next wake-up), so it is not
    retried every interval; someone has to look at ``error``."""
    inst = session.get(ProcessInstance, instance_id)
    if inst is not None:
        inst.status, inst.error, inst.next_wake_at = "error", message, None
        session.flush()
