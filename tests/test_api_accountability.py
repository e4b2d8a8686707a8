"""Escalation by finding through the HTTP API (Art. 33, 34), with the demo accounts and a moved clock: a
notification decided 2026-03-16 is still a notification after its two months; the unit applies, the office's
failed inspection and the committee's approval open the interview; no application within the window gives the
office its task. Timers are woken by `flask timers`, as the scheduler does."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import demo_app
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST

TOWN = "411302001"
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发。",
}


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=datetime(2026, 3, 16, 9, 0, tzinfo=CST)) as app:
        yield app


class Desk:
    """One official logged in through the API."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        response = self.client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
        assert response.status_code == 200, response.json
        self.token = response.json["csrf_token"]  # type: ignore[index]

    def post(self, url: str, body: dict[str, Any]) -> Any:
        return self.client.post(url, json=body, headers={"X-CSRFToken": self.token})

    def case(self, case_id: int) -> dict[str, Any]:
        return self.client.get(f"/api/v1/cases/{case_id}").json  # type: ignore[no-any-return]

    def do(self, case_id: int, element: str, data: dict[str, Any]) -> dict[str, Any]:
        tasks = {t["element_id"]: t for t in self.case(case_id)["tasks"]}
        assert element in tasks, f"{element} not open; open: {sorted(tasks)}"
        done = self.post(f"/api/v1/tasks/{tasks[element]['id']}/complete", {"data": data})
        assert done.status_code == 200, done.json
        return done.json  # type: ignore[no-any-return]

    def prefilled(self, case_id: int, element: str) -> dict[str, Any]:
        """The values ``element``'s form opens with (GET /api/v1/tasks/<id>)."""
        tasks = {t["element_id"]: t for t in self.case(case_id)["tasks"]}
        got = self.client.get(f"/api/v1/tasks/{tasks[element]['id']}")
        assert got.status_code == 200, got.json
        assert got.json["form_schema"]["title"]  # type: ignore[index]
        return got.json["values"]  # type: ignore[index,no-any-return]


def move(app: Flask, *when: int) -> None:
    clock = app.extensions["governance"].clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime(*when, tzinfo=CST))  # type: ignore[misc]
    result = app.test_cli_runner().invoke(args=["timers"])
    assert result.exit_code == 0, result.output


def notified(app: Flask) -> int:
    move(app, 2026, 3, 16, 9, 0)
    staff, director = Desk(app, "411302.office_staff"), Desk(app, "411302.office_director")
    committee, leader = Desk(app, "411302.committee_director"), Desk(app, "411302001.unit_principal_leader")
    created = staff.post("/api/v1/cases", {**REPORT, "unit_code": TOWN})
    assert created.status_code == 201, created.json
    case = created.json["id"]
    staff.do(
        case,
        "register_report",
        {
            **REPORT,
            "report_date": "2026-03-16",
            "leaders": [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}],
        },
    )
    verify = {
        "established": True,
        "severity": "ordinary",
        "aggravating": [],
        "mitigating": [],
        "mitigate": False,
        "reason": "经核实，情况属实。",
    }
    director.do(case, "verify_case", verify)
    # The verification above was the office's proposal (Art. 33): the committee approves next.
    committee.do(case, "approve_notification", {"approved": True, "opinion": "同意通报。"})
    draft = staff.prefilled(case, "draft_document")  # the 通报, drafted from the case (Art. 33)
    assert draft["doc_title"] == "关于对宛城区东关街道社会治安综合治理工作问题的通报"
    assert draft["doc_main_recipients"][0] == "宛城区东关街道党工委、办事处"
    staff.do(case, "draft_document", draft)
    director.do(case, "review_document", {"doc_review_approved": True})
    documents = staff.client.get(f"/api/v1/cases/{case}/documents").json
    [issued] = documents  # type: ignore[misc]
    assert (
        re.fullmatch(r"宛区综治委〔2026〕[1-9]\d*号", issued["number"])
        and issued["title"] == draft["doc_title"]
    )
    assert len(issued["sha256"]) == 64 and issued["links"]["docx"] == f"/documents/{issued['id']}.docx"
    leader.do(
        case,
        "report_measures_notification",
        {"measures": "加强巡防，完善网格化管理。", "responsible_person": "张三"},
    )
    return case


