"""In a real headless Chromium: the drill instructor (演练管理员) moves a drill's clock by days and to a date
and reads what happened on the way; every page carries the 演练 banner. Writes ``docs/img/ui-drill.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.cases.services import open_case
from app.drill.seed import make_drill
from app.extensions import db
from app.runtime import runtime
from tests.browser import login_page
from tests.conftest import ROOT, demo_app
from tests.test_drill import drill_app
from workflows.engine.actors import Actor
from workflows.engine.legaltime.legal_time import CST

SHOTS = ROOT / "docs" / "img"
START = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
TOWN, COUNTY = "411302001", "411302"
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内刑事治安案件多发。",
}


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    """A drill seeded from the demo data (the real definitions), starting Monday 2 March 2026."""
    with demo_app(db_url, start=START, ATTACHMENTS_DIR=str(tmp_path)) as plain:
        with plain.app_context():
            make_drill(db.session(), "三月培训", START, "demo")
            db.session.commit()
        with drill_app(db_url) as app:
            yield app


def _verified_case(app: Flask) -> int:
    """A case registered and verified by 宛城区's office: 综治委批准通报 is due on 23 March 2026."""
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


def test_instructor_moves_the_drill_clock_and_reads_what_happened(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    _verified_case(live_app)
    page = browser.new_page(viewport={"width": 1300, "height": 1000}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        login_page(page, live_server, "411300.drill_admin")
        assert "演练时间 2026-03-02 09:00" in page.inner_text("#drill-banner")
        page.click("nav.mainnav a:has-text('演练控制')")
        page.wait_for_selector("#move-days")
        page.fill("#move-days input[name=days]", "25")
        page.click("#move-days button")
        page.wait_for_selector(".flash-success")
        assert "拨到 2026-03-27 09:00" in page.inner_text(".flash-success")
        assert page.inner_text("#drill-now") == "2026-03-27 09:00"
        assert "演练时间 2026-03-27 09:00" in page.inner_text("#drill-banner")
        kinds = page.eval_on_selector_all(
            "#drill-happenings tr[data-kind]", "rows => rows.map(r => r.dataset.kind)"
        )
        assert "reminder" in kinds and "overdue" in kinds, kinds  # the case's deadlines, flagged on the way
        times = page.eval_on_selector_all(
            "#drill-happenings tr[data-kind] td:first-child", "c => c.map(x => x.textContent)"
        )
        assert times == sorted(times) and all("2026-03-02" < t <= "2026-03-27 09:00" for t in times)
        assert re.search(r"已逾期 \d+", page.inner_text("#drill-counts"))
        page.screenshot(path=str(SHOTS / "ui-drill.png"), full_page=True)

        # a date before the drill's today is refused by the form itself (and by the server, test_drill.py)
        page.fill("#move-date input[name=on]", "2026-03-10")
        page.click("#move-date button")
        assert page.eval_on_selector("#move-date input[name=on]", "e => e.validity.rangeUnderflow")
        assert page.inner_text("#drill-now") == "2026-03-27 09:00"
        page.fill("#move-date input[name=on]", "2026-04-15")
        page.click("#move-date button")
        page.wait_for_selector(".flash-success")
        assert page.inner_text("#drill-now") == "2026-04-15 09:00"
        page.goto(f"{live_server}/cases")  # any page of the drill says so
        assert "演练" in page.inner_text("#drill-banner")
        assert not errors, errors
    finally:
        page.close()
