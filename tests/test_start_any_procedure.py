"""Start any deployed procedure (issue 15): a designer deploys a county's own procedure marked
``startable_by``; GET /api/v1/processes lists what each caller may start; POST /processes/<id>/instances
starts it for the starter's unit (422 with field errors, 403, 404, 201 with the instance and the caller's
first tasks); two roles complete it from their inboxes and the case pages show it. The built-in procedures
start through the same endpoint by their own rules (a report forwarded to the competent office, an
office's inspection). Deploy refuses a ``startable_by`` naming a role that does not exist."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy.orm import Session

from tests.conftest import CITY, ROOT, WANCHENG, WOLONG, demo_app
from tests.start_any_fixture import NAME, PROCESS, files
from tests.test_openapi import login
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy as deploy_files
from workflows.engine.deploy.definitions import read_project_files
from workflows.engine.errors import FormInvalid, NotAuthorized
from workflows.engine.models import InstanceEvent, ProcessInstance
from workflows.engine.process_properties import declarations_in
from workflows.regulation.startable import find, start_procedure

COUNTY = WANCHENG  # 宛城区
START = {"subject": "东关街道邻里纠纷", "facts": "两户居民因宅基地边界多次发生争执，需排查化解。"}


@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def deploy(app: Flask, startable_by: str = "office_staff") -> Any:
    designer, headers = login(app, "411300.designer")
    return designer.post(
        "/api/v1/definitions",
        json={"files": files(startable_by), "comment": "宛城区矛盾纠纷排查化解"},
        headers=headers,
    )


@pytest.fixture
def deployed(app: Flask) -> Flask:
    response = deploy(app)
    assert response.status_code == 201, response.json
    assert PROCESS in response.json["processes"]
    return app


def start(client: FlaskClient, headers: dict[str, str], body: Any, process: str = PROCESS) -> Any:
    return client.post(f"/api/v1/processes/{process}/instances", json=body, headers=headers)


def complete(client: FlaskClient, headers: dict[str, str], instance_id: int, data: dict[str, Any]) -> Any:
    """Complete the caller's one task of the instance, found in their inbox (GET /tasks)."""
    tasks = client.get("/api/v1/tasks?per_page=100").json["items"]
    [task] = [t for t in tasks if t["instance_id"] == instance_id]
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=headers)
    assert done.status_code == 200, done.json
    return task


def test_deploy_refuses_a_role_that_does_not_exist(app: Flask) -> None:
    response = deploy(app, "office_staff, county_secretary")
    assert response.status_code == 422, response.json
    [problem] = response.json["problems"]
    assert problem["file"] == f"bpmn/{PROCESS}.bpmn" and problem["element"] == PROCESS
    assert "county_secretary" in problem["message"] and NAME in problem["message"]
    assert problem["line"]
    empty = deploy(app, " , ")
    assert empty.status_code == 422 and "startable_by 为空" in empty.json["problems"][0]["message"]


def test_list_is_filtered_by_role(deployed: Flask) -> None:
    staff, _ = login(deployed, "411302.office_staff")
    listed = {p["process_id"]: p for p in staff.get("/api/v1/processes").json["items"]}
    assert {PROCESS, "accountability_case", "inspection", "meeting"} <= set(listed)
    assert "promotion_consultation" not in listed  # the organisation department's
    mine = listed[PROCESS]
    assert mine["name"] == NAME and mine["version"] == 2 and mine["roles"] == ["office_staff"]
    assert mine["articles"] == ["Art. 42"] and not mine["built_in"]
    assert mine["start_form"]["required"] == ["subject", "facts"]
    assert mine["units"] == [{"code": COUNTY, "name": "宛城区"}] and mine["unit_meaning"] == "owner"
    assert listed["accountability_case"]["unit_meaning"] == "subject"
    assert listed["inspection"]["units"] == [{"code": COUNTY, "name": "宛城区"}]

    director, _ = login(deployed, "411302.office_director")
    assert PROCESS not in {p["process_id"] for p in director.get("/api/v1/processes").json["items"]}
    organisation, _ = login(deployed, "411302.organization_personnel")
    assert "promotion_consultation" in {
        p["process_id"] for p in organisation.get("/api/v1/processes").json["items"]
    }
    designer, _ = login(deployed, "411300.designer")
    assert designer.get("/api/v1/processes").json["items"] == []


