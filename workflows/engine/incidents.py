"""Incidents: a failure of background work on one instance, kept where an administrator sees it, retried
with backoff, then parked — never a batch stopped by one instance, never a failure nobody hears of (issue 16
point 2).

The model is Camunda's failed job: the work (here an instance's timer wake-up) is retried automatically a few
times (``DEFAULT_BACKOFF``: after 1, 5 and 30 minutes), then the incident is *parked* until an administrator
retries it (the wake-up is re-armed now and the retries start again) or cancels it. Statuses::

    open ──(a retry fails)──▶ retrying ──(no retries left)──▶ parked
      └───────────┴── a retry succeeds ──▶ resolved          any active one ──(cancel)──▶ cancelled

A ``timer`` incident *holds* the instance's wake-ups while it waits for its next retry or is parked
(:func:`wake_up_held`, used by ``timers.py``'s due query): the instance keeps its ``next_wake_at`` — a legal
deadline the case page shows — but is not picked up again every interval. Other kinds (e.g. a script that
failed at run time, raised by the code that ran it) hold nothing; they are there to be seen and handled.

Cancelling is what Camunda Cockpit offers for a failed job that cannot be fixed by retrying: the *instance*
is cancelled (status ``cancelled``, open tasks cancelled, next wake-up cleared, the reason on the working
file) and every incident of it is closed. Only the engine's tables are touched; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.errors import Conflict, EngineError, NotFound
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.models import Incident, ProcessInstance, Task

Backoff = Sequence[timedelta]

DEFAULT_BACKOFF: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
TIMER = "timer"  # the instance's timer wake-up failed (app/jobs.py wake_due)
SCRIPT = "script"  # a script or expression failed at run time

OPEN, RETRYING, PARKED, RESOLVED, CANCELLED = "open", "retrying", "parked", "resolved", "cancelled"
ACTIVE = (OPEN, RETRYING, PARKED)
STATUSES = (*ACTIVE, RESOLVED, CANCELLED)
# What the lists offer: every unresolved incident, only the parked ones (waiting for a person), or all.
FILTERS: dict[str, tuple[str, ...]] = {"open": ACTIVE, "parked": (PARKED,), "all": STATUSES}
MESSAGE_LIMIT = 4000  # an error can carry a whole script's output: keep what a person reads


class IncidentClosed(EngineError):
    """The incident was already resolved or cancelled: nothing to retry or cancel."""

    code = "incident_closed"


# -- queries ---------------------------------------------------------------------------------------------
def wake_up_held(now: datetime) -> ColumnElement[bool]:
    """True for an instance whose wake-up failed and is waiting for its next retry, or parked: the due
    query leaves it out, so it neither runs every interval nor takes a place in the batch."""
    return exists().where(
        Incident.instance_id == ProcessInstance.id,
        Incident.kind == TIMER,
        Incident.status.in_(ACTIVE),
        or_(Incident.next_retry_at.is_(None), Incident.next_retry_at > now),
    )


def due_retries(session: Session, now: datetime) -> list[Incident]:
    """Active incidents whose next retry is due at ``now`` (oldest first)."""
    query = (
        select(Incident)
        .where(Incident.status.in_((OPEN, RETRYING)), Incident.next_retry_at <= now)
        .order_by(Incident.next_retry_at, Incident.id)
    )
    return list(session.scalars(query))


def open_incidents_of(session: Session, instance_id: int) -> list[Incident]:
    """The instance's unresolved incidents (open, retrying, parked), oldest first: the case page's notice."""
    query = (
        select(Incident)
        .where(Incident.instance_id == instance_id, Incident.status.in_(ACTIVE))
        .order_by(Incident.id)
    )
    return list(session.scalars(query))


def list_incidents(
    session: Session,
    status: str = "open",
    instance_id: int | None = None,
    *,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Incident], int]:
    """One page of incidents (newest failure first) and the total, by filter (``FILTERS``) or one status."""
    statuses = FILTERS.get(status, (status,))
    conditions: list[ColumnElement[bool]] = [Incident.status.in_(statuses)]
    if instance_id is not None:
        conditions.append(Incident.instance_id == instance_id)
    total = session.scalar(select(func.count()).select_from(Incident).where(*conditions)) or 0
    rows = session.scalars(
        select(Incident)
        .options(joinedload(Incident.instance))
        .where(*conditions)
        .order_by(Incident.last_failed_at.desc(), Incident.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows), total


def counts(session: Session) -> dict[str, int]:
    """Incidents per status (statuses without any are absent)."""
    rows = session.execute(select(Incident.status, func.count()).group_by(Incident.status))
    return {status: n for status, n in rows}


def get_incident(session: Session, incident_id: int) -> Incident:
    found = session.get(Incident, incident_id)
    if found is None:
        raise NotFound(f"incident {incident_id} does not exist")
    return found


# -- raising ---------------------------------------------------------------------------------------------
def element_of(exc: BaseException) -> tuple[str | None, str | None]:
    """The BPMN element (id, name) a failure names, looking down the chain of causes: SpiffWorkflow's
    ``WorkflowTaskException`` carries the task, a ``WorkflowException`` its spec."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        spec = getattr(current, "task_spec", None) or getattr(
            getattr(current, "task", None), "task_spec", None
        )
        element_id = getattr(spec, "bpmn_id", None)
        if element_id:
            return str(element_id), getattr(spec, "bpmn_name", None) or None
        current = current.__cause__ or current.__context__
    return None, None


