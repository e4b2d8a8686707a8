"""Rectification items (整改事项): each problem an inspection, a meeting or the assessment found becomes
an item with the unit that must fix it, a named owner, a deadline and a status, followed up by the office
that set it (issue 11, item 7; Art. 18, 20, 24, 25).

* Diagrams state ``record("rectification_items", items=[{unit_code, problem, owner, owner_post, due_on}])``;
  :func:`_items_recorded` writes one ``rectification_item`` row per object in the step's transaction. The
  source (``inspection``, ``meeting``, ``annual_findings``, ``assessment`` …) is the record's ``source`` or
  follows from the process that stated it; the instance and its business key are kept.
* The deadline is the end of the day ``due_on`` (23:59:59 +08:00). :func:`mark_overdue` (a background job,
  ``app/jobs.py``) turns open items whose deadline has passed into ``overdue``; an overdue item can still be
  done (it keeps ``overdue_at``).
* The unit's principal or in-charge leader marks an item done with the evidence (:func:`mark_done`).
* Who sees which item: the same rule as for cases — a grant at a unit reaches the unit and every unit below
  it (:func:`items_query`).

Owners are names and posts as text; ``person_id`` is left for the people table (no foreign key yet).
Plain functions and a handler; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, Select, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import Conflict, FormInvalid, NotAuthorized, NotFound
from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import end_of_day
from workflows.engine.models import Base, ProcessInstance
from workflows.engine.parts import Handler
from workflows.engine.records import Record
from workflows.regulation.roles import OrgTree, org_of

STATUSES = ("open", "overdue", "done")
#: Where an item comes from, by the process that stated it (a record may name its ``source`` instead).
SOURCES_BY_PROCESS = {
    "inspection": "inspection",
    "meeting": "meeting",
    "annual_cycle": "annual_findings",
    "annual_assessment": "assessment",
}
SOURCES = ("inspection", "meeting", "annual_findings", "assessment", "other")
#: Who may mark an item of their unit done (Art. 9, 10: the unit's principal and in-charge leaders).
LEADER_ROLES = ("unit_principal_leader", "unit_in_charge_leader")
FIELDS = ("unit_code", "problem", "owner", "owner_post", "due_on")


class RectificationItem(Base):
    __tablename__ = "rectification_item"
    __table_args__ = (
        Index("ix_rectification_item_status_deadline", "status", "deadline"),
        Index("ix_rectification_item_unit_status", "unit_code", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(30))  # inspection | meeting | annual_findings | assessment
    source_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(100))  # the instance's business key, for lists
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))  # whose office follows it up
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))  # the unit that rectifies
    problem: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(100))  # 责任人 (a name, until the people table exists)
    owner_post: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # people table to come: no FK yet
    deadline: Mapped[datetime]  # end of the due day, 23:59:59 +08:00
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | overdue | done
    created_at: Mapped[datetime]
    overdue_at: Mapped[datetime | None]  # when the job found it past its deadline (kept once done)
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[str | None] = mapped_column(Text)


# -- the record handler --------------------------------------------------------------------------------------
def _text(item: Mapping[str, Any], key: str, limit: int) -> str | None:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        return None
    return value.strip()


def _due(item: Mapping[str, Any]) -> date | None:
    try:
        return date.fromisoformat(str(item.get("due_on")))
    except ValueError:
        return None


def _items_recorded(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """One row per item; the whole record is refused (the step fails, nothing is written) when an item is
    incomplete or names a unit outside the committee's organisation, with each problem by field."""
    org = org_of(engine)
    d = rec.detail
    committee = str(d.get("committee_code") or inst.unit_code)
    source = str(d.get("source") or SOURCES_BY_PROCESS.get(inst.process_id, "other"))
    reach = org.subtree({committee})
    errors: dict[str, list[str]] = {}
    codes: dict[str, list[tuple[str, object]]] = {}
    now = clock.now()
    rows: list[RectificationItem] = []
    for i, raw in enumerate(d.get("items") or []):
        item: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        where = f"rectification_items/{i}"
        unit = str(item.get("unit_code") or "").strip()
        values = {
            "problem": _text(item, "problem", 4000),
            "owner": _text(item, "owner", 100),
            "owner_post": _text(item, "owner_post", 100),
        }
        due = _due(item)
        if unit not in reach:
            errors[f"{where}/unit_code"] = [f"unit {unit!r} is not in {committee}'s organisation"]
            codes[f"{where}/unit_code"] = [("unit", None)]
        for key, value in (*values.items(), ("due_on", due)):
            if value is None:
                errors[f"{where}/{key}"], codes[f"{where}/{key}"] = ["required"], [("required", None)]
        if unit not in reach or due is None or None in values.values():
            continue
        rows.append(
            RectificationItem(
                source=source,
                source_instance_id=inst.id,
                source_key=inst.business_key,
                committee_code=committee,
                unit_code=unit,
                problem=str(values["problem"]),
                owner=str(values["owner"]),
                owner_post=str(values["owner_post"]),
                deadline=end_of_day(due),
                status="open",
                created_at=now,
            )
        )
    if errors:
        raise FormInvalid(errors, codes)
    engine.session.add_all(rows)


