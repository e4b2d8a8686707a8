"""Start any deployed procedure, in headless Chromium (issue 15): the designer uploads a county procedure's
forms, opens a new diagram in the modeller, imports the procedure's XML through the modeller page's import
(``window.designer.importXML``: drawing pools, lanes and flows by dragging bpmn-js shapes is too brittle to
drive), renames a step in the properties panel and deploys; the county's office clerk sees it under 发起,
starts it with its start form, verifies; the office director reviews from the inbox; the clerk files it; the
case page shows the diagram with every step done. A role that may start nothing sees an empty 发起 without
the nav entry. Screenshots of 发起 go to docs/img/ (ui-start.png, ui-start-none.png)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser import login_page
from tests.conftest import ROOT, demo_app
from tests.start_any_fixture import FORMS, NAME, PROCESS, bpmn

SHOTS = ROOT / "docs" / "img"
COUNTY = "411302"


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def _page(browser: Any, base: str, username: str, errors: list[str]) -> Any:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login_page(page, base, username)
    return page


def _design_and_deploy(browser: Any, base: str, errors: list[str]) -> None:
    page = _page(browser, base, "411300.designer", errors)
    page.goto(f"{base}/designer")
    page.set_input_files(
        "input[type=file][name=files]",
        [
            {
                "name": path.rsplit("/", 1)[-1],
                "mimeType": "application/json",
                "buffer": json.dumps(form, ensure_ascii=False).encode(),
            }
            for path, form in FORMS.items()
        ],
    )
    page.click("form[action$='/designer/upload'] button.primary")
    page.wait_for_selector("#versions tr[data-version='2']")

    page.goto(f"{base}/designer/new?process_id={PROCESS}&name={NAME}")
    page.wait_for_function("window.designer !== undefined")
    drawn = bpmn().replace('name="核实情况"', 'name="核实"')
    warnings = page.evaluate("xml => window.designer.importXML(xml)", drawn)
    assert warnings == []
    page.wait_for_selector('[data-element-id="verify"]')
    page.click('[data-element-id="verify"]')
    name = page.locator("#bio-properties-panel-name")
    if not name.is_visible():  # the General group starts collapsed
        page.click('[data-group-id="group-general"] .bio-properties-panel-group-header')
    name.fill("核实情况")
    name.press("Tab")
    page.fill("#deploy-comment", "宛城区矛盾纠纷排查化解")
    page.click("#deploy")
    page.wait_for_selector("#deploy-result[data-version]")
    assert page.get_attribute("#deploy-result", "data-version") == "3", page.inner_text("#problems")
    page.context.close()


def _submit_task(page: Any, step: str, fill: dict[str, str]) -> None:
    page.click("nav.mainnav a[href='/inbox']")
    page.click(f"a:has-text('{step}')")
    for name, value in fill.items():
        if page.locator(f"select[name={name}]").count():
            page.select_option(f"select[name={name}]", value)
        else:
            page.fill(f"[name={name}]", value)
    page.click("#submit-task")
    page.wait_for_load_state()


def test_design_deploy_start_and_complete(browser: Any, live_app: Flask, live_server: str) -> None:
    errors: list[str] = []
    _design_and_deploy(browser, live_server, errors)

    clerk = _page(browser, live_server, f"{COUNTY}.office_staff", errors)
    clerk.click("nav.mainnav a:has-text('发起')")
    row = clerk.locator(f"#startable tr[data-process={PROCESS}]")
    assert NAME in row.inner_text() and "第四十二条" in row.inner_text() and "v3" in row.inner_text()
    assert clerk.locator("#startable tr[data-process=accountability_case]").count() == 1
    SHOTS.mkdir(parents=True, exist_ok=True)
    clerk.screenshot(path=str(SHOTS / "ui-start.png"), full_page=True)
    row.locator("a.button").click()
    clerk.click("#start-process button.primary")  # empty: refused, the fields say why
    assert clerk.locator("#start-process .error").count() >= 2
    clerk.fill("[name=subject]", "东关街道邻里纠纷")
    clerk.fill("[name=facts]", "两户居民因宅基地边界多次发生争执，需排查化解。")
    clerk.click("#start-process button.primary")
    clerk.wait_for_url("**/tasks/**")
    assert "矛盾纠纷排查化解-2026-411302-0001" in clerk.inner_text("body")
    clerk.fill("[name=findings]", "双方均有诉求，已现场核实。")
    clerk.click("#submit-task")
    clerk.wait_for_load_state()

    director = _page(browser, live_server, f"{COUNTY}.office_director", errors)
    _submit_task(director, "审核", {"decision": "agree"})
    _submit_task(clerk, "归档", {"note": "调解协议已签订，归档。"})

    director.goto(f"{live_server}/cases?process={PROCESS}")
    director.click("a:has-text('矛盾纠纷排查化解-2026-411302-0001')")
    director.wait_for_selector(".djs-container svg")
    for element in ("verify", "review", "file"):
        marker = director.locator(f'[data-element-id="{element}"]').first.get_attribute("class") or ""
        assert "done" in marker or "completed" in marker, (element, marker)
    assert "核实情况" in director.inner_text("body")

    designer = _page(browser, live_server, "411300.designer", errors)
    assert designer.locator("nav.mainnav a:has-text('发起')").count() == 0
    designer.goto(f"{live_server}/start")
    assert designer.locator("#nothing-to-start").is_visible()
    designer.screenshot(path=str(SHOTS / "ui-start-none.png"), full_page=True)
    assert errors == []