def raise_incident(
    session: Session,
    instance_id: int,
    element_id: str | None,
    message: str,
    *,
    now: datetime,
    element_name: str | None = None,
    kind: str = TIMER,
    backoff: Backoff = DEFAULT_BACKOFF,
    on_parked: Callable[[Incident], None] | None = None,
) -> Incident:
    """Record a failure of ``kind`` work on an instance and schedule its retry (after ``backoff[0]``, or
    parked at once when ``backoff`` is empty — e.g. a failed request that its user repeats).

    An active incident of the same kind (for a timer: of the instance; otherwise also of the element)
    takes the failure instead of a new one. If this failure was its scheduled retry, the next retry is
    scheduled (or it is parked when none are left); any other failure is only counted. ``on_parked`` is
    called when this failure parks it (someone has to be told). The instance's row is locked first, so two
    schedulers recording the same failure add to one incident, not two.
    """
    lock_instance(session, instance_id)
    conditions = [Incident.instance_id == instance_id, Incident.kind == kind, Incident.status.in_(ACTIVE)]
    if kind != TIMER:
        conditions.append(
            Incident.element_id.is_(None) if element_id is None else Incident.element_id == element_id
        )
    incident = session.scalars(select(Incident).where(*conditions).order_by(Incident.id).limit(1)).first()
    message = message[:MESSAGE_LIMIT]
    if incident is None:
        incident = Incident(
            instance_id=instance_id,
            kind=kind,
            element_id=element_id,
            element_name=element_name,
            message=message,
            created_at=now,
            last_failed_at=now,
            failures=1,
            attempts=0,
            retries_left=len(backoff),
            status=OPEN,
        )
        parked = _schedule_retry(incident, now, backoff)
        session.add(incident)
    else:
        was_retry = incident.next_retry_at is not None and incident.next_retry_at <= now
        parked = False
        incident.message, incident.last_failed_at = message, now
        incident.failures += 1
        if element_id is not None:
            incident.element_id, incident.element_name = element_id, element_name
        if was_retry and incident.status != PARKED:
            incident.status = RETRYING
            parked = _schedule_retry(incident, now, backoff)
    session.flush()
    if parked and on_parked is not None:
        on_parked(incident)
    return incident


def lock_instance(session: Session, instance_id: int) -> None:
    """Lock the instance's row for this transaction: ``FOR UPDATE`` on PostgreSQL. SQLite has no row locks:
    a no-op write takes its one write lock now (waiting for another writer to commit), so what is read next
    is read under the lock, as it would be on PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        no_op = (
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .values(next_wake_at=ProcessInstance.next_wake_at)
            .execution_options(synchronize_session=False)
        )
        session.execute(no_op)
        return
    query = select(ProcessInstance.id).where(ProcessInstance.id == instance_id)
    session.execute(query.with_for_update())


def _schedule_retry(incident: Incident, now: datetime, backoff: Backoff) -> bool:
    """One more failed attempt: the next retry after the matching backoff step, or parked (True)."""
    incident.attempts += 1
    if incident.attempts > len(backoff):
        incident.status, incident.retries_left, incident.next_retry_at = PARKED, 0, None
        return True
    incident.retries_left = len(backoff) - incident.attempts + 1
    incident.next_retry_at = now + backoff[incident.attempts - 1]
    return False


# -- after a wake-up -------------------------------------------------------------------------------------
def resolve_retried(session: Session, instance_id: int, now: datetime) -> list[Incident]:
    """A wake-up of the instance succeeded: its incidents whose retry was due are resolved (by whoever
    asked for the retry, else ``system``). Call in the wake-up's own transaction."""
    rows = session.scalars(
        select(Incident).where(
            Incident.instance_id == instance_id,
            Incident.status.in_((OPEN, RETRYING)),
            Incident.next_retry_at <= now,
        )
    )
    resolved = [_close(i, RESOLVED, i.retried_by or SYSTEM.user_id, now) for i in rows]
    session.flush()
    return resolved


