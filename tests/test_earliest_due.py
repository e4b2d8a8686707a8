"""A case's earliest open deadline (``process_instance.earliest_due_at``, issue 17): every step writes it with
the task rows — a task without a deadline, one with, the next one, a cancellation — so it always equals the
earliest ``due_at`` of the case's open tasks, and the clock passing it makes the case overdue without a write;
the case list's overdue count and filter read it, and the migration fills it for the cases already there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.cases.counts import overdue_count
from app.cases.services import CaseFilters, cases_query
from app.extensions import db
from app.jobs import daily_upkeep
from tests.conftest import CITY, COUNTY_COMMITTEE, COUNTY_OFFICE, TOWN_LEADER, WOLONG_TOWN
from tests.test_engine import complete, run_to_rectify, start_case
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.earliest_due import check
from workflows.engine.incidents import cancel, raise_incident
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance, Task

Factory = sessionmaker[Session]
MakeEngine = Callable[[Session], Engine]
ADMIN = Actor("admin", frozenset({("admin", CITY)}))
SUPERVISOR = Actor("supervisor", frozenset({("supervisor", CITY)}))


def earliest(factory: Factory) -> dict[int, datetime | None]:
    """Each case's ``earliest_due_at``, asserted equal to the earliest deadline of its open tasks."""
    with factory() as s:
        counted = dict(
            s.execute(
                select(Task.instance_id, func.min(Task.due_at))
                .where(Task.state == "ready")
                .group_by(Task.instance_id)
            ).all()
        )
        stored = dict(s.execute(select(ProcessInstance.id, ProcessInstance.earliest_due_at)).all())
    assert stored == {case: counted.get(case) for case in stored}
    return stored


def overdue(engine: Engine) -> tuple[int, list[int]]:
    """The case list's overdue count and its overdue-only list, for the city supervisor."""
    filters = CaseFilters(process_id="rectification")
    listed = engine.session.scalars(cases_query(engine, SUPERVISOR, replace(filters, overdue=True)))
    return overdue_count(engine, SUPERVISOR, filters), sorted(i.id for i in listed)


def test_every_step_keeps_the_earliest_open_deadline(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any, clock: ManualClock
) -> None:
    case = start_case(session_factory, make_engine, key="case-1")
    other = start_case(session_factory, make_engine, unit=WOLONG_TOWN, key="case-2")
    assert earliest(session_factory) == {case: None, other: None}  # 核实 has no deadline
    verified = {"facts": "发生重大案件", "proposal": "notification"}
    complete(session_factory, make_engine, case, "verify", verified, COUNTY_OFFICE)
    complete(session_factory, make_engine, case, "approve", {"approved": True}, COUNTY_COMMITTEE)
    measures_due = earliest(session_factory)[case]  # 报告整改措施: 10 working days from the decision
    assert measures_due is not None and measures_due > clock.now()
    with session_factory() as s:
        assert overdue(make_engine(s)) == (0, [])
    clock.set(measures_due + timedelta(minutes=1))  # the deadline passes: nothing is written
    with session_factory() as s:
        assert overdue(make_engine(s)) == (1, [case])
    complete(session_factory, make_engine, case, "report_measures", {"measures": "加强巡防"}, TOWN_LEADER)
    rectify_due = earliest(session_factory)[case]  # 整改: two months from the decision
    assert rectify_due is not None and rectify_due > measures_due + timedelta(days=40)
    with session_factory() as s:
        assert overdue(make_engine(s)) == (0, [])
        incident = raise_incident(s, case, "timer", "boom", now=clock.now())
        cancel(make_engine(s), incident.id, ADMIN, "测试取消")
        s.commit()
    assert earliest(session_factory) == {case: None, other: None}


def test_the_migration_fills_it_for_the_cases_already_there(
    fixtures_app: Flask, session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    from flask_migrate import downgrade, upgrade

    case = start_case(session_factory, make_engine, key="case-1")
    run_to_rectify(session_factory, make_engine, case)
    start_case(session_factory, make_engine, key="case-2")
    before = earliest(session_factory)
    assert before[case] is not None
    with fixtures_app.app_context():
        downgrade(revision="c18a1b2c3d05")
        upgrade()
        db.engine.dispose()
    assert earliest(session_factory) == before
    with session_factory() as s:  # and the check above would see a stale value
        s.execute(update(ProcessInstance).where(ProcessInstance.id == case).values(earliest_due_at=None))
        s.commit()
    with pytest.raises(AssertionError):
        earliest(session_factory)


def test_the_daily_upkeep_repairs_what_a_writer_outside_the_engine_left(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A bulk writer (an import, hand-written SQL) wrote no earliest deadline for a case with one, and one for
    a case with none: the overdue count missed the first and would count the second. The first pass of the
    next day repairs both, logs each, and the count is right again."""
    late = start_case(session_factory, make_engine, key="case-1")
    run_to_rectify(session_factory, make_engine, late)
    quiet = start_case(session_factory, make_engine, key="case-2")  # 核实: no deadline
    right = earliest(session_factory)
    wrong = {late: None, quiet: datetime(2026, 1, 5, 1, 0, tzinfo=UTC)}
    with session_factory() as s:
        for case, value in wrong.items():
            s.execute(update(ProcessInstance).where(ProcessInstance.id == case).values(earliest_due_at=value))
        s.commit()
        assert sorted(d.instance_id for d in check(s)) == sorted(wrong)
    day = datetime(2026, 11, 30, 0, 5, tzinfo=CST)
    with session_factory() as s:
        done = daily_upkeep(s, day)
    assert done is not None and {d.instance_id: d.counted for d in done.deadlines} == {
        late: right[late],
        quiet: None,
    }
    assert earliest(session_factory) == right
    assert f"earliest deadline of instance {late}: stored None" in caplog.text
    with session_factory() as s:
        assert check(s) == []
