"""Deadlines in a year whose official holiday schedule is not yet published (2027 as of 2026-11-27):
computed from the statutory holidays, flagged provisional, and recomputed once the schedule is loaded
(Art. 34 / O34.2: measures within 10 working days)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import recompute_provisional_deadlines, wake_due
from tests.conftest import COUNTY_COMMITTEE, COUNTY_OFFICE, FIXTURES, WANCHENG_TOWN
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import SpecCache, deploy, read_project_files
from workflows.engine.legaltime.calendar_store import load_calendar, store_schedule
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.holiday_schedule import YearSchedule
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.regulation.wiring import build_engine

# A made-up 2027 notice for the test: New Year 1–3 January off, plus Monday 4 January; Sunday 10 January
# worked. (The real one is not published as of this writing.)
NOTICE_2027 = YearSchedule(
    year=2027,
    holidays=frozenset({date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3), date(2027, 1, 4)}),
    workdays=frozenset({date(2027, 1, 10)}),
    source="test notice",
)


def test_deadline_into_unpublished_year_is_provisional_then_recomputed(
    session_factory: sessionmaker[Session], session: Session, clock: ManualClock
) -> None:
    cache = SpecCache()

    def make_engine(s: Session) -> Engine:
        return build_engine(s, load_calendar(s), clock=clock, spec_cache=cache)

    deploy(
        session,
        read_project_files(FIXTURES),
        make_engine(session).checks,
        created_by="test",
    )
    session.commit()
    # Decision on Thursday 2026-12-24: 25, 28, 29, 30, 31 Dec are working days (1–5); 1 Jan 2027 is a
    # statutory holiday; 4–8 Jan are 6–10 → due 2027-01-08, provisional. The waiting timer: 5 working days
    # after 24 Dec is 31 Dec, all in 2026 → official.
    clock.set(datetime(2026, 12, 24, 10, 0, tzinfo=CST))
    with session_factory() as s:
        engine = make_engine(s)
        case = engine.start("rectification", business_key="c", unit_code=WANCHENG_TOWN)
        for element, data, who in (
            ("verify", {"facts": "发生重大案件", "proposal": "interview"}, COUNTY_OFFICE),
            ("approve", {"approved": True}, COUNTY_COMMITTEE),
        ):
            task = next(t for t in engine.ready_tasks(case.id) if t.element_id == element)
            engine.complete_task(task.id, data, who)
        clock.set(datetime(2026, 12, 29, 10, 0, tzinfo=CST))
        waiting = engine.start("wait_working_days", business_key="w", unit_code=WANCHENG_TOWN)
        s.commit()
        case_id, wait_id = case.id, waiting.id

    with session_factory() as s:
        measures = s.scalars(select(Task).where(Task.element_id == "report_measures")).one()
        assert measures.due_at == datetime(2027, 1, 8, 23, 59, 59, tzinfo=CST)
        assert measures.due_provisional is True
        # Timer: 5 working days after 29 Dec 2026 = 30, 31 Dec, (1 Jan off) 4, 5, 6 Jan → 6 Jan, provisional.
        wait = s.get(ProcessInstance, wait_id)
        assert wait is not None and wait.next_wake_at == datetime(2027, 1, 6, 23, 59, 59, tzinfo=CST)
        assert wait.has_provisional and s.get(ProcessInstance, case_id).has_provisional  # type: ignore[union-attr]

        store_schedule(s, NOTICE_2027, loaded_by="test")
        s.commit()
        report = recompute_provisional_deadlines(s, make_engine)
        assert sorted(report.recomputed) == sorted([case_id, wait_id]) and not report.failed

    with session_factory() as s:
        measures = s.scalars(select(Task).where(Task.element_id == "report_measures")).one()
        # With 4 Jan off: 25, 28, 29, 30, 31 Dec; 5, 6, 7, 8 Jan; 10 Jan (Sunday, worked) is the 10th.
        assert measures.due_at == datetime(2027, 1, 10, 23, 59, 59, tzinfo=CST)
        assert measures.due_provisional is False
        wait = s.get(ProcessInstance, wait_id)
        # 30, 31 Dec; 5, 6, 7 Jan → 7 Jan.
        assert wait is not None and wait.next_wake_at == datetime(2027, 1, 7, 23, 59, 59, tzinfo=CST)
        assert not wait.has_provisional
        events = s.scalars(select(InstanceEvent).where(InstanceEvent.kind == "deadlines_recomputed")).all()
        assert len(events) == 2

    # The recomputed timer fires on its new date, not the old one.
    clock.set(datetime(2027, 1, 7, 12, 0, tzinfo=CST))
    with session_factory() as s:
        assert wake_due(s, make_engine).woken == []
    clock.set(datetime(2027, 1, 8, 0, 0, 1, tzinfo=CST))
    with session_factory() as s:
        assert wake_due(s, make_engine).woken == [wait_id]
        assert s.get(ProcessInstance, wait_id).status == "complete"  # type: ignore[union-attr]


def test_deadline_within_a_published_year_is_not_provisional(
    session: Session, engine: Engine, deployed: object, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=CST))
    case = engine.start("rectification", business_key="c2", unit_code=WANCHENG_TOWN)
    for element, data, who in (
        ("verify", {"facts": "发生重大案件", "proposal": "interview"}, COUNTY_OFFICE),
        ("approve", {"approved": True}, COUNTY_COMMITTEE),
    ):
        task = next(t for t in engine.ready_tasks(case.id) if t.element_id == element)
        engine.complete_task(task.id, data, who)
    measures = next(t for t in engine.ready_tasks(case.id) if t.element_id == "report_measures")
    assert measures.due_at == datetime(2026, 11, 16, 23, 59, 59, tzinfo=CST) and not measures.due_provisional
    assert case.has_provisional is False


def test_recompute_goes_on_past_a_failing_instance(
    session_factory: sessionmaker[Session],
    session: Session,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One commit per instance: an instance whose recomputation raises (any exception) keeps its old
    deadline and is reported; the others are recomputed and committed."""
    cache = SpecCache()

    def make_engine(s: Session) -> Engine:
        return build_engine(s, load_calendar(s), clock=clock, spec_cache=cache)

    deploy(session, read_project_files(FIXTURES), make_engine(session).checks, created_by="test")
    session.commit()
    clock.set(datetime(2026, 12, 29, 10, 0, tzinfo=CST))  # waits until 6 Jan 2027, provisional
    with session_factory() as s:
        engine = make_engine(s)
        ids = [
            engine.start("wait_working_days", business_key=f"r{i}", unit_code=WANCHENG_TOWN).id
            for i in range(3)
        ]
        store_schedule(s, NOTICE_2027, loaded_by="test")
        s.commit()
    broken = ids[1]
    recompute = Engine.recompute_provisional

    def failing(self: Engine, instance_id: int) -> ProcessInstance:
        inst = recompute(self, instance_id)  # flushes the new deadline first: it must be rolled back
        if instance_id == broken:
            raise RuntimeError("disk full")
        return inst

    monkeypatch.setattr(Engine, "recompute_provisional", failing)
    with session_factory() as s:
        report = recompute_provisional_deadlines(s, make_engine)
    assert sorted(report.recomputed) == sorted(set(ids) - {broken})
    assert report.failed == {broken: "RuntimeError: disk full"}
    with session_factory() as s:
        wake_at = {i.id: (i.next_wake_at, i.has_provisional) for i in s.scalars(select(ProcessInstance))}
    old, new = datetime(2027, 1, 6, 23, 59, 59, tzinfo=CST), datetime(2027, 1, 7, 23, 59, 59, tzinfo=CST)
    assert wake_at == {i: (old, True) if i == broken else (new, False) for i in ids}


MakeEngine = Callable[[Session], Engine]
