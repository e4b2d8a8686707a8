"""The engine behind one door: the app's clock, calendar and spec cache, and an Engine per session.

Views and CLI commands call :func:`engine`; nothing else in ``app/`` builds workflow objects.

What this keeps in process memory is a cache of the database, never state to share (issue 17: several
processes serve one PostgreSQL): the spec cache is keyed by immutable definition versions; the working
calendar and the organisation tree are reloaded when older than ``max_age_seconds`` (default 60 s,
``GOVERNANCE_RUNTIME_RELOAD_SECONDS``), and at once in the process that changed them (``reload_calendar``).
So a holiday schedule or a re-division made in one process reaches every other within that bound, whether
or not the process runs a scheduler (whose pass reloads them too).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

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


class OffsetClock:
    """The system clock moved by a fixed offset, running: every process given the same offset agrees, and
    timers come due in real time. For load tests that put a deadline minutes ahead
    (``GOVERNANCE_CLOCK_OFFSET_SECONDS``, scripts/bench_province.py); never set in production."""

    def __init__(self, offset_seconds: float) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Runtime:
    def __init__(self, clock: Clock, reminder_working_days: int = 3, max_age_seconds: float = 60.0) -> None:
        self.clock = clock
        self.reminder_working_days = reminder_working_days
        self.max_age_seconds = max_age_seconds
        self.spec_cache = SpecCache()
        self._calendar: WorkingCalendar | None = None
        self._org: OrgTree | None = None
        self._loaded_at = 0.0  # time.monotonic() of the last load of both
        self._lock = threading.Lock()

    def _stale(self) -> bool:
        return time.monotonic() - self._loaded_at > self.max_age_seconds

    def calendar(self, session: Session) -> WorkingCalendar:
        if self._calendar is None or self._stale():
            self.reload_calendar(session)
        assert self._calendar is not None
        return self._calendar

    def org(self, session: Session) -> OrgTree:
        """The organisation tree, loaded once per ``max_age_seconds`` (it changes with re-divisions, not per
        request)."""
        if self._org is None or self._stale():
            self.reload_calendar(session)
        assert self._org is not None
        return self._org

    def reload_calendar(self, session: Session) -> WorkingCalendar:
        """Pick up schedules loaded by an admin and organisation changes (possibly from another process)."""
        calendar, org = load_calendar(session), load_org(session)
        with self._lock:
            self._calendar, self._org = calendar, org
            self._loaded_at = time.monotonic()
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
    offset = app.config.get("CLOCK_OFFSET_SECONDS") or 0.0
    clock: Clock = app.config.get("CLOCK") or (
        ManualClock(datetime.fromisoformat(start))
        if start
        else OffsetClock(offset)
        if offset
        else SystemClock()
    )
    app.extensions["governance"] = Runtime(
        clock, app.config.get("REMINDER_WORKING_DAYS", 3), app.config.get("RUNTIME_RELOAD_SECONDS", 60.0)
    )
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
