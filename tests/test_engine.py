"""Engine behaviour, driven by task name, with every step in a fresh session (state always round-trips
through the database) — the fixture process is a notification-style case (Art. 33, O33.1/O33.2) with the
Art. 34 measures deadline (O34.2)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import wake_due
from tests.conftest import (
    COUNTY_COMMITTEE,
    COUNTY_OFFICE,
    OTHER_COUNTY_OFFICE,
    TOWN_LEADER,
    WANCHENG,
    WANCHENG_TOWN,
    WOLONG_TOWN,
)
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import Conflict, FormInvalid, NotAuthorized, NotFound, TaskNotReady
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.engine.sandboxing.scripting import end_events

Factory = sessionmaker[Session]
MakeEngine = Callable[[Session], Engine]


def start_case(
    factory: Factory, make_engine: MakeEngine, unit: str = WANCHENG_TOWN, key: str = "case-1"
) -> int:
    with factory() as s:
        inst = make_engine(s).start(
            "rectification", business_key=key, unit_code=unit, data={"matter": "测试"}
        )
        s.commit()
        return inst.id


def ready(factory: Factory, instance_id: int) -> dict[str, Task]:
    with factory() as s:
        return {t.element_id: t for t in make_session_tasks(s, instance_id)}


def make_session_tasks(s: Session, instance_id: int) -> list[Task]:
    return list(s.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "ready")))


def complete(
    factory: Factory,
    make_engine: MakeEngine,
    instance_id: int,
    element: str,
    data: dict[str, Any],
    who: Actor,
) -> ProcessInstance:
    with factory() as s:
        task = next(t for t in make_session_tasks(s, instance_id) if t.element_id == element)
        inst = make_engine(s).complete_task(task.id, data, who)
        s.commit()
        return inst


def run_to_rectify(factory: Factory, make_engine: MakeEngine, instance_id: int) -> None:
    complete(
        factory,
        make_engine,
        instance_id,
        "verify",
        {"facts": "发生重大案件", "proposal": "notification"},
        COUNTY_OFFICE,
    )
    complete(factory, make_engine, instance_id, "approve", {"approved": True}, COUNTY_COMMITTEE)
    complete(factory, make_engine, instance_id, "report_measures", {"measures": "加强巡防"}, TOWN_LEADER)


def test_start_projects_first_task_to_the_upper_office(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    iid = start_case(session_factory, make_engine)
    tasks = ready(session_factory, iid)
    assert list(tasks) == ["verify"]
    verify = tasks["verify"]
    # A township's case is verified by its county office (相应的上一级, Art. 33/34).
    assert (verify.role, verify.org_code, verify.unit_code) == ("office_director", WANCHENG, WANCHENG_TOWN)
    assert verify.form == "verify.json" and verify.article == "Art. 33 (O33.1)"
    with session_factory() as s:
        inst = s.get(ProcessInstance, iid)
        assert inst is not None and inst.status == "running" and inst.version_id == deployed.id
        assert '"spec"' not in inst.state_json  # the spec lives once in the version, not in every instance
        kinds = [e.kind for e in s.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == iid))]
        assert kinds[:2] == ["started", "task_created"]


def test_happy_path_closes_the_case(session_factory: Factory, make_engine: MakeEngine, deployed: Any) -> None:
    iid = start_case(session_factory, make_engine)
    run_to_rectify(session_factory, make_engine, iid)
    complete(session_factory, make_engine, iid, "rectify", {}, TOWN_LEADER)
    # Not accepted: back to rectification (the loop), then accepted.
    complete(session_factory, make_engine, iid, "accept", {"accepted": False}, COUNTY_OFFICE)
    assert list(ready(session_factory, iid)) == ["rectify"]
    complete(session_factory, make_engine, iid, "rectify", {}, TOWN_LEADER)
    inst = complete(session_factory, make_engine, iid, "accept", {"accepted": True}, COUNTY_OFFICE)
    assert inst.status == "complete" and inst.next_wake_at is None
    assert ready(session_factory, iid) == {}
    with session_factory() as s:
        wf = make_engine(s).workflow(s.get(ProcessInstance, iid))  # type: ignore[arg-type]
        assert wf.is_completed()
        assert end_events(wf) == ["End_closed"]
        assert wf.data.get("measures") == "加强巡防" or wf.last_task.data["measures"] == "加强巡防"


def test_measures_due_in_ten_working_days_across_national_day(
    session_factory: Factory, make_engine: MakeEngine, clock: ManualClock, deployed: Any
) -> None:
    """O34.2: measures within 10 working days. Decided 2026-09-28 (Mon): 29, 30 Sep work; 1–7 Oct off
    (国庆+中秋); 8, 9 Oct work; 10 Oct (Sat) is a make-up working day; 12–16 Oct work → the 10th is 16 Oct."""
    clock.set(datetime(2026, 9, 28, 10, 0, tzinfo=CST))
    iid = start_case(session_factory, make_engine)
    complete(
        session_factory,
        make_engine,
        iid,
        "verify",
        {"facts": "发生重大案件", "proposal": "interview"},
        COUNTY_OFFICE,
    )
    complete(session_factory, make_engine, iid, "approve", {"approved": True}, COUNTY_COMMITTEE)
    measures = ready(session_factory, iid)["report_measures"]
    assert measures.due_at == datetime(2026, 10, 16, 23, 59, 59, tzinfo=CST)
    assert measures.due_provisional is False


def test_rectification_deadline_fires_on_the_exact_day(
    session_factory: Factory, make_engine: MakeEngine, clock: ManualClock, deployed: Any
) -> None:
    """O33.2: rectify within 2 calendar months of the decision (15 March → 15 May, end of day +08:00)."""
    clock.set(datetime(2026, 3, 15, 10, 0, tzinfo=CST))
    iid = start_case(session_factory, make_engine)
    run_to_rectify(session_factory, make_engine, iid)
    due = datetime(2026, 5, 15, 23, 59, 59, tzinfo=CST)
    with session_factory() as s:
        inst = s.get(ProcessInstance, iid)
        assert inst is not None and inst.next_wake_at == due
    assert ready(session_factory, iid)["rectify"].due_at == due

    clock.set(due - timedelta(seconds=1))
    with session_factory() as s:
        assert wake_due(s, make_engine).woken == []
    assert "rectify" in ready(session_factory, iid)

    clock.set(due + timedelta(seconds=1))
    with session_factory() as s:
        report = wake_due(s, make_engine)
    assert report.woken == [iid]
    with session_factory() as s:
        inst = s.get(ProcessInstance, iid)
        assert inst is not None and inst.status == "complete" and inst.next_wake_at is None
        rectify = s.scalars(select(Task).where(Task.instance_id == iid, Task.element_id == "rectify")).one()
        assert rectify.state == "cancelled"
        fired = s.scalars(select(InstanceEvent).where(InstanceEvent.kind == "timer_fired")).all()
        assert [e.element_id for e in fired] == ["Timer_rectify_due"]
        wf = make_engine(s).workflow(inst)
        assert end_events(wf) == ["End_escalated"]
    # Catch-up runs again (e.g. a second scheduler, or a restart): nothing fires twice.
    with session_factory() as s:
        assert wake_due(s, make_engine).woken == []


def test_missed_timer_fires_once_at_startup_catch_up(
    session_factory: Factory, make_engine: MakeEngine, clock: ManualClock, deployed: Any
) -> None:
    clock.set(datetime(2026, 3, 15, 10, 0, tzinfo=CST))
    iids = [start_case(session_factory, make_engine, key=f"c{i}") for i in range(3)]
    for iid in iids[:2]:
        run_to_rectify(session_factory, make_engine, iid)
    clock.set(datetime(2026, 8, 1, tzinfo=CST))  # "the server was down" for months
    with session_factory() as s:
        assert sorted(wake_due(s, make_engine).woken) == sorted(iids[:2])
        assert wake_due(s, make_engine).woken == []
        assert (
            s.scalar(
                select(func.count()).select_from(InstanceEvent).where(InstanceEvent.kind == "timer_fired")
            )
            == 2
        )


def test_wrong_role_other_county_and_unknown_task(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    iid = start_case(session_factory, make_engine)
    data = {"facts": "发生重大案件", "proposal": "notification"}
    with pytest.raises(NotAuthorized):  # right role, wrong county
        complete(session_factory, make_engine, iid, "verify", data, OTHER_COUNTY_OFFICE)
    with pytest.raises(NotAuthorized):  # right county, wrong role
        complete(session_factory, make_engine, iid, "verify", data, COUNTY_COMMITTEE)
    with session_factory() as s, pytest.raises(NotFound):
        make_engine(s).complete_task("00000000-0000-0000-0000-000000000000", data, COUNTY_OFFICE)
    assert list(ready(session_factory, iid)) == ["verify"]  # nothing was lost


def test_task_completed_twice_is_refused(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    iid = start_case(session_factory, make_engine)
    verify_id = ready(session_factory, iid)["verify"].id
    data = {"facts": "发生重大案件", "proposal": "notification"}
    with session_factory() as s:
        make_engine(s).complete_task(verify_id, data, COUNTY_OFFICE)
        s.commit()
    with session_factory() as s, pytest.raises(TaskNotReady):
        make_engine(s).complete_task(verify_id, data, COUNTY_OFFICE)
    assert list(ready(session_factory, iid)) == ["approve"]


def test_future_task_cannot_be_completed(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    """SpiffWorkflow's task.run() would happily run a FUTURE task; the engine must refuse it."""
    iid = start_case(session_factory, make_engine)
    with session_factory() as s:
        engine = make_engine(s)
        wf = engine.workflow(s.get(ProcessInstance, iid))  # type: ignore[arg-type]
        future = next(t for t in wf.get_tasks() if t.task_spec.bpmn_id == "approve")
        with pytest.raises(NotFound):  # never projected, so not completable through the engine
            engine.complete_task(str(future.id), {"approved": True}, COUNTY_COMMITTEE)


