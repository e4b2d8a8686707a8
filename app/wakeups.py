"""Waking due timers: what a scheduler's pass (``app.jobs``) and ``flask timers`` run first, and what
``scripts/simulate_year.py`` and the tests call on a bare session (re-exported by :mod:`app.jobs`).

Each instance wakes in its own transaction (on PostgreSQL: its own savepoint, in a claimed batch committed
together); a failing one is rolled back, logged, reported and gets an incident, and the batch goes on. A
pass drains what is due in batches back to back, bounded by a time budget, and records each wake-up's lag
(issue 17).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import incident_backoff
from app.inbox.models import Notification
from app.org.upkeep import admins
from workflows.engine.core import Engine
from workflows.engine.errors import Conflict, EngineError
from workflows.engine.incidents import (
    TIMER,
    Backoff,
    due_retries,
    element_of,
    raise_incident,
    resolve_retried,
    settle_obsolete,
)
from workflows.engine.models import Incident, ProcessInstance
from workflows.engine.timers import (
    claim_due_batch,
    due_batch,
    due_timer_element,
    lock_if_still_due,
    record_firing,
)

log = logging.getLogger("app.jobs")  # one logger for all background work, as before the split

MakeEngine = Callable[[Session], Engine]


# -- timers --------------------------------------------------------------------------------------------------
@dataclass
class WakeReport:
    woken: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    incidents: dict[int, int] = field(default_factory=dict)  # failed instance → its incident
    resolved: list[int] = field(default_factory=list)  # incidents whose retry succeeded (or moved on)
    batches: int = 0  # due-set queries this pass made
    more_due: bool = False  # stopped by the time budget or ``limit`` with timers still due: run again now


# A pass drains what is due in batches of this size, back to back, for at most this long: a restart after
# hours down fires everything in one go (issue 17: 1,582 due took 94 s at 500 per 30 s pass), and stopping
# the process waits at most one budget. The scheduler starts the next pass at once when one ran out.
WAKE_BATCH = 200
WAKE_BUDGET_SECONDS = 25.0
# PostgreSQL: wake-ups claimed (locked and loaded in one statement) and committed together, each in a
# savepoint of its own: one commit (and its WAL flush) per this many instead of one per instance, and two
# schedulers take different batches (issue 17: a burst of 2,461 due at once). A failure rolls back its own
# savepoint only; a crash loses nothing, as an uncommitted wake-up is simply still due.
# ``GOVERNANCE_WAKE_COMMIT_EVERY=1``: the one-by-one path (one transaction per instance), as on SQLite.
COMMIT_EVERY = int(os.environ.get("GOVERNANCE_WAKE_COMMIT_EVERY", "10"))


def scheduler_name() -> str:
    """host:pid, what a timer firing records as the scheduler that fired it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def wake_due(
    session: Session,
    make_engine: MakeEngine,
    limit: int | None = None,
    backoff: Backoff | None = None,
    *,
    batch: int = WAKE_BATCH,
    budget_seconds: float | None = WAKE_BUDGET_SECONDS,
    scheduler: str | None = None,
    commit_every: int | None = None,
) -> WakeReport:
    """Wake every instance due now, each in its own transaction, committed separately: batches of ``batch``
    back to back until nothing is due, ``limit`` instances were tried or ``budget_seconds`` passed
    (``more_due`` then says work is left). Each wake-up records its lag (due → fired, ``TimerFiring``).
    On PostgreSQL (unless ``commit_every`` is 1) claimed batches of ``commit_every`` instead, each instance
    in a savepoint of its own and the batch committed once (:data:`COMMIT_EVERY`, :func:`_wake_claimed`).

    The batches page through the due set (a cursor), so a pass tries each instance once. An instance locked
    by another scheduler, or no longer due, or changed under us (``Conflict``) is skipped. An instance that
    fails in any other way is rolled back, logged and reported, and gets an incident (its retry after
    ``backoff``, then parked and the administrators told) in a transaction of its own; the others go on. A
    wake-up that succeeds resolves the instance's incidents that were due for a retry.
    """
    engine = make_engine(session)
    backoff = incident_backoff() if backoff is None else backoff
    by = scheduler or scheduler_name()
    report = WakeReport()
    started = time.monotonic()
    now = engine.now()
    report.resolved = [i.id for i in settle_obsolete(session, now)]
    retrying = {i.instance_id for i in due_retries(session, now)}
    session.commit()
    tried = 0
    cursor: tuple[datetime, int] | None = None
    commit_every = COMMIT_EVERY if commit_every is None else commit_every
    if commit_every > 1 and session.get_bind().dialect.name == "postgresql":
        while limit is None or tried < limit:
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                report.more_due = True
                return report
            room = commit_every if limit is None else min(commit_every, limit - tried)
            claimed = claim_due_batch(session, engine.now(), room, cursor)
            if not claimed:
                session.commit()
                return report
            report.batches += 1
            tried += len(claimed)
            last = claimed[-1]
            assert last.next_wake_at is not None  # claimed because it is due
            cursor = (last.next_wake_at, last.id)
            _wake_claimed(session, engine, claimed, by, retrying, backoff, report)
        report.more_due = True
        return report
    while True:
        room = batch if limit is None else min(batch, limit - tried)
        due = due_batch(session, engine.now(), room, cursor) if room > 0 else []
        session.commit()
        if due:
            report.batches += 1
        for instance_id, due_at in due:
            if budget_seconds is not None and time.monotonic() - started > budget_seconds:
                report.more_due = True
                return report
            tried += 1
            cursor = (due_at, instance_id)
            _wake_one(session, engine, instance_id, due_at, by, retrying, backoff, report)
        if not due or (limit is not None and tried >= limit):
            report.more_due = bool(due)
            return report


