"""The v1 JSON API end to end with the real definitions and demo accounts: login + CSRF, open a case
(Art. 38), work tasks by role and county, invalid form data, reading a case, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from tests.conftest import demo_app

WANCHENG, WANCHENG_TOWN, WOLONG_TOWN = "411302", "411302001", "411303002"


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.json
    return client, response.json["csrf_token"]  # type: ignore[index]


def post(client: FlaskClient, token: str, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json=body, headers={"X-CSRFToken": token})


REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
}


def test_towns_exist(app: Flask) -> None:
    # The tests below use two townships (real division codes) of two counties.
    with app.app_context():
        from workflows.engine.models import OrgUnit

        assert db.session.get(OrgUnit, WANCHENG_TOWN).parent_code == WANCHENG  # type: ignore[union-attr]
        assert db.session.get(OrgUnit, WOLONG_TOWN) is not None


def test_login_required_and_wrong_password(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/definitions").status_code == 401
    assert client.get("/api/v1/health").status_code == 200
    bad = client.post("/api/v1/auth/login", json={"username": "411302.office_director", "password": "x"})
    assert bad.status_code == 401 and bad.json["error"] == "login_failed"  # type: ignore[index]
    missing = client.post("/api/v1/auth/login", json={})
    assert missing.status_code == 422 and set(missing.json["errors"]) == {"username", "password"}  # type: ignore[index]


def test_post_without_csrf_token_is_refused(app: Flask) -> None:
    client, _ = login(app, "411302.office_staff")
    response = client.post("/api/v1/cases", json={**REPORT, "unit_code": WANCHENG_TOWN})
    assert response.status_code == 400 and response.json["error"] == "csrf_failed"  # type: ignore[index]


def test_case_through_the_api(app: Flask) -> None:
    reporter, token = login(app, "411300.supervisor")
    created = post(reporter, token, "/api/v1/cases", {**REPORT, "unit_code": WANCHENG_TOWN})
    assert created.status_code == 201, created.json
    case = created.json
    assert case["business_key"].startswith("追责-2026-") and case["level"] == "intake"
    assert [t["element_id"] for t in case["tasks"]] == ["register_report"]
    assert case["tasks"][0]["org_code"] == WANCHENG  # the county office registers a township's report

    staff, staff_token = login(app, "411302.office_staff")
    mine = staff.get("/api/v1/tasks").json
    task = next(t for t in mine["items"] if t["instance_id"] == case["id"])
    assert task["due_at"] == "2026-03-09T23:59:59+08:00" and task["deadline_status"] == "on_track"

    bad = post(
        staff,
        staff_token,
        f"/api/v1/tasks/{task['id']}/complete",
        {"data": {"source": "member_unit", "reporter": "", "art31_items": [12], "unit_code": "x"}},
    )
    assert bad.status_code == 422
    assert {"reporter", "art31_items/0", "unit_code", "facts", "leaders", "report_date"} <= set(
        bad.json["errors"]
    )

    good = {
        **REPORT,
        "report_date": "2026-03-02",
        "leaders": [{"name": "张三", "position": "党委书记", "responsibility": "principal_leader"}],
    }
    done = post(staff, staff_token, f"/api/v1/tasks/{task['id']}/complete", {"data": good})
    assert done.status_code == 200 and done.json["case"]["steps"] == ["核实并确定追究方式"]
    again = post(staff, staff_token, f"/api/v1/tasks/{task['id']}/complete", {"data": good})
    assert again.status_code == 409 and again.json["error"] == "task_not_ready"

    # The other county's director can neither see nor act on it.
    other, other_token = login(app, "411303.office_director")
    assert other.get(f"/api/v1/cases/{case['id']}").status_code == 403
    verify_id = next(t["id"] for t in staff.get(f"/api/v1/cases/{case['id']}").json["tasks"])
    refused = post(other, other_token, f"/api/v1/tasks/{verify_id}/complete", {"data": {}})
    assert refused.status_code == 403 and refused.json["error"] == "not_authorized"
    assert all(t["instance_id"] != case["id"] for t in other.get("/api/v1/tasks").json["items"])

    director, director_token = login(app, "411302.office_director")
    verified = post(
        director,
        director_token,
        f"/api/v1/tasks/{verify_id}/complete",
        {
            "data": {
                "established": True,
                "severity": "serious",
                "aggravating": [],
                "mitigating": [],
                "mitigate": False,
                "reason": "经核实，危害严重。",
            }
        },
    )
    assert verified.status_code == 200 and verified.json["case"]["level"] == "interview"

    detail = director.get(f"/api/v1/cases/{case['id']}").json
    assert detail["level"] == "interview" and detail["steps"] == ["综治委批准约谈"]  # verified at intake
    assert detail["deadlines"][0]["provisional"] is False
    kinds = [e["kind"] for e in detail["history"]]
    assert kinds[:3] == ["started", "case_opened", "task_created"] and "case_verified" in kinds

    listed = director.get("/api/v1/cases?level=interview").json
    assert [c["id"] for c in listed["items"]] == [case["id"]] and listed["total"] == 1
    assert other.get("/api/v1/cases").json["total"] == 0
    city = login(app, "411300.supervisor")[0].get("/api/v1/cases?county=411302").json
    assert city["total"] == 1 and city["items"][0]["county_name"] == "宛城区"


def test_unknown_task_and_case(app: Flask) -> None:
    client, token = login(app, "411302.office_director")
    assert post(client, token, "/api/v1/tasks/nope/complete", {"data": {}}).status_code == 404
    assert client.get("/api/v1/cases/999999").status_code == 404


def test_openapi_document_lists_the_operations(app: Flask) -> None:
    doc = app.test_client().get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert {"/cases", "/cases/{case_id}", "/tasks", "/tasks/{task_id}/complete"} <= set(doc["paths"])
    assert "CaseDetail" in doc["components"]["schemas"]
