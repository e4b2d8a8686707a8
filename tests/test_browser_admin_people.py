"""In headless Chromium, as the city's administrator (issue 15, "Administration"): search the accounts, open
an account's grant form (empty: the browser itself refuses to submit it until a role and a unit are chosen),
grant a role at a unit picked by typing its name, and preview an import of people and grants — a file with a
bad line shows that line's reason and no confirm button; a good file shows its changes and imports on
confirm. Screenshots of each page in Chinese and English go to ``$ADMIN_SHOTS`` (default: a temporary
directory)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from tests.browser import login_page
from tests.conftest import demo_app

GOOD = (
    "姓名,账号,初始密码,单位代码,职务类别,职务,任职日期,角色\n"
    "钟离远山,zhongli.ys,pw-2026x,411303-M11,成员单位分管负责同志,副局长,2026-02-01,督导人员\n"
)
BAD = GOOD + "宇文成都,,,411399,成员单位分管负责同志,副局长,2026-02-01,\n"


@pytest.fixture
def live_app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    with demo_app(db_url, ATTACHMENTS_DIR=str(tmp_path)) as app:
        yield app


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("ADMIN_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_search_grant_and_import_preview(
    browser: Any, live_app: Flask, live_server: str, tmp_path: Path, shots: Path
) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    try:
        login_page(page, live_server, "411300.admin")
        page.click("text=用户管理")
        assert "第 1 / " in page.inner_text("#account-count")
        page.fill("#account-filters input[name=q]", "卧龙区综治办")
        page.click("#account-filters button")
        rows = page.locator("#accounts tr[data-user]")
        assert rows.count() > 0 and "411303.office_director" in page.inner_text("#accounts")
        assert all(u.startswith("411303.") for u in rows.evaluate_all("rs => rs.map(r => r.dataset.user)"))

        page.click("tr[data-user='411303.office_director'] a.grant-link")
        form = page.locator("#grant-form")
        assert form.locator("select[name=role]").input_value() == ""  # no role chosen by default
        assert form.locator("select[name=org_code]").input_value() == ""
        page.screenshot(path=str(shots / "admin-users-grant-zh.png"), full_page=True)
        form.locator("button.primary").click()  # required fields: the browser does not submit
        assert page.locator("#grant-form").is_visible() and "已授予" not in page.content()

        form.locator("select[name=role]").select_option("inspector")
        form.locator(".unit-picker-input").fill("卧龙区")
        page.click(".unit-picker-list .unit-picker-option >> text=卧龙区（411303）")
        assert form.locator("select[name=org_code]").input_value() == "411303"
        form.locator("button.primary").click()
        page.wait_for_selector(".flash")
        assert "已授予 411303.office_director：督导检查人员 @ 411303" in page.inner_text("body")
        assert page.input_value("#account-filters input[name=q]") == "卧龙区综治办"  # same search
        with live_app.app_context():
            user = db.session.scalar(select(User).where(User.username == "411303.office_director"))
            assert user and ("inspector", "411303") in {(g.role, g.org_code) for g in user.grants}

        bad, good = tmp_path / "bad.csv", tmp_path / "good.csv"
        bad.write_bytes(BAD.encode("gb18030"))  # what Excel saves on a Chinese Windows
        good.write_text(GOOD, "utf-8-sig")
        page.click("text=批量导入")
        page.click("#people-import-link a")
        page.set_input_files("#import-upload input[name=file]", str(bad))
        page.click("#import-upload button")
        errors = page.inner_text("#import-errors")
        assert "第 3 行" in errors and "单位代码 411399 不存在" in errors
        assert page.locator("#import-confirm").count() == 0
        page.screenshot(path=str(shots / "admin-import-errors-zh.png"), full_page=True)

        page.set_input_files("#import-upload input[name=file]", str(good))
        page.click("#import-upload button")
        changes = page.inner_text("#import-changes")
        assert "新增人员 钟离远山" in changes and "新建账号 zhongli.ys" in changes
        page.screenshot(path=str(shots / "admin-import-preview-zh.png"), full_page=True)
        page.click("#import-confirm button")
        assert "导入完成：1 行" in page.inner_text("body")

        page.click("button[name=locale]")  # 中文 → English
        page.goto(f"{live_server}/admin/users?q=zhongli")
        assert "zhongli.ys" in page.inner_text("#accounts") and "1 accounts, page 1 of 1" in page.inner_text(
            "#account-count"
        )
        page.click("a.grant-link")
        assert "Choose a role" in page.inner_text("#grant-form")
        page.screenshot(path=str(shots / "admin-users-grant-en.png"), full_page=True)
        page.goto(f"{live_server}/admin/import/people")
        page.set_input_files("#import-upload input[name=file]", str(bad))
        page.click("#import-upload button")
        errors = page.inner_text("#import-errors")
        assert "Line 3" in errors and "411399 does not exist" in errors
        page.screenshot(path=str(shots / "admin-import-errors-en.png"), full_page=True)
    finally:
        page.close()
