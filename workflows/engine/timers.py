"""The queries behind waking due timers; the transactions around them are ``app/wakeups.py``'s (``wake_due``).

Cost grows with the number of instances due, not the number waiting: the due set is one range scan of the
``next_wake_at`` index. The job wakes each due instance in its own transaction under a row lock taken with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (:func:`lock_if_still_due`), and ``next_wake_at <= now`` is checked
again under that lock, so two schedulers sharing a database never fire the same timer twice: the second one
either skips the locked row or finds it already moved on. SQLite has one writer at a time: there the
database's write lock is taken before the check, and ``lock_version`` backs this up. Nothing here commits.

Several schedulers share the due set rather than race for it (issue 17): each pass drains what is due in
batches back to back (``app/wakeups.py``), earliest first; where two schedulers reach the same instance the
row lock decides (the loser skips it in one cheap query and moves on to the next), so they fire different
timers side by side; a pass pages through the due set with a cursor, so it tries each instance once.

An instance whose wake-up failed keeps its ``next_wake_at`` (the deadline the case page shows) but is held
by its incident until the incident's next retry, or for good once parked (``incidents.wake_up_held``): a
poisoned instance is neither tried every interval nor first in every batch (issue 16 point 2).
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from workflows.engine.core import Engine
from workflows.engine.incidents import lock_instance, wake_up_held
from workflows.engine.models import ProcessInstance, TimerFiring


def due_instance_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """Instances whose next timer is due at ``now`` and not held by an incident, earliest first, at most
    ``limit``."""
    query = (
        select(ProcessInstance.id)
        .where(ProcessInstance.next_wake_at <= now, ~wake_up_held(now))
        .order_by(ProcessInstance.next_wake_at)
        .limit(limit)
    )
    return list(session.scalars(query))


_Query = TypeVar("_Query", bound=Select)  # a query of any columns: due_batch and claim_due_batch


def _due(query: _Query, now: datetime, after: tuple[datetime, int] | None) -> _Query:
    """``query`` narrowed to the instances due at ``now`` and not held back, after the ``after`` cursor."""
    query = query.where(ProcessInstance.next_wake_at <= now, ~wake_up_held(now))
    if after is None:
        return query
    due_at, instance_id = after
    return query.where(
        or_(
            ProcessInstance.next_wake_at > due_at,
            and_(ProcessInstance.next_wake_at == due_at, ProcessInstance.id > instance_id),
        )
    )


def due_batch(
    session: Session, now: datetime, limit: int, after: tuple[datetime, int] | None = None
) -> list[tuple[int, datetime]]:
    """Up to ``limit`` (instance id, due at) due at ``now``, in (due at, id) order, after the ``after``
    cursor: a pass pages through the due set with the last row of its previous batch, so it neither tries an
    instance twice (one still due after its wake-up, one it skipped as another scheduler's) nor needs a
    growing list of what it tried. Work that becomes due behind the cursor waits for the next pass."""
    query = _due(select(ProcessInstance.id, ProcessInstance.next_wake_at), now, after)
    query = query.order_by(ProcessInstance.next_wake_at, ProcessInstance.id).limit(limit)
    return [(instance_id, due_at) for instance_id, due_at in session.execute(query) if due_at is not None]


def claim_due_batch(
    session: Session, now: datetime, limit: int, after: tuple[datetime, int] | None = None
) -> list[ProcessInstance]:
    """PostgreSQL: lock and load up to ``limit`` instances due at ``now`` in one statement (``FOR UPDATE SKIP
    LOCKED``, (due at, id) order, after the ``after`` cursor), for a batch of wake-ups in one transaction.
    Rows another scheduler holds are skipped, so two schedulers claim different batches side by side instead
    of walking the same rows; the instances come loaded, so waking one needs no query to find it. The locks
    last until the batch's commit; what is not committed (a crash) is simply due again."""
    query = _due(select(ProcessInstance), now, after)
    query = (
        query.order_by(ProcessInstance.next_wake_at, ProcessInstance.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=ProcessInstance)
    )
    return list(session.scalars(query))


def next_due_at(session: Session, now: datetime) -> datetime | None:
    """The earliest wake-up after ``now`` (one indexed query): when a scheduler should look again."""
    return session.scalar(
        select(func.min(ProcessInstance.next_wake_at)).where(ProcessInstance.next_wake_at > now)
    )


def record_firing(session: Session, instance_id: int, due_at: datetime, fired_at: datetime, by: str) -> None:
    """The wake-up's lag (due → fired), in the wake-up's transaction (flushed with it, not committed)."""
    lag_ms = max(0, round((fired_at - due_at).total_seconds() * 1000))
    session.add(
        TimerFiring(instance_id=instance_id, due_at=due_at, fired_at=fired_at, lag_ms=lag_ms, scheduler=by)
    )


def lock_if_still_due(session: Session, instance_id: int, now: datetime) -> bool:
    """Lock the instance's row for this transaction if it is still due (and not held by an incident another
    scheduler just raised); False if another scheduler holds the lock (SKIP LOCKED) or moved it on. On
    SQLite the database's write lock is taken first (``incidents.lock_instance``), so the check is made
    under it there too."""
    if session.get_bind().dialect.name == "sqlite":
        lock_instance(session, instance_id)
    query = (
        select(ProcessInstance.id)
        .where(ProcessInstance.id == instance_id, ProcessInstance.next_wake_at <= now, ~wake_up_held(now))
        .with_for_update(skip_locked=True)
    )
    return session.scalar(query) is not None


def due_timer_element(engine: Engine, instance_id: int) -> tuple[str | None, str | None]:
    """The (id, name) of a timer of the instance due now: the element an incident names when the failure
    itself names none. (None, None) when it cannot be told (the instance may be what fails to load)."""
    try:
        inst = engine.get_instance(instance_id)
        now = engine.now()
        for task in engine.workflow(inst).get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            value = definition.details(task).value
            if isinstance(value, str) and TimerEventDefinition.get_datetime(value) <= now:
                return task.task_spec.bpmn_id, task.task_spec.bpmn_name
    except Exception:  # a best effort for the incident's text: the failure itself is what gets reported
        return None, None
    return None, None
