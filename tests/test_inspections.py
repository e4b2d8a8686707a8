"""Inspections the office starts at any time (Art. 18, O18.1) and the rectification items they set, on the
definitions in bpmn/ and forms/ with a moved clock; every step its own session and commit.

* an unannounced inspection of two townships of 宛城区 by its office: a finding opens a case against one
  township (Art. 38, O38.1; its intake lands at the 宛城区 office) and becomes a rectification item with an
  owner and a deadline, which turns overdue after its day and is then marked done by the township's leader;
* the city inspecting a township: the case goes to the township's competent office, the forwarding on file;
* a plan naming a unit outside the committee is refused; only a city or county office may start one;
* a patrol started through the API, its item listed and done through the API;
* in Chromium: the 宛城区 office director starts a special inspection from the page 发起督查 / 召开会议.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import run_follow_ups, wake_due
from app.runtime import Runtime
from tests.conftest import CITY, WANCHENG, WANCHENG_TOWN, WOLONG_TOWN, actor, demo_app
from tests.test_openapi import login
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid, NotAuthorized
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, OrgUnit, ProcessInstance, Task
from workflows.regulation.annual_models import InspectionFinding
from workflows.regulation.rectification import RectificationItem, mark_done
from workflows.regulation.starting import start_inspection

OTHER_TOWN = "411302002"  # a second township of 宛城区 beside the fixture's 东关街道
OFFICE_DIRECTOR = actor("wancheng-office-director", ("office_director", WANCHENG))
CITY_OFFICE = actor("city-office-director", ("office_director", CITY))
TOWN_LEADER = actor("dongguan-leader", ("unit_principal_leader", WANCHENG_TOWN))
OTHER_LEADER = actor("xinhua-leader", ("unit_principal_leader", OTHER_TOWN))

PLAN = {
    "inspected_units": [WANCHENG_TOWN, OTHER_TOWN],
    "scope": "暗访辖区治安防控、矛盾纠纷排查化解和群防群治落实情况。",
    "team": [{"name": "王督查", "post": "区综治办副主任"}, {"name": "李干事", "post": "区综治办干事"}],
    "starts_on": "2026-03-17",
    "ends_on": "2026-03-27",
}
FOUND = {
    "inspected_on": "2026-03-18",
    "conclusion": "治安防控措施落实不到位。",
    "findings": [
        {
            "text": "夜间巡防力量不足，盗窃案件多发，群众反映强烈。",
            "art31_item": 2,
            "open_case": True,
            "rectify": True,
            "owner": "张某",
            "owner_post": "街道党工委副书记",
            "due_on": "2026-04-30",
        },
        {"text": "群防群治台账不全。", "open_case": False, "rectify": False},
    ],
}
NOTHING_FOUND = {"inspected_on": "2026-03-18", "conclusion": "工作推进有序。", "findings": []}


class Driver:
    """Each call its own session and commit, like separate requests."""

    def __init__(
        self, factory: sessionmaker[Session], make_engine: Callable[[Session], Engine], clock: ManualClock
    ) -> None:
        self.factory, self.make_engine, self.clock = factory, make_engine, clock

    def at(self, *args: int) -> None:
        self.clock.set(datetime(*args, tzinfo=CST))  # type: ignore[misc]

    def start(self, who: Any, kind: str, subject: str = "专项工作督查") -> ProcessInstance:
        with self.factory() as s:
            inst = start_inspection(self.make_engine(s), who, {"inspection_kind": kind, "subject": subject})
            s.commit()
            return inst

    def tasks(self, instance_id: int, element: str | None = None) -> list[Task]:
        with self.factory() as s:
            query = select(Task).where(Task.instance_id == instance_id, Task.state == "ready")
            if element:
                query = query.where(Task.element_id == element)
            return list(s.scalars(query.order_by(Task.unit_code)))

    def do(self, instance_id: int, element: str, data: dict[str, Any], unit: str | None = None) -> None:
        [task] = [t for t in self.tasks(instance_id, element) if unit is None or t.unit_code == unit]
        holder = actor(f"{task.role}@{task.org_code}", (task.role, task.org_code))
        with self.factory() as s:
            self.make_engine(s).complete_task(task.id, data, holder)
            s.commit()

    def follow_ups(self) -> None:
        with self.factory() as s:
            assert wake_due(s, self.make_engine).failed == {}
            run_follow_ups(s, Runtime(self.clock))

    def items(self) -> list[RectificationItem]:
        with self.factory() as s:
            return list(s.scalars(select(RectificationItem).order_by(RectificationItem.id)))

    def events(self, instance_id: int, kind: str) -> list[dict[str, Any]]:
        with self.factory() as s:
            rows = s.scalars(
                select(InstanceEvent).where(
                    InstanceEvent.instance_id == instance_id, InstanceEvent.kind == kind
                )
            )
            return [r.detail for r in rows]


@pytest.fixture
def drive(
    session: Session,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    real_definitions: None,
) -> Iterator[Driver]:
    session.add(OrgUnit(code=OTHER_TOWN, name="新华街道", level="township", parent_code=WANCHENG))
    session.commit()
    clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=CST))
    yield Driver(session_factory, make_engine, clock)


@pytest.mark.obligation("O18.1", "O7.5", "O38.1")
def test_unannounced_inspection_opens_a_case_and_an_item_that_turns_overdue(drive: Driver) -> None:
    inspection = drive.start(OFFICE_DIRECTOR, "unannounced", "春季治安防控暗访")
    assert (inspection.business_key, inspection.unit_code) == ("督查-2026-411302-0001", WANCHENG)
    [plan] = drive.tasks(inspection.id)
    assert (plan.element_id, plan.role, plan.org_code) == ("plan_inspection", "office_director", WANCHENG)
    assert plan.article == "Art. 18 (O18.1), Art. 7(5) (O7.5)"

    drive.do(inspection.id, "plan_inspection", PLAN)
    visits = drive.tasks(inspection.id, "inspect_unit")
    assert [(t.unit_code, t.role, t.org_code) for t in visits] == [
        (WANCHENG_TOWN, "inspector", WANCHENG),  # the committee's inspectors, one task per township
        (OTHER_TOWN, "inspector", WANCHENG),
    ]
    assert {t.due_at for t in visits} == {datetime(2026, 3, 27, 23, 59, 59, tzinfo=CST)}

    drive.at(2026, 3, 18, 16, 0)
    drive.do(inspection.id, "inspect_unit", FOUND, unit=WANCHENG_TOWN)
    drive.do(inspection.id, "inspect_unit", NOTHING_FOUND, unit=OTHER_TOWN)

    with drive.factory() as s:
        done = s.get(ProcessInstance, inspection.id)
        assert done is not None and (done.status, done.summary.get("outcome")) == ("complete", "done")
        findings = list(s.scalars(select(InspectionFinding).order_by(InspectionFinding.id)))
        assert [(f.unit_code, f.kind, f.open_case, f.case_instance_id is not None) for f in findings] == [
            (WANCHENG_TOWN, "unannounced", True, True),
            (WANCHENG_TOWN, "unannounced", False, False),
        ]
        case = s.get(ProcessInstance, findings[0].case_instance_id)
        assert case is not None and case.process_id == "accountability_case"
        assert (case.unit_code, case.parent_instance_id) == (WANCHENG_TOWN, inspection.id)
        intake = s.scalars(select(Task).where(Task.instance_id == case.id, Task.state == "ready")).one()
        assert (intake.element_id, intake.role, intake.org_code) == (
            "register_report",
            "office_staff",
            WANCHENG,
        )
        wf = drive.make_engine(s).workflow(case)
        report = next(
            t for t in wf.get_tasks() if getattr(t.task_spec, "bpmn_id", None) == "register_report"
        ).data
        assert (report["source"], report["art31_items"]) == ("inspection", [2])
        assert report["reporter"] == "宛城区综治办（暗访督查）"
    assert drive.events(case.id, "report_forwarded") == []  # the inspecting office is the competent one

    [item] = drive.items()
    assert (item.source, item.source_instance_id, item.source_key) == (
        "inspection",
        inspection.id,
        "督查-2026-411302-0001",
    )
    assert (item.committee_code, item.unit_code, item.owner, item.owner_post) == (
        WANCHENG,
        WANCHENG_TOWN,
        "张某",
        "街道党工委副书记",
    )
    assert item.deadline == datetime(2026, 4, 30, 23, 59, 59, tzinfo=CST)
    assert (item.status, item.person_id) == ("open", None)

    drive.at(2026, 4, 30, 23, 59, 59)  # the last second of the due day: still open
    drive.follow_ups()
    assert drive.items()[0].status == "open"
    drive.at(2026, 5, 1, 0, 0, 1)
    drive.follow_ups()
    [item] = drive.items()
    assert (item.status, item.overdue_at) == ("overdue", datetime(2026, 5, 1, 0, 0, 1, tzinfo=CST))

    with drive.factory() as s, pytest.raises(NotAuthorized):
        mark_done(s, OTHER_LEADER, item.id, "已整改。", drive.clock.now())
    drive.at(2026, 5, 8, 10, 0)
    with drive.factory() as s:
        mark_done(
            s, TOWN_LEADER, item.id, "增设夜间巡防队两支，四月以来盗窃案件下降六成。", drive.clock.now()
        )
        s.commit()
    [item] = drive.items()
    assert (item.status, item.done_by) == ("done", "dongguan-leader")
    assert item.done_at == datetime(2026, 5, 8, 10, 0, tzinfo=CST) and item.overdue_at is not None


@pytest.mark.obligation("O18.1", "O38.1")
def test_the_city_inspecting_a_township_forwards_the_case_to_the_county(drive: Driver) -> None:
    inspection = drive.start(CITY_OFFICE, "special", "重点乡镇专项督查")
    assert inspection.business_key == "督查-2026-411300-0001"
    drive.do(inspection.id, "plan_inspection", {**PLAN, "inspected_units": [WANCHENG_TOWN]})
    [visit] = drive.tasks(inspection.id, "inspect_unit")
    assert (visit.unit_code, visit.role, visit.org_code) == (WANCHENG_TOWN, "inspector", CITY)
    drive.at(2026, 3, 18, 16, 0)  # inspected on the day FOUND records
    drive.do(inspection.id, "inspect_unit", {**FOUND, "findings": FOUND["findings"][:1]})
    with drive.factory() as s:
        case = s.scalars(
            select(ProcessInstance).where(ProcessInstance.parent_instance_id == inspection.id)
        ).one()
        intake = s.scalars(select(Task).where(Task.instance_id == case.id, Task.state == "ready")).one()
        assert (intake.role, intake.org_code) == ("office_staff", WANCHENG)  # 相应的上一级 of the township
    [forwarded] = drive.events(case.id, "report_forwarded")
    assert (forwarded["received_by"], forwarded["forwarded_to"]) == (CITY, WANCHENG)
    assert forwarded["inspection_key"] == "督查-2026-411300-0001"
    assert drive.events(inspection.id, "report_forwarded") == [forwarded]
    assert [(i.committee_code, i.unit_code) for i in drive.items()] == [(CITY, WANCHENG_TOWN)]


@pytest.mark.obligation("O18.1")
def test_a_plan_outside_the_committee_is_refused_and_only_an_office_starts(drive: Driver) -> None:
    inspection = drive.start(OFFICE_DIRECTOR, "patrol")
    [plan] = drive.tasks(inspection.id)
    with pytest.raises(FormInvalid) as refused:
        drive.do(inspection.id, "plan_inspection", {**PLAN, "inspected_units": [WANCHENG_TOWN, WOLONG_TOWN]})
    assert "inspected_units" in refused.value.errors
    with pytest.raises(FormInvalid) as refused:
        drive.do(inspection.id, "plan_inspection", {**PLAN, "starts_on": "2026-03-28"})
    assert "ends_on" in refused.value.errors
    assert [t.id for t in drive.tasks(inspection.id)] == [plan.id]  # nothing moved

    with pytest.raises(NotAuthorized):
        drive.start(TOWN_LEADER, "special")
    with pytest.raises(FormInvalid) as refused:
        drive.start(OFFICE_DIRECTOR, "mid_year")  # half-year inspections belong to the annual cycle
    assert "inspection_kind" in refused.value.errors


# -- through the API and the page (Nanyang's organisation and demo accounts) --------------------------------
TOWN, COUNTY = "411302001", "411302"


@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


@pytest.mark.obligation("O18.1")
def test_a_patrol_started_through_the_api(app: Flask) -> None:
    director, headers = login(app, f"{COUNTY}.office_director")
    started = director.post(
        "/api/v1/inspections", json={"inspection_kind": "patrol", "subject": "巡察综治工作"}, headers=headers
    )
    assert started.status_code == 201, started.json
    body = started.json
    assert body["business_key"].startswith(f"督查-2026-{COUNTY}-") and body["unit_code"] == COUNTY
    [plan] = body["tasks"]
    assert (plan["element_id"], plan["role"], plan["org_code"]) == (
        "plan_inspection",
        "office_director",
        COUNTY,
    )
    done = director.post(
        f"/api/v1/tasks/{plan['id']}/complete",
        json={"data": {**PLAN, "inspected_units": [TOWN]}},
        headers=headers,
    )
    assert done.status_code == 200, done.json

    clock = app.extensions["governance"].clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime(2026, 3, 18, 16, 0, tzinfo=CST))  # inspected on the day FOUND records
    inspector, inspector_headers = login(app, f"{COUNTY}.inspector")
    visit = next(t for t in inspector.get("/api/v1/tasks").json["items"] if t["instance_id"] == body["id"])
    finding = {**FOUND["findings"][0], "open_case": False}
    done = inspector.post(
        f"/api/v1/tasks/{visit['id']}/complete",
        json={"data": {**FOUND, "findings": [finding]}},
        headers=inspector_headers,
    )
    assert done.status_code == 200, done.json

    listed = director.get(f"/api/v1/rectification-items?source=inspection&county={COUNTY}").json
    [item] = [i for i in listed["items"] if i["source_instance_id"] == body["id"]]
    assert (item["unit_code"], item["status"], item["deadline"]) == (
        TOWN,
        "open",
        "2026-04-30T23:59:59+08:00",
    )
    assert item["can_mark_done"] is False  # the office follows up; the unit's leader reports it done
    listing = director.get(f"/supervision/rectification?source=inspection&county={COUNTY}")
    assert listing.status_code == 200 and "夜间巡防力量不足" in listing.get_data(as_text=True)
    assert 'name="evidence"' not in listing.get_data(as_text=True)
    assert director.get(f"/cases/{body['id']}").status_code == 200  # the inspection's own page

    refused = director.post(
        f"/api/v1/rectification-items/{item['id']}/done", json={"evidence": "x"}, headers=headers
    )
    assert refused.status_code == 422
    leader, leader_headers = login(app, f"{TOWN}.unit_principal_leader")
    mine = leader.get("/api/v1/rectification-items").json["items"]
    assert 'name="evidence"' in leader.get("/supervision/rectification").get_data(as_text=True)
    assert [i["id"] for i in mine if i["id"] == item["id"]] == [item["id"]] and all(
        i["can_mark_done"] for i in mine
    )
    done = leader.post(
        f"/api/v1/rectification-items/{item['id']}/done",
        json={"evidence": "已增设巡防力量并建立台账。"},
        headers=leader_headers,
    )
    assert done.status_code == 200, done.json
    assert (done.json["status"], done.json["done_by"]) == ("done", f"{TOWN}.unit_principal_leader")
    assert leader.get("/supervision").status_code == 403  # the page is the office's
    again = leader.post(
        f"/api/v1/rectification-items/{item['id']}/done",
        json={"evidence": "再次提交。"},
        headers=leader_headers,
    )
    assert again.status_code == 409

    other, other_headers = login(app, "411303.office_director")  # 卧龙区 sees nothing of 宛城区
    assert [i for i in other.get("/api/v1/rectification-items").json["items"] if i["id"] == item["id"]] == []
    patrol = {"inspection_kind": "patrol", "subject": "巡察", "unit_code": COUNTY}
    assert other.post("/api/v1/inspections", json=patrol, headers=other_headers).status_code == 403
    patrol = {"inspection_kind": "patrol", "subject": "巡察"}
    assert leader.post("/api/v1/inspections", json=patrol, headers=leader_headers).status_code == 403


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


@pytest.mark.obligation("O18.1")
def test_office_director_starts_a_special_inspection_from_the_page(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", f"{COUNTY}.office_director")
        page.fill("input[name=password]", "demo")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/inbox")
        page.goto(f"{live_server}/supervision")
        assert "发起督查 / 召开会议" in page.inner_text("h1")
        form = page.locator("#start-inspection form")
        form.locator("select[name=inspection_kind]").select_option("special")
        form.locator("input[name=subject]").fill("校园周边治安专项督查")
        form.locator("button.primary").click()
        page.wait_for_selector("#task-form")
        assert "已发起：督查-2026-411302-0001" in page.inner_text(".flash-success")
        assert "制定督查方案" in page.content()
        assert errors == []
    finally:
        page.close()
    with live_app.app_context():
        from app.extensions import db

        inst = db.session.scalars(
            select(ProcessInstance).where(ProcessInstance.process_id == "inspection")
        ).one()
        assert (inst.business_key, inst.unit_code, inst.started_by) == (
            "督查-2026-411302-0001",
            COUNTY,
            f"{COUNTY}.office_director",
        )
