"""Meetings the office records (issue 11, item 8) on the definitions in bpmn/ and forms/, with a moved clock:

* the five-department joint meeting, ad hoc, with observers (列席), whose decision sets a rectification item
  (Art. 24, O24.1);
* the party standing committee studying the work (Art. 7(2), O7.2);
* the yearly check (Art. 25, O25.1): after 31 December 23:59:59 +08:00 a committee with no plenary or
  enlarged meeting of the year on record is flagged once — a plenary recorded as a meeting or by the annual
  cycle's record_plenary counts — and a late record resolves the flag;
* a joint meeting started and recorded through the API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import run_follow_ups
from app.runtime import Runtime
from tests.conftest import CITY, WANCHENG, WANCHENG_TOWN, WOLONG, WOLONG_TOWN, actor, demo_app
from tests.test_openapi import login
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import DefinitionVersion, InstanceEvent, ProcessInstance, Task
from workflows.regulation.meetings import CommitteeMeeting, flag_missing_plenaries, plenary_flags
from workflows.regulation.rectification import RectificationItem
from workflows.regulation.roles import load_org
from workflows.regulation.starting import start_meeting

COUNTY_STAFF = actor("wancheng-staff", ("office_staff", WANCHENG))
CITY_STAFF = actor("city-staff", ("office_staff", CITY))
PEOPLE = [{"name": "刘主任", "post": "区委政法委副书记"}, {"name": "陈部长", "post": "区委组织部副部长"}]
OBSERVERS = [{"name": "赵局长", "post": "区公安分局副局长"}, {"name": "孙局长", "post": "区信访局局长"}]
ITEM = {
    "unit_code": WANCHENG_TOWN,
    "problem": "信访积案化解不力，限期化解三件重复信访案件。",
    "owner": "周某",
    "owner_post": "街道办事处主任",
    "due_on": "2026-06-30",
}
JOINT = {
    "held_on": "2026-03-20",
    "subjects": ["major_problems", "responsibility"],
    "departments_present": ["governance", "discipline", "organization", "personnel", "supervision"],
    "topics": "研究东关街道重复信访问题和领导责任落实。",
    "participants": PEOPLE,
    "observers": OBSERVERS,
    "decisions": "责成东关街道限期化解积案，区综治办跟踪督办。",
    "minutes": "会议由区综治办召集，五部门负责同志出席，公安、信访部门负责同志列席……",
    "rectification_items": [ITEM],
}
RECORD = {
    "held_on": "2026-02-25",
    "chaired_by": "王书记",
    "topics": "通报全年社会治安形势，部署平安建设重点工作。",
    "participants": PEOPLE,
    "decisions": "明确领导班子成员综治工作分工。",
    "minutes": "会议听取了政法委关于社会治安综合治理工作的汇报……",
}


class Driver:
    def __init__(
        self, factory: sessionmaker[Session], make_engine: Callable[[Session], Engine], clock: ManualClock
    ) -> None:
        self.factory, self.make_engine, self.clock = factory, make_engine, clock

    def at(self, *args: int) -> None:
        self.clock.set(datetime(*args, tzinfo=CST))  # type: ignore[misc]

    def start(self, who: Any, kind: str, regularity: str = "regular", subject: str = "综治会议") -> int:
        data = {"meeting_kind": kind, "regularity": regularity, "subject": subject}
        with self.factory() as s:
            inst = start_meeting(self.make_engine(s), who, data)
            s.commit()
            return inst.id

    def task(self, instance_id: int) -> Task:
        with self.factory() as s:
            return s.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "ready")).one()

    def record(self, instance_id: int, data: dict[str, Any]) -> None:
        task = self.task(instance_id)
        holder = actor(f"{task.role}@{task.org_code}", (task.role, task.org_code))
        with self.factory() as s:
            self.make_engine(s).complete_task(task.id, data, holder)
            s.commit()

    def meetings(self) -> list[CommitteeMeeting]:
        with self.factory() as s:
            return list(s.scalars(select(CommitteeMeeting).order_by(CommitteeMeeting.id)))


@pytest.fixture
def drive(
    session: Session,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    real_definitions: None,
) -> Iterator[Driver]:
    clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=CST))
    yield Driver(session_factory, make_engine, clock)


@pytest.mark.obligation("O24.1")
def test_ad_hoc_joint_meeting_with_observers_sets_a_rectification_item(drive: Driver) -> None:
    meeting = drive.start(COUNTY_STAFF, "joint_meeting", "ad_hoc", "研究重复信访问题")
    task = drive.task(meeting)
    assert (task.element_id, task.role, task.org_code) == (
        "record_joint_meeting",
        "joint_meeting_convener",
        WANCHENG,
    )
    assert task.article == "Art. 24 (O24.1)"
    outside = {**ITEM, "unit_code": WOLONG_TOWN}  # not a unit of 宛城区
    drive.at(2026, 3, 20, 16, 0)  # recorded on the day the meeting was held (JOINT's held_on)
    with pytest.raises(FormInvalid) as refused:
        drive.record(meeting, {**JOINT, "rectification_items": [ITEM, outside]})
    assert "rectification_items/1/unit_code" in refused.value.errors
    assert drive.meetings() == []

    drive.record(meeting, JOINT)
    [row] = drive.meetings()
    assert (row.committee_code, row.kind, row.regularity, row.held_on) == (
        WANCHENG,
        "joint_meeting",
        "ad_hoc",
        date(2026, 3, 20),
    )
    assert row.observers == OBSERVERS and row.participants == PEOPLE
    assert row.subjects == ["major_problems", "responsibility"] and len(row.departments) == 5
    assert row.decisions == JOINT["decisions"] and row.minutes == JOINT["minutes"]
    with drive.factory() as s:
        inst = s.get(ProcessInstance, meeting)
        assert inst is not None
        assert (inst.business_key, inst.status) == ("会议-2026-411302-0001", "complete")
        [item] = s.scalars(select(RectificationItem)).all()
        assert (item.source, item.source_key, item.unit_code, item.owner, item.status) == (
            "meeting",
            "会议-2026-411302-0001",
            WANCHENG_TOWN,
            "周某",
            "open",
        )
        assert item.deadline == datetime(2026, 6, 30, 23, 59, 59, tzinfo=CST)


@pytest.mark.obligation("O7.2")
def test_party_standing_committee_studies_the_work(drive: Driver) -> None:
    meeting = drive.start(CITY_STAFF, "party_standing_committee", subject="市委常委会研究综治工作")
    task = drive.task(meeting)
    assert (task.element_id, task.role, task.org_code, task.article) == (
        "record_leadership_meeting",
        "office_staff",
        CITY,
        "Art. 7(2) (O7.2)",
    )
    drive.record(meeting, RECORD)
    [row] = drive.meetings()
    assert (row.committee_code, row.kind, row.chaired_by, row.observers) == (
        CITY,
        "party_standing_committee",
        "王书记",
        [],
    )


def _cycle_recorded_plenary(session: Session, unit: str, year: int, at: datetime) -> None:
    """What the annual cycle's record_plenary leaves: a duty_done fact with duty plenary on the cycle."""
    version = session.scalars(select(DefinitionVersion)).first()
    assert version is not None
    cycle = ProcessInstance(
        version_id=version.id,
        process_id="annual_cycle",
        business_key=f"年度-{year}-{unit}",
        unit_code=unit,
        status="running",
        summary={},
        state_json="",
        created_at=at,
        updated_at=at,
        started_by="system",
    )
    session.add(cycle)
    session.flush()
    detail = {"year": year, "duty": "plenary", "on": "2026-05-10", "meeting": "plenary", "late": False}
    session.add(InstanceEvent(instance_id=cycle.id, at=at, actor="x", kind="duty_done", detail=detail))
    session.commit()