def _wake_claimed(
    session: Session,
    engine: Engine,
    claimed: list[ProcessInstance],
    by: str,
    retrying: set[int],
    backoff: Backoff,
    report: WakeReport,
) -> None:
    """A claimed batch (locked, loaded) woken in one transaction, each instance in a savepoint of its own
    (see :data:`COMMIT_EVERY`). A failing instance's savepoint is rolled back and, once the others are
    committed, it takes the one-by-one path (:func:`_wake_one`: an incident unless another scheduler woke it
    meanwhile). Should the batch's commit itself fail, nothing of it was written and each instance is tried
    again one by one, so a poisoned one still gets its incident."""
    # Every claimed instance is due, so has its wake-up time; the condition only tells the type checker.
    due = {inst.id: inst.next_wake_at for inst in claimed if inst.next_wake_at is not None}
    woken: list[int] = []
    resolved: list[int] = []
    failed: list[int] = []
    for instance_id in due:
        savepoint = session.begin_nested()
        try:
            if engine.wake(instance_id):
                if instance_id in retrying:
                    resolved += [i.id for i in resolve_retried(session, instance_id, engine.now())]
                record_firing(session, instance_id, due[instance_id], engine.now(), by)
                savepoint.commit()
                woken.append(instance_id)
            else:
                savepoint.rollback()
                report.skipped.append(instance_id)
        except Conflict:
            savepoint.rollback()
            report.skipped.append(instance_id)
        except Exception:  # one broken instance must not stop the others: retried alone below
            savepoint.rollback()
            failed.append(instance_id)
    try:
        session.commit()
        report.woken += woken
        report.resolved += resolved
    except Exception:
        session.rollback()
        log.exception("committing a batch of %s wake-ups failed: each is tried alone", len(woken))
        failed = [i for i in due if i not in report.skipped]
    for instance_id in failed:  # the one-by-one path: woken, skipped, or an incident
        _wake_one(session, engine, instance_id, due[instance_id], by, retrying, backoff, report)


def _wake_one(
    session: Session,
    engine: Engine,
    instance_id: int,
    due_at: datetime,
    by: str,
    retrying: set[int],
    backoff: Backoff,
    report: WakeReport,
) -> None:
    """One instance's wake-up in its own transaction (see :func:`wake_due`)."""
    try:
        if lock_if_still_due(session, instance_id, engine.now()) and engine.wake(instance_id):
            if instance_id in retrying:
                report.resolved += [i.id for i in resolve_retried(session, instance_id, engine.now())]
            record_firing(session, instance_id, due_at, engine.now(), by)
            session.commit()
            report.woken.append(instance_id)
        else:
            session.rollback()
            report.skipped.append(instance_id)
    except Conflict:
        session.rollback()
        report.skipped.append(instance_id)
    except Exception as exc:  # one broken instance must not stop the others
        session.rollback()
        if not _still_due(session, instance_id, engine):  # another scheduler woke it meanwhile
            report.skipped.append(instance_id)
            return
        log.exception("timer of instance %s failed", instance_id)
        report.failed[instance_id] = _message(exc)
        incident = _raise_incident(session, engine, instance_id, exc, report.failed[instance_id], backoff)
        if incident is not None:
            report.incidents[instance_id] = incident


def _message(exc: Exception) -> str:
    return str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"


def _still_due(session: Session, instance_id: int, engine: Engine) -> bool:
    """After a failure: is the instance still due (locked again for recording the incident)? Not when the
    failure was a lost race — another scheduler woke it first and the write clashed with its (e.g. on SQLite
    an event's unique key rather than ``lock_version``): that is a skip, not an incident."""
    try:
        return lock_if_still_due(session, instance_id, engine.now())
    except Exception:
        session.rollback()
        return True  # cannot tell: try to record it (logged if that fails too)


def _raise_incident(
    session: Session, engine: Engine, instance_id: int, exc: Exception, message: str, backoff: Backoff
) -> int | None:
    """The failure as an incident of the instance (committed on its own); once parked, every administrator
    is notified. None if even that failed (e.g. the database went away): the instance stays due and is
    tried again next time."""
    try:
        element_id, element_name = element_of(exc)
        if element_id is None:
            element_id, element_name = due_timer_element(engine, instance_id)
        incident = raise_incident(
            session,
            instance_id,
            element_id,
            message,
            now=engine.now(),
            element_name=element_name,
            kind=TIMER,
            backoff=backoff,
            on_parked=lambda parked: _tell_admins(session, parked),
        )
        session.commit()
        return incident.id
    except Exception:
        session.rollback()
        log.exception("could not record the incident of instance %s", instance_id)
        return None


def _tell_admins(session: Session, incident: Incident) -> None:
    """A parked incident waits for a person: every administrator gets a notification (通知) naming the
    case."""
    inst = session.get(ProcessInstance, incident.instance_id)
    where = incident.element_name or incident.element_id or "定时处理"
    message = (
        f"运行异常：{inst.business_key if inst else incident.instance_id}（{where}）自动重试已用完，"
        f"已搁置，请在「运行异常」页面重试或取消。错误：{incident.message[:200]}"
    )
    for user_id in admins(session):
        session.add(
            Notification(
                user_id=user_id,
                kind="incident",
                instance_id=incident.instance_id,
                message=message,
                created_at=incident.last_failed_at,
            )
        )
