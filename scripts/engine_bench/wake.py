"""4 of scripts/bench_engine.py: ``wake_due`` waking N due instances, among N and among 100 x N waiting."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session

from app.jobs import wake_due
from engine_bench.common import (
    FAR_START,
    FAR_WAKE,
    WAIT_START,
    WAIT_WAKE,
    WANCHENG_TOWN,
    Namespace,
    Setup,
    Sizes,
    fresh_setup,
    median,
    ms,
    p90,
    print_table,
)
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.models import Base, InstanceEvent, ProcessInstance
from workflows.engine.timers import due_instance_ids
from workflows.regulation.roles import load_org
from workflows.regulation.wiring import regulation_parts


# -- 3: timer wake-ups ------------------------------------------------------------------------------------
class TimedEngine(Engine):
    """Records when each wake() starts, so wake_due's per-instance cost (lock, wake, commit) can be split."""

    marks: list[float]

    def wake(self, instance_id: int, actor: Actor = SYSTEM) -> bool:
        self.marks.append(time.perf_counter())
        return super().wake(instance_id, actor)


@dataclass
class WakeResult:
    waiting: int
    totals: list[float] = field(default_factory=list)
    per_instance: list[float] = field(default_factory=list)
    query: list[float] = field(default_factory=list)
    start_per_instance: list[float] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)


def start_due_batch(setup: Setup, n: int, run: int) -> float:
    setup.clock.set(WAIT_START)
    t0 = time.perf_counter()
    with setup.factory() as s:
        engine = setup.engine(s)
        for i in range(n):
            engine.start("wait_working_days", business_key=f"due-{run}-{i:06d}", unit_code=WANCHENG_TOWN)
            if i % 200 == 199:
                s.commit()
        s.commit()
    return (time.perf_counter() - t0) / n


def bulk_not_due(setup: Setup, n: int) -> None:
    """Insert ``n`` waiting, not-due instances: copies of a real one, unique keys, wake-ups a minute apart."""
    setup.clock.set(FAR_START)
    with setup.factory() as s:
        template = setup.engine(s).start(
            "wait_working_days", business_key="template", unit_code=WANCHENG_TOWN
        )
        s.commit()
        assert template.next_wake_at is not None and template.next_wake_at > WAIT_WAKE
        # Every column of the real rows (whatever the model has grown), except the keys and the wake-up time.
        instances, events = ProcessInstance.__table__, InstanceEvent.__table__
        base = dict(s.execute(select(instances).where(instances.c.id == template.id)).mappings().one())
        for key in ("id", "business_key", "next_wake_at"):
            del base[key]
        template_events = [
            {k: v for k, v in row.items() if k not in ("id", "instance_id")}
            for row in s.execute(select(events).where(events.c.instance_id == template.id)).mappings()
        ]
        chunk = 5000
        for lo in range(0, n - 1, chunk):  # the template itself is the n-th
            rows = [
                {**base, "business_key": f"bulk-{i:06d}", "next_wake_at": FAR_WAKE + timedelta(minutes=i)}
                for i in range(lo, min(n - 1, lo + chunk))
            ]
            s.execute(insert(instances), rows)
        ids = list(s.scalars(select(ProcessInstance.id).where(ProcessInstance.business_key.like("bulk-%"))))
        for lo in range(0, len(ids), chunk):
            rows = [{**e, "instance_id": i} for i in ids[lo : lo + chunk] for e in template_events]
            s.execute(insert(events), rows)
        s.commit()


