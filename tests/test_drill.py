"""Drill mode (issue 15): a drill database with its own clock, moved forward by an instructor.

The drill here is the test database seeded like ``scripts/drill new --from demo`` (Nanyang, demo accounts)
with the fixture definitions (a five-working-day wait, a rectification case with deadlines), marked as a
drill starting Monday 2 March 2026, 09:00.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import create_app
from app.drill.clock import DrillRefused, StoredClock
from app.drill.happenings import happenings
from app.drill.models import DrillState
from app.drill.moves import JUST_AFTER
from app.drill.seed import make_drill
from app.extensions import db
from app.runtime import engine, runtime
from tests.conftest import FIXTURES, WANCHENG, WANCHENG_TOWN, actor, demo_app
from workflows.engine.legaltime.legal_time import CST, to_cst
from workflows.engine.models import InstanceEvent, ProcessInstance, Task

START = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # a Monday
INSTRUCTOR = "411300.drill_admin"
OFFICE = actor("office", ("office_director", WANCHENG))
COMMITTEE = actor("committee", ("committee_director", WANCHENG))


def token(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"username": username, "password": "demo", "csrf_token": token(page)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, token(client.get("/inbox").get_data(as_text=True))


@contextmanager
def drill_app(url: str) -> Iterator[Flask]:
    """The app as ``scripts/drill serve`` starts it (GOVERNANCE_DRILL=1), without the scheduler."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "DRILL": True})
    try:
        yield app
    finally:
        clock = app.config["CLOCK"]
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if isinstance(clock, StoredClock):
            clock.dispose()


@pytest.fixture
def drill_url(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[str]:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES, project)
    with demo_app(db_url, root=project, start=START) as plain:
        with plain.app_context():
            make_drill(db.session(), "三月培训", START, "demo")
            db.session.commit()
        yield db_url


def drill_now(app: Flask) -> datetime:
    with app.app_context():
        return db.session.get(DrillState, 1).now  # type: ignore[union-attr]


def start_wait(app: Flask, key: str) -> tuple[int, datetime]:
    """A fixture instance that waits five PRC working days from the drill's now: (id, when it is due)."""
    with app.app_context(), app.test_request_context():  # the request's clock is the drill's
        app.preprocess_request()
        inst = engine().start("wait_working_days", business_key=key, unit_code=WANCHENG_TOWN)
        db.session.commit()
        assert inst.next_wake_at is not None
        return inst.id, to_cst(inst.next_wake_at)


def start_rectification(app: Flask, key: str) -> int:
    """A rectification case verified and approved now: 报告整改措施 due in 10 working days."""
    with app.test_request_context():
        app.preprocess_request()
        eng = engine()
        inst = eng.start("rectification", business_key=key, unit_code=WANCHENG_TOWN, data={"matter": "测试"})
        for element, data, who in (
            ("verify", {"facts": "发生重大案件", "proposal": "notification"}, OFFICE),
            ("approve", {"approved": True}, COMMITTEE),
        ):
            task = db.session.scalar(
                select(Task).where(
                    Task.instance_id == inst.id, Task.element_id == element, Task.state == "ready"
                )
            )
            assert task is not None, element
            eng.complete_task(task.id, data, who)
            db.session.commit()
        return inst.id


def move(client: FlaskClient, csrf: str, **form: Any) -> str:
    response = client.post("/drill/move", data={"csrf_token": csrf, **form}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


# -- refusals at start-up -----------------------------------------------------------------------------------
def test_normal_app_refuses_a_drill_database(drill_url: str) -> None:
    with pytest.raises(DrillRefused, match=r"是演练数据库「三月培训」.*scripts/drill serve"):
        create_app({"SQLALCHEMY_DATABASE_URI": drill_url, "SECRET_KEY": "test"})


def test_drill_app_refuses_a_database_without_the_mark(db_url: str, sql_engine: object) -> None:
    with pytest.raises(DrillRefused, match=r"不是演练数据库.*生产数据库不能使用可拨动的时钟"):
        create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test", "DRILL": True})


def test_drill_app_refuses_a_simulation_start(drill_url: str) -> None:
    with pytest.raises(DrillRefused, match="GOVERNANCE_SIMULATION_START"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": drill_url,
                "SECRET_KEY": "test",
                "DRILL": True,
                "SIMULATION_START": "2026-05-01T09:00:00+08:00",
            }
        )


