"""CSV and Excel import of units and of people with their posts (the administrator's bulk entry).

A file is a table with a header row; headers may be the field names or their Chinese labels (``代码``,
``姓名``, ``单位代码`` …). CSV is read as UTF-8 (with or without BOM) or GB18030 (what Excel saves in China);
``.xlsx`` through openpyxl, first sheet. A file is loaded whole or not at all: the report lists each bad row
(row 1 is the header) and the view rolls back when there is any.

People: one row per post. The person is the one named by ``person_id``, else the one whose account is
``username``, else a person of that name already holding or having held a post at the same unit (so
importing a file again changes nothing), else a new person; rows of one file with the same name and no
other key are one person. A person moving to another unit is therefore named by ``person_id`` or
``username``. A post that exists (same person, unit, kind, start) is updated (title, end), not doubled.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.org.grants import sync_post_grants
from app.params import MAX_ID, to_int
from workflows.regulation import people
from workflows.regulation.org_units import LEVELS, UnitImport, upsert_units
from workflows.regulation.people import GENDERS, POST_KINDS, PeopleError, Person, Post

Rows = list[tuple[int, dict[str, str]]]

UNIT_HEADERS = {
    "code": ("代码", "单位代码", "编码"),
    "name": ("名称", "单位名称"),
    "level": ("层级", "类别", "单位类别"),
    "parent_code": ("上级代码", "上级单位代码", "所属单位代码"),
    "active": ("启用", "状态"),
}
PEOPLE_HEADERS = {
    "person_id": ("人员编号",),
    "name": ("姓名",),
    "gender": ("性别",),
    "notes": ("备注",),
    "org_code": ("单位代码", "代码"),
    "kind": ("职务类别", "岗位类别"),
    "title": ("职务",),
    "start_on": ("任职日期", "任职时间", "开始日期"),
    "end_on": ("离任日期", "离任时间", "结束日期"),
    "username": ("账号", "用户名"),
}
UNIT_TEMPLATE = ["code", "name", "level", "parent_code"]
PEOPLE_TEMPLATE = ["name", "gender", "org_code", "kind", "title", "start_on", "end_on", "username", "notes"]


class TableError(ValueError):
    """The file cannot be read as a table (format, encoding, header)."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(filename: str, data: bytes, headers: Mapping[str, tuple[str, ...]]) -> Rows:
    """The rows of a CSV or .xlsx file as ``(row number, {field: text})``, headers mapped to field names."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
            raise TableError(f"{filename}: not an Excel workbook ({type(exc).__name__})") from None
        table = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    elif name.endswith((".csv", ".txt")):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise TableError(f"{filename}: neither UTF-8 nor GB18030")
        table = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise TableError(f"{filename}: upload a .csv or .xlsx file")
    if not table:
        raise TableError(f"{filename}: empty")
    aliases = {alias: key for key, names in headers.items() for alias in (key, *names)}
    keys = [aliases.get(h.strip().lower(), aliases.get(h.strip(), "")) for h in table[0]]
    if not any(keys):
        raise TableError(f"{filename}: no known column; expected {', '.join(headers)}")
    return [
        (number, {k: v for k, v in zip(keys, row, strict=False) if k})
        for number, row in enumerate(table[1:], start=2)
        if any(row)
    ]


def import_units(session: Session, rows: Rows, today: date) -> UnitImport:
    by_label = {label: level for level, label in LEVELS.items()}
    for _number, row in rows:
        level = row.get("level", "")
        row["level"] = by_label.get(level, level)
    return upsert_units(session, rows, today)


@dataclass
class PeopleImport:
    persons_created: int = 0
    posts_created: int = 0
    posts_updated: int = 0
    accounts_linked: int = 0
    errors: dict[int, str] = field(default_factory=dict)
    person_ids: set[int] = field(default_factory=set)


def parse_date(text: str, what: str) -> date | None:
    if not text:
        return None
    for sep in ("-", "/", "."):
        parts = text.split(" ")[0].split(sep)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:
                return date(int(parts[0]), int(parts[1]), int(parts[2]))
            except (ValueError, OverflowError):  # 2026-02-30, or a 30-digit year (issue 16)
                break
    raise PeopleError(f"{what} {text!r} is not a date (YYYY-MM-DD)")


def _kind(text: str) -> str:
    if text in POST_KINDS:
        return text
    by_label = {spec.label: kind for kind, spec in POST_KINDS.items()}
    if text in by_label:
        return by_label[text]
    raise PeopleError(f"unknown kind of post {text!r}")


def _gender(text: str) -> str | None:
    by_label = {label: code for code, label in GENDERS.items()}
    if text and text not in GENDERS and text not in by_label:
        raise PeopleError(f"gender {text!r}: 男 or 女")
    return by_label.get(text, text) or None


def _person(
    session: Session, row: Mapping[str, str], seen: dict[str, Person], report: PeopleImport
) -> Person:
    name = row.get("name", "").strip()
    if row.get("person_id"):
        person_id = to_int(row["person_id"], 0, MAX_ID)
        if person_id is None:
            raise PeopleError(f"person_id {row['person_id']!r} is not a number")
        return people.get_person(session, person_id)
    if row.get("username"):
        user = session.scalar(select(User).where(User.username == row["username"]))
        if user is not None and user.person_id is not None:
            return people.get_person(session, user.person_id)
    if name in seen:
        return seen[name]
    held_here = select(Post.person_id).where(Post.org_code == row.get("org_code", ""))
    found = list(session.scalars(select(Person).where(Person.name == name, Person.id.in_(held_here))))
    if len(found) > 1:
        raise PeopleError(f"several people named {name} at {row.get('org_code')}: give person_id")
    if found:
        person = found[0]
    else:
        person = people.create_person(session, name, _gender(row.get("gender", "")), row.get("notes", ""))
        report.persons_created += 1
    seen[name] = person
    return person


def import_people(session: Session, rows: Rows, now: datetime) -> PeopleImport:
    """People and posts from rows (see the module); grants follow the posts at once."""
    report = PeopleImport()
    seen: dict[str, Person] = {}
    for number, row in rows:
        try:
            person = _person(session, row, seen, report)
            report.person_ids.add(person.id)
            if row.get("org_code") or row.get("kind"):
                _post(session, person, row, report)
            if row.get("username"):
                _link(session, person, row["username"], report)
        except PeopleError as exc:
            report.errors[number] = str(exc)
    if not report.errors:
        sync_post_grants(session, now, report.person_ids)
    return report


def _post(session: Session, person: Person, row: Mapping[str, str], report: PeopleImport) -> None:
    kind = _kind(row.get("kind", ""))
    start_on = parse_date(row.get("start_on", ""), "start_on")
    if start_on is None:
        raise PeopleError("start_on (任职日期) is required for a post")
    end_on = parse_date(row.get("end_on", ""), "end_on")
    existing = session.scalar(
        select(Post).where(
            Post.person_id == person.id,
            Post.org_code == row.get("org_code", ""),
            Post.kind == kind,
            Post.start_on == start_on,
        )
    )
    if existing is None:
        people.start_post(
            session,
            person,
            row.get("org_code", ""),
            kind,
            start_on,
            title=row.get("title", ""),
            end_on=end_on,
        )
        report.posts_created += 1
        return
    if end_on is not None and end_on <= start_on:
        raise PeopleError("a post ends after it starts")
    existing.title, existing.end_on = row.get("title", existing.title), end_on
    report.posts_updated += 1


def _link(session: Session, person: Person, username: str, report: PeopleImport) -> None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise PeopleError(f"no account {username!r}")
    if user.person_id not in (None, person.id):
        raise PeopleError(f"account {username} belongs to another person")
    if user.person_id is None:
        user.person_id = person.id
        report.accounts_linked += 1
    session.flush()


def template_csv(fields: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return "\ufeff" + buffer.getvalue()