@pytest.mark.obligation("O25.1")
def test_a_committee_without_a_plenary_by_31_december_is_flagged(drive: Driver) -> None:
    city = drive.start(CITY_STAFF, "enlarged", subject="市综治委扩大会议")
    task = drive.task(city)
    assert (task.element_id, task.role, task.org_code, task.article) == (
        "record_committee_meeting",
        "office_staff",
        CITY,
        "Art. 25 (O25.1)",
    )
    drive.record(city, RECORD)
    with drive.factory() as s:  # 卧龙区 recorded its plenary in the annual cycle; 宛城区 none at all
        _cycle_recorded_plenary(s, WOLONG, 2026, datetime(2026, 5, 10, 10, 0, tzinfo=CST))
    wancheng = drive.start(COUNTY_STAFF, "joint_meeting")  # a joint meeting is no plenary
    drive.at(2026, 3, 20, 16, 0)  # recorded on the day the meeting was held (JOINT's held_on)
    drive.record(wancheng, {**JOINT, "rectification_items": []})

    drive.at(2026, 12, 31, 23, 59, 59)
    with drive.factory() as s:
        assert flag_missing_plenaries(s, load_org(s), 2026, drive.clock.now()) == []  # not over yet
    drive.at(2027, 1, 1, 0, 0, 30)
    with drive.factory() as s:
        report = run_follow_ups(s, Runtime(drive.clock))
        assert report.plenary_flagged == [WANCHENG]
        assert run_follow_ups(s, Runtime(drive.clock)).plenary_flagged == []  # once
        [flag] = plenary_flags(s, 2026)
        assert (flag.committee_code, flag.duty, flag.resolved_at) == (WANCHENG, "plenary", None)
        assert flag.due_at == datetime(2026, 12, 31, 23, 59, 59, tzinfo=CST)

    # A plenary held on 30 December but recorded on 3 January resolves the flag; the flag stays on record.
    drive.at(2027, 1, 3, 9, 0)
    late = drive.start(COUNTY_STAFF, "plenary", subject="区综治委全体会议")
    drive.record(late, {**RECORD, "held_on": "2026-12-30"})
    with drive.factory() as s:
        [flag] = plenary_flags(s, 2026)
        assert (flag.resolved_at, flag.resolved_by_instance_id) == (drive.clock.now(), late)
        assert run_follow_ups(s, Runtime(drive.clock)).plenary_flagged == []


