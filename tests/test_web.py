"""Server-rendered pages with the real definitions and demo accounts: login, inbox with filters and
counts, the task page's form (invalid input comes back inline, nothing lost), approval actions
(send back, transfer, urge, comment, attachment), notifications, the supervisor's case list and export,
the case page, the dashboard, the admin page, and the English locale."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from tests.conftest import demo_app
from workflows.engine.models import InstanceEvent, Task

TOWN, OTHER_TOWN = "411302001", "411303002"


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path_factory.mktemp("files"))) as app:
        yield app


def token(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"username": username, "password": "demo", "csrf_token": token(page)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, token(client.get("/inbox").get_data(as_text=True))


def open_case(app: Flask, unit: str = TOWN) -> int:
    client, csrf = login(app, "411300.supervisor")
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf,
            "unit_code": unit,
            "source": "member_unit",
            "reporter": "市公安局",
            "art31_items": ["2", "4"],
            "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def ready(app: Flask, case_id: int, element: str) -> Task:
    with app.app_context():
        return db.session.scalars(
            select(Task).where(Task.instance_id == case_id, Task.element_id == element, Task.state == "ready")
        ).one()


def test_login_page_and_bad_password(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/inbox").status_code == 302  # to the login page
    page = client.get("/login").get_data(as_text=True)
    assert "登录" in page
    bad = client.post(
        "/login", data={"username": "411302.office_director", "password": "x", "csrf_token": token(page)}
    )
    assert bad.status_code == 401 and "用户名或密码错误" in bad.get_data(as_text=True)
    assert client.post("/login", data={"username": "a", "password": "b"}).status_code == 400  # no CSRF token


def test_report_form_validates_inline(app: Flask) -> None:
    client, csrf = login(app, "411300.supervisor")
    response = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf,
            "unit_code": TOWN,
            "source": "member_unit",
            "reporter": "",
            "facts": "太短",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and html.count("field-error") == 3
    assert "太短" in html  # what was typed is kept


def test_task_form_error_then_success_and_inbox(app: Flask) -> None:
    case_id = open_case(app)
    register = ready(app, case_id, "register_report")
    client, csrf = login(app, "411302.office_staff")
    inbox = client.get("/inbox").get_data(as_text=True)
    assert register.id in inbox and "登记书面反映" in inbox
    page = client.get(f"/tasks/{register.id}").get_data(as_text=True)
    assert 'name="facts"' in page and "辖区内阶段性刑事治安案件多发" in page  # prefilled from the report
    assert "第三十八条" in page  # legal basis, as the regulation says it
    bad = client.post(
        f"/tasks/{register.id}",
        data={
            "csrf_token": csrf,
            "source": "member_unit",
            "reporter": "市公安局",
            "facts": "太短了",
            "art31_items": ["2"],
            "art31_items__present": "1",
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "至少 10 个字" in html and "太短了" in html and "必填" in html
    good = client.post(
        f"/tasks/{register.id}",
        data={
            "csrf_token": csrf,
            "source": "member_unit",
            "reporter": "市公安局",
            "report_date": "2026-03-02",
            "art31_items": ["2"],
            "art31_items__present": "1",
            "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
            "leaders-0-name": "张三",
            "leaders-0-position": "党委书记",
            "leaders-0-responsibility": "principal_leader",
            "comment": "情况属实，建议核实。",
        },
    )
    assert good.status_code == 302 and good.headers["Location"].endswith(f"/cases/{case_id}")
    with app.app_context():
        kinds = [
            e.kind
            for e in db.session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == case_id))
        ]
    assert "comment" in kinds and "task_completed" in kinds
    case_page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "核实并确定追究方式" in case_page and "bpmn-navigated-viewer" in case_page
    diagram = client.get(f"/cases/{case_id}/diagram/bpmn/accountability_intake.bpmn")
    assert diagram.status_code == 200 and b"verify_case" in diagram.data


def test_other_county_cannot_open_case_or_task(app: Flask) -> None:
    case_id = open_case(app, OTHER_TOWN)
    register = ready(app, case_id, "register_report")
    client, _csrf = login(app, "411302.office_director")
    assert client.get(f"/cases/{case_id}").status_code == 403
    assert client.get(f"/tasks/{register.id}").status_code == 403
    assert register.id not in client.get("/inbox").get_data(as_text=True)
    assert client.get(f"/cases/{case_id}/diagram/bpmn/accountability_case.bpmn").status_code == 403


def test_send_back_transfer_urge_attach(app: Flask) -> None:
    case_id = open_case(app)
    staff, staff_csrf = login(app, "411302.office_staff")
    register = ready(app, case_id, "register_report")
    staff.post(
        f"/tasks/{register.id}",
        data={
            "csrf_token": staff_csrf,
            "source": "member_unit",
            "reporter": "市公安局",
            "report_date": "2026-03-02",
            "art31_items": ["2"],
            "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
            "leaders-0-name": "张三",
            "leaders-0-position": "党委书记",
            "leaders-0-responsibility": "principal_leader",
        },
    )
    verify = ready(app, case_id, "verify_case")
    director, csrf = login(app, "411302.office_director")
    # 驳回 is offered where there is a step to return to: on verification, not on registration (the first).
    assert f"/tasks/{verify.id}/send-back" in director.get(f"/tasks/{verify.id}").get_data(as_text=True)
    # 驳回 needs a reason, then returns the case to registration; registration itself has nothing before it.
    director.post(f"/tasks/{verify.id}/send-back", data={"csrf_token": csrf, "reason": ""})
    assert ready(app, case_id, "verify_case").id == verify.id
    director.post(f"/tasks/{verify.id}/send-back", data={"csrf_token": csrf, "reason": "材料不全，请补充。"})
    again = ready(app, case_id, "register_report")
    assert again.id == register.id and again.state == "ready"
    page = staff.get(f"/tasks/{register.id}").get_data(as_text=True)
    assert 'id="submit-task"' in page and f"/tasks/{register.id}/send-back" not in page
    refused = staff.post(
        f"/tasks/{register.id}/send-back",
        data={"csrf_token": staff_csrf, "reason": "无"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "该环节不能驳回" in refused and ready(app, case_id, "register_report").id == register.id
    # The staff member registers again; the director uploads a file, then 转办 is refused to a non-holder.
    staff.post(
        f"/tasks/{register.id}",
        data={
            "csrf_token": staff_csrf,
            "source": "member_unit",
            "reporter": "市公安局",
            "report_date": "2026-03-02",
            "art31_items": ["2"],
            "facts": "补充：辖区内阶段性刑事治安案件多发，群众反映强烈。",
            "leaders-0-name": "张三",
            "leaders-0-position": "党委书记",
            "leaders-0-responsibility": "principal_leader",
        },
    )
    verify = ready(app, case_id, "verify_case")
    upload = director.post(
        f"/tasks/{verify.id}/attach",
        data={"csrf_token": csrf, "file": (io.BytesIO("整改报告".encode()), "整改报告.txt")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    bad_upload = director.post(
        f"/tasks/{verify.id}/attach",
        data={"csrf_token": csrf, "file": (io.BytesIO(b"MZ"), "tool.exe")},
        content_type="multipart/form-data",
    )
    assert bad_upload.status_code == 302
    director.post(f"/tasks/{verify.id}/transfer", data={"csrf_token": csrf, "to": "411303.office_director"})
    assert ready(app, case_id, "verify_case").claimed_by is None
    # The city supervisor urges; the director gets a notification.
    supervisor, sup_csrf = login(app, "411300.supervisor")
    supervisor.post(f"/tasks/{verify.id}/urge", data={"csrf_token": sup_csrf, "note": "请尽快核实"})
    notes = director.get("/notifications").get_data(as_text=True)
    assert "催办" in notes
    with app.app_context():
        kinds = [
            e.kind
            for e in db.session.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == case_id))
        ]
    assert kinds.count("sent_back") == 1 and "task_reopened" in kinds and "urged" in kinds
    assert kinds.count("attachment") == 1  # the .exe was refused
    page = director.get(f"/tasks/{verify.id}").get_data(as_text=True)
    link = re.search(r'href="(/attachments/\d+)"', page)
    assert link
    download = director.get(link.group(1))
    assert download.data == "整改报告".encode()
    download.close()
    other, _ = login(app, "411303.office_director")
    assert other.get(link.group(1)).status_code == 403


def test_case_list_filters_counts_and_export(app: Flask) -> None:
    open_case(app)
    client, _ = login(app, "411300.supervisor")
    page = client.get("/cases?county=411302").get_data(as_text=True)
    assert "宛城区" in page and "东关街道" in page
    csv_export = client.get("/cases/export.csv?county=411302")
    assert csv_export.status_code == 200 and "案件编号" in csv_export.get_data(as_text=True)
    xlsx = client.get("/cases/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    county, _ = login(app, "411303.office_director")
    assert "东关街道" not in county.get("/cases").get_data(as_text=True)


def test_dashboard_admin_and_english(app: Flask) -> None:
    supervisor, csrf = login(app, "411300.supervisor")
    assert supervisor.get("/dashboard").status_code == 200
    assert supervisor.get("/admin/users").status_code == 403
    admin, admin_csrf = login(app, "411300.admin")
    users = admin.get("/admin/users?q=411302.office").get_data(as_text=True)
    assert "411302.office_director" in users
    created = admin.post(
        "/admin/users",
        data={
            "csrf_token": admin_csrf,
            "username": "zhang.san",
            "display_name": "张三",
            "password": "secret1",
            "role": "office_staff",
            "org_code": "411302",
        },
    )
    assert created.status_code == 302
    assert login(app, "411302.office_staff")  # demo accounts still fine
    supervisor.post("/locale", data={"csrf_token": csrf, "locale": "en", "next": "/inbox"})
    english = supervisor.get("/inbox").get_data(as_text=True)
    assert "My tasks" in english and "Cases" in english
    supervisor.post("/locale", data={"csrf_token": csrf, "locale": "zh_CN", "next": "/inbox"})
    assert "我的任务" in supervisor.get("/inbox").get_data(as_text=True)
