"""Background work in one place: what the scheduler runs every interval and on 1 January, and what an operator
runs by hand (``flask timers``, ``flask calendar load``). Both call the same functions. Waking the due
timers is :mod:`app.wakeups` (``wake_due``, re-exported here).

These functions own the transactions: one commit per instance, a failing instance rolled back, logged,
reported, and the batch goes on. The engine below (``workflows/``) only flushes. No Flask and no app
context: they take a session and the app's :class:`~app.runtime.Runtime` or an engine factory, so
``scripts/simulate_year.py`` and ``scripts/bench_engine.py`` call them on a bare session too.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session
from tqdm import tqdm  # type: ignore[import-untyped]

from app.inbox.notifications import ALERT_KINDS, send_due_alerts
from app.integrity import seal_working_files
from app.org.upkeep import keep_organisation
from app.runtime import Runtime
from app.wakeups import WAKE_BUDGET_SECONDS, MakeEngine, _message, wake_due
from app.wakeups import WakeReport as WakeReport  # re-exported: callers import the timers from here too
from app.wakeups import scheduler_name as scheduler_name
from workflows.engine import earliest_due
from workflows.engine.counters import claim_once
from workflows.engine.db_lock import advisory_key
from workflows.engine.earliest_due import DueDrift
from workflows.engine.errors import NotFound
from workflows.engine.incidents import Backoff
from workflows.engine.legaltime.calendar_store import provisional_instance_ids
from workflows.engine.legaltime.legal_time import CST, to_cst
from workflows.engine.models import ProcessInstance
from workflows.engine.tally import Drift, recount
from workflows.regulation.annual import find_cycle, start_cycle
from workflows.regulation.key_townships import start_selection
from workflows.regulation.meetings import flag_missing_plenaries
from workflows.regulation.rectification import mark_overdue
from workflows.regulation.roles import org_of

log = logging.getLogger(__name__)


def run_due_timers(
    session: Session,
    rt: Runtime,
    limit: int | None = None,
    backoff: Backoff | None = None,
    budget_seconds: float | None = WAKE_BUDGET_SECONDS,
) -> WakeReport:
    """Pick up holiday schedules and organisation changes loaded by any process, then drain the due
    timers."""
    rt.reload_calendar(session)
    return wake_due(session, rt.engine, limit, backoff, budget_seconds=budget_seconds)


# -- notifications -------------------------------------------------------------------------------------------
def send_alerts(session: Session, now: datetime, kinds: tuple[str, ...] = ALERT_KINDS) -> int:
    """Send the alerts due at ``now`` (task arrived, reminder window open, overdue) and commit them.

    One scheduler at a time (0 when another is sending): a burst of thousands of alerts is one long
    transaction, and a second scheduler inserting the same alerts would wait on its rows for all of it
    instead of firing timers (measured in the province benchmark, issue 17)."""
    try:
        if not _try_transaction_lock(session, "send-alerts"):
            session.rollback()
            return 0
        sent = send_due_alerts(session, now, kinds=kinds)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return sent


def send_arrival_notices(session: Session, now: datetime) -> int:
    """The notices job: "new task" notices for the tasks opened since the last run, every
    ``NOTICE_INTERVAL_SECONDS`` on the scheduler. The step that opened a task does not write them, so a
    completion's request does not wait for its notifications (issue 17); the full pass sends them too."""
    return send_alerts(session, now, kinds=("arrived",))