RECTIFICATION_HANDLERS: dict[str, Handler] = {"rectification_items": _items_recorded}


# -- the background job --------------------------------------------------------------------------------------
def mark_overdue(session: Session, now: datetime) -> int:
    """Open items whose deadline has passed become ``overdue`` (one UPDATE); returns how many."""
    result = session.execute(
        update(RectificationItem)
        .where(RectificationItem.status == "open", RectificationItem.deadline < now)
        .values(status="overdue", overdue_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# -- the unit's leader marks an item done --------------------------------------------------------------------
def can_mark_done(actor: Actor, item: RectificationItem) -> bool:
    return any(actor.holds(role, item.unit_code) for role in LEADER_ROLES)


def mark_done(
    session: Session, actor: Actor, item_id: int, evidence: str, now: datetime
) -> RectificationItem:
    """The unit's principal or in-charge leader reports the item rectified, with the evidence (what was
    done, documents); an overdue item may still be done and keeps its ``overdue_at``."""
    item = session.get(RectificationItem, item_id)
    if item is None:
        raise NotFound(f"rectification item {item_id} does not exist")
    if not can_mark_done(actor, item):
        raise NotAuthorized("only the unit's principal or in-charge leader may mark its items done")
    if item.status == "done":
        raise Conflict("this item is already done")
    text = (evidence or "").strip()
    if len(text) < 2 or len(text) > 4000:
        raise FormInvalid({"evidence": ["required (2–4000 characters)"]}, {"evidence": [("required", None)]})
    item.status, item.done_at, item.done_by, item.evidence = "done", now, actor.user_id, text
    session.flush()
    return item


# -- lists ---------------------------------------------------------------------------------------------------
@dataclass
class ItemFilters:
    status: str | None = None  # open | overdue | done
    source: str | None = None
    county: str | None = None  # a county-level unit: items of it and its townships
    unit_code: str | None = None
    committee_code: str | None = None
    page: int = 1
    per_page: int = 50


def items_query(org: OrgTree, actor: Actor, filters: ItemFilters) -> Select[RectificationItem]:
    """Items of the units ``actor`` oversees (a grant reaches its unit and every unit below), filtered."""
    units = org.subtree({code for _, code in actor.grants})
    query = select(RectificationItem).where(RectificationItem.unit_code.in_(sorted(units)))
    if filters.status:
        query = query.where(RectificationItem.status == filters.status)
    if filters.source:
        query = query.where(RectificationItem.source == filters.source)
    if filters.county:
        query = query.where(RectificationItem.unit_code.in_(sorted(org.subtree({filters.county}))))
    if filters.unit_code:
        query = query.where(RectificationItem.unit_code == filters.unit_code)
    if filters.committee_code:
        query = query.where(RectificationItem.committee_code == filters.committee_code)
    return query


def item_row(org: OrgTree, item: RectificationItem, actor: Actor) -> dict[str, Any]:
    """What a list and the API show of an item."""
    unit = org.nodes.get(item.unit_code)
    committee = org.nodes.get(item.committee_code)
    return {
        "id": item.id,
        "source": item.source,
        "source_instance_id": item.source_instance_id,
        "source_key": item.source_key,
        "committee_code": item.committee_code,
        "committee_name": committee.name if committee else item.committee_code,
        "unit_code": item.unit_code,
        "unit_name": unit.name if unit else item.unit_code,
        "problem": item.problem,
        "owner": item.owner,
        "owner_post": item.owner_post,
        "person_id": item.person_id,
        "deadline": item.deadline,
        "status": item.status,
        "created_at": item.created_at,
        "overdue_at": item.overdue_at,
        "done_at": item.done_at,
        "done_by": item.done_by,
        "evidence": item.evidence,
        "can_mark_done": item.status != "done" and can_mark_done(actor, item),
    }
