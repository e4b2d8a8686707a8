"""The background pass on a timer: every interval reload the calendar, wake due instances, send due alerts,
and in the first days of January by the engine's clock start the city's year; at start-up it catches up on
missed timers. Two ways to run it: APScheduler inside a serving process (``GOVERNANCE_SCHEDULER=1``, what
``scripts/run`` does), or a process of its own, ``flask scheduler`` (what ``scripts/serve`` starts beside
the web workers, which then run none: docs/production.md).

Between passes, every ``GOVERNANCE_NOTICE_INTERVAL`` seconds (5), the notices job sends the "new task"
notices of the steps taken since (a request no longer writes them: issue 17).

The jobs themselves are in :mod:`app.jobs` (``flask timers`` runs the same pass once); this module only
gives them an application context and a session. They are safe with several processes sharing one
PostgreSQL: schedulers share the due timers (row locks, SKIP LOCKED), each firing once. A pass drains what
is due in batches for at most ``jobs.WAKE_BUDGET_SECONDS``; when it stopped with timers still due, the
next pass starts at once instead of an interval later, and when the next timer falls due sooner than the
interval, the next pass starts then (issue 17) — both ways of running it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

import click
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask, current_app
from flask.cli import with_appcontext

from app import jobs
from app.extensions import db
from app.runtime import runtime
from workflows.engine.timers import next_due_at

log = logging.getLogger(__name__)
WAKE_JOB = "wake_due"  # the in-process scheduler's pass


def _main_thread_alive() -> bool:
    """False once the interpreter is stopping (the main thread has ended; it then waits for this thread)."""
    return threading.main_thread().is_alive()


def run_timers(app: Flask, keep_going: Callable[[], bool] = _main_thread_alive) -> None:
    """Every interval: :func:`app.jobs.run_background_pass`; again at once while a pass ran out of its time
    budget with timers still due, unless ``keep_going`` says the process is stopping (so a stop waits at
    most one budget)."""
    while True:
        with app.app_context():
            try:
                report = jobs.run_background_pass(db.session(), runtime())
            finally:
                db.session.remove()
        if not report.timers.more_due or not keep_going():
            return


def run_timers_in_process(app: Flask) -> None:
    """The in-process job (``scripts/run``): :func:`run_timers`, then its next run moved up to the next due
    timer when that is sooner than the interval, as the ``flask scheduler`` loop sleeps (issue 17)."""
    run_timers(app)
    scheduler: BackgroundScheduler | None = app.extensions.get("scheduler")
    every = float(app.config["SCHEDULER_INTERVAL_SECONDS"])
    wait = seconds_to_next_due(app, every)
    if scheduler is not None and scheduler.running and wait < every:
        scheduler.modify_job(WAKE_JOB, next_run_time=datetime.now(UTC) + timedelta(seconds=wait))


def run_notices(app: Flask) -> None:
    """The notices job (``jobs.send_arrival_notices``) in its own session: cheap when nothing arrived."""
    with app.app_context():
        try:
            jobs.send_arrival_notices(db.session(), runtime().clock.now())
        finally:
            db.session.remove()


@click.command("scheduler")
@click.option(
    "--interval", type=float, default=None, help="Seconds between passes (GOVERNANCE_SCHEDULER_INTERVAL)."
)
@with_appcontext
def scheduler_command(interval: float | None) -> None:
    """Run the background pass every interval in the foreground, until SIGTERM or Ctrl-C: a dedicated
    scheduler process (scripts/serve starts two). A stop lets the running pass finish (at most its time
    budget), then exits."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    every = interval if interval is not None else float(app.config["SCHEDULER_INTERVAL_SECONDS"])
    in_process = app.extensions.pop("scheduler", None)  # GOVERNANCE_SCHEDULER=1 too: one loop is enough
    if in_process is not None:
        in_process.shutdown(wait=False)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler: signal %s, stopping after this pass", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    notices = float(app.config["NOTICE_INTERVAL_SECONDS"])
    click.echo(f"scheduler {jobs.scheduler_name()}: a pass every {every:g} s, notices every {notices:g} s")
    next_pass = 0.0
    while not stop.is_set():
        due_pass = time.monotonic() >= next_pass
        try:
            if due_pass:
                run_timers(app, keep_going=lambda: not stop.is_set())
            else:
                run_notices(app)
        except Exception:  # the database away for a moment: log it and try again next interval
            log.exception("background pass failed" if due_pass else "notices job failed")
        if due_pass:  # the next pass: after the interval, or when the next timer falls due if sooner
            next_pass = time.monotonic() + seconds_to_next_due(app, every)
        stop.wait(max(0.0, min(notices, next_pass - time.monotonic())))


def seconds_to_next_due(app: Flask, every: float) -> float:
    """How long to sleep after a pass: until the next timer falls due if that is sooner than ``every``, so
    a deadline shared by thousands (31 March for every letter) is fired at once, not up to an interval late
    (issue 17); never less than a tenth of a second, and ``every`` when it cannot be told. A timer created
    meanwhile by a request is seen at the next pass, at most ``every`` later, as before."""
    with app.app_context():
        try:
            now = runtime().clock.now()
            due = next_due_at(db.session(), now)
        except Exception:
            log.exception("reading the next wake-up failed")
            return every
        finally:
            db.session.remove()
    return sleep_for(due, now, every)


def sleep_for(due: datetime | None, now: datetime, every: float) -> float:
    """Seconds until ``due`` (the next wake-up), at least 0.1 and at most ``every``; ``every`` if none."""
    if due is None:
        return every
    due = due if due.tzinfo else due.replace(tzinfo=UTC)  # SQLite keeps naive UTC
    return min(every, max(0.1, (due - now).total_seconds()))


def init_app(app: Flask) -> None:
    app.cli.add_command(scheduler_command)
    if not app.config.get("SCHEDULER_ENABLED"):
        return
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    scheduler.add_job(
        run_timers_in_process,
        "interval",
        seconds=app.config["SCHEDULER_INTERVAL_SECONDS"],
        args=[app],
        id=WAKE_JOB,
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),  # catch up on timers missed while the server was down
    )
    scheduler.add_job(
        run_notices,
        "interval",
        seconds=app.config["NOTICE_INTERVAL_SECONDS"],
        args=[app],
        id="notices",
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    app.extensions["scheduler"] = scheduler
