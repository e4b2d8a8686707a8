"""The drill's clock, kept in the drill database, and the start-up guard that keeps it out of production.

Why in the database: several processes serve one drill (waitress threads, a second server, ``flask`` commands
run beside it); each reads the same row, so when the instructor moves time every one of them sees it (at the
next request, or within :data:`CACHE_SECONDS` for background work). The engine asks the clock many times
per operation, so a read is cached briefly; every request starts with a fresh read (``app.drill``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.exc import SQLAlchemyError

from app.drill.models import DRILL_ROW, DrillState
from workflows.engine.legaltime.legal_time import to_cst

log = logging.getLogger(__name__)

CACHE_SECONDS = 1.0


class DrillRefused(RuntimeError):
    """The app and its database disagree about being a drill: the app must not start."""


@dataclass(frozen=True)
class DrillMark:
    name: str
    now: datetime
    seeded_from: str


def read_mark(engine: SqlEngine) -> DrillMark | None:
    """The drill row of the database behind ``engine``; None for a database that is not a drill (no table
    yet — a fresh database before its migrations — or an empty one)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(DrillState.__tablename__):
            return None
        row = conn.execute(
            select(DrillState.name, DrillState.now, DrillState.seeded_from).where(DrillState.id == DRILL_ROW)
        ).first()
    return DrillMark(row.name, row.now, row.seeded_from) if row else None


def guard(url: str, drill: bool) -> DrillMark | None:
    """Refuse to start when the app's mode and the database's mark disagree: a drill app needs a drill
    database (so a movable clock never runs on production data) and a normal app refuses a drill database
    (so a drill's invented future never mixes with real work). Returns the drill's mark in drill mode."""
    engine = create_engine(url)
    try:
        mark = read_mark(engine)
    except SQLAlchemyError as exc:
        if drill:
            raise DrillRefused(f"演练模式无法读取数据库 {engine.url!r} 的演练标记：{exc}") from exc
        log.warning("could not check the database for a drill mark: %s", exc)  # it cannot serve either
        return None
    finally:
        engine.dispose()
    if drill and mark is None:
        raise DrillRefused(
            f"拒绝启动：GOVERNANCE_DRILL=1，但数据库 {engine.url!r} 不是演练数据库（没有演练标记）。"
            "生产数据库不能使用可拨动的时钟；请用 scripts/drill new 建立演练数据库。"
        )
    if not drill and mark is not None:
        raise DrillRefused(
            f"拒绝启动：数据库 {engine.url!r} 是演练数据库「{mark.name}」"
            f"（演练时间 {to_cst(mark.now):%Y-%m-%d %H:%M}），"
            "不能作为正式系统运行；请用 scripts/drill serve 启动演练，或改用正式数据库。"
        )
    return mark


class StoredClock:
    """The drill's "now", read from its row in the drill database (cached for :data:`CACHE_SECONDS`)."""

    def __init__(self, url: str, cache_seconds: float = CACHE_SECONDS) -> None:
        self._engine = create_engine(url, pool_pre_ping=True)
        self._cache_seconds = cache_seconds
        self._cached: tuple[datetime, float] | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        cached = self._cached
        if cached is not None and time.monotonic() - cached[1] < self._cache_seconds:
            return cached[0]
        return self.refresh()

    def refresh(self) -> datetime:
        """Read the stored instant now (every request starts with this)."""
        with self._engine.connect() as conn:
            value = conn.scalar(select(DrillState.now).where(DrillState.id == DRILL_ROW))
        if value is None:
            raise DrillRefused("演练数据库的演练标记已不存在：演练时钟无法读取。")
        self.note(value)
        return value

    def note(self, instant: datetime) -> None:
        """This process just stored ``instant``: use it without reading it back."""
        with self._lock:
            self._cached = (instant, time.monotonic())

    def dispose(self) -> None:
        self._engine.dispose()
