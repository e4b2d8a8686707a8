"""In a real headless Chromium, as each side of a case (issue 14): the pages speak the office's Chinese — no
lane keys (``@upper``), obligation ids (``O33.1``), ``Art. 33`` or English sentences — the task page and the
case page show the case's dossier (the report, each decision with its opinion, the documents), and the
unit under supervision sees what concerns it (its own steps, the documents sent to it), not the office's
deliberations, internal comments or 驳回."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser import login_page
from tests.conftest import demo_app
from tests.test_api_accountability import Desk

COUNTY, TOWN = "411302", "411302001"
FORBIDDEN = {
    "lane key": re.compile(r"@(own|upper|city|body)\b"),
    "obligation id": re.compile(r"\bO\d+\.\d"),
    "English citation": re.compile(r"\bArt\. ?\d"),
    # Four or more English words in a row (a sentence); single words such as Word, PDF are fine.
    "English sentence": re.compile(r"\b[A-Za-z]{2,}(?:[ ,]+[A-Za-z]{2,}){3,}"),
}
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
}
INTERNAL = "内部意见：该街道去年已有类似问题。"


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def _notices(app: Flask) -> None:
    """The "new task" notices the scheduler's notices job sends a few seconds after each step."""
    from app.scheduler import run_notices

    run_notices(app)


def _notified_case(app: Flask) -> tuple[int, str]:
    """Reported, verified, proposed (with an internal comment), approved and the 通报 issued; the township's
    leader now has 报告整改措施. Returns (case id, that task's id)."""
    staff, director = Desk(app, f"{COUNTY}.office_staff"), Desk(app, f"{COUNTY}.office_director")
    committee = Desk(app, f"{COUNTY}.committee_director")
    case = staff.post("/api/v1/cases", {**REPORT, "unit_code": TOWN}).json["id"]
    leaders = [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}]
    staff.do(case, "register_report", {**REPORT, "report_date": "2026-03-02", "leaders": leaders})
    _notices(app)  # the scheduler's notices job runs between people's steps, as it does every few seconds
    verify = {"established": True, "severity": "ordinary", "aggravating": [], "mitigating": []}
    tasks = {t["element_id"]: t["id"] for t in director.case(case)["tasks"]}
    verification = {"data": {**verify, "mitigate": False, "reason": "经核实，建议予以通报。"}}
    done = director.client.post(  # verified and proposed at once (Art. 33), with an internal comment
        f"/api/v1/tasks/{tasks['verify_case']}/complete",
        json={**verification, "comment": INTERNAL, "internal": True},
        headers={"X-CSRFToken": director.token},
    )
    assert done.status_code == 200, done.json
    _notices(app)
    committee.do(case, "approve_notification", {"approved": True, "opinion": "同意通报。"})
    _notices(app)
    staff.do(case, "draft_document", staff.prefilled(case, "draft_document"))
    _notices(app)
    director.do(case, "review_document", {"doc_review_approved": True})
    _notices(app)
    leader = Desk(app, f"{TOWN}.unit_principal_leader")
    mine = {t["element_id"]: t["id"] for t in leader.case(case)["tasks"]}
    return case, mine["report_measures_notification"]


def _text(page: Any) -> str:
    """What a reader sees: the page's text and the diagram's labels (SVG text is not in innerText)."""
    return str(
        page.evaluate(
            "document.body.innerText + '\\n' + Array.from(document.querySelectorAll('svg text'))"
            ".map((t) => t.textContent).join('\\n')"
        )
    )


def _assert_chinese(page: Any, what: str) -> str:
    text = _text(page)
    for name, pattern in FORBIDDEN.items():
        found = pattern.search(text)
        assert found is None, f"{what}: {name} {found.group(0)!r} in the page" if found else ""
    return text


