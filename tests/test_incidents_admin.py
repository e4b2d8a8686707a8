"""Incidents for administrators (issue 16 point 2): the JSON API lists, retries and cancels them and answers
as the OpenAPI document says; the page 运行异常 does the same; anyone without the ``admin`` role gets 403; the
case page's notice (``admin/_incident_notice.html``) shows an instance's open incidents. Four poisoned cases
of ``tests/test_incidents.py``'s process, woken on 10 March, give the incidents."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from flask_login import login_user
from jsonschema import Draft202012Validator
from sqlalchemy import select

from app.auth.models import User
from app.config import incident_backoff
from app.extensions import db
from app.jobs import wake_due
from app.runtime import runtime
from tests.conftest import ROOT, WANCHENG_TOWN, demo_app
from tests.test_incidents import BACKOFF, DUE, POISON_BPMN, PROCESS, START
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.models import Incident


# -- administrators: API and page --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    root = tmp_path_factory.mktemp("definitions")
    (root / "bpmn").mkdir()
    (root / "bpmn" / "poison_after_wait.bpmn").write_text(POISON_BPMN, encoding="utf-8")
    shutil.copytree(ROOT / "forms", root / "forms")  # the OpenAPI document's request bodies come from them
    with demo_app(db_url, root=root, start=START) as app:
        yield app


@pytest.fixture(scope="module")
def parked(app: Flask) -> dict[str, int]:
    """Four poisoned cases whose incidents are parked (no retries) and one healthy one, woken on 10 March."""
    with app.app_context():
        rt = runtime()
        engine = rt.engine(db.session())
        keys = ["api-retry", "api-cancel", "page-retry", "page-cancel", "healthy"]
        ids = {
            key: engine.start(
                PROCESS,
                business_key=key,
                unit_code=WANCHENG_TOWN,
                data={"divisor": 1 if key == "healthy" else 0},
            ).id
            for key in keys
        }
        db.session.commit()
        assert isinstance(rt.clock, ManualClock)
        rt.clock.set(DUE)
        report = wake_due(db.session(), rt.engine, backoff=())
        assert report.woken == [ids["healthy"]] and len(report.incidents) == 4
        return {key: report.incidents[ids[key]] for key in keys if key != "healthy"}


def api_login(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.json
    return client, {"X-CSRFToken": response.json["csrf_token"]}  # type: ignore[index]


def web_login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": token[1]})
    assert response.status_code == 302, response.get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/inbox").get_data(as_text=True))
    assert token
    return client, token[1]


def test_api_lists_retries_and_cancels_as_admin(app: Flask, parked: dict[str, int]) -> None:
    client, headers = api_login(app, "411300.admin")
    listed = client.get("/api/v1/incidents?status=parked")
    assert listed.status_code == 200, listed.json
    body: Any = listed.json
    assert body["total"] >= 4 and {parked[k] for k in ("api-retry", "api-cancel")} <= {
        i["id"] for i in body["items"]
    }
    one = next(i for i in body["items"] if i["id"] == parked["api-retry"])
    assert (one["business_key"], one["element_id"], one["element_name"]) == (
        "api-retry",
        "compute",
        "计算得分",
    )
    assert (one["status"], one["retries_left"], one["next_retry_at"], one["kind"]) == (
        "parked",
        0,
        None,
        "timer",
    )
    assert one["created_at"] == "2026-03-10T00:00:00+08:00" and "division" in one["message"]

    retried = client.post(f"/api/v1/incidents/{parked['api-retry']}/retry", headers=headers)
    assert retried.status_code == 200, retried.json
    assert (retried.json["status"], retried.json["retries_left"]) == ("retrying", len(incident_backoff()))  # type: ignore[index]
    assert retried.json["retried_by"] == "411300.admin"  # type: ignore[index]

    refused = client.post(f"/api/v1/incidents/{parked['api-cancel']}/cancel", json={}, headers=headers)
    assert refused.status_code == 422 and "reason" in refused.json["errors"]  # type: ignore[index]
    cancelled = client.post(
        f"/api/v1/incidents/{parked['api-cancel']}/cancel", json={"reason": "重复立案"}, headers=headers
    )
    assert cancelled.status_code == 200, cancelled.json
    assert (cancelled.json["status"], cancelled.json["instance_status"], cancelled.json["note"]) == (  # type: ignore[index]
        "cancelled",
        "cancelled",
        "重复立案",
    )
    again = client.post(
        f"/api/v1/incidents/{parked['api-cancel']}/cancel", json={"reason": "x"}, headers=headers
    )
    assert again.status_code == 409 and again.json["error"] == "incident_closed"  # type: ignore[index]
    assert client.post("/api/v1/incidents/999999/retry", headers=headers).status_code == 404
    everything = client.get("/api/v1/incidents?status=all&per_page=200").json["items"]  # type: ignore[index]
    assert {i["id"]: i["status"] for i in everything}[parked["api-cancel"]] == "cancelled"
    still_open = client.get("/api/v1/incidents").json["items"]  # type: ignore[index]
    assert parked["api-cancel"] not in {i["id"] for i in still_open}
    assert client.get("/api/v1/incidents?status=nonsense").status_code == 422
    answers = [
        ("/incidents", "get", listed),
        ("/incidents/{incident_id}/retry", "post", retried),
        ("/incidents/{incident_id}/cancel", "post", refused),
        ("/incidents/{incident_id}/cancel", "post", cancelled),
        ("/incidents/{incident_id}/cancel", "post", again),
        ("/incidents/{incident_id}", "get", client.get(f"/api/v1/incidents/{parked['api-retry']}")),
    ]
    document: Any = app.test_client().get("/api/v1/openapi.json").json
    for path, method, response in answers:  # each answer is what the OpenAPI document says it is
        described = document["paths"][path][method]["responses"][str(response.status_code)]
        schema = {**described["content"]["application/json"]["schema"], "components": document["components"]}
        assert not list(Draft202012Validator(schema).iter_errors(response.json)), (path, response.json)


def test_api_refuses_anyone_but_an_admin(app: Flask, parked: dict[str, int]) -> None:
    assert app.test_client().get("/api/v1/incidents").status_code == 401
    for username in ("411300.supervisor", "411302.office_director", "411300.designer"):
        client, headers = api_login(app, username)
        assert client.get("/api/v1/incidents").status_code == 403
        assert client.get(f"/api/v1/incidents/{parked['page-retry']}").status_code == 403
        assert (
            client.post(f"/api/v1/incidents/{parked['page-retry']}/retry", headers=headers).status_code == 403
        )
        cancel = client.post(
            f"/api/v1/incidents/{parked['page-cancel']}/cancel", json={"reason": "x"}, headers=headers
        )
        assert cancel.status_code == 403
    with app.app_context():
        statuses = db.session.scalars(
            select(Incident.status).where(Incident.id.in_([parked["page-retry"], parked["page-cancel"]]))
        )
        assert set(statuses) == {"parked"}


def test_the_page_lists_and_handles_incidents_as_admin(app: Flask, parked: dict[str, int]) -> None:
    client, csrf = web_login(app, "411300.admin")
    page = client.get("/admin/incidents?status=parked")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "运行异常" in html and "page-retry" in html and "计算得分" in html and "division" in html
    row = re.search(rf'<tr data-incident="{parked["page-retry"]}">(.*?)</tr>', html, re.S)
    assert row and "/cases/" in row[1] and "已搁置" in row[1] and "<td>0</td>" in row[1]

    response = client.post(
        f"/admin/incidents/{parked['page-retry']}/retry", data={"csrf_token": csrf, "status": "parked"}
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("status=parked")
    response = client.post(f"/admin/incidents/{parked['page-cancel']}/cancel", data={"csrf_token": csrf})
    assert response.status_code == 302  # no reason: refused, nothing changed
    response = client.post(
        f"/admin/incidents/{parked['page-cancel']}/cancel", data={"csrf_token": csrf, "reason": "测试数据"}
    )
    assert response.status_code == 302
    html = client.get("/admin/incidents?status=all").get_data(as_text=True)
    assert "已取消" in html and "测试数据" in html and "重试中" in html
    with app.app_context():
        retried = db.session.get(Incident, parked["page-retry"])
        cancelled = db.session.get(Incident, parked["page-cancel"])
        assert retried is not None and cancelled is not None
        assert (retried.status, retried.retried_by) == ("retrying", "411300.admin")
        assert (cancelled.status, cancelled.closed_by, cancelled.note) == (
            "cancelled",
            "411300.admin",
            "测试数据",
        )
        assert cancelled.instance.status == "cancelled"
        # The retried wake-up runs at the next pass; still poisoned, it fails again and waits 1 minute.
        report = wake_due(db.session(), runtime().engine, backoff=BACKOFF)
        assert report.incidents[retried.instance_id] == retried.id
        assert cancelled.instance_id not in report.incidents
        db.session.refresh(retried)
        assert (retried.status, retried.retries_left) == ("retrying", 3)


def test_the_page_refuses_anyone_but_an_admin(app: Flask, parked: dict[str, int]) -> None:
    assert app.test_client().get("/admin/incidents").status_code == 302  # to the login page
    client, csrf = web_login(app, "411302.office_director")
    assert client.get("/admin/incidents").status_code == 403
    response = client.post(f"/admin/incidents/{parked['page-retry']}/retry", data={"csrf_token": csrf})
    assert response.status_code == 403


def test_the_case_page_notice_shows_open_incidents(app: Flask, parked: dict[str, int]) -> None:
    """``{% include "admin/_incident_notice.html" %}`` on the case page: a notice for everyone, the error and
    element for administrators, nothing once the incidents are closed."""
    with app.app_context():
        incident = db.session.get(Incident, parked["api-retry"])
        closed = db.session.get(Incident, parked["api-cancel"])
        assert incident is not None and closed is not None
        notice = '{% include "admin/_incident_notice.html" %}'
        for username, details in (("411300.admin", True), ("411302.office_director", False)):
            user = db.session.scalars(select(User).where(User.username == username)).one()
            with app.test_request_context("/cases/1"):
                login_user(user)
                html = render_template_string(notice, inst=incident.instance)
                assert 'id="case-incidents"' in html
                assert ("计算得分" in html) is details and ("/admin/incidents" in html) is details
                assert render_template_string(notice, inst=closed.instance).strip() == ""
