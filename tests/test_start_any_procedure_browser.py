"""Start any deployed procedure, in headless Chromium (issue 15): the designer uploads a county procedure's
forms, opens a new diagram in the modeller and draws the procedure there by clicking and dragging as a
designer does (context pad, properties panel, a lane added and a step dragged into it), and deploys; the
county's office clerk sees it under 发起, starts it with its start form, verifies; the office director
reviews from the inbox; the clerk files it; the case page shows the diagram with every step done. A role
that may start nothing sees an empty 发起 without the nav entry. Screenshots of 发起 go to docs/img/
(ui-start.png, ui-start-none.png)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser import login_page, wait_until
from tests.conftest import ROOT, demo_app
from tests.start_any_fixture import FORMS, NAME, PROCESS

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
    wait_until(page, "() => window.designer !== undefined")
    _draw_three_steps(page)
    page.fill("#deploy-comment", "宛城区矛盾纠纷排查化解")
    page.click("#deploy")
    page.wait_for_selector("#deploy-result[data-version]")
    assert page.get_attribute("#deploy-result", "data-version") == "3", page.inner_text("#problems")
    page.context.close()


def _general(page: Any, field: str) -> Any:
    """A field of the properties panel's 常规 group (it starts collapsed)."""
    locator = page.locator(f"#bio-properties-panel-{field}")
    if not locator.is_visible():
        page.click('[data-group-id="group-general"] .bio-properties-panel-group-header')
    return locator


SELECTED = "id => document.querySelector('#bio-properties-panel-id')?.value === id"


def _select(page: Any, element_id: str, left: bool = False) -> None:
    """Click an element: at its centre (the lint's marks sit on corners), or for a pool or lane at its left
    strip, where its name is; then wait until the properties panel shows it (a click landing while the
    panel re-renders after an edit can be lost: click again)."""
    for _ in range(3):
        box = page.locator(f'.djs-element[data-element-id="{element_id}"]').bounding_box()
        page.mouse.click(box["x"] + (15 if left else box["width"] / 2), box["y"] + box["height"] / 2)
        try:
            wait_until(page, SELECTED, element_id, timeout=2)
            return
        except AssertionError:
            continue
    raise AssertionError(f"{element_id} could not be selected")


def _step(page: Any, element_id: str, name: str, form: str, due: bool = False) -> None:
    """Name the selected user task, give it an id the test can find, its form and article (and a deadline)."""
    _general(page, "id").fill(element_id)
    _general(page, "id").press("Tab")
    _general(page, "name").fill(name)
    _general(page, "name").press("Tab")
    page.select_option("#bio-properties-panel-governance-form", form)
    page.fill("#bio-properties-panel-governance-article", "Art. 42")
    page.press("#bio-properties-panel-governance-article", "Tab")
    if due:
        page.fill("#bio-properties-panel-governance-dueDate", "working_days_after(now(), 5)")
        page.press("#bio-properties-panel-governance-dueDate", "Tab")


def _shapes(page: Any) -> set[str]:
    ids = page.eval_on_selector_all(".djs-element.djs-shape", "els => els.map(e => e.dataset.elementId)")
    return set(ids)


def _blank(page: Any) -> None:
    """Click the canvas where nothing is drawn: closes the label editor, selects nothing."""
    box = page.locator("#canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] - 60, box["y"] + box["height"] - 60)


def _append(page: Any, source: str, action: str, user_task: bool = False) -> str:
    """Append from ``source`` with its context pad (a click, no drag) — a task made a user task with the
    wrench (replace) menu — and select what was appended."""
    before = _shapes(page)
    _select(page, source)
    page.click(f'.djs-context-pad .entry[data-action="{action}"]')
    _blank(page)
    (added,) = _shapes(page) - before
    if user_task:
        _select(page, added)
        page.click('.djs-context-pad .entry[data-action="replace"]')
        page.click('.djs-popup [data-id="replace-with-user-task"]')
        _blank(page)
        (added,) = _shapes(page) - before
    _select(page, added)
    return added


def _draw_three_steps(page: Any) -> None:
    """Draw the county procedure on the new diagram's template (a pool, one lane 综治办工作人员, start → one
    task → end) by clicking, as a designer does: the start form and who may start it, three steps appended
    from the context pad, a second lane for the director, the review step dragged into it."""
    pool = f"Participant_{PROCESS}"
    _select(page, f"Start_{PROCESS}")
    page.select_option("#bio-properties-panel-governance-start-form", "mediation_start.json")
    _select(page, pool, left=True)
    page.fill("#bio-properties-panel-governance-startable-by", "office_staff")
    page.press("#bio-properties-panel-governance-startable-by", "Tab")
    _select(page, f"handle_{PROCESS}")
    _step(page, "verify", "核实情况", "mediation_verify.json", due=True)
    _select(page, f"End_{PROCESS}")
    page.click('.djs-context-pad .entry[data-action="delete"]')
    _append(page, "verify", "append.append-task", user_task=True)
    _step(page, "review", "审核", "mediation_review.json")
    _append(page, "review", "append.append-task", user_task=True)
    _step(page, "file", "归档", "mediation_file.json")
    _append(page, "file", "append.end-event")
    # The director's lane, below the clerk's: the pool's context pad, then its role in the 治理 group.
    _select(page, pool, left=True)
    page.click('.djs-context-pad .entry[data-action="lane-insert-below"]')
    lanes = page.locator(".djs-element.djs-shape[data-element-id^=Lane_]")
    new_lane = next(
        lanes.nth(i).get_attribute("data-element-id")
        for i in range(lanes.count())
        if lanes.nth(i).get_attribute("data-element-id") != f"Lane_{PROCESS}_office"
    )
    _select(page, new_lane, left=True)
    lane_box = page.locator(f'.djs-element[data-element-id="{new_lane}"]').bounding_box()
    page.select_option("#bio-properties-panel-governance-lane-role", "office_director")
    page.select_option("#bio-properties-panel-governance-lane-scope", "own")
    # Drag 审核 down into the director's lane.
    box = page.locator('.djs-element[data-element-id="review"]').bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    target_y = lane_box["y"] + lane_box["height"] / 2
    for i in range(1, 11):
        page.mouse.move(x, y + (target_y - y) * i / 10)
    page.mouse.up()
    xml = page.evaluate("window.designer.getXML()")
    assert 'name="office_director@own"' in xml and 'name="startable_by" value="office_staff"' in xml, xml


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
