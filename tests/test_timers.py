"""Timer wake-ups with more than one scheduler: every due timer fires exactly once (row locks with
SKIP LOCKED on PostgreSQL; lock_version everywhere); one broken instance never stops the batch, it gets an
incident (retries and parking: tests/test_incidents.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import WakeReport, wake_due
from tests.conftest import WANCHENG_TOWN
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Incident, InstanceEvent, ProcessInstance


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


def test_a_failing_instance_gets_an_incident_and_the_batch_goes_on(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not an EngineError: a bug anywhere below (here a RuntimeError after the wake-up has written its
    changes). That instance's work is rolled back, it gets an incident and is reported; the others commit."""
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    with session_factory() as s:
        engine = make_engine(s)
        ids = [
            engine.start("wait_working_days", business_key=f"p{i}", unit_code=WANCHENG_TOWN).id
            for i in range(5)
        ]
        s.commit()
    poisoned = ids[2]
    wake = Engine.wake

    def poisoned_wake(self: Engine, instance_id: int, actor: Actor = SYSTEM) -> bool:
        woken = wake(self, instance_id, actor)  # writes (flushes) the fired timer first
        if instance_id == poisoned:
            raise RuntimeError("handler bug")
        return woken

    monkeypatch.setattr(Engine, "wake", poisoned_wake)
    # The migrations' logging.config.fileConfig (run by the sql_engine fixture) disables loggers that
    # existed before it; the scheduler's process never runs it, so look at the log as production has it.
    monkeypatch.setattr(logging.getLogger("app.jobs"), "disabled", False)
    clock.set(datetime(2026, 3, 10, 0, 0, tzinfo=CST))
    with caplog.at_level(logging.ERROR, logger="app.jobs"), session_factory() as s:
        report = wake_due(s, make_engine)
    assert sorted(report.woken) == sorted(i for i in ids if i != poisoned)
    assert report.failed == {poisoned: "RuntimeError: handler bug"} and report.skipped == []
    assert f"timer of instance {poisoned} failed" in caplog.text
    with session_factory() as s:
        broken = s.get(ProcessInstance, poisoned)
        assert broken is not None
        assert (broken.status, broken.error) == ("running", None)  # its deadline stays; the incident holds it
        incident = s.scalars(select(Incident)).one()
        assert report.incidents == {poisoned: incident.id}
        assert (incident.instance_id, incident.message, incident.status) == (
            poisoned,
            "RuntimeError: handler bug",
            "open",
        )
        assert incident.element_id == "wait"  # the error names no element: the timer that was due
        assert {
            i.status for i in s.scalars(select(ProcessInstance).where(ProcessInstance.id != poisoned))
        } == {"complete"}
        fired = set(s.scalars(select(InstanceEvent.instance_id).where(InstanceEvent.kind == "timer_fired")))
        assert fired == set(ids) - {poisoned}  # the poisoned instance's writes were rolled back
    with session_factory() as s:  # held until its retry, so the next run does not try it again
        assert wake_due(s, make_engine) == WakeReport()
