"""Background work in one place: what the scheduler runs every interval and on 1 January, and what an operator
runs by hand (``flask timers``, ``flask calendar load``). Both call the same functions.

These functions own the transactions: one commit per instance, a failing instance rolled back, logged,
reported, and the batch goes on. The engine below (``workflows/``) only flushes. No Flask and no app
context: they take a session and the app's :class:`~app.runtime.Runtime` or an engine factory, so
``scripts/simulate_year.py`` and ``scripts/bench_engine.py`` call them on a bare session too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import incident_backoff
from app.inbox.models import Notification
from app.inbox.notifications import send_due_alerts
from app.integrity import seal_working_files
from app.org.upkeep import admins, keep_organisation
from app.runtime import Runtime
from workflows.engine.core import Engine
from workflows.engine.errors import Conflict, EngineError, NotFound
from workflows.engine.incidents import (
    TIMER,
    Backoff,
    due_retries,
    element_of,
    raise_incident,
    resolve_retried,
    settle_obsolete,
)
from workflows.engine.legaltime.calendar_store import provisional_instance_ids
from workflows.engine.legaltime.legal_time import CST, to_cst
from workflows.engine.models import Incident, ProcessInstance
from workflows.engine.timers import due_instance_ids, due_timer_element, lock_if_still_due
from workflows.regulation.annual import find_cycle, start_cycle
from workflows.regulation.key_townships import start_selection
from workflows.regulation.meetings import flag_missing_plenaries
from workflows.regulation.rectification import mark_overdue
from workflows.regulation.roles import org_of

log = logging.getLogger(__name__)

MakeEngine = Callable[[Session], Engine]


# -- timers --------------------------------------------------------------------------------------------------
@dataclass
class WakeReport:
    woken: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    incidents: dict[int, int] = field(default_factory=dict)  # failed instance → its incident
    resolved: list[int] = field(default_factory=list)  # incidents whose retry succeeded (or moved on)


def wake_due(
    session: Session, make_engine: MakeEngine, limit: int = 500, backoff: Backoff | None = None
) -> WakeReport:
    """Wake every instance due now (up to ``limit``), each in its own transaction, committed separately.

    An instance locked by another scheduler, or no longer due, or changed under us (``Conflict``) is skipped.
    An instance that fails in any other way is rolled back, logged and reported, and gets an incident (its
    retry after ``backoff``, then parked and the administrators told) in a transaction of its own; the others
    go on. A wake-up that succeeds resolves the instance's incidents that were due for a retry.
    """
    engine = make_engine(session)
    backoff = incident_backoff() if backoff is None else backoff
    report = WakeReport()
    now = engine.now()
    report.resolved = [i.id for i in settle_obsolete(session, now)]
    retrying = {i.instance_id for i in due_retries(session, now)}
    ids = due_instance_ids(session, now, limit)
    session.commit()
    for instance_id in ids:
        try:
            if lock_if_still_due(session, instance_id, engine.now()) and engine.wake(instance_id):
                if instance_id in retrying:
                    report.resolved += [i.id for i in resolve_retried(session, instance_id, engine.now())]
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
                continue
            log.exception("timer of instance %s failed", instance_id)
            report.failed[instance_id] = _message(exc)
            incident = _raise_incident(session, engine, instance_id, exc, report.failed[instance_id], backoff)
            if incident is not None:
                report.incidents[instance_id] = incident
    return report


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


def run_due_timers(
    session: Session, rt: Runtime, limit: int = 500, backoff: Backoff | None = None
) -> WakeReport:
    """Pick up holiday schedules and organisation changes loaded by any process, then wake the due timers."""
    rt.reload_calendar(session)
    return wake_due(session, rt.engine, limit, backoff)


# -- notifications -------------------------------------------------------------------------------------------
def send_alerts(session: Session, now: datetime) -> int:
    """Send the alerts due at ``now`` (task arrived, reminder window open, overdue) and commit them."""
    try:
        sent = send_due_alerts(session, now)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return sent


# -- follow-ups: rectification items past their deadline, the year's plenary (Art. 25) ----------------------
@dataclass
class FollowUpReport:
    items_overdue: int = 0
    plenary_flagged: list[str] = field(default_factory=list)


def run_follow_ups(session: Session, rt: Runtime) -> FollowUpReport:
    """Open rectification items past their deadline become overdue; once 31 December has passed, every
    committee without a plenary or enlarged meeting of that year on record is flagged (idempotent)."""
    now = rt.clock.now()
    try:
        overdue = mark_overdue(session, now)
        flagged = flag_missing_plenaries(session, rt.org(session), to_cst(now).year - 1, now)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return FollowUpReport(overdue, flagged)


# -- the pass the scheduler runs every interval --------------------------------------------------------------
@dataclass
class PassReport:
    timers: WakeReport
    alerts_sent: int
    follow_ups: FollowUpReport = field(default_factory=FollowUpReport)


# The city's year starts in the first days of January (a server down on 1 January starts it later).
NEW_YEAR_GRACE_DAYS = 7


def run_background_pass(session: Session, rt: Runtime, limit: int = 500) -> PassReport:
    """Reload the calendar → wake the due timers → send the due alerts → follow-ups (rectification items
    overdue, the year's plenary): the scheduler's job every interval and ``flask timers`` once."""
    timers = run_due_timers(session, rt, limit)
    if timers.woken or timers.failed:
        log.info("timers: woke %s, failed %s", timers.woken, timers.failed)
    upkeep = keep_organisation(session, rt.org(session), rt.clock.now())  # grants follow posts; no task
    if upkeep.grants.changed or upkeep.unassigned:  # waits silently for nobody (app/org/upkeep.py)
        log.info(
            "organisation: %s grant(s) added, %s removed, %s task(s) flagged unassigned",
            len(upkeep.grants.added),
            len(upkeep.grants.removed),
            len(upkeep.unassigned),
        )
    sent = send_alerts(session, rt.clock.now())
    if sent:
        log.info("notifications: %s sent", sent)
    now = rt.clock.now().astimezone(CST)
    if now.month == 1 and now.day <= NEW_YEAR_GRACE_DAYS:  # the engine's clock, so a simulated year works
        started = start_year_cycle(session, rt.engine)
        if started is not None:
            log.info("annual cycle %s started", started.business_key)
    follow_ups = run_follow_ups(session, rt)
    if follow_ups.items_overdue or follow_ups.plenary_flagged:
        log.info("follow-ups: %s items overdue, plenary flagged %s", *vars(follow_ups).values())
    try:  # the day's root hash per office, once the day has ended (issue 16: tamper-evident working file)
        seal_working_files(session, rt)
    except Exception:  # a failed seal is retried next pass; the timers and alerts above are committed
        log.exception("sealing the working files' daily roots failed")
    return PassReport(timers, sent, follow_ups)


# -- provisional deadlines -----------------------------------------------------------------------------------
@dataclass
class RecomputeReport:
    recomputed: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def recompute_provisional_deadlines(session: Session, make_engine: MakeEngine) -> RecomputeReport:
    """Recompute every provisional deadline with the calendar as ``make_engine`` now builds it (after a
    year's schedule was loaded); one commit per instance, a failing one rolled back, logged and reported."""
    report = RecomputeReport()
    ids = provisional_instance_ids(session)
    session.commit()
    for instance_id in ids:
        engine = make_engine(session)
        try:
            engine.recompute_provisional(instance_id)
            session.commit()
            report.recomputed.append(instance_id)
        except Exception as exc:  # one broken instance must not stop the others; it is reported
            session.rollback()
            log.exception("recomputing the deadlines of instance %s failed", instance_id)
            report.failed[instance_id] = _message(exc)
    return report


# -- 1 January -----------------------------------------------------------------------------------------------
def start_year_cycle(session: Session, make_engine: MakeEngine) -> ProcessInstance | None:
    """1 January: the city committee's annual cycle for the engine clock's year starts (Art. 13: letters in
    Q1), with the city office's selection of the year's key townships (Art. 35 para 2, O35.2). Idempotent:
    None when it is already running, no organisation is loaded or no ``annual_cycle`` is deployed."""
    engine = make_engine(session)
    city, year = org_of(engine).city_code, engine.now().year
    if city is None or find_cycle(session, year, city) is not None:
        session.rollback()
        return None
    try:
        inst = start_cycle(engine, city, year)
        with suppress(NotFound):  # no selection deployed: refused before anything is written
            start_selection(engine, year)
        session.commit()
    except NotFound:  # no annual_cycle deployed: nothing to start
        session.rollback()
        return None
    except Exception:
        session.rollback()
        raise
    return inst
