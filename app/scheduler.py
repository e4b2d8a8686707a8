"""APScheduler in the serving process: every interval the background pass (reload the calendar, wake due
instances, send due alerts, and in the first days of January by the engine's clock start the city's year; at
start-up it catches up on missed timers).

The jobs themselves are in :mod:`app.jobs` (``flask timers`` runs the same pass); this module only gives them
an application context and a session. They are safe with several processes sharing one PostgreSQL, so
running more than one server is fine.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from app import jobs
from app.extensions import db
from app.runtime import runtime


def run_timers(app: Flask) -> None:
    """Every interval: :func:`app.jobs.run_background_pass`."""
    with app.app_context():
        try:
            jobs.run_background_pass(db.session(), runtime())
        finally:
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
    scheduler.start()
    app.extensions["scheduler"] = scheduler