# -- moving the clock ---------------------------------------------------------------------------------------
def test_moving_by_days_fires_timers_in_order_and_lists_them(drill_url: str) -> None:
    with drill_app(drill_url) as app:
        first, first_due = start_wait(app, "w-first")
        case = start_rectification(app, "r-1")  # 报告整改措施 due 10 working days after 2 March
        client, csrf = login(app, INSTRUCTOR)
        page = move(client, csrf, days="2")
        assert "演练时钟已从 2026-03-02 09:00 拨到 2026-03-04 09:00" in page
        second, second_due = start_wait(app, "w-second")
        assert START < first_due < second_due < datetime(2026, 3, 19, 9, 0, tzinfo=CST)
        page = move(client, csrf, days="15")
        assert "拨到 2026-03-19 09:00" in page

        with app.app_context():
            fired = db.session.execute(
                select(InstanceEvent.instance_id, InstanceEvent.at)
                .where(InstanceEvent.kind == "timer_fired")
                .order_by(InstanceEvent.id)
            ).all()
            # each timer fired at its own due time, in that order, not at the end of the move
            assert [(i, to_cst(at)) for i, at in fired] == [
                (first, first_due + JUST_AFTER),
                (second, second_due + JUST_AFTER),
            ]
            assert {i.business_key: i.status for i in db.session.scalars(select(ProcessInstance))} == {
                "w-first": "complete",
                "w-second": "complete",
                "r-1": "running",
            }
            task = db.session.scalar(select(Task).where(Task.instance_id == case, Task.state == "ready"))
            assert (
                task is not None and task.element_id == "report_measures" and task.due_at and task.remind_at
            )
            listed = happenings(db.session(), START, drill_now(app))
        # the reminder is sent when its window opens and the overdue flag just after the deadline
        by_kind = {(h.kind, h.business_key): h.at for h in listed}
        assert by_kind[("reminder", "r-1")] == task.remind_at
        assert by_kind[("overdue", "r-1")] > task.due_at
        assert by_kind[("overdue", "r-1")] == task.due_at + JUST_AFTER
        order = [(h.kind, h.business_key) for h in listed if h.kind in ("timer_fired", "reminder", "overdue")]
        assert order == sorted(order, key=lambda k: by_kind[k])
        assert order.index(("timer_fired", "w-first")) < order.index(("timer_fired", "w-second"))

        # the page lists the last move's window: both timers, the reminder and the overdue flag, in Chinese
        page = client.get("/drill/").get_data(as_text=True)
        rows = re.findall(r'<tr data-source="(\w+)" data-kind="(\w+)">\s*<td>([^<]+)</td>', page)
        kinds = [(kind, at) for _source, kind, at in rows]
        assert ("timer_fired", f"{first_due + JUST_AFTER:%Y-%m-%d %H:%M}") in kinds
        assert ("timer_fired", f"{second_due + JUST_AFTER:%Y-%m-%d %H:%M}") in kinds
        assert any(k == "reminder" for k, _ in kinds) and any(k == "overdue" for k, _ in kinds)
        assert [at for _k, at in kinds] == sorted(at for _k, at in kinds)
        assert "期限届满" in page and "即将到期" in page and "已逾期" in page and "报告整改措施" in page
        assert 'id="drill-now">2026-03-19 09:00<' in page


def test_jump_to_a_date_and_a_date_in_the_past_refused(drill_url: str) -> None:
    with drill_app(drill_url) as app:
        start_wait(app, "w-jump")
        client, csrf = login(app, INSTRUCTOR)
        page = move(client, csrf, on="2026-04-01")
        assert "拨到 2026-04-01 09:00" in page
        assert to_cst(drill_now(app)) == datetime(2026, 4, 1, 9, 0, tzinfo=CST)
        with app.app_context():
            assert db.session.scalar(select(ProcessInstance.status)) == "complete"  # fired on the way

        page = move(client, csrf, on="2026-03-20")
        assert "只能向前拨动：演练时间已是 2026-04-01 09:00" in page
        page = move(client, csrf, on="2026-04-01")  # the same instant is not forward either
        assert "只能向前拨动" in page
        page = move(client, csrf, on="1 April")
        assert "无法识别" in page
        page = move(client, csrf, days="-3")
        assert "天数须为正整数" in page
        assert to_cst(drill_now(app)) == datetime(2026, 4, 1, 9, 0, tzinfo=CST)  # nothing moved


