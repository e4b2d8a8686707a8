"""Import of people, posts, accounts and grants from CSV and Excel (issue 15, "Administration"): a template
with Chinese headers, a preview that writes nothing and lists what each line does and every bad line with a
Chinese reason, a confirm that imports the previewed bytes only, all or nothing; hostile files (size,
formulas, encodings, unknown units and roles) refused with the line named."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.audit import AuditEntry
from app.auth.models import User
from app.extensions import db
from app.org.people_import import HEADERS
from app.org.table_upload import MAX_BYTES, UploadError, read_upload
from tests.conftest import demo_app
from workflows.regulation.people import Person

HEADER = "姓名,性别,账号,初始密码,单位代码,职务类别,职务,任职日期,角色,授权单位代码\n"
GOOD = HEADER + (
    "欧阳知远,男,ouyang.zy,s3cret-pw,411302-M08,成员单位分管负责同志,副局长,2026-02-01,,\n"
    "欧阳知远,男,ouyang.zy,,,,,,督导检查人员,411302\n"
    ",,411300.designer,,,,,,督导人员,411300\n"
)


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


@pytest.fixture(scope="module")
def admin(app: Flask) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    client.post("/login", data={"username": "411300.admin", "password": "demo", "csrf_token": token[1]})
    return client


def token(client: FlaskClient) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/admin/import/people").text)
    assert found
    return found[1]


def preview(client: FlaskClient, data: bytes, name: str = "people.csv") -> Any:
    return client.post(
        "/admin/import/people",
        data={"csrf_token": token(client), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, name
    return found[1]


def confirm(client: FlaskClient, page: str) -> Any:
    fields = {n: hidden(page, n) for n in ("filename", "digest", "content")}
    return client.post("/admin/import/people/confirm", data={"csrf_token": token(client), **fields})


def errors(page: str) -> dict[int, str]:
    rows = re.findall(r'<tr data-line="(\d+)"><td>第 \d+ 行</td><td[^>]*>[^<]*</td><td>(.*?)</td></tr>', page)
    section = page.split('id="import-errors"', 1)[-1].split("</table>", 1)[0]
    return {int(n): re.sub(r"<[^>]+>", " ", text) for n, text in rows if f'data-line="{n}"' in section}


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_the_templates_have_chinese_headers(admin: FlaskClient) -> None:
    csv_text = admin.get("/admin/import/people/template.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeff姓名,性别,账号,初始密码,单位代码,职务类别,职务,任职日期,离任日期,角色,")
    book = load_workbook(io.BytesIO(admin.get("/admin/import/people/template.xlsx").data))
    assert [c.value for c in book.worksheets[0][1]][:5] == ["姓名", "性别", "账号", "初始密码", "单位代码"]
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    assert "成员单位分管负责同志" in notes["职务类别"] and "督导检查人员" in notes["角色"]


def test_preview_writes_nothing_and_confirm_imports_what_was_previewed(
    app: Flask, admin: FlaskClient
) -> None:
    shown = preview(admin, GOOD.encode("utf-8"))
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200, page
    assert "新增人员 欧阳知远" in page and "新任职：宛城区教育局 · 副局长（2026-02-01 起）" in page
    assert "新建账号 ouyang.zy" in page and "授予角色 督导检查人员 @ 宛城区" in page
    assert "授予角色 督导人员 @ 南阳市" in page  # a system account's role, no person
    assert "+ ouyang.zy：成员单位 @ 宛城区教育局" in page  # what the post carries, listed
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "ouyang.zy")) is None
        assert not db.session.scalars(select(Person).where(Person.name == "欧阳知远")).all()

    done = confirm(admin, page)
    assert done.status_code == 200 and "导入完成：3 行" in done.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "ouyang.zy"))
        assert user and user.person and user.person.name == "欧阳知远" and user.check_password("s3cret-pw")
        grants = {(g.role, g.org_code, g.post_id is not None) for g in user.grants}
        assert ("inspector", "411302", False) in grants and ("member_unit", "411302-M08", True) in grants
        designer = db.session.scalar(select(User).where(User.username == "411300.designer"))
        assert designer and ("supervisor", "411300") in {(g.role, g.org_code) for g in designer.grants}
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "people_import"))
        assert entry and entry.actor == "411300.admin" and entry.detail["persons_created"] == 1

    again = preview(admin, GOOD.encode("utf-8")).get_data(as_text=True)  # the same file: nothing new
    assert "账号 ouyang.zy 已存在：初始密码未使用，密码不变" in again
    assert (
        "新增人员 欧阳知远" not in again
        and "新增人员 0 名" in again
        and "任职不变：宛城区教育局 · 副局长" in again
    )
    assert "已有角色 督导检查人员 @ 宛城区（不变）" in again


def test_every_bad_line_is_named_with_a_chinese_reason_and_nothing_is_written(
    app: Flask, admin: FlaskClient
) -> None:
    bad = HEADER + (
        "司马青云,男,,,411302-M08,成员单位分管负责同志,副局长,2026-02-01,,\n"  # line 2: fine alone
        "诸葛长风,男,,,999999,成员单位分管负责同志,副局长,2026-02-01,,\n"
        "慕容秋水,女,,,411302-M08,市长,副局长,2026-02-01,,\n"
        "上官晓月,女,,,411302001,综治办主任,主任,2026-02-30,,\n"
        ",,411300.designer,,,,,,皇帝,411300\n"
        "独孤一鸣,男,new.account,,411302-M09,成员单位主要负责同志,局长,2026-02-01,,\n"
        '令狐冲,男,,,411302-M09,成员单位主要负责同志,=HYPERLINK("http://x"),2026-02-01,,\n'
        "东方既白,男,,,411302001,综治办主任,主任,2026-02-01,,\n"
        "西门吹雪,男,,,,,,,督导人员,411300\n"
    )
    shown = preview(admin, bad.encode("utf-8"))
    page = shown.get_data(as_text=True)
    assert shown.status_code == 422
    found = errors(page)
    assert set(found) == {3, 4, 5, 6, 7, 8, 9, 10}, found
    assert "单位代码 999999 不存在" in found[3]
    assert "职务类别「市长」不存在" in found[4]
    assert "「任职日期」2026-02-30 不是日期" in found[5]
    assert "角色「皇帝」不存在" in found[6]
    assert "账号 new.account 不存在；新建账号须填写初始密码" in found[7]
    assert "「职务」列是公式" in found[8]
    assert "东关街道是乡镇(街道)，不设「综治办主任」" in found[9]
    assert "授予角色须填写账号" in found[10]
    assert "整个文件都不会导入" in page and 'id="import-confirm"' not in page
    with app.app_context():
        assert not db.session.scalars(select(Person).where(Person.name == "司马青云")).all()


def test_gb18030_and_bom_csv_and_excel_are_read(app: Flask, admin: FlaskClient) -> None:
    row = "皇甫嵩,男,,,411303-M08,成员单位分管负责同志,副局长,2026-03-01,,\n"
    for data in ((HEADER + row).encode("gb18030"), "\ufeff".encode() + (HEADER + row).encode("utf-8")):
        page = preview(admin, data).get_data(as_text=True)
        assert "新增人员 皇甫嵩" in page and "新任职：" in page, page
    book = xlsx(
        [
            ["姓名", "单位代码", "职务类别", "职务", "任职日期", "手机"],
            ["公孙策", "411303-M09", "member_principal", "主任", date(2026, 1, 5), "13800000000"],
        ]
    )
    page = preview(admin, book, "p.xlsx").get_data(as_text=True)
    assert "新增人员 公孙策" in page and "（2026-01-05 起）" in page
    assert "未识别的列（已忽略）：手机" in page
    formula = xlsx([["姓名", "单位代码", "职务"], ["包拯", "411303", "=1+1"]])
    assert "「职务」列是公式（=1+1）" in errors(preview(admin, formula, "f.xlsx").get_data(as_text=True))[2]


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"PK\x03\x04 not really a zip", "bad.xlsx", "不是有效的 Excel（.xlsx）文件。"),
        (b"\xd0\xcf\x11\xe0", "old.xls", "不支持旧版 Excel（.xls）"),
        (b"a,b\n1,2\n", "t.csv", "第 1 行没有可识别的列名"),
        ("姓名,姓名\n张三,李四\n".encode(), "t.csv", "列重复：姓名"),
        (b"\x81\x30", "t.csv", "无法识别文件编码"),
        (b"", "empty.csv", "文件是空的。"),
    ],
)
def test_hostile_files_are_refused_as_a_whole(
    admin: FlaskClient, data: bytes, name: str, message: str
) -> None:
    response = preview(admin, data, name)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_a_file_past_the_size_limit_is_refused_before_it_is_read(app: Flask) -> None:
    """Called directly: the test client leaves the temporary file of a >500 KB upload open."""
    with app.test_request_context("/"), pytest.raises(UploadError, match="文件过大：不能超过 2 MB。"):
        read_upload("big.csv", "姓名\n".encode() + b"x" * MAX_BYTES, HEADERS)


def test_confirm_refuses_content_that_was_not_previewed(app: Flask, admin: FlaskClient) -> None:
    page = preview(
        admin, (HEADER + "尉迟恭,男,,,411303-M10,成员单位分管负责同志,副局长,2026-02-01,,\n").encode()
    )
    forged = base64.b64encode((HEADER + "尉迟敬德,男,,,411303,综治办主任,,2026-02-01,,\n").encode()).decode()
    fields = {"filename": "x.csv", "digest": hidden(page.text, "digest"), "content": forged}
    response = admin.post("/admin/import/people/confirm", data={"csrf_token": token(admin), **fields})
    assert response.status_code == 422 and "预览的文件与确认的内容不一致" in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalars(select(Person).where(Person.name.in_(["尉迟恭", "尉迟敬德"]))).all()


def test_only_administrators_import(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf
    client.post(
        "/login", data={"username": "411302.office_director", "password": "demo", "csrf_token": csrf[1]}
    )
    assert client.get("/admin/import/people").status_code == 403
