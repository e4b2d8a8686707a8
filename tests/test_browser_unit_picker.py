"""In a real headless Chromium: the unit picker of 登记书面反映 (issue 14, point 5). Typing narrows the ~270
units of the grouped select by Chinese name or code (a group's name lists its units), the matches show in
their groups, a click or Enter chooses one into the select, and the report files against it. Without
JavaScript the page keeps the plain grouped select."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser import login_page
from tests.conftest import demo_app

SELECT = "select[name=unit_code]"
BOX = ".unit-picker-input"
ITEMS = ".unit-picker-list .unit-picker-option"


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


def visible_options(page: Any) -> int:
    """Options of the select not hidden by the filter (the placeholder option aside)."""
    return int(
        page.eval_on_selector_all(f"{SELECT} optgroup option", "os => os.filter(o => !o.hidden).length")
    )


def test_typing_narrows_the_units_and_choosing_fills_the_select(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    try:
        # not an office clerk: every unit, by competent office
        login_page(page, live_server, "411300.supervisor")
        page.goto(f"{live_server}/cases/new")
        total = visible_options(page)
        assert total > 250
        assert page.is_hidden(".unit-picker-list")

        page.fill(BOX, "东关")
        assert page.locator(ITEMS).all_inner_texts() == ["东关街道（411302001）"]
        assert page.locator(".unit-picker-group").all_inner_texts() == ["宛城区综治办 · 乡镇（街道）"]
        assert visible_options(page) == 1  # the select narrows too
        page.click(f"{ITEMS} >> text=东关街道")
        assert page.input_value(SELECT) == "411302001"
        assert page.input_value(BOX) == "东关街道（411302001）"
        assert page.is_hidden(".unit-picker-list") and visible_options(page) == total

        page.fill(BOX, "411303002")  # by code; Enter chooses the highlighted match and submits nothing
        page.press(BOX, "Enter")
        assert page.input_value(SELECT) == "411303002" and page.url.endswith("/cases/new")

        page.fill(BOX, "卧龙区综治办")  # a group's name: its units
        items = page.locator(ITEMS).all_inner_texts()
        assert len(items) > 5 and "七一街道（411303002）" in items
        assert set(page.locator(".unit-picker-group").all_inner_texts()) <= {
            "卧龙区综治办 · 乡镇（街道）",
            "卧龙区综治办 · 其他单位",
        }
        page.press(BOX, "ArrowDown")
        assert page.locator(f"{ITEMS}.active").inner_text() == items[1]
        page.press(BOX, "Escape")
        assert page.is_hidden(".unit-picker-list")

        page.fill(BOX, "不存在的单位")
        assert page.locator(".unit-picker-empty").inner_text() == "没有匹配的单位"
        assert visible_options(page) == 0

        page.fill(BOX, "新华街道 411302")  # several words: all must match
        page.press(BOX, "Enter")
        assert page.input_value(SELECT) == "411302002"
        page.select_option("select[name=source]", "member_unit")
        page.fill("input[name=reporter]", "市公安局")
        page.check("input[name=art31_items][value='2']")
        page.fill("textarea[name=facts]", "辖区内阶段性刑事治安案件多发，群众反映强烈。")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/cases/*")
        assert "新华街道" in page.inner_text("body")
    finally:
        page.close()


def test_without_javascript_the_plain_grouped_select_remains(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    try:
        login_page(page, live_server, "411302.office_staff")
        page.goto(f"{live_server}/cases/new")
        assert page.locator(BOX).count() == 0
        assert page.locator(f"{SELECT} optgroup").count() >= 2
        page.select_option(SELECT, "411302001")
        assert page.input_value(SELECT) == "411302001"
    finally:
        context.close()
