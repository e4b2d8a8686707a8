"""The organisation's administration (issue 11, items 1 and 9): the API that lists units and maintains people,
the CSV/Excel import of units and people (all or nothing, repeatable), and the admin's pages (also in
Chromium)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from tests.conftest import demo_app
from tests.org_people_support import (
    CITY,
    COUNTY,
    MEMBER,
    NOW,
    TODAY,
    account,
    login,
    web_login,
)
from workflows.regulation import people
from workflows.regulation.people import Person


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=NOW) as app:
        yield app


@pytest.fixture
def live_app(app: Flask) -> Flask:
    """The browser test serves this module's app (one database, one demo organisation)."""
    return app


# -- API and pages -------------------------------------------------------------------------------------------
def test_the_api_lists_units_and_maintains_people(app: Flask) -> None:
    admin, headers = login(app, f"{CITY}.admin")
    units = admin.get(f"/api/v1/org/units?parent={COUNTY}&level=member_unit").json
    assert len(units) >= 12 and units[1]["code"] == MEMBER and units[1]["holders"][0].endswith("（局长）")
    created = admin.post(
        "/api/v1/org/people",
        json={
            "name": "司马文静",
            "gender": "female",
            "posts": [
                {
                    "org_code": "411302-M06",
                    "kind": "member_in_charge",
                    "title": "副局长",
                    "start_on": "2026-02-01",
                }
            ],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.json
    post = created.json["posts"][0]
    assert post["roles"] == ["member_unit", "unit_in_charge_leader"] and post["in_post"] is True
    holders = admin.get("/api/v1/org/holders?role=member_unit&org_code=411302-M06").json
    assert "司马文静（副局长）" in holders["holders"]
    changed = admin.post(
        f"/api/v1/org/posts/{post['id']}/change",
        json={"on": "2026-03-02", "org_code": "411302-M07"},
        headers=headers,
    )
    assert changed.status_code == 201 and changed.json["org_code"] == "411302-M07"
    person = admin.get(f"/api/v1/org/people/{created.json['id']}").json
    assert [(p["org_code"], p["end_on"]) for p in person["posts"]] == [
        ("411302-M06", "2026-03-02"),
        ("411302-M07", None),
    ]
    bad = admin.post(
        "/api/v1/org/units",
        json={"name": "X", "level": "system_unit", "parent_code": COUNTY},
        headers=headers,
    )
    assert bad.status_code == 422 and "sits under" in bad.json["message"]
    clerk, clerk_headers = login(app, f"{COUNTY}.office_staff")
    assert clerk.get("/api/v1/org/units?level=county").status_code == 200
    assert clerk.get("/api/v1/org/people?q=司马").status_code == 403
    assert clerk.post("/api/v1/org/people", json={"name": "某"}, headers=clerk_headers).status_code == 403
    assert app.test_client().get("/api/v1/org/units").status_code == 401


PEOPLE_CSV = (
    "姓名,性别,单位代码,职务类别,职务,任职日期\n"
    "诸葛明远,男,411302-M08,成员单位分管负责同志,副局长,2026-02-01\n"
    "上官雨晴,女,411302-M09,member_principal,主任,2026-02-15\n"
)


def test_people_import_is_all_or_nothing_and_repeatable(app: Flask) -> None:
    admin, headers = login(app, f"{CITY}.admin")

    def upload(text: str, name: str = "people.csv") -> Any:
        data = {"file": (io.BytesIO(text.encode("utf-8")), name)}
        return admin.post(
            "/api/v1/org/import/people", data=data, headers=headers, content_type="multipart/form-data"
        )

    bad = upload(PEOPLE_CSV + "无名,男,411302-M08,市长,副局长,2026-02-30\n")
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"4"}
    with app.app_context():
        assert not db.session.scalars(select(Person).where(Person.name == "诸葛明远")).all()
    ok = upload(PEOPLE_CSV)
    assert ok.status_code == 200, ok.json
    assert (ok.json["persons_created"], ok.json["posts_created"]) == (2, 2)
    again = upload(PEOPLE_CSV)
    assert (again.json["persons_created"], again.json["posts_created"], again.json["posts_updated"]) == (
        0,
        0,
        2,
    )
    with app.app_context():
        assert "诸葛明远（副局长）" in people.display_holders(
            db.session(), "member_unit", "411302-M08", TODAY
        )


def test_units_and_people_import_from_excel(app: Flask) -> None:
    from openpyxl import Workbook

    def xlsx(rows: list[list[Any]]) -> io.BytesIO:
        book = Workbook()
        for row in rows:
            book.active.append(row)
        buffer = io.BytesIO()
        book.save(buffer)
        buffer.seek(0)
        return buffer

    admin, headers = login(app, f"{CITY}.admin")
    units = xlsx([["代码", "名称", "层级", "上级代码"], ["", "卧龙区退役军人事务局", "成员单位", "411303"]])
    answer = admin.post(
        "/api/v1/org/import/units",
        data={"file": (units, "units.xlsx")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200 and answer.json["added"] == ["411303-M13"], answer.json
    staff = xlsx(
        [
            ["姓名", "单位代码", "职务类别", "职务", "任职日期"],
            ["端木春华", "411303-M13", "member_principal", "局长", date(2026, 1, 5)],
        ]
    )
    answer = admin.post(
        "/api/v1/org/import/people",
        data={"file": (staff, "p.xlsx")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200 and answer.json["posts_created"] == 1, answer.json
    tree = admin.get("/api/v1/org/units?parent=411303&level=member_unit").json
    assert tree[-1]["holders"] == ["端木春华（局长）"]


def test_admin_pages_show_the_tree_a_unit_and_a_person(app: Flask) -> None:
    client = web_login(app, f"{CITY}.admin")
    tree = client.get("/admin/org").get_data(as_text=True)
    assert (
        "宛城区" in tree
        and "成员单位" in tree
        and "中共南阳市委政法委员会" in tree
        and "（市委书记）" in tree
    )
    page = client.get(f"/admin/org/units/{MEMBER}").get_data(as_text=True)
    assert "南阳市公安局宛城分局" in page and "成员单位主要负责同志" in page
    person_id = account_person_id(app, f"{MEMBER}.member_unit")
    person = client.get(f"/admin/people/{person_id}").get_data(as_text=True)
    assert f"{MEMBER}.member_unit" in person and "调任" in person and "示例" in person
    assert client.get("/admin/people?q=" + person_name(app, person_id)).status_code == 200
    template = client.get("/admin/org/import/people-template.csv").get_data(as_text=True)
    assert template.lstrip("\ufeff").startswith("name,gender,org_code,kind")
    assert web_login(app, f"{COUNTY}.office_staff").get("/admin/org").status_code == 403


def account_person_id(app: Flask, username: str) -> int:
    with app.app_context():
        person_id = account(username).person_id
        assert person_id is not None
        return person_id


def person_name(app: Flask, person_id: int) -> str:
    with app.app_context():
        return db.session.get(Person, person_id).name  # type: ignore[union-attr]


def test_the_admin_imports_people_and_sees_them_in_the_tree(
    browser: Any, live_server: str, tmp_path: Path
) -> None:
    """In Chromium: the admin uploads a CSV of people on 批量导入 › 导入人员与授权, reads the preview,
    confirms, opens 宛城区 in the tree and finds the new member-unit leader there by name and post."""
    csv_file = tmp_path / "people.csv"
    csv_file.write_text(
        "姓名,单位代码,职务类别,职务,任职日期\n慕容清扬,411302-M10,member_in_charge,副局长,2026-02-20\n",
        "utf-8",
    )
    page = browser.new_page()
    try:
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", f"{CITY}.admin")
        page.fill("input[name=password]", "demo")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/inbox")
        page.click("text=用户管理")
        page.click("text=批量导入")
        page.click("#people-import-link a")
        form = page.locator("#import-upload form")
        form.locator("input[name=file]").set_input_files(str(csv_file))
        form.locator("button").click()
        assert "新增人员 1 名" in page.inner_text("#import-summary")
        page.click("#import-confirm button")
        assert "已导入。" in page.inner_text("#import-summary")
        page.click("text=组织机构")
        page.click(f"li[data-unit='{COUNTY}'] > details > summary a")
        page.click("text=在组织树中查看")
        holder = page.locator("li[data-unit='411302-M10'] .holders")
        assert "慕容清扬（副局长）" in holder.inner_text()
        assert holder.is_visible()
    finally:
        page.close()


def test_the_people_page_lists_people_before_any_search(app: Flask) -> None:
    """An administrator sees the register at once (100 a page by name), not an empty page, and pages on."""
    client = web_login(app, "411300.admin")
    page = client.get("/admin/people").get_data(as_text=True)
    assert page.count("/admin/people/") >= 100 and "按姓名排列，每页 100 名" in page
    assert 'rel="next"' in page and "第 1 / " in page
    second = client.get("/admin/people?page=2").get_data(as_text=True)
    assert "第 2 / " in second and 'rel="prev"' in second
    first_ids = set(re.findall(r'href="/admin/people/(\d+)"', page))
    assert first_ids.isdisjoint(re.findall(r'href="/admin/people/(\d+)"', second))
