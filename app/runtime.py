"""The engine behind one door: the app's clock, calendar and spec cache, and an Engine per session.

Views and CLI commands call :func:`engine`; nothing else in ``app/`` builds workflow objects.
"""

from __future__ import annotations

import threading
from datetime import datetime

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from app.extensions import db
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import SpecCache
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.calendar_store import load_calendar
from workflows.engine.legaltime.clock import Clock, ManualClock, SystemClock
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.sandboxing import limits
from workflows.regulation.roles import OrgTree, load_org
from workflows.regulation.wiring import build_engine


class Runtime:
    def __init__(self, clock: Clock, reminder_working_days: int = 3) -> None:
        self.clock = clock
        self.reminder_working_days = reminder_working_days
        self.spec_cache = SpecCache()
        self._calendar: WorkingCalendar | None = None
        self._org: OrgTree | None = None
        self._lock = threading.Lock()

    def calendar(self, session: Session) -> WorkingCalendar:
        if self._calendar is None:
            with self._lock:
                if self._calendar is None:
                    self._calendar = load_calendar(session)
        return self._calendar

    def org(self, session: Session) -> OrgTree:
        """The organisation tree, loaded once per process (it changes with re-divisions, not per request)."""
        if self._org is None:
            self._org = load_org(session)
        return self._org

    def reload_calendar(self, session: Session) -> WorkingCalendar:
        """Pick up schedules loaded by an admin (possibly from another process)."""
        calendar = load_calendar(session)
        with self._lock:
            self._calendar = calendar
            self._org = None  # the scheduler calls this every interval: organisation changes arrive too
        return calendar

    def engine(self, session: Session) -> Engine:
        return build_engine(
            session,
            self.calendar(session),
            clock=self.clock,
            spec_cache=self.spec_cache,
            org=self.org(session),
            reminder_working_days=self.reminder_working_days,
        )


def init_app(app: Flask) -> None:
    start = app.config.get("SIMULATION_START")
    clock: Clock = app.config.get("CLOCK") or (
        ManualClock(datetime.fromisoformat(start)) if start else SystemClock()
    )
    app.extensions["governance"] = Runtime(clock, app.config.get("REMINDER_WORKING_DAYS", 3))
    limits.configure(limits.Budget.from_config(app.config))  # scripts' budget, process-wide (issue 16)

    @app.before_request
    def _activate_clock() -> None:
        """Every request runs on the app's clock, not only engine steps: what a view stamps outside them
        (a receipt, a record entry) agrees with the deadlines (a simulated or test clock included)."""
        g.clock_token = clockmod.set_active(runtime().clock)

    @app.teardown_request
    def _restore_clock(_exc: BaseException | None) -> None:
        token = g.pop("clock_token", None)
        if token is not None:
            clockmod.reset_active(token)


def runtime() -> Runtime:
    return current_app.extensions["governance"]


def engine() -> Engine:
    return runtime().engine(db.session())