def test_the_office_and_the_unit_each_read_their_chinese_pages(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    case, measures_task = _notified_case(live_app)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        # The office: inbox, case page with its dossier and diagram, the issued document, 收文.
        login_page(page, live_server, f"{COUNTY}.office_director")
        _assert_chinese(page, "office inbox")
        page.goto(f"{live_server}/cases/{case}")
        page.wait_for_selector("#diagram[data-loaded]")
        text = _assert_chinese(page, "office case page")
        dossier = page.locator("#dossier").inner_text()
        for said in (
            "辖区内阶段性刑事治安案件多发",
            "市公安局",
            "经核实，建议予以通报。",
            "同意通报。",
            INTERNAL,
        ):
            assert said in dossier, said  # the report, the proposal, the approval, the internal comment
        assert "宛区综治委〔2026〕" in dossier and "工作档案" in text
        page.click("#case-documents a >> nth=0")
        page.wait_for_selector(".gongwen")
        _assert_chinese(page, "document page")
        page.goto(f"{live_server}/documents")
        _assert_chinese(page, "office 收文")

        # The unit: its task page and the case page show its deadline, the 通报 sent to it, no deliberation.
        page.close()
        page = browser.new_page(viewport={"width": 1300, "height": 1000})  # its own session
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        login_page(page, live_server, f"{TOWN}.unit_principal_leader")
        page.goto(f"{live_server}/tasks/{measures_task}")
        page.wait_for_selector("#task-form")
        text = _assert_chinese(page, "unit task page")
        assert "驳回" not in text and "办理记录" not in text and "仅内部可见" not in text
        dossier = page.locator("#dossier").inner_text()
        assert "宛区综治委〔2026〕" in dossier  # the 通报 sent to it
        for hidden in (INTERNAL, "经核实，建议予以通报。", "核实并确定追究方式"):
            assert hidden not in dossier, hidden
        page.goto(f"{live_server}/cases/{case}")
        page.wait_for_selector("#diagram[data-loaded]")
        text = _assert_chinese(page, "unit case page")
        assert INTERNAL not in text and "工作档案" not in text
        page.goto(f"{live_server}/documents")
        assert "待签收" in _assert_chinese(page, "unit 收文")
        assert errors == []
    finally:
        page.close()


def test_notifications_name_the_case_unit_step_and_deadline_and_tell_the_unit_of_each_decision(
    live_app: Flask,
) -> None:
    from tests.test_openapi import login

    _notified_case(live_app)
    leader, _ = login(live_app, f"{TOWN}.unit_principal_leader")
    page = leader.get("/notifications").get_data(as_text=True)
    assert "收到公文" in page and "宛区综治委〔2026〕" in page  # the 通报 about it
    assert "追责-2026-" in page and "东关街道" in page and "报告整改措施" in page  # its own deadline's task
    staff, _ = login(live_app, f"{COUNTY}.office_staff")
    page = staff.get("/notifications").get_data(as_text=True)
    assert "拟制公文" in page and "已办结" in page  # its drafting task was done: marked, not unread
    with live_app.app_context():
        from app.auth.models import User
        from app.extensions import db
        from app.inbox.notifications import unread_count

        user = db.session.scalars(db.select(User).where(User.username == f"{COUNTY}.office_staff")).one()
        assert unread_count(user) == page.count('class="unread"')  # the badge counts what is still to do


def test_the_verification_asks_for_the_level_only_when_the_report_is_established(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    staff = Desk(live_app, f"{COUNTY}.office_staff")
    leaders = [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}]
    body = {**REPORT, "unit_code": TOWN, "report_date": "2026-03-02", "leaders": leaders}
    case = staff.post("/api/v1/cases", body).json["id"]  # registered by filing it: verification next
    verify = {t["element_id"]: t["id"] for t in staff.case(case)["tasks"]}["verify_case"]
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    try:
        login_page(page, live_server, f"{COUNTY}.office_director")
        page.goto(f"{live_server}/tasks/{verify}")
        severity = page.locator('.formfield[data-field="severity"]')
        assert severity.is_hidden()  # no decision preselected, nothing asked yet
        page.check('input[name="established"][value="true"]')
        assert severity.is_visible() and page.locator('.formfield[data-field="mitigate"]').is_visible()
        page.check('input[name="established"][value="false"]')
        assert severity.is_hidden()
        page.fill("textarea[name=reason]", "经核实，反映情况不属实。")
        page.click("#submit-task")
        page.wait_for_url(f"{live_server}/cases/{case}")
    finally:
        page.close()
    assert staff.case(case)["status"] == "complete"  # closed by the decision, with its reason