def settle_obsolete(session: Session, now: datetime) -> list[Incident]:
    """Incidents due for a retry whose instance has nothing due any more (a later step moved it on, or it
    ended): the failing work is gone, so the incident is resolved."""
    instance = ProcessInstance
    moved_on = or_(
        instance.status != "running",
        instance.next_wake_at.is_(None),
        instance.next_wake_at > now,
    )
    rows = session.scalars(
        select(Incident)
        .join(instance, instance.id == Incident.instance_id)
        .where(and_(Incident.status.in_((OPEN, RETRYING)), Incident.next_retry_at <= now, moved_on))
    )
    settled = [_close(i, RESOLVED, SYSTEM.user_id, now) for i in rows]
    session.flush()
    return settled


# -- an administrator's actions --------------------------------------------------------------------------
def retry(
    session: Session, incident_id: int, by: str, *, now: datetime, backoff: Backoff = DEFAULT_BACKOFF
) -> Incident:
    """Retry now: the instance's wake-up is re-armed for ``now`` and the retries start again (the next
    background pass runs it; a wake-up with nothing due only recomputes the next one, so this is safe)."""
    incident = _active(session, incident_id)
    inst = session.get(ProcessInstance, incident.instance_id)
    if inst is None or inst.status != "running":
        raise IncidentClosed(f"instance {incident.instance_id} is {inst.status if inst else 'gone'}")
    incident.status, incident.attempts, incident.retries_left = RETRYING, 0, len(backoff)
    incident.next_retry_at, incident.retried_by, incident.retried_at = now, by, now
    if inst.next_wake_at is None or inst.next_wake_at > now:
        inst.next_wake_at = now
    _flush(session)
    return incident


def cancel(engine: Engine, incident_id: int, actor: Actor, reason: str) -> Incident:
    """Cancel the incident and its instance (Camunda: cancel the process instance): open tasks cancelled,
    no next wake-up, status ``cancelled``, the reason on the working file; every incident of it closed."""
    session = engine.session
    incident = _active(session, incident_id)
    inst = engine.get_instance(incident.instance_id)
    now = engine.now()
    with clockmod.activated(engine.clock):
        if inst.status == "running":
            open_tasks = session.scalars(
                select(Task).where(Task.instance_id == inst.id, Task.state == "ready")
            )
            for row in open_tasks:
                row.state = "cancelled"
                engine.event(inst, actor, "task_cancelled", task=row)
            inst.status, inst.completed_at, inst.next_wake_at, inst.updated_at = "cancelled", now, None, now
            inst.earliest_due_at = None  # its tasks were cancelled above: nothing of it is due any more
            engine.event(
                inst,
                actor,
                "instance_cancelled",
                element_id=incident.element_id,
                detail={"reason": reason, "incident_id": incident.id},
            )
    for other in open_incidents_of(session, inst.id):
        _close(other, CANCELLED, actor.user_id, now, note=reason)
    _flush(session)
    return incident


def _active(session: Session, incident_id: int) -> Incident:
    incident = get_incident(session, incident_id)
    if incident.status not in ACTIVE:
        raise IncidentClosed(f"incident {incident_id} is already {incident.status}")
    return incident


def _close(incident: Incident, status: str, by: str, now: datetime, note: str | None = None) -> Incident:
    incident.status, incident.closed_by, incident.closed_at = status, by, now
    incident.next_retry_at = None
    if note is not None:
        incident.note = note
    return incident


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:  # the scheduler (or another person) changed the instance meanwhile
        raise Conflict("the case changed meanwhile; reload and try again") from None


def as_dict(incident: Incident) -> dict[str, Any]:
    """The incident with its instance's business key and process, for lists and the API."""
    inst = incident.instance
    return {
        **{c.key: getattr(incident, c.key) for c in Incident.__table__.columns},
        "business_key": inst.business_key if inst else None,
        "process_id": inst.process_id if inst else None,
        "instance_status": inst.status if inst else None,
    }
