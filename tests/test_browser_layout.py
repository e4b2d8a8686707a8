"""In a real headless Chromium: the inbox, a task page and a case page are usable on a phone (390 px): no
horizontal page scroll, the top navigation never breaks a label into vertical characters (there, nor at
1300 px); the case page prints without the top bar, the diagram tabs and the forms. Screenshots of the case
page on a phone and printed are saved to docs/img/ (shown in the README)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser import login_page
from tests.conftest import ROOT, demo_app
from tests.test_api_accountability import Desk

SHOTS = ROOT / "docs" / "img"
COUNTY, TOWN = "411302", "411302001"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1300, "height": 900}
#: A nav label on one line is ~36 px high; two lines would be ~58 px.
ONE_LINE = 40
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
}
REGISTER = {
    **REPORT,
    "report_date": "2026-03-02",
    "leaders": [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}],
}
VERIFY = {
    "established": True,
    "severity": "ordinary",
    "aggravating": [],
    "mitigating": [],
    "mitigate": False,
    "reason": "经核实，情况属实，属一般情形。",
}


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def _case_at_verification(app: Flask) -> tuple[int, int]:
    """The county office staff report and register a case through the API; the director's verification
    waits. Returns (case id, verification task id)."""
    staff = Desk(app, f"{COUNTY}.office_staff")
    created = staff.post("/api/v1/cases", {**REPORT, "unit_code": TOWN})
    assert created.status_code == 201, created.json
    case = created.json["id"]
    staff.do(case, "register_report", REGISTER)
    tasks = {t["element_id"]: t["id"] for t in staff.case(case)["tasks"]}
    return case, tasks["verify_case"]


def _issue_notification(app: Flask, case: int) -> None:
    """Verify, propose, approve, draft and review: the case page then lists an issued 通报 and deadlines."""
    staff, director = Desk(app, f"{COUNTY}.office_staff"), Desk(app, f"{COUNTY}.office_director")
    committee = Desk(app, f"{COUNTY}.committee_director")
    director.do(case, "verify_case", VERIFY)
    committee.do(case, "approve_notification", {"approved": True, "opinion": "同意通报。"})
    staff.do(case, "draft_document", staff.prefilled(case, "draft_document"))
    director.do(case, "review_document", {"doc_review_approved": True})


def _assert_fits(page: Any, what: str) -> None:
    """No horizontal scroll of the page, and every link of the top bar on one line."""
    width = page.evaluate("window.innerWidth")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{what}: page scrolls sideways ({scroll} > {width} px)"
    links = page.locator(".topbar nav a, .topbar .usernav a, .topbar .usernav button")
    assert links.count() >= 4, what
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        label = links.nth(i).inner_text()
        assert box is not None and box["height"] < ONE_LINE, f"{what}: {label!r} is {box} (two lines?)"


def test_inbox_task_and_case_pages_on_a_phone_and_the_case_printed(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    case, task = _case_at_verification(live_app)
    page = browser.new_page(viewport=PHONE)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, f"{COUNTY}.office_director")
        assert page.locator("#tasks tr", has_text="核实并确定追究方式").count() == 1
        _assert_fits(page, "phone inbox")

        page.goto(f"{live_server}/tasks/{task}")
        page.wait_for_selector("#task-form")
        _assert_fits(page, "phone task page")
        form = page.locator("#task-form textarea[name=reason]").bounding_box()
        assert form is not None and form["width"] > PHONE["width"] * 0.7  # forms take the full width
        columns = page.locator(".layout-2 > div")  # one column: the second block sits below the first
        first, second = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
        assert first is not None and second is not None and second["y"] >= first["y"] + first["height"]

        _issue_notification(live_app, case)
        page.goto(f"{live_server}/cases/{case}")
        page.wait_for_selector("#diagram[data-loaded]")
        _assert_fits(page, "phone case page")
        diagram = page.locator("#diagram").bounding_box()
        assert diagram is not None and diagram["height"] >= 300
        documents = page.locator("#case-documents table.grid")
        assert "宛区综治委" in documents.inner_text()
        table, card = documents.bounding_box(), page.locator("#case-documents").bounding_box()
        assert table is not None and card is not None
        assert table["x"] + table["width"] <= card["x"] + card["width"]  # inside its card...
        assert documents.evaluate("t => t.scrollWidth > t.clientWidth")  # ...scrolling sideways, not crushed
        page.screenshot(path=str(SHOTS / "ui-phone-case.png"), full_page=True)

        page.set_viewport_size(DESKTOP)
        for url in ("/inbox", f"/tasks/{task}", f"/cases/{case}"):
            page.goto(f"{live_server}{url}")
            _assert_fits(page, f"desktop {url}")
        assert errors == []
    finally:
        page.close()

    printed = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
    try:
        login_page(printed, live_server, f"{COUNTY}.office_director")
        printed.emulate_media(media="print")  # before loading the case: the diagram fits the printed width
        printed.goto(f"{live_server}/cases/{case}")
        printed.wait_for_selector("#diagram[data-loaded]", state="attached")
        assert not printed.locator(".topbar").is_visible()
        assert not printed.locator("#diagram-tabs").is_visible()
        assert printed.locator("#case-documents").is_visible()
        columns = printed.locator(".layout-2 > div")  # one column on paper
        first, second = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
        assert first is not None and second is not None and second["y"] >= first["y"] + first["height"]
        assert printed.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
        printed.screenshot(path=str(SHOTS / "ui-print-case.png"), full_page=True)

        printed.goto(f"{live_server}/tasks/{task}")  # done by now: the page still prints without forms
        assert not printed.locator(".topbar").is_visible()
        assert printed.locator("form").count() >= 1
        assert all(not f.is_visible() for f in printed.locator("main form").all())
    finally:
        printed.close()


def test_task_form_is_not_printed(browser: Any, live_app: Flask, live_server: str) -> None:
    """A task the director can act on: on paper neither the task form nor 其他操作 (claim, send back...)."""
    _, task = _case_at_verification(live_app)
    page = browser.new_page(viewport={"width": 794, "height": 1123})
    try:
        login_page(page, live_server, f"{COUNTY}.office_director")
        page.goto(f"{live_server}/tasks/{task}")
        assert page.locator("#task-form").is_visible()
        assert page.locator("h2", has_text="其他操作").is_visible()
        page.emulate_media(media="print")
        assert not page.locator(".topbar").is_visible()
        assert not page.locator("#task-form").is_visible()
        assert not page.locator("h2", has_text="其他操作").is_visible()
        assert page.locator("h2", has_text="办理记录").is_visible()
    finally:
        page.close()


def test_a_form_of_rows_stays_inside_its_card(browser: Any, live_app: Flask, live_server: str) -> None:
    """登记书面反映's leaders concerned (a table of inputs in a fieldset) at desktop and phone width: the
    fieldset, whose browser default is to grow to its content, stuck out of the form's card by 42 px at
    1,300 px."""
    staff = Desk(live_app, f"{COUNTY}.office_staff")
    created = staff.post("/api/v1/cases", {**REPORT, "unit_code": TOWN})
    assert created.status_code == 201, created.json
    register = {t["element_id"]: t["id"] for t in staff.case(created.json["id"])["tasks"]}["register_report"]
    page = browser.new_page(viewport=DESKTOP)
    try:
        login_page(page, live_server, f"{COUNTY}.office_staff")
        for viewport in (DESKTOP, PHONE):
            page.set_viewport_size(viewport)
            page.goto(f"{live_server}/tasks/{register}")
            page.wait_for_selector("#task-form fieldset")
            _assert_fits(page, f"{viewport['width']} px register page")
            sticking_out = page.evaluate(
                """() => [...document.querySelectorAll('#task-form fieldset')].map(f =>
                    f.getBoundingClientRect().right - f.closest('.card').getBoundingClientRect().right)"""
            )
            assert sticking_out and all(px <= 0 for px in sticking_out), (viewport, sticking_out)
    finally:
        page.close()
