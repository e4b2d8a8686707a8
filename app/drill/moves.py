"""Moving a drill's clock: forward only, stopping at every instant where something falls due on the way.

Between two stops nothing time-dependent changes, so at each stop the clock is stored (every process sees
it) and the scheduler's own pass runs (:func:`app.jobs.run_background_pass`: timers, reminders and overdue
flags, the new year's cycle, follow-ups), exactly as a server left running over those days would have. The
stops are the next of: a timer of an instance (``next_wake_at``), a ready task's reminder window
(``remind_at``) or deadline (``due_at``, flagged overdue just after), a rectification item's deadline, 1
January (the year's cycle starts), and the target. Plain functions on a session; they commit per stop, as
the scheduler does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session

from app import jobs
from app.drill.clock import StoredClock
from app.drill.models import DRILL_ROW, DrillState
from app.runtime import Runtime
from workflows.engine.db_lock import exclusive
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance, Task
from workflows.regulation.rectification import RectificationItem

MAX_DAYS = 400  # one move covers at most a year and a bit: a longer one is a mistake, and a long request
MAX_STOPS = 5000
JUST_AFTER = timedelta(seconds=1)  # a timer fires and a deadline is overdue just after it (``due < now``)


class DrillError(ValueError):
    """A move the instructor asked for that cannot be made (the message says why, in Chinese)."""


@dataclass
class Stop:
    at: datetime
    woken: int
    alerts: int
    failed: dict[int, str] = field(default_factory=dict)


@dataclass
class MoveReport:
    moved_from: datetime
    moved_to: datetime
    stops: list[Stop] = field(default_factory=list)

    @property
    def woken(self) -> int:
        return sum(s.woken for s in self.stops)


def mark_drill(session: Session, name: str, now: datetime, seeded_from: str) -> DrillState:
    """Make the database a drill whose clock reads ``now`` (``scripts/drill new``); flushes."""
    if now.tzinfo is None:
        raise DrillError("drill start needs a timezone-aware instant (+08:00)")
    row = DrillState(
        id=DRILL_ROW,
        name=name,
        seeded_from=seeded_from,
        started_at=now,
        now=now,
        created_at=datetime.now(CST),
    )
    session.add(row)
    session.flush()
    return row


def drill_state(session: Session) -> DrillState:
    row = session.get(DrillState, DRILL_ROW)
    if row is None:
        raise DrillError(_("这不是演练数据库"))
    return row


def target_of(now: datetime, *, days: int | None = None, on: str | None = None) -> datetime:
    """Where a move by ``days`` or to the date ``on`` (YYYY-MM-DD, 09:00 that day) lands."""
    if days is not None:
        if days <= 0:
            raise DrillError(_("天数须为正整数：演练时钟只能向前拨动"))
        return now + timedelta(days=days)
    if not on:
        raise DrillError(_("请填写日期或天数"))
    try:
        day = datetime.strptime(on.strip(), "%Y-%m-%d")
    except ValueError:
        raise DrillError(_("日期「%(on)s」无法识别，请按 YYYY-MM-DD 填写", on=on)) from None
    return day.replace(hour=9, tzinfo=CST)


def next_stop(session: Session, after: datetime, target: datetime) -> datetime:
    """The first instant after ``after`` (and not past ``target``) at which something falls due. A timer,
    a deadline and a rectification item are past due only once the clock is beyond them (SpiffWorkflow
    fires a timer when ``due < now``; overdue is ``due_at < now``), so the stop is just after them."""
    candidates = [target, datetime(after.astimezone(CST).year + 1, 1, 1, tzinfo=CST)]
    reminder = session.scalar(
        select(func.min(Task.remind_at)).where(Task.state == "ready", Task.remind_at > after)
    )
    if reminder is not None:
        candidates.append(reminder)
    since = after - JUST_AFTER
    just_after = [
        select(func.min(ProcessInstance.next_wake_at)).where(ProcessInstance.next_wake_at > since),
        select(func.min(Task.due_at)).where(Task.state == "ready", Task.due_at > since),
        select(func.min(RectificationItem.deadline)).where(
            RectificationItem.status == "open", RectificationItem.deadline > since
        ),
    ]
    for query in just_after:
        found = session.scalar(query)
        if found is not None:
            candidates.append(found + JUST_AFTER)
    return min(c for c in candidates if c > after)


def move_clock(session: Session, rt: Runtime, target: datetime, by: str) -> MoveReport:
    """Move the drill's clock forward to ``target``, running the scheduler's pass at every stop on the way.

    Two instructors moving the same drill at once take turns (a named database lock); the second starts
    from where the first stopped, and a target that is no longer ahead is refused."""
    clock = rt.clock
    if not isinstance(clock, StoredClock):
        raise DrillError(_("只有演练模式的系统才能拨动时钟"))
    bind = session.get_bind()
    sql_engine = bind if isinstance(bind, SqlEngine) else bind.engine
    with sql_engine.connect() as lock, exclusive(lock, "drill-clock"):
        session.rollback()  # read the row as the previous holder of the lock left it
        row = drill_state(session)
        start = row.now
        if target <= start:
            raise DrillError(
                _("只能向前拨动：演练时间已是 %(now)s", now=f"{start.astimezone(CST):%Y-%m-%d %H:%M}")
            )
        if target - start > timedelta(days=MAX_DAYS):
            raise DrillError(_("一次最多拨动 %(n)s 天", n=MAX_DAYS))
        report = MoveReport(start, target)
        row.moved_from, row.moved_by = start, by
        at = start
        while at < target:
            if len(report.stops) >= MAX_STOPS:
                raise DrillError(_("途中到期时点超过 %(n)s 个，请分几次拨动", n=MAX_STOPS))
            at = next_stop(session, at, target)
            drill_state(session).now = at
            session.commit()
            clock.note(at)
            with clockmod.activated(clock):
                passed = jobs.run_background_pass(session, rt, budget_seconds=None)  # drain each stop
            report.stops.append(Stop(at, len(passed.timers.woken), passed.alerts_sent, passed.timers.failed))
    return report