def explain_due_query(setup: Setup, limit: int) -> list[str]:
    """EXPLAIN of the exact statement ``due_instance_ids`` sends (captured from the cursor)."""
    captured: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if "next_wake_at <=" in statement and not captured:
            captured.append((statement, parameters))

    event.listen(setup.sql, "before_cursor_execute", capture)
    try:
        with setup.factory() as s:
            due_instance_ids(s, setup.engine(s).now(), limit)
    finally:
        event.remove(setup.sql, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    lines = ["query: " + " ".join(statement.split())]
    with setup.sql.connect() as conn:
        if setup.sql.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            lines += [f"  {r[3]}" for r in rows]
        else:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            lines += [f"  {r[0]}" for r in rows]
    return lines


@dataclass
class WakeSetup:
    setup: Setup
    result: WakeResult


def prepare_wake(sql: SqlEngine, calendar: WorkingCalendar, sizes: Sizes, waiting: int) -> WakeSetup:
    setup = fresh_setup(sql, calendar, WAIT_START)
    if waiting > sizes.due:
        bulk_not_due(setup, waiting - sizes.due)
    return WakeSetup(setup, WakeResult(waiting))


def wake_run(ws: WakeSetup, sizes: Sizes, run: int) -> None:
    """Start a batch of due instances, then time the due query and one wake_due that wakes them all."""
    setup, result = ws.setup, ws.result
    marks: list[float] = []

    def make_engine(session: Session) -> Engine:
        engine = TimedEngine(
            session,
            setup.calendar,
            regulation_parts(load_org(session)),
            clock=setup.clock,
            spec_cache=setup.cache,
        )
        engine.marks = marks
        return engine

    result.start_per_instance.append(start_due_batch(setup, sizes.due, run))
    setup.settle()  # same for both setups
    setup.clock.set(WAIT_WAKE)
    if not result.plan:
        result.plan = explain_due_query(setup, sizes.due)
    with setup.factory() as s:
        engine = setup.engine(s)
        for _ in range(sizes.query_runs):
            t0 = time.perf_counter()
            found = due_instance_ids(s, engine.now(), sizes.due)
            result.query.append(time.perf_counter() - t0)
            s.rollback()
        assert len(found) == sizes.due, len(found)
    gc.collect()
    with setup.factory() as s:
        t0 = time.perf_counter()
        report = wake_due(s, make_engine, limit=sizes.due)
        end = time.perf_counter()
    assert len(report.woken) == sizes.due and not report.failed and not report.skipped, report
    result.totals.append(end - t0)
    result.per_instance += [b - a for a, b in zip(marks, [*marks[1:], end], strict=True)]
    with setup.factory() as s:
        left = s.scalar(select(func.count()).where(ProcessInstance.next_wake_at <= WAIT_WAKE))
        running = s.scalar(select(func.count()).where(ProcessInstance.status == "running"))
        assert left == 0 and running == result.waiting - sizes.due, (left, running)


def bench_wake(namespace: Namespace, calendar: WorkingCalendar, sizes: Sizes) -> list[WakeResult]:
    """Both setups side by side, runs alternating (small, large, large, small, ...) so load drift cancels."""
    setups = [
        prepare_wake(namespace("wake_small"), calendar, sizes, sizes.waiting_small),
        prepare_wake(namespace("wake_large"), calendar, sizes, sizes.waiting_large),
    ]
    for run in range(sizes.wake_runs):
        for ws in setups if run % 2 == 0 else reversed(setups):
            wake_run(ws, sizes, run)
    for ws in setups:
        Base.metadata.drop_all(ws.setup.sql)
    return [ws.result for ws in setups]


def report_wake(results: list[WakeResult], due: int) -> None:
    small, large = results
    rows = []
    for r in results:
        rows.append(
            [
                f"{due:,} due of {r.waiting:,} waiting",
                str(len(r.totals)),
                ms(median(r.totals)),
                ms(min(r.totals)),
                ms(max(r.totals)),
                ms(median(r.per_instance)),
                ms(p90(r.per_instance)),
                ms(median(r.query)),
                ms(p90(r.query)),
                ms(median(r.start_per_instance)),
            ]
        )
    print_table(
        "Timer wake-up: wake_due of all due instances (ms)",
        [
            "setup",
            "runs",
            "total med",
            "total min",
            "total max",
            "per inst med",
            "per inst p90",
            "due query med",
            "due query p90",
            "start/inst",
        ],
        rows,
    )
    print(
        f"\nratio {large.waiting:,}/{small.waiting:,} waiting:"
        f" total {median(large.totals) / median(small.totals):.2f}x"
        f" (min {min(large.totals) / min(small.totals):.2f}x),"
        f" per instance {median(large.per_instance) / median(small.per_instance):.2f}x,"
        f" due query {median(large.query) / median(small.query):.2f}x"
    )
    for r in results:
        print(f"\nplan of the due query, {r.waiting:,} waiting ({due:,} due):")
        print("\n".join(r.plan))
