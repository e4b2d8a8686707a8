"""Operator commands and the background jobs: people and roles from the CLI, the annual cycle started by the
office or by the 1 January job (Art. 13) exactly once, ``flask timers`` doing what the scheduler does (timers,
then the due alerts); the designer's form preview."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.auth.models import User
from app.extensions import db
from app.inbox.models import Notification
from app.jobs import start_year_cycle
from app.runtime import runtime
from app.scheduler import run_timers
from tests.conftest import demo_app
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.models import ProcessInstance, Task


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def test_users_create_and_grant(app: Flask) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["users", "create", "li.si", "李四", "--password", "s3cret!"])
    assert created.exit_code == 0, created.output
    assert runner.invoke(args=["users", "create", "li.si", "李四", "--password", "x1234"]).exit_code != 0
    granted = runner.invoke(args=["users", "grant", "li.si", "joint_meeting_member/discipline", "411302"])
    assert granted.exit_code == 0, granted.output
    bad_role = runner.invoke(args=["users", "grant", "li.si", "mayor", "411302"])
    assert bad_role.exit_code != 0 and "mayor" in bad_role.output
    bad_org = runner.invoke(args=["users", "grant", "li.si", "office_staff", "999"])
    assert bad_org.exit_code != 0
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "li.si"))
        assert user is not None and user.check_password("s3cret!")
        assert user.actor().grants == frozenset({("joint_meeting_member/discipline", "411302")})


def test_annual_cycle_starts_once(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["annual", "start", "--year", "2026"])
    assert first.exit_code == 0, first.output
    with app.app_context():  # the January start finds it running and starts nothing
        assert start_year_cycle(db.session(), runtime().engine) is None
    again = runner.invoke(args=["annual", "start", "--year", "2026"])
    assert again.exit_code == 0 and again.output.split(": ")[1] == first.output.split(": ")[1]
    with app.app_context():
        cycles = db.session.scalar(
            select(func.count())
            .select_from(ProcessInstance)
            .where(ProcessInstance.process_id == "annual_cycle")
        )
        assert cycles == 1
        cycle_id = db.session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.process_id == "annual_cycle")
        )
    client = app.test_client()
    client.post("/api/v1/auth/login", json={"username": "411300.supervisor", "password": "demo"})
    page = client.get("/dashboard/annual?year=2026").get_data(as_text=True)
    assert f'data-cycle="{cycle_id}"' in page and "南阳市" in page
    assert client.get(f"/cases/{cycle_id}").status_code == 200  # the cycle's own page with its diagram
    county = app.test_client()
    county.post("/api/v1/auth/login", json={"username": "411302.office_director", "password": "demo"})
    assert f'data-cycle="{cycle_id}"' not in county.get("/dashboard/annual?year=2026").get_data(as_text=True)


def test_form_preview_renders_and_reports(app: Flask) -> None:
    client = app.test_client()
    login = client.post("/api/v1/auth/login", json={"username": "411300.designer", "password": "demo"})
    headers = {"X-CSRFToken": login.json["csrf_token"]}  # type: ignore[index]
    good = client.post(
        "/designer/forms/preview",
        headers=headers,
        json={
            "text": (
                '{"title": "测试", "type": "object", "required": ["a"], "properties": '
                '{"a": {"type": "string", "title": "意见"}, "b": {"type": "boolean", "title": "同意"}}}'
            )
        },
    ).json
    assert good["problems"] == [] and 'name="a"' in good["html"] and 'value="true"' in good["html"]
    bad = client.post(
        "/designer/forms/preview", headers=headers, json={"text": '{"title": "x", "type": 5'}
    ).json
    assert bad["html"] == "" and "不是有效的 JSON" in bad["problems"][0]["message"]
    office = app.test_client()
    token = office.post("/api/v1/auth/login", json={"username": "411302.office_director", "password": "demo"})
    csrf = token.json["csrf_token"]  # type: ignore[index]
    refused = office.post("/designer/forms/preview", json={"text": "{}"}, headers={"X-CSRFToken": csrf})
    assert refused.status_code == 403


def test_flask_timers_sends_the_due_alerts_like_the_scheduler(app: Flask) -> None:
    """``flask timers`` is the scheduler's pass: reload the calendar, wake due timers, send due alerts. Here
    the city's letters are drafted late: the office staff get an overdue notification, once, whichever of
    the two runs it next."""
    runner = app.test_cli_runner()
    assert runner.invoke(args=["annual", "start", "--year", "2026"]).exit_code == 0
    with app.app_context():
        clock = runtime().clock
        draft = db.session.scalar(
            select(Task).where(Task.element_id == "draft_letters", Task.state == "ready")
        )
        staff = db.session.scalar(select(User.id).where(User.username == "411300.office_staff"))
    assert isinstance(clock, ManualClock) and draft is not None and draft.due_at is not None
    started = clock.now()
    clock.set(draft.due_at + timedelta(days=1))

    def overdue() -> list[int]:
        with app.app_context():
            return list(
                db.session.scalars(
                    select(Notification.user_id).where(
                        Notification.kind == "overdue", Notification.task_id == draft.id
                    )
                )
            )

    try:
        result = runner.invoke(args=["timers"])
        assert result.exit_code == 0, result.output
        woke, sent = result.output.split("; ")
        assert "failed 0" in woke and int(sent.split()[0]) >= 1, result.output
        assert overdue() == [staff]
        run_timers(app)  # the scheduler's job finds the alert already sent
        again = runner.invoke(args=["timers"])
        assert again.exit_code == 0 and again.output.endswith("; 0 notification(s) sent\n"), again.output
        assert overdue() == [staff]
    finally:
        clock.set(started)
