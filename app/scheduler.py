"""APScheduler in the serving process: wake due instances; at start-up, catch up once on missed timers.

The job itself is :func:`workflows.engine.timers.wake_due`, which is safe with several processes sharing one
PostgreSQL, so running more than one server is fine.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from app.extensions import db
from app.inbox.notifications import send_due_alerts
from app.runtime import runtime
from workflows.engine.errors import NotFound
from workflows.engine.timers import wake_due
from workflows.regulation.annual import find_cycle, start_cycle
from workflows.regulation.roles import org_of

log = logging.getLogger(__name__)


def run_timers(app: Flask) -> None:
    with app.app_context():
        rt = runtime()
        rt.reload_calendar(db.session)
        report = wake_due(db.session, rt.engine)
        if report.woken or report.failed:
            log.info("timers: woke %s, failed %s", report.woken, report.failed)
        sent = send_due_alerts(db.session, rt.clock.now())  # arrivals, reminder windows, overdue
        db.session.commit()
        if sent:
            log.info("notifications: %s sent", sent)
        db.session.remove()


def start_year(app: Flask) -> None:
    """1 January: the city committee's annual cycle starts (Art. 13: letters in Q1); idempotent."""
    with app.app_context():
        engine = runtime().engine(db.session)
        if (
            org_of(engine).city_code
            and find_cycle(db.session, engine.now().year, org_of(engine).city_code) is None
        ):
            try:
                start_cycle(engine, org_of(engine).city_code, engine.now().year)
                db.session.commit()
            except NotFound:  # no annual_cycle deployed: nothing to start
                db.session.rollback()
        db.session.remove()


def init_app(app: Flask) -> None:
    if not app.config.get("SCHEDULER_ENABLED"):
        return
    scheduler = BackgroundScheduler(timezone="Asia/Shanghai")
    scheduler.add_job(
        run_timers,
        "interval",
        seconds=app.config["SCHEDULER_INTERVAL_SECONDS"],
        args=[app],
        id="wake_due",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),  # catch up on timers missed while the server was down
    )
    scheduler.add_job(
        start_year,
        "cron",
        month=1,
        day=1,
        hour=0,
        minute=5,
        args=[app],
        id="start_year",
        coalesce=True,
        misfire_grace_time=7 * 86400,
    )  # a server down on 1 January starts it later
    scheduler.start()
    app.extensions["scheduler"] = scheduler
