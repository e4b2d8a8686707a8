"""Timer wake-ups with more than one scheduler: every due timer fires exactly once (row locks with
SKIP LOCKED on PostgreSQL; lock_version everywhere)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import WANCHENG_TOWN
from workflows.engine.clock import ManualClock
from workflows.engine.core import Engine
from workflows.engine.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance
from workflows.engine.timers import WakeReport, wake_due


def test_two_schedulers_fire_each_timer_once(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))  # + 5 working days = Monday 9 March
    with session_factory() as s:
        engine = make_engine(s)
        ids = [
            engine.start("wait_working_days", business_key=f"w{i}", unit_code=WANCHENG_TOWN).id
            for i in range(30)
        ]
        s.commit()
        assert {i.next_wake_at for i in s.scalars(select(ProcessInstance))} == {
            datetime(2026, 3, 9, 23, 59, 59, tzinfo=CST)
        }
    clock.set(datetime(2026, 3, 10, 0, 0, tzinfo=CST))
    reports: list[WakeReport] = []
    barrier = threading.Barrier(2)

    def scheduler() -> None:
        with session_factory() as s:
            barrier.wait()
            reports.append(wake_due(s, make_engine))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    woken = [i for r in reports for i in r.woken]
    assert sorted(woken) == sorted(ids)  # every instance woken, none twice
    assert not any(r.failed for r in reports)
    with session_factory() as s:
        fired = s.scalar(
            select(func.count()).select_from(InstanceEvent).where(InstanceEvent.kind == "timer_fired")
        )
        assert fired == len(ids)
        assert set(s.scalars(select(ProcessInstance.status))) == {"complete"}


def test_wake_cost_scans_only_due_instances(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
) -> None:
    """Instances waiting for later are not loaded: only the due one is woken (and reported)."""
    with session_factory() as s:
        engine = make_engine(s)
        clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
        early = engine.start("wait_working_days", business_key="early", unit_code=WANCHENG_TOWN).id
        clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=CST))
        engine.start("wait_working_days", business_key="late", unit_code=WANCHENG_TOWN)
        s.commit()
    clock.set(datetime(2026, 3, 20, 9, 0, tzinfo=CST))
    with session_factory() as s:
        report = wake_due(s, make_engine)
    assert report.woken == [early] and report.skipped == []
