"""实绩档案 use cases (Art. 22, O22.1; Art. 21, O21.1) for the pages and the API: who may read a committee's
records and a cadre's, read them, add the office's entry, and the CSV/Excel tables for the organisation
department. Plain functions over the engine's session; the caller commits.

* Reading: the office (``office_director``, ``office_staff``) and the organisation/personnel department
  (``organization_personnel``) of the committee that keeps the record — a city's or a county's — or of a
  committee above it. A township's leaders read no record.
* Adding an entry: the office of a committee that keeps the cadre's record (or one above it).
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid, NotAuthorized, NotFound
from workflows.regulation.cadre_record import (
    KINDS,
    OFFICE_KINDS,
    RecordEntry,
    RecordError,
    add_office_entry,
    cadre_record,
    keeping_committees,
    records_kept_by,
)
from workflows.regulation.people import PeopleError, day_of
from workflows.regulation.roles import org_of

COMMITTEE_LEVELS = ("city", "county")
OFFICE_ROLES = ("office_director", "office_staff")
READ_ROLES = (*OFFICE_ROLES, "organization_personnel")
EXPORT_HEADER = ["年度", "单位", "类别", "事项", "日期", "截止日期", "来源", "来源编号", "文号", "说明"]
LIST_HEADER = [
    "姓名",
    "单位",
    "职务",
    "任职起始",
    "最近考核年度",
    "最近考核等次",
    "在执行的挂牌督办/一票否决",
]


def _may(engine: Engine, actor: Actor, committee_code: str, roles: tuple[str, ...]) -> bool:
    tree = org_of(engine)
    if committee_code not in tree.nodes:
        return False
    return any(actor.holds(role, code) for code in tree.ancestors(committee_code) for role in roles)


def committees(engine: Engine, actor: Actor) -> list[dict[str, str]]:
    """The committees whose records the actor reads (their own level's; a city keeper sees the counties)."""
    tree = org_of(engine)
    found = []
    for node in tree.nodes.values():
        if node.level in COMMITTEE_LEVELS and node.active and _may(engine, actor, node.code, READ_ROLES):
            found.append({"code": node.code, "name": node.name, "level": node.level})
    return sorted(found, key=lambda c: (c["level"] != "city", c["code"]))


def _committee(engine: Engine, actor: Actor, committee_code: str) -> str:
    node = org_of(engine).nodes.get(committee_code)
    if node is None or node.level not in COMMITTEE_LEVELS:
        raise NotFound(
            f"no committee keeps records at {committee_code!r} (a city or county code is expected)"
        )
    if not _may(engine, actor, committee_code, READ_ROLES):
        raise NotAuthorized(f"{actor.user_id} may not read the performance records of {node.name}")
    return node.name


def kept_by(engine: Engine, actor: Actor, committee_code: str) -> dict[str, Any]:
    name = _committee(engine, actor, committee_code)
    rows = records_kept_by(engine.session, committee_code, engine.now())
    return {
        "committee_code": committee_code,
        "committee_name": name,
        "as_of": day_of(engine.now()),
        "cadres": rows,
    }


def _check_person(engine: Engine, actor: Actor, person_id: int, roles: tuple[str, ...]) -> None:
    try:
        keepers = keeping_committees(engine.session, person_id)
    except PeopleError as exc:
        raise NotFound(str(exc)) from exc
    if not keepers:
        raise NotFound(f"no committee keeps a performance record of person {person_id}")
    if not any(_may(engine, actor, code, roles) for code in keepers):
        raise NotAuthorized(f"{actor.user_id} may not read or write the record of person {person_id}")


def can_add(engine: Engine, actor: Actor, person_id: int) -> bool:
    try:
        _check_person(engine, actor, person_id, OFFICE_ROLES)
    except (NotFound, NotAuthorized):
        return False
    return True


def read_record(engine: Engine, actor: Actor, person_id: int) -> dict[str, Any]:
    _check_person(engine, actor, person_id, READ_ROLES)
    return cadre_record(engine.session, person_id, engine.now())


def add(engine: Engine, actor: Actor, person_id: int, data: dict[str, Any]) -> RecordEntry:
    """The office's entry; :class:`FormInvalid` keyed by field for what cannot be recorded."""
    _check_person(engine, actor, person_id, OFFICE_ROLES)
    errors: dict[str, list[str]] = {}
    kind = str(data.get("kind") or "")
    if kind not in OFFICE_KINDS:
        errors["kind"] = [f"one of {', '.join(OFFICE_KINDS)}"]
    if not str(data.get("title") or "").strip():
        errors["title"] = ["required"]
    raw = data.get("occurred_on") or day_of(engine.now())
    occurred_on = raw if isinstance(raw, date) else None
    if occurred_on is None:
        try:
            occurred_on = date.fromisoformat(str(raw))
        except ValueError:
            errors["occurred_on"] = ["a date YYYY-MM-DD"]
    if occurred_on is not None and occurred_on > day_of(engine.now()):
        errors["occurred_on"] = ["not after today"]
    if errors or occurred_on is None:
        raise FormInvalid(errors)
    try:
        entry = add_office_entry(
            engine.session,
            person_id,
            kind=kind,
            title=str(data["title"]),
            added_by=actor.user_id,
            occurred_on=occurred_on,
            document_no=data.get("document_no"),
            text=data.get("text"),
        )
    except RecordError as exc:
        raise FormInvalid({"occurred_on" if "post" in str(exc) else "title": [str(exc)]}) from exc
    engine.session.flush()
    return entry


def office_kinds() -> list[tuple[str, str]]:
    return [(kind, KINDS[kind]) for kind in OFFICE_KINDS]


# -- export (Art. 21, O21.1: the results feed 年度考核, 业绩评定, 干部任用, 奖惩) ------------------
def _cell(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else ("" if value is None else value)


def record_table(record: dict[str, Any]) -> list[list[Any]]:
    """One cadre's record as rows, header first: the posts, then each year's grades and entries."""
    rows: list[list[Any]] = [EXPORT_HEADER]
    name = record["person"]["name"]
    for post in record["posts"]:
        rows.append(
            [
                "",
                post["unit_name"],
                "任职",
                f"{name} {post['title']}",
                _cell(post["start_on"]),
                _cell(post["end_on"]),
            ]
            + [""] * 4
        )
    for year in record["years"]:
        for item in [*year["grades"], *year["entries"]]:
            rows.append(
                [
                    year["year"],
                    item["unit_name"],
                    item["kind_label"],
                    item["title"],
                    _cell(item["occurred_on"]),
                    _cell(item.get("ended_on")),
                    item["source_label"],
                    item["source_ref"],
                    _cell(item["document_no"]),
                    _cell(item["text"]),
                ]
            )
    return rows


def list_table(rows: list[dict[str, Any]]) -> list[list[Any]]:
    kinds = {"listing": KINDS["listing"], "veto": KINDS["veto"]}
    table: list[list[Any]] = [LIST_HEADER]
    for row in rows:
        sanctions = "、".join(kinds.get(s["kind"], s["kind"]) for s in row["open_sanctions"])
        table.append(
            [
                row["name"],
                row["unit_name"],
                row["post"],
                _cell(row["start_on"]),
                _cell(row["latest_grade_year"]),
                row["latest_grade_label"],
                sanctions,
            ]
        )
    return table


def as_csv(table: list[list[Any]]) -> str:
    """UTF-8 text with a BOM, so Excel on Chinese Windows opens it without garbling."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows(table)
    return "\ufeff" + buffer.getvalue()


def as_xlsx(table: list[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for row in table:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
