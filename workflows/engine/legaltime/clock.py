"""One clock for the engine, its timers and every deadline.

Tests and the simulation mode move time instead of sleeping. SpiffWorkflow's timer module reads
``datetime.now(timezone.utc)`` directly (ENGINE_NOTES.md, "Timers"), so :func:`install_spiff_clock`
replaces the ``datetime`` name in that module with a subclass whose ``now()`` asks the active clock.
The active clock is a context variable: the engine activates its own clock around each operation, so two
engines (a test's frozen one and the server's system one) never see each other's time.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar, Token
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from workflows.engine.legaltime.legal_time import CST


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to: for tests and for simulating a year in minutes."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start (use +08:00 for Nanyang)")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            raise ValueError("ManualClock.set needs a timezone-aware datetime")
        with self._lock:
            self._now = instant

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now = self._now + (delta or timedelta(**kwargs))
            return self._now


_SYSTEM = SystemClock()
_active: ContextVar[Clock] = ContextVar("active_clock", default=_SYSTEM)


def current() -> Clock:
    return _active.get()


def now() -> datetime:
    """The active clock's instant in Nanyang time (+08:00)."""
    return _active.get().now().astimezone(CST)


def set_active(clock: Clock) -> Token[Clock]:
    """Make ``clock`` the active one until :func:`reset_active` (for a web request's whole life)."""
    return _active.set(clock)


def reset_active(token: Token[Clock]) -> None:
    _active.reset(token)


@contextlib.contextmanager
def activated(clock: Clock) -> Iterator[Clock]:
    token = _active.set(clock)
    try:
        yield clock
    finally:
        _active.reset(token)


class _ClockDatetime(datetime):
    """``datetime`` whose ``now()`` reads the active clock; everything else is inherited."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        instant = _active.get().now()
        return instant.astimezone(tz) if tz is not None else instant.astimezone().replace(tzinfo=None)


_installed = False


def install_spiff_clock() -> None:
    """Make SpiffWorkflow's timers read the active clock. Idempotent."""
    global _installed
    if _installed:
        return
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    timer.datetime = _ClockDatetime
    _installed = True
