"""In a real headless Chromium: the case page's diagram is readable. Lanes named ``role@scope`` in the XML
show the role's name and the scope in the reader's language, labels are at least 11 px on screen when the
diagram opens (a large diagram opens zoomed in on the current step instead of fitted), and the zoom buttons
work."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from app.labels import ROLES_EN
from tests.conftest import demo_app
from workflows.regulation.roles import ROLES

TOWN, COUNTY = "411302001", "411302"
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发。",
}
MACHINE_KEY = re.compile(r"@(own|upper|city|body)\b")
SCOPES_ZH = {"own": "本单位", "upper": "上一级", "city": "市级", "body": "处理机关"}
SCOPES_EN = {"own": "own unit", "upper": "level above", "city": "city", "body": "handling committee"}
LABEL_PX, MIN_PX = 12, 11  # bpmn-js draws labels at 12 px; on screen they must stay at least 11 px
INTAKE, CASE = "bpmn/accountability_intake.bpmn", "bpmn/accountability_case.bpmn"


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def _file_case(app: Flask) -> int:
    """A report filed through the API by the 宛城区 office staff, as the 综治办 does."""
    client = app.test_client()
    login = client.post("/api/v1/auth/login", json={"username": f"{COUNTY}.office_staff", "password": "demo"})
    assert login.status_code == 200, login.json
    created = client.post(
        "/api/v1/cases",
        json={**REPORT, "unit_code": TOWN},
        headers={"X-CSRFToken": login.json["csrf_token"]},  # type: ignore[index]
    )
    assert created.status_code == 201, created.json
    return int(created.json["id"])  # type: ignore[index]


def _log_in(page: Any, live_server: str) -> None:
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", f"{COUNTY}.office_staff")
    page.fill("input[name=password]", "demo")
    page.click("button.primary")
    page.wait_for_url(f"{live_server}/inbox")


def _open_case(page: Any, live_server: str, case_id: int) -> None:
    page.goto(f"{live_server}/cases/{case_id}")
    page.wait_for_selector("#diagram[data-loaded]", state="attached")


def _lanes(page: Any) -> list[tuple[str, str]]:
    """(machine key kept in the XML, label drawn) of every role lane on the canvas."""
    return [
        tuple(pair)
        for pair in page.eval_on_selector_all(
            "#diagram .role-lane",
            "els => els.map(e => [e.dataset.laneKey, e.querySelector('.djs-visual text').textContent])",
        )
    ]


def _texts(page: Any) -> list[str]:
    return page.eval_on_selector_all("#diagram .djs-visual text", "els => els.map(e => e.textContent)")


def _zoom(page: Any) -> float:
    return float(page.get_attribute("#diagram", "data-zoom"))


def _expected(key: str, roles: dict[str, str], scopes: dict[str, str], english: bool) -> str:
    role, _, scope = key.partition("@")
    return f"{roles[role]} ({scopes[scope]})" if english else f"{roles[role]}（{scopes[scope]}）"


def test_case_diagram_shows_role_names_readable_labels_and_zoom_buttons(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    case_id = _file_case(live_app)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _log_in(page, live_server)
        _open_case(page, live_server, case_id)
        assert page.get_attribute("#diagram", "data-loaded") == INTAKE
        _assert_readable(page, view="fit")  # small enough to show whole at a readable size
        page.click(f'#diagram-tabs a[data-path="{CASE}"]')
        page.wait_for_selector(f'#diagram[data-loaded="{CASE}"]', state="attached")
        _assert_readable(page, view="readable")  # fitted, its labels would be below 11 px

        # Zoom buttons.
        opened = _zoom(page)
        page.click("#diagram-zoom button:has-text('放大')")
        zoomed_in = _zoom(page)
        assert zoomed_in > opened
        page.click("#diagram-zoom button:has-text('缩小')")
        page.click("#diagram-zoom button:has-text('缩小')")
        zoomed_out = _zoom(page)
        assert zoomed_out < zoomed_in
        page.click("#diagram-zoom button:has-text('适应窗口')")
        fitted = _zoom(page)
        assert 0 < fitted < MIN_PX / LABEL_PX and fitted != zoomed_out
        whole = page.evaluate(
            """() => {
                const frame = document.getElementById('diagram').getBoundingClientRect();
                const drawn = document.querySelector('#diagram svg .viewport').getBoundingClientRect();
                return drawn.left >= frame.left - 1 && drawn.right <= frame.right + 1
                    && drawn.top >= frame.top - 1 && drawn.bottom <= frame.bottom + 1;
            }"""
        )
        assert whole, "适应窗口 shows the whole diagram"

        # Printing shows the whole diagram, then the reader's view comes back.
        page.click("#diagram-zoom button:has-text('放大')")
        reading = _zoom(page)
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert _zoom(page) == fitted
        page.evaluate("window.dispatchEvent(new Event('afterprint'))")
        assert _zoom(page) == reading
        assert errors == []
    finally:
        page.close()


def _assert_readable(page: Any, view: str) -> None:
    assert page.get_attribute("#diagram", "data-warnings") == "0"
    assert page.get_attribute("#diagram", "data-view") == view

    # Lanes: the Chinese role name and scope, never the machine key (which stays as the lane's tooltip).
    lanes = _lanes(page)
    assert lanes, "the case diagrams have role lanes"
    assert not [t for t in _texts(page) if MACHINE_KEY.search(t)]
    for key, label in lanes:
        assert MACHINE_KEY.search(key)
        assert label == _expected(key, ROLES, SCOPES_ZH, english=False)
    assert any(ROLES["office_director"] in label for _, label in lanes)

    # A task label's font size times the canvas scale is at least 11 px, and the current (red) step is on
    # screen.
    label_px = page.eval_on_selector(
        "#diagram .current .djs-visual text",
        """t => ({
            css: parseFloat(getComputedStyle(t).fontSize) * Number(t.closest('#diagram').dataset.zoom),
            screen: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
        })""",
    )
    assert label_px["css"] >= MIN_PX and label_px["screen"] >= MIN_PX, label_px
    current = page.locator("#diagram .current").first.bounding_box()
    frame = page.locator("#diagram").bounding_box()
    assert frame["x"] <= current["x"] and current["x"] + current["width"] <= frame["x"] + frame["width"]
    assert frame["y"] <= current["y"] and current["y"] + current["height"] <= frame["y"] + frame["height"]


def test_case_diagram_lanes_in_english(browser: Any, live_app: Flask, live_server: str) -> None:
    case_id = _file_case(live_app)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _log_in(page, live_server)
        token = page.get_attribute("meta[name=csrf-token]", "content")
        response = page.request.post(f"{live_server}/locale", form={"csrf_token": token, "locale": "en"})
        assert response.ok
        _open_case(page, live_server, case_id)
        for path in (INTAKE, CASE):
            page.click(f'#diagram-tabs a[data-path="{path}"]')
            page.wait_for_selector(f'#diagram[data-loaded="{path}"]', state="attached")
            lanes = _lanes(page)
            assert lanes
            assert not [t for t in _texts(page) if MACHINE_KEY.search(t)]
            for key, label in lanes:
                assert label == _expected(key, ROLES_EN, SCOPES_EN, english=True)
                assert not re.search(r"[\u4e00-\u9fff]", label)
        assert page.locator("#diagram-zoom button").all_text_contents() == [
            "Zoom in",
            "Zoom out",
            "Fit to window",
        ]
        assert errors == []
    finally:
        page.close()
