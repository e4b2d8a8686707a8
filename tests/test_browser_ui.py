"""In a real headless Chromium: a county office director logs in, completes a task after a validation
error, sees the case move on in the supervisor view with the diagram highlighting the new step, and
cannot open another county's case. Screenshots of the inbox, task page, case page and dashboard are saved
to docs/img/ (shown in the README)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.extensions import db
from app.runtime import runtime
from tests.browser import login_page
from tests.conftest import ROOT, demo_app
from workflows.engine.actors import Actor

SHOTS = ROOT / "docs" / "img"
TOWN, OTHER_TOWN = "411302001", "411303002"
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
}
REGISTER = {
    **REPORT,
    "report_date": "2026-03-02",
    "leaders": [{"name": "张三", "position": "党委书记", "responsibility": "principal_leader"}],
}


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def _case_at_verification(app: Flask, unit: str, county: str) -> int:
    """Open a case on a report and register it, so the county director's verification is waiting."""
    with app.app_context():
        engine = runtime().engine(db.session)
        reporter = Actor("411300.supervisor", frozenset({("supervisor", "411300")}))
        from app.cases.services import open_case

        case = open_case(engine, reporter, unit, dict(REPORT))
        register = engine.ready_tasks(case.id)[0]
        engine.complete_task(register.id, REGISTER, Actor("s", frozenset({("office_staff", county)})))
        db.session.commit()
        return case.id


def test_county_director_works_a_task_and_sees_the_case_move(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    mine = _case_at_verification(live_app, TOWN, "411302")
    theirs = _case_at_verification(live_app, OTHER_TOWN, "411303")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, "411302.office_director")
        row = page.locator("#tasks tr", has_text="核实并确定追究方式")
        assert row.count() == 1
        page.screenshot(path=str(SHOTS / "ui-inbox.png"), full_page=True)

        row.locator("a").first.click()
        page.wait_for_selector("#task-form")
        page.check("input[name=established][value=true]")
        page.select_option("select[name=severity]", "ordinary")
        page.check("input[name=mitigate][value=false]")
        page.click("#submit-task")  # no reason given
        assert page.locator("[data-field=reason] .field-error").count() == 1
        assert page.locator("input[name=established][value=true]").is_checked()  # nothing lost
        page.screenshot(path=str(SHOTS / "ui-task.png"), full_page=True)

        page.fill("textarea[name=reason]", "经核实，情况属实，属一般情形，建议通报。")
        page.click("#submit-task")
        page.wait_for_url(f"{live_server}/cases/{mine}")
        assert page.locator("#case-level").text_content() == "通报"
        # The verification was the office's proposal (Art. 33): the committee's approval is next.
        assert "综治委批准通报" in (page.locator("#case-steps").text_content() or "")
        page.wait_for_selector("#diagram[data-loaded]")
        assert page.get_attribute("#diagram", "data-loaded") == "bpmn/accountability_notification.bpmn"
        assert page.get_attribute("#diagram", "data-warnings") == "0"
        current = page.locator('.djs-element.current[data-element-id="approve_notification"]')
        assert current.count() == 1
        page.screenshot(path=str(SHOTS / "ui-case.png"), full_page=True)

        # Drill from the case process into the called procedure and back.
        page.click('#diagram-tabs a[data-path="bpmn/accountability_case.bpmn"]')
        page.wait_for_selector('#diagram[data-loaded="bpmn/accountability_case.bpmn"]')
        assert page.locator('.djs-element.done[data-element-id="call_intake"]').count() == 1
        # The levels sit in the collapsed subprocess 按追究方式办理 (boundary events there change the level).
        page.click('[data-container-id="handle_level"] .bjs-drilldown')
        page.click('[data-element-id="call_notification"]')
        page.wait_for_selector('#diagram[data-loaded="bpmn/accountability_notification.bpmn"]')

        response = page.goto(f"{live_server}/cases/{theirs}")
        assert response is not None and response.status == 403

        page.goto(f"{live_server}/dashboard")
        page.wait_for_selector("#chart-levels[data-rendered]")
        page.screenshot(path=str(SHOTS / "ui-dashboard.png"), full_page=True)
        assert errors == []
    finally:
        page.close()


@pytest.mark.obligation("O38.1")
def test_report_page_renders_from_the_form_file_and_keeps_input(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    """登记书面反映: the fields come from forms/case_report.json (as the API's); an error keeps the input."""
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    login_page(page, live_server, "411300.supervisor")
    page.goto(f"{live_server}/cases/new")
    page.select_option("select[name=unit_code]", TOWN)
    page.select_option("select[name=source]", "member_unit")
    page.fill("input[name=reporter]", "市公安局")
    page.check("input[name=art31_items][value='2']")
    page.fill("textarea[name=facts]", "太短")
    page.click("button.primary")
    facts = page.locator("[data-field=facts]")
    assert "至少 10 个字" in facts.inner_text()
    assert page.input_value("input[name=reporter]") == "市公安局"  # nothing typed is lost
    page.screenshot(path="/tmp/ui-report-error.png", full_page=True)
    page.fill("textarea[name=facts]", REPORT["facts"])
    page.click("button.primary")
    page.wait_for_url(f"{live_server}/cases/*")
    assert "追责-2026-" in page.inner_text("body")
    page.close()
