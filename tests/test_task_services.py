"""One service per use case (app/inbox/services.py, app/cases/services.py): the web pages and the API
leave the same working file and send the same notifications, and the report a case opens with is defined
once, by forms/case_report.json (Art. 38, O38.1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import jobs
from app.extensions import db
from app.inbox.models import Notification
from app.runtime import engine
from tests.conftest import demo_app
from tests.test_api import login as api_login
from tests.test_web import login as web_login
from workflows.engine.models import InstanceEvent, Task

TOWN = "411302001"
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
}
REGISTRATION = {
    "source": "member_unit",
    "reporter": "市公安局",
    "report_date": "2026-01-05",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
    "leaders": [{"name": "张三", "position": "党委书记", "responsibility": "principal_leader"}],
}
# The same registration as the web page posts it.
REGISTRATION_FORM = {
    **{k: v for k, v in REGISTRATION.items() if k != "leaders"},
    "art31_items": ["2"],
    "leaders-0-name": "张三",
    "leaders-0-position": "党委书记",
    "leaders-0-responsibility": "principal_leader",
}


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def open_case(app: Flask) -> int:
    client, csrf = api_login(app, "411300.supervisor")
    response = client.post("/api/v1/cases", json={**REPORT, "unit_code": TOWN}, headers={"X-CSRFToken": csrf})
    assert response.status_code == 201, response.json
    return int(response.json["id"])  # type: ignore[index]


def register_task(app: Flask, case_id: int) -> str:
    with app.app_context():
        return db.session.scalars(
            select(Task.id).where(Task.instance_id == case_id, Task.element_id == "register_report")
        ).one()


def trail(app: Flask, case_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The case's working file and its notifications, without ids, times and task ids (they differ)."""
    with app.app_context():
        events = db.session.scalars(
            select(InstanceEvent).where(InstanceEvent.instance_id == case_id).order_by(InstanceEvent.id)
        ).all()
        notices = db.session.scalars(
            select(Notification).where(Notification.instance_id == case_id).order_by(Notification.id)
        ).all()
        return (
            [(e.actor, e.kind, e.element_id, _plain(e.detail)) for e in events],
            [(n.user_id, n.kind, n.message) for n in notices],
        )


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    """The form data of a completion compares as JSON would (the web posts strings, the API numbers)."""
    return {k: v for k, v in detail.items() if k not in ("version",)}


@pytest.mark.obligation("O38.1")
def test_api_and_web_completion_leave_the_same_working_file_and_notifications(app: Flask) -> None:
    via_api, via_web = open_case(app), open_case(app)

    client, csrf = api_login(app, "411302.office_staff")
    task = register_task(app, via_api)
    body = {"data": REGISTRATION, "comment": "已核对原件"}
    done = client.post(f"/api/v1/tasks/{task}/complete", json=body, headers={"X-CSRFToken": csrf})
    assert done.status_code == 200, done.json
    assert done.json["case"]["id"] == via_api  # type: ignore[index]
    assert re.search(r"\+08:00$", done.json["case"]["updated_at"])  # type: ignore[index]

    client, csrf = web_login(app, "411302.office_staff")
    task = register_task(app, via_web)
    form = {**REGISTRATION_FORM, "csrf_token": csrf, "comment": "已核对原件"}
    page = client.post(f"/tasks/{task}", data=form)
    assert page.status_code == 302, page.get_data(as_text=True)

    with app.app_context():  # the scheduler's notices job, as it runs a few seconds after a step
        assert jobs.send_arrival_notices(db.session(), engine().now()) >= 2
    api_events, api_notices = trail(app, via_api)
    web_events, web_notices = trail(app, via_web)
    assert api_events == web_events
    assert api_notices == web_notices
    kinds = [kind for _, kind, _, _ in api_events]
    assert "task_completed" in kinds and "comment" in kinds
    assert any(
        kind == "arrived" for _, kind, _ in api_notices
    )  # the director learns of the next step from the notices job


@pytest.mark.obligation("O38.1")
def test_report_is_checked_against_its_form_file_by_api_and_web_alike(app: Flask) -> None:
    long_facts = "事" * 4001  # forms/case_report.json: facts at most 4,000 characters
    client, csrf = api_login(app, "411300.supervisor")
    refused = client.post(
        "/api/v1/cases",
        json={**REPORT, "facts": long_facts, "unit_code": TOWN, "extra": 1},
        headers={"X-CSRFToken": csrf},
    )
    assert refused.status_code == 422
    assert set(refused.json["errors"]) == {"facts", "extra"}  # type: ignore[index]
    unknown_unit = client.post(
        "/api/v1/cases", json={**REPORT, "unit_code": "nowhere"}, headers={"X-CSRFToken": csrf}
    )
    assert unknown_unit.status_code == 422 and set(unknown_unit.json["errors"]) == {"unit_code"}  # type: ignore[index]

    web, token = web_login(app, "411300.supervisor")
    data = {**REPORT, "art31_items": ["2"], "facts": long_facts, "unit_code": TOWN, "csrf_token": token}
    page = web.post("/cases/new", data=data)
    assert page.status_code == 422
    assert "最多 4000 个字" in page.get_data(as_text=True)  # the same limit, worded for the official


def test_task_actions_over_the_api(app: Flask) -> None:
    case_id = open_case(app)
    task = register_task(app, case_id)
    staff, staff_csrf = api_login(app, "411302.office_staff")
    claimed = staff.post(f"/api/v1/tasks/{task}/claim", headers={"X-CSRFToken": staff_csrf})
    assert claimed.status_code == 200 and claimed.json["claimed_by"] == "411302.office_staff"  # type: ignore[index]
    assert re.search(r"\+08:00$", claimed.json["created_at"])  # type: ignore[index]
    note = staff.post(
        f"/api/v1/tasks/{task}/comment", json={"text": "待核实"}, headers={"X-CSRFToken": staff_csrf}
    )
    assert note.status_code == 200

    boss, boss_csrf = api_login(app, "411302.office_director")
    urged = boss.post(
        f"/api/v1/tasks/{task}/urge", json={"note": "请尽快登记"}, headers={"X-CSRFToken": boss_csrf}
    )
    assert urged.status_code == 200
    outsider, outsider_csrf = api_login(app, "411303.office_director")
    refused = outsider.post(f"/api/v1/tasks/{task}/urge", json={}, headers={"X-CSRFToken": outsider_csrf})
    assert refused.status_code == 403
    with app.app_context():
        kinds = db.session.scalars(
            select(InstanceEvent.kind).where(InstanceEvent.instance_id == case_id).order_by(InstanceEvent.id)
        ).all()
    assert kinds[-2:] == ["comment", "urged"]
