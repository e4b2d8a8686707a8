"""In a real headless Chromium: the 宛城区 office director records, on the case's standing task
记录办理中发现的情况, two leaders for personal measures with different measures (Art. 32, 39) — one card
per leader with its measures as checkboxes — and each leader gets their own referral."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.cases.services import open_case
from app.extensions import db
from app.runtime import runtime
from tests.conftest import demo_app
from workflows.engine.actors import Actor
from workflows.engine.models import ProcessInstance, Task

TOWN, COUNTY = "411302001", "411302"
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内刑事治安案件多发。",
}


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def _case_in_notification(app: Flask) -> int:
    with app.app_context():
        engine = runtime().engine(db.session)
        office = Actor("o", frozenset({("office_staff", COUNTY), ("office_director", COUNTY)}))
        case = open_case(engine, office, TOWN, dict(REPORT))
        register = {
            **REPORT,
            "report_date": "2026-03-02",
            "leaders": [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}],
        }
        verify = {
            "established": True,
            "severity": "ordinary",
            "aggravating": [],
            "mitigating": [],
            "mitigate": False,
            "reason": "经核实，情况属实。",
        }
        for element, data in (("register_report", register), ("verify_case", verify)):
            task = next(t for t in engine.ready_tasks(case.id) if t.element_id == element)
            engine.complete_task(task.id, data, office)
        db.session.commit()
        return case.id


@pytest.mark.obligation("O39.1", "O32.1")
def test_office_refers_two_leaders_with_different_measures_from_the_case_page(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    case_id = _case_in_notification(live_app)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", f"{COUNTY}.office_director")
        page.fill("input[name=password]", "demo")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/inbox")
        page.goto(f"{live_server}/cases/{case_id}")
        page.click("a:has-text('记录办理中发现的情况')")
        page.wait_for_selector("#task-form")
        page.select_option("select[name=finding_kind]", "personal_measures")
        page.fill("textarea[name=finding_facts]", "调查中发现两名领导干部负有直接责任。")
        assert page.locator(".row-card").count() == 2  # one card per leader, measures as checkboxes
        leaders = [
            ("张三", "党工委书记", "principal_leader", ["removal"], "对治安混乱负主要领导责任。"),
            (
                "李四",
                "办事处主任",
                "principal_leader",
                ["party_discipline", "judicial_transfer"],
                "瞒报重大案件。",
            ),
        ]
        for i, (name, post, resp, measures, facts) in enumerate(leaders):
            page.fill(f"input[name=personal_measures-{i}-name]", name)
            page.fill(f"input[name=personal_measures-{i}-position]", post)
            page.select_option(f"select[name=personal_measures-{i}-responsibility]", resp)
            for m in measures:
                page.check(f"input[name=personal_measures-{i}-measures][value={m}]")
            page.fill(f"textarea[name=personal_measures-{i}-facts]", facts)
        page.click("#submit-task")
        page.wait_for_url(f"{live_server}/cases/{case_id}")
        table = page.locator("text=个人责任追究").locator("xpath=..")
        assert "免职" in (table.text_content() or "") and "移送司法机关" in (table.text_content() or "")
        assert errors == []
    finally:
        page.close()
    with live_app.app_context():
        referrals = db.session.scalars(
            select(ProcessInstance).where(
                ProcessInstance.parent_instance_id == case_id,
                ProcessInstance.process_id == "accountability_referral",
            )
        ).all()
        tasks = {
            (r.id, t.element_id, t.role)
            for r in referrals
            for t in db.session.scalars(select(Task).where(Task.instance_id == r.id, Task.state == "ready"))
        }
        assert len(referrals) == 2  # each referral starts with the office's 移送函 (Art. 39)
        assert sorted((e, role) for _, e, role in tasks) == [("draft_document", "office_staff")] * 2