def test_the_clock_is_shared_by_two_apps_on_the_same_drill(drill_url: str) -> None:
    with drill_app(drill_url) as one, drill_app(drill_url) as two:
        client_one, csrf = login(one, INSTRUCTOR)
        client_two, _csrf = login(two, "411302.office_director")
        assert "演练时间 2026-03-02 09:00" in client_two.get("/inbox").get_data(as_text=True)
        move(client_one, csrf, days="7")
        # the other process's very next request runs on the moved clock (pages and engine alike)
        assert "演练时间 2026-03-09 09:00" in client_two.get("/inbox").get_data(as_text=True)
        with two.test_request_context():
            two.preprocess_request()
            assert to_cst(runtime().clock.now()) == datetime(2026, 3, 9, 9, 0, tzinfo=CST)
            assert to_cst(engine().now()) == datetime(2026, 3, 9, 9, 0, tzinfo=CST)


def test_every_drill_page_carries_the_banner_and_only_the_instructor_moves(drill_url: str) -> None:
    with drill_app(drill_url) as app:
        anonymous = app.test_client().get("/login").get_data(as_text=True)
        assert 'id="drill-banner"' in anonymous and "演练" in anonymous
        client, _csrf = login(app, INSTRUCTOR)
        for path in ("/inbox", "/cases", "/drill/"):
            html = client.get(path).get_data(as_text=True)
            assert 'id="drill-banner"' in html and "此系统为演练环境，不是正式系统" in html, path
        assert 'href="/drill/"' in client.get("/inbox").get_data(as_text=True)  # 演练控制 in the menu
        officer, csrf = login(app, "411302.office_director")
        assert officer.get("/drill/").status_code == 403
        assert officer.post("/drill/move", data={"csrf_token": csrf, "days": "3"}).status_code == 403
        assert 'href="/drill/"' not in officer.get("/inbox").get_data(as_text=True)
        assert to_cst(drill_now(app)) == START


def test_a_normal_app_has_no_banner_and_no_drill_page(db_url: str, sql_engine: object) -> None:
    with demo_app(db_url, start=START) as app:
        client, _csrf = login(app, "411300.admin")
        assert 'id="drill-banner"' not in client.get("/inbox").get_data(as_text=True)
        assert client.get("/drill/").status_code == 404


def test_a_rectification_period_ending_on_the_way_escalates_the_case(drill_url: str) -> None:
    """The fixture's 整改期满 boundary timer (two months after the decision) fires during a jump and the
    case ends escalated; the page lists the deadline reached and the ending under the case."""
    with drill_app(drill_url) as app:
        case = start_rectification(app, "r-esc")
        leader = actor("leader", ("unit_principal_leader", WANCHENG_TOWN))
        with app.test_request_context():
            app.preprocess_request()
            task = db.session.scalar(select(Task).where(Task.instance_id == case, Task.state == "ready"))
            assert task is not None and task.element_id == "report_measures"
            engine().complete_task(task.id, {"measures": "加强巡逻防控。"}, leader)
            db.session.commit()
            due = db.session.get(ProcessInstance, case).next_wake_at  # type: ignore[union-attr]
        assert due is not None and to_cst(due).date() == datetime(2026, 5, 2).date()
        client, csrf = login(app, INSTRUCTOR)
        assert "拨到 2026-05-20 09:00" in move(client, csrf, on="2026-05-20")
        with app.app_context():
            inst = db.session.get(ProcessInstance, case)
            assert inst is not None and inst.status == "complete"
            fired = db.session.scalar(
                select(InstanceEvent.at).where(
                    InstanceEvent.instance_id == case, InstanceEvent.kind == "timer_fired"
                )
            )
            ended = db.session.scalar(
                select(InstanceEvent.detail).where(
                    InstanceEvent.instance_id == case, InstanceEvent.kind == "completed"
                )
            )
        assert fired == due + JUST_AFTER
        assert ended == {"end_events": ["End_escalated"]}
        page = client.get("/drill/").get_data(as_text=True)
        rows = re.findall(r'<tr data-source="event" data-kind="(\w+)">\s*<td>([^<]+)</td>', page)
        assert ("timer_fired", f"{to_cst(due + JUST_AFTER):%Y-%m-%d %H:%M}") in rows
        assert any(kind == "completed" for kind, _at in rows)
        assert "期限届满" in page and "办结" in page and "r-esc" in page
