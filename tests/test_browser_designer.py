"""The designer in headless Chromium: open the modeller on a deployed diagram, rename a task, deploy; the
new version is listed, a new case uses it while a running case keeps its version; a broken diagram is
refused with the element named on the diagram (Art. 42: counties may make supporting rules, so procedures
change)."""

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
from tests.conftest import ROOT, demo_app
from workflows.engine.actors import Actor
from workflows.engine.models import DefinitionVersion, ProcessInstance, Task

SHOTS = ROOT / "docs" / "img"
REPORTER = Actor("411300.supervisor", frozenset({("supervisor", "411300")}))
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内刑事案件多发，群众反映强烈。",
}


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def _open(app: Flask) -> int:
    with app.app_context():
        case = open_case(runtime().engine(db.session), REPORTER, "411302001", dict(REPORT))
        db.session.commit()
        return case.id


def _login(page: Any, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", "411300.designer")
    page.fill("input[name=password]", "demo")
    page.click("button.primary")
    page.wait_for_url(f"{base}/inbox")


def _name_field(page: Any) -> Any:
    field = page.locator("#bio-properties-panel-name")
    if not field.is_visible():  # the General group starts collapsed
        page.click('[data-group-id="group-general"] .bio-properties-panel-group-header')
    return field


def _edit_name(page: Any, element: str, name: str) -> None:
    page.click(f'[data-element-id="{element}"]')
    field = _name_field(page)
    field.fill(name)
    field.press("Tab")


def test_rename_deploy_and_version_per_case(browser: Any, live_app: Flask, live_server: str) -> None:
    old_case = _open(live_app)
    page = browser.new_page(viewport={"width": 1500, "height": 950})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        _login(page, live_server)
        page.goto(f"{live_server}/designer")
        assert page.locator("#versions tr[data-version]").count() == 1
        page.goto(f"{live_server}/designer/edit/1/bpmn/accountability_intake.bpmn")
        page.wait_for_selector('[data-element-id="register_report"]')
        _edit_name(page, "register_report", "登记书面反映（新）")
        page.fill("#deploy-comment", "rename the registration step")
        page.click("#deploy")
        page.wait_for_selector("#deploy-result[data-version]")
        assert page.get_attribute("#deploy-result", "data-version") == "2"
        page.screenshot(path=str(SHOTS / "ui-designer.png"), full_page=True)

        # A broken edit: a user task moved into a lane naming no role.
        page.evaluate(  # select the lane as a click on its label would
            "() => designer.modeler.get('selection').select("
            "designer.modeler.get('elementRegistry').get('Lane_intake_director'))"
        )
        _name_field(page).fill("mayor@upper")
        _name_field(page).press("Tab")
        lane = "window.designer.modeler.get('elementRegistry').get('Lane_intake_director')"
        if page.evaluate(f"() => {lane}.businessObject.name") != "mayor@upper":
            # The governance group refuses unknown roles; a hand-edited file could still carry one.
            modeling = "window.designer.modeler.get('modeling')"
            page.evaluate(f"() => {modeling}.updateProperties({lane}, {{name: 'mayor@upper'}})")
        page.click("#deploy")
        page.wait_for_selector("#problems li")
        assert "verify_case" in (page.locator("#problems").text_content() or "")
        assert page.locator('.djs-element.has-problem[data-element-id="verify_case"]').count() == 1
        assert errors == []
    finally:
        page.close()

    with live_app.app_context():
        assert (
            db.session.scalar(select(DefinitionVersion.number).order_by(DefinitionVersion.number.desc())) == 2
        )
    new_case = _open(live_app)
    with live_app.app_context():
        versions = {i.id: i.version.number for i in db.session.scalars(select(ProcessInstance))}
        assert versions[old_case] == 1 and versions[new_case] == 2
        names = dict(
            db.session.execute(select(Task.instance_id, Task.name).where(Task.state == "ready")).all()
        )
        assert names[old_case] == "登记书面反映" and names[new_case] == "登记书面反映（新）"
