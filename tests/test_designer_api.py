"""Designer operations over the API: upload with full validation (errors name the element), hostile XML,
designer role only, compare, migration dry run and migration keeping running deadlines (Art. 33, O33.2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select

from app.audit import AuditEntry
from app.extensions import db
from app.runtime import runtime
from tests.conftest import ROOT, demo_app
from workflows.engine.actors import Actor
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance, Task
from workflows.engine.reading import form_values

TOWN, COUNTY = "411302001", "411302"
NOTIFICATION = (ROOT / "bpmn" / "accountability_notification.bpmn").read_text(encoding="utf-8")


@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def login(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    return client, {"X-CSRFToken": response.json["csrf_token"]}  # type: ignore[index]


def deploy(client: FlaskClient, headers: dict[str, str], files: dict[str, str]) -> Any:
    return client.post("/api/v1/definitions", json={"files": files, "comment": "test"}, headers=headers)


def test_only_designers_deploy(app: Flask) -> None:
    client, headers = login(app, "411302.office_director")
    response = deploy(client, headers, {"bpmn/accountability_notification.bpmn": NOTIFICATION})
    assert response.status_code == 403


def test_upload_validation_errors_name_the_element(app: Flask) -> None:
    client, headers = login(app, "411300.designer")
    broken = NOTIFICATION.replace('name="committee_director@upper"', 'name="mayor@upper"')
    response = deploy(client, headers, {"bpmn/accountability_notification.bpmn": broken})
    assert response.status_code == 422
    problems = response.json["problems"]
    assert {p["element"] for p in problems} == {"approve_notification", "committee_interview"}
    assert all(p["file"] == "bpmn/accountability_notification.bpmn" and p["line"] for p in problems)
    bad_path = deploy(client, headers, {"../etc/passwd": "x"})
    assert bad_path.status_code == 422


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
        '<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><b>&b;</b>',
        "<bpmn:definitions",
    ],
)
def test_hostile_xml_is_refused(app: Flask, xml: str) -> None:
    client, headers = login(app, "411300.designer")
    response = deploy(client, headers, {"bpmn/evil.bpmn": xml})
    assert response.status_code == 422 and response.json["problems"][0]["file"] == "bpmn/evil.bpmn"
    assert "root:" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "upload")) is None


def test_multipart_upload_and_compare(app: Flask) -> None:
    client, headers = login(app, "411300.designer")
    renamed = NOTIFICATION.replace('name="拟制、审核并印发通报"', 'name="印发通报"')
    import io

    response = client.post(
        "/api/v1/definitions",
        headers=headers,
        content_type="multipart/form-data",
        data={"files": (io.BytesIO(renamed.encode()), "accountability_notification.bpmn")},
    )
    assert response.status_code == 201 and response.json["version"] == 2
    changes = client.get("/api/v1/definitions/1/compare/2").json["changes"]
    changed = next(c for c in changes if c["path"] == "bpmn/accountability_notification.bpmn")
    assert changed["renamed"] == [
        {
            "id": "circulate_notification",
            "type": "callActivity",
            "old": "拟制、审核并印发通报",
            "new": "印发通报",
        }
    ]
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEntry.action).where(AuditEntry.actor == "411300.designer"))
            == "upload"
        )


def _case_in_rectification(app: Flask) -> int:
    """A notification case decided on 3 March: rectify by 3 May (a waiting timer)."""
    with app.app_context():
        eng = runtime().engine(db.session)
        office = Actor(
            "o",
            frozenset(
                {("office_staff", COUNTY), ("office_director", COUNTY), ("committee_director", COUNTY)}
            ),
        )
        case = eng.start("accountability_case", business_key="m1", unit_code=TOWN)
        steps: list[tuple[str, dict[str, Any], Actor]] = [
            (
                "register_report",
                {
                    "source": "member_unit",
                    "reporter": "市公安局",
                    "report_date": "2026-03-02",
                    "art31_items": [2],
                    "facts": "辖区内阶段性刑事治安案件多发。",
                    "leaders": [{"name": "张三", "position": "书记", "responsibility": "principal_leader"}],
                },
                office,
            ),
            (
                "verify_case",
                {
                    "established": True,
                    "severity": "ordinary",
                    "aggravating": [],
                    "mitigating": [],
                    "mitigate": False,
                    "reason": "经核实，情况属实。",
                },
                office,
            ),
            ("approve_notification", {"approved": True, "opinion": "同意"}, office),
        ]
        for element, data, who in steps:
            task = next(t for t in eng.ready_tasks(case.id) if t.element_id == element)
            eng.complete_task(task.id, data, who)
        draft = next(t for t in eng.ready_tasks(case.id) if t.element_id == "draft_document")
        eng.complete_task(draft.id, form_values(eng, draft), office)  # the 通报 as drafted (Art. 33)
        review = next(t for t in eng.ready_tasks(case.id) if t.element_id == "review_document")
        eng.complete_task(review.id, {"doc_review_approved": True}, office)
        db.session.commit()
        assert case.next_wake_at == datetime(2026, 5, 2, 23, 59, 59, tzinfo=CST)
        return case.id


def test_migration_dry_run_and_run_keep_the_deadline(app: Flask) -> None:
    case_id = _case_in_rectification(app)
    clock = runtime_clock(app)
    clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=CST))  # a month later: a restarted timer would move
    client, headers = login(app, "411300.designer")
    renamed = NOTIFICATION.replace('name="报告整改效果"', 'name="报告整改效果（修订）"')
    assert deploy(client, headers, {"bpmn/accountability_notification.bpmn": renamed}).status_code == 201
    dry = client.post("/api/v1/migrations", json={"to_version": 2}, headers=headers).json
    assert dry["dry_run"] and [r["instance_id"] for r in dry["results"]] == [case_id]
    assert dry["results"][0]["can_migrate"] and not dry["results"][0]["migrated"]
    with app.app_context():
        assert db.session.get(ProcessInstance, case_id).version.number == 1  # type: ignore[union-attr]
    run = client.post("/api/v1/migrations", json={"to_version": 2, "dry_run": False}, headers=headers).json
    assert run["results"][0]["migrated"]
    with app.app_context():
        inst = db.session.get(ProcessInstance, case_id)
        assert inst is not None and inst.version.number == 2
        assert inst.next_wake_at == datetime(2026, 5, 2, 23, 59, 59, tzinfo=CST)  # not 1 June
        names = set(
            db.session.scalars(select(Task.name).where(Task.instance_id == case_id, Task.state == "ready"))
        )
        assert names == {"报告整改措施", "记录办理中发现的情况"}  # and the case's standing task for findings
        assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "migrate")) == "migrate"


def test_migration_refused_when_the_current_step_is_gone(app: Flask) -> None:
    case_id = _case_in_rectification(app)
    client, headers = login(app, "411300.designer")
    # Version 2 drops the measures report: the case waits exactly there, so it cannot move.
    tree = etree.fromstring(NOTIFICATION.encode())
    for el in tree.xpath(
        "//*[@id='report_measures_notification' or @id='Flow_nr2'"
        " or @bpmnElement='report_measures_notification' or @bpmnElement='Flow_nr2']"
    ):
        el.getparent().remove(el)
    for ref in tree.xpath("//*[local-name()='incoming' and text()='Flow_nr2']"):
        ref.text = "Flow_nr_need"
    for flow in tree.xpath("//*[@id='Flow_nr_need']"):
        flow.set("targetRef", "measures_reported_notification")
    without = etree.tostring(tree, encoding="unicode")
    response = deploy(client, headers, {"bpmn/accountability_notification.bpmn": without})
    assert response.status_code == 201, response.json
    plan = client.post(
        "/api/v1/migrations", json={"to_version": 2, "instance_ids": [case_id]}, headers=headers
    )
    result = plan.json["results"][0]
    assert not result["can_migrate"] and "report_measures_notification" in " ".join(result["reasons"])
    run = client.post("/api/v1/migrations", json={"to_version": 2, "dry_run": False}, headers=headers).json
    assert not run["results"][0]["migrated"]


def runtime_clock(app: Flask) -> ManualClock:
    clock = app.extensions["governance"].clock
    assert isinstance(clock, ManualClock)
    return clock
