"""Schedulers drain what is due (issue 17): one pass fires every due timer in batches back to back (not 500
per 30-second pass), stops at its limit or time budget saying more is due, several schedulers share the due
set without firing anything twice, and every wake-up records its lag (due → fired)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import WakeReport, send_alerts, wake_due
from app.runtime import Runtime
from app.scheduler import sleep_for
from app.wakeups import COMMIT_EVERY
from tests.conftest import WANCHENG, WANCHENG_TOWN
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.db_lock import advisory_key
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Incident, InstanceEvent, OrgUnit, ProcessInstance, TimerFiring
from workflows.engine.timers import claim_due_batch, next_due_at

DUE_AT = datetime(2026, 3, 9, 23, 59, 59, tzinfo=CST)  # 2 March 09:00 + 5 working days (wait_working_days)
AFTER = datetime(2026, 3, 10, 0, 0, tzinfo=CST)


def start_waiting(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    n: int,
) -> list[int]:
    """``n`` instances waiting on a timer due at ``DUE_AT``, committed in chunks."""
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    ids: list[int] = []
    with session_factory() as s:
        engine = make_engine(s)
        for i in range(n):
            ids.append(engine.start("wait_working_days", business_key=f"d{i}", unit_code=WANCHENG_TOWN).id)
            if i % 200 == 199:
                s.commit()
        s.commit()
    return ids


def fired_count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as s:
        return (
            s.scalar(
                select(func.count()).select_from(InstanceEvent).where(InstanceEvent.kind == "timer_fired")
            )
            or 0
        )


def test_one_pass_drains_two_thousand_due_in_batches(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    ids = start_waiting(session_factory, make_engine, clock, 2000)
    clock.set(AFTER)
    with session_factory() as s:
        report = wake_due(s, make_engine, batch=300, budget_seconds=None)  # no budget: a loaded machine
    assert sorted(report.woken) == sorted(ids)  # all of them in one pass, not 500
    if s.get_bind().dialect.name == "postgresql":  # claimed and committed COMMIT_EVERY at a time
        assert report.batches == -(-2000 // COMMIT_EVERY)
    else:
        assert report.batches == 7  # 6 full batches of 300 and one of 200, back to back
    assert not report.more_due and not report.failed and not report.skipped
    assert fired_count(session_factory) == 2000
    with session_factory() as s:
        assert s.scalar(select(func.count()).where(ProcessInstance.next_wake_at.is_not(None))) == 0
        # Each wake-up recorded its lag: due 23:59:59, fired at midnight by the manual clock.
        lags = list(s.execute(select(TimerFiring.instance_id, TimerFiring.due_at, TimerFiring.lag_ms)))
    assert sorted(i for i, _, _ in lags) == sorted(ids)
    assert {due for _, due, _ in lags} == {DUE_AT}
    assert {lag for _, _, lag in lags} == {1000}
    with session_factory() as s:
        assert wake_due(s, make_engine) == WakeReport()  # nothing left due


def test_a_pass_stops_at_its_limit_or_budget_and_says_more_is_due(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    ids = start_waiting(session_factory, make_engine, clock, 25)
    clock.set(AFTER)
    with session_factory() as s:
        report = wake_due(s, make_engine, limit=15, batch=10)
        assert (len(report.woken), report.batches, report.more_due) == (15, 2, True)
        stopped = wake_due(s, make_engine, budget_seconds=0.0)  # out of time before the first wake-up
        assert (stopped.woken, stopped.more_due) == ([], True)
        rest = wake_due(s, make_engine, batch=10)
    assert sorted(report.woken + rest.woken) == sorted(ids)
    assert not rest.more_due
    assert fired_count(session_factory) == 25


def test_lag_is_measured_from_due_to_fired(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    """A scheduler that was down for two hours fires late: the recorded lag says by how much, and who."""
    [iid] = start_waiting(session_factory, make_engine, clock, 1)
    clock.set(DUE_AT + timedelta(hours=2))
    with session_factory() as s:
        assert wake_due(s, make_engine, scheduler="sched-a").woken == [iid]
        firing = s.scalars(select(TimerFiring)).one()
    assert (firing.instance_id, firing.due_at, firing.fired_at) == (iid, DUE_AT, DUE_AT + timedelta(hours=2))
    assert (firing.lag_ms, firing.scheduler) == (7_200_000, "sched-a")


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="sharing the due set between concurrent writers needs PostgreSQL (SQLite: one writer)",
)
def test_two_schedulers_on_postgresql_share_the_work_without_firing_twice(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    ids = start_waiting(session_factory, make_engine, clock, 400)
    clock.set(AFTER)
    reports: dict[str, WakeReport] = {}
    barrier = threading.Barrier(2)

    def scheduler(name: str) -> None:
        with session_factory() as s:
            barrier.wait()
            reports[name] = wake_due(s, make_engine, batch=50, budget_seconds=None, scheduler=name)

    threads = [threading.Thread(target=scheduler, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    woken = reports["a"].woken + reports["b"].woken
    assert sorted(woken) == sorted(ids)  # every instance woken, none twice
    assert reports["a"].woken and reports["b"].woken  # both did a share of the work
    assert not reports["a"].failed and not reports["b"].failed
    assert fired_count(session_factory) == 400
    with session_factory() as s:
        by = dict(
            s.execute(select(TimerFiring.scheduler, func.count()).group_by(TimerFiring.scheduler)).all()
        )
        assert s.scalar(select(func.count(func.distinct(TimerFiring.instance_id)))) == 400
    assert by == {"a": len(reports["a"].woken), "b": len(reports["b"].woken)}


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="the alerts' advisory lock is PostgreSQL's (SQLite: one writer)",
)
def test_one_scheduler_sends_the_alerts_while_the_other_fires_timers(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    """A scheduler finding another one sending alerts (a long transaction in a burst) skips them instead
    of waiting on the same rows, and goes on to the timers."""
    [iid] = start_waiting(session_factory, make_engine, clock, 1)
    clock.set(AFTER)
    with session_factory() as busy, session_factory() as other:
        busy.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key("send-alerts")})
        assert send_alerts(other, clock.now()) == 0  # not blocked: skipped
        assert wake_due(other, make_engine).woken == [iid]
        busy.rollback()


def test_every_process_sees_organisation_changes_within_the_reload_bound(
    session_factory: sessionmaker[Session], session: Session, clock: ManualClock
) -> None:
    """Several processes serve one database: a unit added by another process reaches this one's cached
    organisation tree once the cache is older than its bound (GOVERNANCE_RUNTIME_RELOAD_SECONDS), with or
    without a scheduler in the process."""
    rt = Runtime(clock, max_age_seconds=3600)
    with session_factory() as s:
        assert "411302999" not in rt.org(s).nodes
    with session_factory() as other_process:
        other_process.add(OrgUnit(code="411302999", name="新设街道", level="township", parent_code=WANCHENG))
        other_process.commit()
    with session_factory() as s:
        assert "411302999" not in rt.org(s).nodes  # within the bound: the cached tree
        rt.max_age_seconds = 0.0
        assert rt.org(s).nodes["411302999"].name == "新设街道"  # past it: reloaded


POSTGRESQL_ONLY = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="batches of wake-ups in one transaction are PostgreSQL's (SQLite: one writer, one by one)",
)


def due_count(session_factory: sessionmaker[Session], now: datetime) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).where(ProcessInstance.next_wake_at <= now)) or 0


@POSTGRESQL_ONLY
def test_a_batch_commits_together_and_a_failing_instance_rolls_back_alone(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wake-ups are committed COMMIT_EVERY at a time, each in a savepoint: the instance whose wake-up fails
    is rolled back alone (its savepoint) and gets its incident; the others of its batch are written."""
    ids = start_waiting(session_factory, make_engine, clock, COMMIT_EVERY + 2)
    broken, wake = ids[3], Engine.wake

    def failing_wake(self: Engine, instance_id: int, actor: Actor = SYSTEM) -> bool:
        woke = wake(self, instance_id, actor)  # written first, then it fails: the savepoint undoes it
        if instance_id == broken:
            raise RuntimeError("handler bug")
        return woke

    monkeypatch.setattr(Engine, "wake", failing_wake)
    clock.set(AFTER)
    commits = [0]

    def count(_conn: Any) -> None:  # COMMITs on the wire (a savepoint's release is not one)
        commits[0] += 1

    with session_factory() as s:
        bind = s.get_bind()
        event.listen(bind, "commit", count)
        try:
            report = wake_due(s, make_engine, budget_seconds=None)
        finally:
            event.remove(bind, "commit", count)
    assert sorted(report.woken) == sorted(i for i in ids if i != broken)
    assert report.failed == {broken: "RuntimeError: handler bug"} and list(report.incidents) == [broken]
    assert commits[0] < len(ids) // 2  # the opening one, 2 batches, the incident, the last claim: not 12
    with session_factory() as s:
        fired_ids = list(s.scalars(select(TimerFiring.instance_id)))
        assert sorted(fired_ids) == sorted(report.woken)  # the broken one left no firing, no event
        assert s.get(ProcessInstance, broken).next_wake_at is not None  # type: ignore[union-attr]
        assert s.scalars(select(Incident.instance_id)).all() == [broken]
    assert fired_count(session_factory) == len(ids) - 1