@pytest.mark.obligation("O33.1", "O33.2", "O34.1")
def test_notification_to_interview_by_finding_over_http(app: Flask) -> None:
    case = notified(app)
    director = Desk(app, "411302.office_director")
    move(app, 2026, 5, 17, 9, 0)
    detail = director.case(case)
    assert detail["level"] == "notification" and detail["steps"] == ["书面申请检查验收"]
    move(app, 2026, 5, 25, 9, 0)
    assert director.case(case)["level"] == "notification"
    leader = Desk(app, "411302001.unit_principal_leader")
    leader.do(
        case,
        "apply_acceptance_notification",
        {"application": "整改期满，申请检查验收。", "applied_on": "2026-05-25"},
    )
    failed = {"accepted": False, "findings": "整改目标未完成，案件仍然多发。", "inspected_on": "2026-05-25"}
    after = director.do(case, "inspect_notification", failed)
    assert after["case"]["level"] == "interview" and after["case"]["steps"] == ["核实并提出约谈意见"]
    director.do(case, "propose_interview", {"opinion": "通报后仍未按期完成整改，建议约谈。"})
    approved = Desk(app, "411302.committee_director").do(
        case, "approve_interview", {"approved": True, "opinion": "同意约谈。"}
    )
    assert approved["case"]["steps"] == ["拟制公文"]  # the interview notice (约谈通知书) comes first
    staff = Desk(app, "411302.office_staff")
    notice = staff.prefilled(case, "draft_document")
    assert notice["doc_title"] == "关于对宛城区东关街道进行约谈的通知"
    assert notice["doc_main_recipients"] == ["宛城区东关街道党工委、办事处"] and notice["doc_copied_to"] == []
    staff.do(case, "draft_document", notice)
    issued = director.do(case, "review_document", {"doc_review_approved": True})
    assert issued["case"]["steps"] == ["约谈（综治办主任）"]
    kinds = [e["kind"] for e in director.case(case)["history"]]
    assert kinds.index("level_closed") < kinds.index("escalated")


@pytest.mark.obligation("O33.2")
def test_no_application_gives_the_office_its_task_over_http(app: Flask) -> None:
    case = notified(app)
    director = Desk(app, "411302.office_director")
    move(app, 2026, 5, 30, 0, 0, 1)  # the period (16 May) and the 10-working-day window (29 May) are over
    detail = director.case(case)
    assert detail["level"] == "notification" and detail["steps"] == ["逾期未申请验收的处理"]
    mine = director.client.get("/api/v1/tasks").json["items"]
    assert any(t["instance_id"] == case and t["element_id"] == "no_application_notification" for t in mine)


@pytest.mark.obligation("O38.1")
def test_the_competent_office_registers_its_own_report_in_one_step(app: Flask) -> None:
    staff = Desk(app, "411302.office_staff")
    leaders = [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}]
    filed = staff.post(
        "/api/v1/cases", {**REPORT, "unit_code": TOWN, "report_date": "2026-03-16", "leaders": leaders}
    )
    assert filed.status_code == 201, filed.json
    steps = {t["element_id"] for t in staff.case(filed.json["id"])["tasks"]} - {"record_finding"}
    assert steps == {"verify_case"}  # registered by filing it: no second form asking the same
    member = Desk(app, "411302-M02.member_unit")  # a member unit's report is registered by the office
    reported = member.post("/api/v1/cases", {**REPORT, "unit_code": TOWN})
    assert reported.status_code == 201, reported.json
    steps = {t["element_id"] for t in staff.case(reported.json["id"])["tasks"]} - {"record_finding"}
    assert steps == {"register_report"}