def test_refusals_422_403_404(deployed: Flask) -> None:
    staff, headers = login(deployed, "411302.office_staff")
    invalid = start(staff, headers, {"data": {"subject": "x", "extra": 1}})
    assert invalid.status_code == 422, invalid.json
    assert set(invalid.json["errors"]) == {"subject", "facts", "extra"}
    assert start(staff, headers, {"data": "not an object"}).status_code == 422
    other_unit = start(staff, headers, {"unit_code": "411303", "data": START})
    assert other_unit.status_code == 403, other_unit.json

    director, director_headers = login(deployed, "411302.office_director")
    refused = start(director, director_headers, {"data": START})
    assert refused.status_code == 403 and refused.json["error"] == "not_authorized"

    assert start(staff, headers, {"data": START}, "no_such_procedure").status_code == 404
    # deployed but not startable: called by the case, never started by a person
    assert start(staff, headers, {"data": {}}, "accountability_intake").status_code == 404
    with deployed.app_context():
        from app.extensions import db

        assert db.session.query(ProcessInstance).filter_by(process_id=PROCESS).count() == 0


def test_start_and_two_roles_complete_it(deployed: Flask) -> None:
    staff, headers = login(deployed, "411302.office_staff")
    started = start(staff, headers, {"data": START})
    assert started.status_code == 201, started.json
    instance = started.json["instance"]
    assert instance["business_key"] == "矛盾纠纷排查化解-2026-411302-0001"
    assert instance["unit_code"] == COUNTY and instance["status"] == "running"
    [task] = started.json["next_tasks"]
    assert (task["element_id"], task["role"], task["org_code"]) == ("verify", "office_staff", COUNTY)
    assert task["due_at"] == "2026-03-09T23:59:59+08:00" and task["deadline_status"] == "on_track"
    assert task["article"] == "Art. 42"
    assert instance["deadlines"][0]["task_id"] == task["id"]
    second = start(staff, headers, {"unit_code": COUNTY, "data": START})
    assert second.json["instance"]["business_key"] == "矛盾纠纷排查化解-2026-411302-0002"

    complete(staff, headers, instance["id"], {"findings": "双方均有诉求，已现场核实。"})
    director, director_headers = login(deployed, "411302.office_director")
    review = complete(director, director_headers, instance["id"], {"decision": "agree"})
    assert review["element_id"] == "review"
    complete(staff, headers, instance["id"], {"note": "调解协议已签订，归档。"})

    case = staff.get(f"/api/v1/cases/{instance['id']}").json
    assert case["status"] == "complete"
    completed = [e["element_id"] for e in case["history"] if e["kind"] == "task_completed"]
    assert completed == ["verify", "review", "file"]

    # the case pages: the office's supervisor sees it in the list of its procedure and on its page
    supervisor = director  # the API's login is the pages' session too
    page = supervisor.get(f"/cases?process={PROCESS}").get_data(as_text=True)
    assert instance["business_key"] in page and second.json["instance"]["business_key"] in page
    shown = supervisor.get(f"/cases/{instance['id']}").get_data(as_text=True)
    assert "核实情况" in shown and "审核" in shown and f"bpmn/{PROCESS}.bpmn" in shown
    outsider, _ = login(deployed, "411303.office_director")
    assert instance["business_key"] not in outsider.get(f"/cases?process={PROCESS}").get_data(as_text=True)


def test_built_in_procedures_start_by_their_own_rules(deployed: Flask) -> None:
    """A report about a unit of another county, filed by 宛城区's clerk, is forwarded to 卧龙区's office, as
    POST /cases does; an inspection belongs to the clerk's committee and is numbered as one."""
    staff, headers = login(deployed, "411302.office_staff")
    report = {
        "source": "member_unit",
        "reporter": "市公安局",
        "art31_items": [2],
        "facts": "辖区内治安案件多发。",
    }
    case = start(staff, headers, {"unit_code": "411303002", "data": report}, "accountability_case")
    assert case.status_code == 201, case.json
    assert case.json["instance"]["business_key"].startswith("追责-2026-")
    with deployed.app_context():
        from app.extensions import db

        kinds = [
            e.kind for e in db.session.query(InstanceEvent).filter_by(instance_id=case.json["instance"]["id"])
        ]
    assert "report_forwarded" in kinds
    bad = start(
        staff, headers, {"unit_code": "411303002", "data": {**report, "facts": ""}}, "accountability_case"
    )
    assert bad.status_code == 422 and "facts" in bad.json["errors"]

    inspection = start(
        staff,
        headers,
        {"data": {"inspection_kind": "special", "subject": "平安建设专项督查"}},
        "inspection",
    )
    assert inspection.status_code == 201, inspection.json
    assert inspection.json["instance"]["business_key"] == "督查-2026-411302-0001"
    assert inspection.json["next_tasks"] == []  # the office director plans it
    assert inspection.json["instance"]["tasks"][0]["role"] == "office_director"


