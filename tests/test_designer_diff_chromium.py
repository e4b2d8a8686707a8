"""The designer's read-only views in headless Chromium (issue 15): a MIWG-shaped upload the product refuses
is still shown, its refused element marked; comparing two versions colours the changed and added elements
on the diagram, with a legend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser import login_page
from tests.conftest import demo_app
from tests.test_designer_api import NOTIFICATION
from tests.test_designer_deploy_messages import MIWG, PATH

SHOTS = Path("/tmp/h3/shots")


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def test_refused_upload_is_viewable_and_compare_colours_the_diff(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, "411300.designer")
        page.goto(f"{live_server}/designer")
        page.set_input_files(
            "input[name=files]",
            [str(MIWG / "02_data_store.bpmn"), str(MIWG / "05_service_task.bpmn")],
        )
        page.click("form[action$='/designer/upload'] button.primary")
        page.wait_for_selector(".diagram.view-only[data-loaded=true] >> nth=1")
        store = page.locator('section[data-path="bpmn/02_data_store.bpmn"]')
        assert store.get_attribute("data-refused") == "true"
        assert int(store.locator(".diagram").get_attribute("data-marked") or 0) >= 1
        assert page.locator('.has-problem[data-element-id="Store_b"]').count() == 1  # the store as drawn
        assert "数据存储「台账库」" in (page.text_content("#problems") or "")
        # The other file of the batch is shown too (checking stopped at the first file's problem).
        assert page.locator(
            'section[data-path="bpmn/05_service_task.bpmn"] .diagram[data-loaded=true]'
        ).count()
        page.screenshot(path=str(SHOTS / "upload-refused.png"), full_page=True)

        client = live_app.test_client()
        login = client.post("/api/v1/auth/login", json={"username": "411300.designer", "password": "demo"})
        headers = {"X-CSRFToken": login.json["csrf_token"]}  # type: ignore[index]
        renamed = NOTIFICATION.replace('name="报告整改效果"', 'name="报告整改效果（修订）"')
        files = {PATH: renamed, "bpmn/01_pool_lanes.bpmn": (MIWG / "01_pool_lanes.bpmn").read_text("utf-8")}
        assert client.post("/api/v1/definitions", json={"files": files}, headers=headers).status_code == 201

        page.goto(f"{live_server}/designer/compare?from=1&to=1")
        page.select_option("select[name=to]", "2")
        page.click("#compare-pick button")
        page.wait_for_selector(f'section[data-path="{PATH}"] .diagram.diff-new[data-loaded=true]')
        page.wait_for_selector('section[data-path="bpmn/01_pool_lanes.bpmn"] .diagram[data-loaded=true]')
        diagram = page.locator(f'section[data-path="{PATH}"] .diagram.diff-new')
        assert diagram.get_attribute("data-marked") == "2"  # the renamed step, and the sub-process it is in
        shown = diagram.locator('.djs-element.diff-changed[data-element-id="rectification_notification"]')
        assert shown.count() == 1  # the collapsed sub-process on the main diagram is coloured
        assert "report_effect_notification" in (diagram.get_attribute("data-marks") or "")
        assert (
            page.locator('section[data-path="bpmn/01_pool_lanes.bpmn"] .djs-element.diff-added').count() >= 4
        )
        assert page.locator(".legend-swatch.added").count() == 1
        page.screenshot(path=str(SHOTS / "compare-diff.png"), full_page=True)
        assert errors == []
    finally:
        page.close()


def test_form_editor_reports_every_problem_marks_a_stale_preview_and_follows_the_deploy(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, "411300.designer")
        page.goto(f"{live_server}/designer/forms/1/forms/intake_register.json")
        page.wait_for_selector("#preview[data-valid=yes]")
        assert page.text_content("#base-version") == "基于 v1"
        good = page.input_value("#form-text")
        broken = good.replace('"type": "object"', '"type": "objekt"', 1).replace(
            '"title": "登记书面反映"', '"title": 5', 1
        )
        page.fill("#form-text", broken)
        page.wait_for_selector("#preview[data-valid=no]")
        assert int(page.get_attribute("#problems", "data-count") or 0) >= 2  # every problem, not the first
        assert page.get_attribute("#preview", "data-stale") == "yes" and page.is_visible("#preview-stale")
        assert "不是有效的 JSON Schema" in (page.text_content("#problems") or "")
        page.screenshot(path=str(SHOTS / "form-stale.png"), full_page=True)
        page.fill("#form-text", good.replace('"title": "登记书面反映"', '"title": "登记书面反映（改）"', 1))
        page.wait_for_selector("#preview[data-valid=yes][data-stale=no]")
        assert not page.is_visible("#preview-stale")
        page.click("#deploy-form")
        page.wait_for_selector("#deploy-result[data-version]")
        assert page.text_content("#base-version") == "基于 v2"
        assert "v2" in (page.text_content("#deploy-result") or "")
        page.click("#deploy-form")  # the same text again: nothing new
        page.wait_for_selector("#deploy-result[data-unchanged=true]")
        assert "没有变化" in (page.text_content("#deploy-result") or "")
        assert errors == []
    finally:
        page.close()