def _try_transaction_lock(session: Session, name: str) -> bool:
    """PostgreSQL: take the advisory lock ``name`` for this transaction if free (released at its end).
    Elsewhere True: SQLite has one writer anyway."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": advisory_key(name)}))


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


def run_background_pass(
    session: Session,
    rt: Runtime,
    limit: int | None = None,
    budget_seconds: float | None = WAKE_BUDGET_SECONDS,
) -> PassReport:
    """Reload the calendar → wake the due timers → send the due alerts → follow-ups (rectification items
    overdue, the year's plenary) → the days' seals and the daily upkeep: the scheduler's job every interval
    and ``flask timers`` once. When the timers ran out of ``budget_seconds`` with more due, the pass ends
    there (``more_due``): the scheduler runs the next at once, and the alerts wait until the burst is
    drained (issue 17: in the province benchmark, a scheduler sending 14,000 overdue alerts fired no timer
    meanwhile)."""
    timers = run_due_timers(session, rt, limit, budget_seconds=budget_seconds)
    if timers.woken or timers.failed:
        log.info(
            "timers: woke %s in %s batch(es), failed %s%s",
            len(timers.woken),
            timers.batches,
            timers.failed,
            " (more due: next pass at once)" if timers.more_due else "",
        )
    if timers.more_due:  # a burst: the timers first; the alerts and upkeep follow once it is drained
        return PassReport(timers, 0)
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
    try:
        daily_upkeep(session, rt.clock.now())
    except Exception:  # retried next pass: the day is claimed only with the upkeep's commit
        session.rollback()
        log.exception("the daily upkeep (case counts, planner statistics) failed")
    # Timers that came due while the alerts and follow-ups ran (a burst can take minutes): now, not a pass
    # later. Cheap when none is due (one indexed query).
    late = wake_due(session, rt.engine, limit, budget_seconds=budget_seconds)
    timers.woken += late.woken
    timers.skipped += late.skipped
    timers.failed.update(late.failed)
    timers.incidents.update(late.incidents)
    timers.resolved += late.resolved
    timers.batches += late.batches
    timers.more_due = late.more_due
    return PassReport(timers, sent, follow_ups)


# -- once a day: the case counts checked, the planner's statistics refreshed ---------------------------------
DAILY_UPKEEP = "daily upkeep"  # its counter: the last day done (no process id has a space)


@dataclass
class Upkeep:
    """What the daily upkeep found different, and repaired."""

    counts: list[Drift]  # case counts (instance_tally)
    deadlines: list[DueDrift]  # cases' earliest open deadline (process_instance.earliest_due_at)


def daily_upkeep(session: Session, now: datetime) -> Upkeep | None:
    """Once a day by the engine's clock (the first pass of the day, on whichever scheduler claims it):

    * the case lists' counts (``instance_tally``) against a full count, rewritten where they differ, every
      difference logged as a warning — only a writer that bypassed the ORM (a bulk import, hand-written SQL)
      makes one (``flask cases tallies`` does the same on demand);
    * each case's earliest open deadline (``earliest_due_at``, which the overdue counts read) against its
      open tasks, rewritten where it differs and logged the same way (:mod:`workflows.engine.earliest_due`);
    * on SQLite, the query planner's statistics (``ANALYZE``; sampled ones are too coarse for the units):
      SQLite keeps none by itself, and without them it finds a county's cases by walking every case instead
      of by their units (issue 17). PostgreSQL's autovacuum keeps its own.

    The differences found; ``None`` when the day was already done."""
    day = int(to_cst(now).strftime("%Y%m%d"))
    try:
        if not claim_once(session, DAILY_UPKEEP, day):
            session.rollback()
            return None
        drift = recount(session, repair=True)
        due_drift = earliest_due.repair(session)
        if session.get_bind().dialect.name == "sqlite":  # every index read: 66 ms at 100,000 cases
            session.execute(text("ANALYZE"))
        session.commit()
    except Exception:
        session.rollback()
        raise
    for d in drift:
        log.warning(
            "case counts: %s tallied %s, counted %s (repaired)", "/".join(d.key), d.tallied, d.counted
        )
    for due in due_drift:
        log.warning(
            "earliest deadline of instance %s: stored %s, its open tasks' %s (repaired)",
            due.instance_id,
            due.stored,
            due.counted,
        )
    return Upkeep(drift, due_drift)


# -- provisional deadlines -----------------------------------------------------------------------------------
@dataclass
class RecomputeReport:
    recomputed: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def recompute_provisional_deadlines(
    session: Session, make_engine: MakeEngine, progress: bool = False
) -> RecomputeReport:
    """Recompute every provisional deadline with the calendar as ``make_engine`` now builds it (after a
    year's schedule was loaded); one commit per instance, a failing one rolled back, logged and reported.
    ``progress``: a progress bar on a terminal (``flask calendar load``: thousands of cases take a while)."""
    report = RecomputeReport()
    ids = provisional_instance_ids(session)
    session.commit()
    for instance_id in tqdm(ids, desc="recompute deadlines", unit="case", disable=None if progress else True):
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
YEAR_CYCLE_START = "annual cycle start"  # its counter: the last year started by the pass


def start_year_cycle(session: Session, make_engine: MakeEngine) -> ProcessInstance | None:
    """1 January: the city committee's annual cycle for the engine clock's year starts (Art. 13: letters in
    Q1), with the city office's selection of the year's key townships (Art. 35 para 2, O35.2). Idempotent:
    None when it is already running, no organisation is loaded or no ``annual_cycle`` is deployed."""
    engine = make_engine(session)
    city, year = org_of(engine).city_code, engine.now().year
    # Two schedulers may both find no cycle and start one (issue 17: scripts/serve starts two): the year
    # is claimed first, so the second waits for the first one's commit and then finds the year taken. A
    # rolled-back start gives the year back.
    if city is None or not claim_once(session, YEAR_CYCLE_START, year):
        session.rollback()
        return None
    if find_cycle(session, year, city) is not None:  # started by hand already
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