# -- through the API (Nanyang's organisation and demo accounts) ----------------------------------------------
@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


@pytest.mark.obligation("O24.1")
def test_a_joint_meeting_through_the_api(app: Flask) -> None:
    staff, headers = login(app, "411302.office_staff")
    started = staff.post(
        "/api/v1/meetings",
        json={"meeting_kind": "joint_meeting", "regularity": "regular", "subject": "季度联席会议"},
        headers=headers,
    )
    assert started.status_code == 201, started.json
    body = started.json
    assert body["business_key"] == "会议-2026-411302-0001"
    [task] = body["tasks"]
    assert (task["element_id"], task["role"], task["org_code"]) == (
        "record_joint_meeting",
        "joint_meeting_convener",
        "411302",
    )
    wrong = staff.post("/api/v1/meetings", json={"meeting_kind": "tea_party"}, headers=headers)
    assert wrong.status_code == 422 and {"meeting_kind", "regularity", "subject"} <= set(wrong.json["errors"])

    clock = app.extensions["governance"].clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime(2026, 3, 20, 16, 0, tzinfo=CST))  # recorded on the day JOINT was held
    convener, convener_headers = login(app, "411302.joint_meeting_convener")
    done = convener.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"data": {**JOINT, "rectification_items": [{**ITEM, "unit_code": "411302003"}]}},
        headers=convener_headers,
    )
    assert done.status_code == 200, done.json
    with app.app_context():
        from app.extensions import db

        row = db.session.scalars(select(CommitteeMeeting)).one()
        assert (row.kind, row.regularity, row.observers) == ("joint_meeting", "regular", OBSERVERS)
    assert staff.get(f"/cases/{body['id']}").status_code == 200
    page = staff.get("/supervision")
    assert page.status_code == 200 and "会议-2026-411302-0001" in page.get_data(as_text=True)
    items = staff.get("/api/v1/rectification-items?source=meeting").json["items"]
    assert [(i["unit_code"], i["unit_name"], i["source_key"]) for i in items] == [
        ("411302003", "汉冶街道", "会议-2026-411302-0001")
    ]