def test_invalid_form_data_loses_nothing(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    iid = start_case(session_factory, make_engine)
    with pytest.raises(FormInvalid) as caught:
        complete(
            session_factory,
            make_engine,
            iid,
            "verify",
            {"facts": "短", "proposal": "veto", "unit_code": "x"},
            COUNTY_OFFICE,
        )
    errors = caught.value.errors
    assert set(errors) == {"facts", "proposal", "unit_code"}  # too short, not in enum, not a form field
    verify = ready(session_factory, iid)["verify"]
    assert verify.state == "ready"
    with pytest.raises(FormInvalid) as caught:
        complete(session_factory, make_engine, iid, "verify", {}, COUNTY_OFFICE)
    assert set(caught.value.errors) == {"facts", "proposal"}


def test_concurrent_writers_one_conflicts(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    """Two sessions read the same instance version; the second writer gets Conflict, not a lost update."""
    iid = start_case(session_factory, make_engine)
    verify_id = ready(session_factory, iid)["verify"].id
    data = {"facts": "发生重大案件", "proposal": "notification"}
    s1, s2 = session_factory(), session_factory()
    try:
        e1, e2 = make_engine(s1), make_engine(s2)
        s1.get(ProcessInstance, iid), s2.get(ProcessInstance, iid)
        s1.get(Task, verify_id), s2.get(Task, verify_id)
        e1.complete_task(verify_id, data, COUNTY_OFFICE)
        s1.commit()
        errors: list[BaseException] = []

        def second() -> None:
            try:
                e2.complete_task(verify_id, data, COUNTY_OFFICE)
                s2.commit()
            except Exception as exc:  # collected for the assertion below
                errors.append(exc)
                s2.rollback()

        t = threading.Thread(target=second)
        t.start()
        t.join(30)
        assert len(errors) == 1 and isinstance(errors[0], Conflict | TaskNotReady)
    finally:
        s1.close()
        s2.close()
    with session_factory() as s:
        completions = s.scalar(
            select(func.count()).select_from(InstanceEvent).where(InstanceEvent.kind == "task_completed")
        )
        assert completions == 1
    assert list(ready(session_factory, iid)) == ["approve"]


def test_stale_instance_write_conflicts(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    """The compare-and-swap itself: a writer holding an old lock_version cannot overwrite a newer state."""
    iid = start_case(session_factory, make_engine)
    stale = session_factory()
    try:
        old = stale.get(ProcessInstance, iid)
        assert old is not None
        complete(
            session_factory,
            make_engine,
            iid,
            "verify",
            {"facts": "发生重大案件", "proposal": "notification"},
            COUNTY_OFFICE,
        )
        with pytest.raises(Conflict):
            engine = make_engine(stale)
            assert old.next_wake_at is None
            old.next_wake_at = engine.now()  # pretend a timer is due, so wake() writes
            engine.wake(iid)  # writes back the state it read before the completion
    finally:
        stale.rollback()
        stale.close()
    assert list(ready(session_factory, iid)) == ["approve"]


def test_unknown_unit_and_process(session_factory: Factory, make_engine: MakeEngine, deployed: Any) -> None:
    with session_factory() as s:
        engine = make_engine(s)
        with pytest.raises(NotFound):
            engine.start("rectification", business_key="x", unit_code="999999")
        with pytest.raises(NotFound):
            engine.start("no_such_process", business_key="x", unit_code=WOLONG_TOWN)


def test_claim_and_release(session_factory: Factory, make_engine: MakeEngine, deployed: Any) -> None:
    iid = start_case(session_factory, make_engine)
    verify_id = ready(session_factory, iid)["verify"].id
    colleague = Actor("wancheng-office-2", frozenset({("office_director", WANCHENG)}))
    with session_factory() as s:
        make_engine(s).claim(verify_id, COUNTY_OFFICE)
        s.commit()
    with session_factory() as s:
        engine = make_engine(s)
        with pytest.raises(Conflict):
            engine.claim(verify_id, colleague)
        with pytest.raises(NotAuthorized):
            engine.complete_task(verify_id, {"facts": "发生重大案件", "proposal": "notification"}, colleague)
        engine.release(verify_id, COUNTY_OFFICE)
        engine.claim(verify_id, colleague)
        s.commit()
    assert ready(session_factory, iid)["verify"].claimed_by == "wancheng-office-2"