def test_a_member_unit_reports_through_the_same_endpoint(deployed: Flask) -> None:
    """Art. 15: a member unit's report (annual_report_filing) had no start over HTTP; it has one now, for
    the member unit the reporter works at, numbered as before, its first step the unit's own."""
    member, headers = login(deployed, "411302-M02.member_unit")
    listed = {p["process_id"]: p for p in member.get("/api/v1/processes").json["items"]}
    assert [u["code"] for u in listed["annual_report_filing"]["units"]] == ["411302-M02"]
    assert listed["annual_report_filing"]["start_form"] is None
    assert start(member, headers, {"data": {"facts": "x"}}, "annual_report_filing").status_code == 422
    assert start(member, headers, {"unit_code": COUNTY}, "annual_report_filing").status_code == 403
    started = start(member, headers, {}, "annual_report_filing")
    assert started.status_code == 201, started.json
    assert started.json["instance"]["business_key"] == "报送-2026-411302-M02-0001"
    [task] = started.json["next_tasks"]
    assert (task["element_id"], task["org_code"]) == ("file_report", "411302-M02")


def test_start_page(deployed: Flask) -> None:
    """发起 lists what the clerk may start and starts the county's procedure through its start form."""
    client, headers = login(deployed, "411302.office_staff")
    listing = client.get("/start").get_data(as_text=True)
    assert NAME in listing and "第四十二条" in listing and 'href="/start"' in listing
    form = client.get(f"/start/{PROCESS}")
    assert form.status_code == 200 and "基本情况" in form.get_data(as_text=True)
    token = headers["X-CSRFToken"]
    refused = client.post(f"/start/{PROCESS}", data={"csrf_token": token, "subject": "纠纷"})
    assert refused.status_code == 422 and "纠纷" in refused.get_data(as_text=True)
    done = client.post(f"/start/{PROCESS}", data={"csrf_token": token, **START})
    assert done.status_code == 302 and "/tasks/" in done.headers["Location"]
    assert client.get("/start/inspection").status_code == 302  # a built-in one: its own page

    designer, _ = login(deployed, "411300.designer")
    page = designer.get("/start").get_data(as_text=True)
    assert 'id="nothing-to-start"' in page and 'href="/start"' not in page.split("<main")[0]
    assert designer.get(f"/start/{PROCESS}").status_code == 403


def test_a_starter_of_several_units_names_one(
    session: Session, engine: Engine, real_definitions: None
) -> None:
    """A clerk of two offices names the unit the procedure belongs to (one of theirs); each unit and year
    numbers its own."""
    deploy_files(session, {**read_project_files(ROOT), **files()}, engine.checks, created_by="test")
    clerk = Actor("two-offices", frozenset({("office_staff", WANCHENG), ("office_staff", WOLONG)}))
    procedure = find(engine, PROCESS)
    with pytest.raises(FormInvalid) as refused:
        start_procedure(engine, clerk, procedure, START)
    assert list(refused.value.errors) == ["unit_code"]
    with pytest.raises(NotAuthorized):
        start_procedure(engine, clerk, procedure, START, CITY)
    started = start_procedure(engine, clerk, procedure, START, WOLONG)
    assert (started.unit_code, started.business_key) == (WOLONG, f"矛盾纠纷排查化解-2026-{WOLONG}-0001")
    other = start_procedure(engine, clerk, procedure, START, WANCHENG)
    assert other.business_key == f"矛盾纠纷排查化解-2026-{WANCHENG}-0001"


def test_process_properties_are_read_from_the_process_element() -> None:
    """The pool's name stands in for an unnamed process; the steps' article citations come once each."""
    xml = files()[f"bpmn/{PROCESS}.bpmn"].replace(f' name="{NAME}" isExecutable', " isExecutable")
    [declared] = declarations_in("x.bpmn", etree.ElementTree(etree.fromstring(xml.encode())))
    assert declared.name == NAME  # the participant's
    assert declared.properties == {"startable_by": "office_staff"}
    assert declared.element_properties["article"] == ("Art. 42",)
    assert declared.element_properties["formJsonSchemaFilename"][0] == "mediation_start.json"