@POSTGRESQL_ONLY
def test_a_batch_whose_commit_fails_leaves_its_instances_due_and_they_are_tried_alone(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    """Nothing of a batch is written until its commit: when that fails (or the process dies before it),
    every instance of the batch is still due, and the pass wakes each on its own instead."""
    ids = start_waiting(session_factory, make_engine, clock, 5)
    clock.set(AFTER)
    failed_once = [False]

    def fail_first_batch(session: Session) -> None:
        if not failed_once[0] and session.scalar(select(func.count()).select_from(TimerFiring)):
            failed_once[0] = True
            assert due_count(session_factory, AFTER) == 5  # another connection sees nothing of the batch
            raise RuntimeError("the database went away")

    with session_factory() as s:
        event.listen(s, "before_commit", fail_first_batch)
        report = wake_due(s, make_engine, budget_seconds=None)
    assert failed_once[0]
    assert sorted(report.woken) == sorted(ids) and not report.failed and not report.incidents
    assert fired_count(session_factory) == 5 and due_count(session_factory, AFTER) == 0


@POSTGRESQL_ONLY
def test_schedulers_claim_different_batches_and_an_unfinished_claim_stays_due(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    start_waiting(session_factory, make_engine, clock, 8)
    with session_factory() as a, session_factory() as b:
        first = [i.id for i in claim_due_batch(a, AFTER, 5)]
        second = [i.id for i in claim_due_batch(b, AFTER, 5)]  # SKIP LOCKED: the rows a holds are not b's
        assert len(first) == 5 and len(second) == 3 and not set(first) & set(second)
        a.rollback()  # a scheduler stopping (or dying) before its commit
        b.rollback()
    assert due_count(session_factory, AFTER) == 8


def test_the_scheduler_sleeps_until_the_next_due_instant_not_a_whole_interval(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    start_waiting(session_factory, make_engine, clock, 1)
    now = DUE_AT - timedelta(seconds=4)
    with session_factory() as s:
        due = next_due_at(s, now)
        assert next_due_at(s, DUE_AT) is None  # nothing after the last deadline
    assert sleep_for(due, now, 30.0) == pytest.approx(4.0)  # the deadline, not 30 s later
    assert sleep_for(due, now - timedelta(hours=1), 30.0) == 30.0  # far off: the interval
    assert sleep_for(due, DUE_AT + timedelta(seconds=1), 30.0) == 0.1  # already due: at once
    assert sleep_for(None, now, 30.0) == 30.0
