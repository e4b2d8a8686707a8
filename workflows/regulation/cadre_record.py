"""The performance record per named cadre (实绩档案, Art. 22, O22.1): one entry per fact, citing its source.

Entries are what the record is made of: the year's grade from the assessment, a notification, interview,
listing, veto or personal measure that concerned the cadre or the unit during the cadre's time in post, an
award, a promotion consultation and its answer (Art. 23), or what the office alone knows. Every producer
(the assessment, the cases, commendation, consultation, the office) writes through :func:`add_entry`; the
record of a cadre is the entries of the person, plus the unit's entries dated within the cadre's posts.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Base, OrgUnit
from workflows.regulation import record_feeds
from workflows.regulation.accountability import active_sanctions
from workflows.regulation.people import (
    GENDERS,
    LOWER_CADRES,
    MEMBER_CADRES,
    Post,
    day_of,
    get_person,
    post_history,
    record_subjects,
)
from workflows.regulation.wording import N_

# What an entry can be (Art. 22 lists the contents; Art. 23 adds the consultations).
KINDS = {
    "grade": N_("考核等次"),
    "assessment": N_("考核结果"),
    "duty": N_("履行综治职责情况"),
    "award_person": N_("个人受表彰奖励"),
    "award_unit": N_("单位受表彰奖励"),
    "notification": N_("通报"),
    "interview": N_("约谈"),
    "listing": N_("挂牌督办"),
    "veto": N_("一票否决"),
    "personal_measure": N_("个人责任追究"),
    "consultation": N_("征求意见及答复"),
    "priority_promotion": N_("优先提拔推荐"),
    "note": N_("综治办补充记载"),
}


class RecordEntry(Base):
    """One fact in a cadre's performance record, with its source (case, decision, document)."""

    __tablename__ = "record_entry"
    __table_args__ = (Index("ix_record_entry_unit_year", "unit_code", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)  # None: a unit's fact
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    occurred_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(50))  # e.g. "case", "assessment", "consultation", "office"
    source_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the instance or row it came from
    document_no: Mapped[str | None] = mapped_column(String(100), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime]


def add_entry(
    session: Session,
    *,
    unit_code: str,
    kind: str,
    title: str,
    source: str,
    added_by: str,
    person_id: int | None = None,
    year: int | None = None,
    occurred_on: date | None = None,
    source_id: int | None = None,
    document_no: str | None = None,
    detail: dict[str, Any] | None = None,
    text: str | None = None,
) -> RecordEntry:
    """Add one entry; ``kind`` must be one of :data:`KINDS` (a clear error otherwise). Nothing commits."""
    if kind not in KINDS:
        raise ValueError(f"record entry kind {kind!r} is not one of {', '.join(KINDS)}")
    now = clock.now()
    day = occurred_on or now.date()
    entry = RecordEntry(
        person_id=person_id,
        unit_code=unit_code,
        year=year if year is not None else day.year,
        kind=kind,
        title=title,
        occurred_on=day,
        source=source,
        source_id=source_id,
        document_no=document_no,
        detail=dict(detail or {}),
        text=text,
        added_by=added_by,
        added_at=now,
    )
    session.add(entry)
    return entry


def entries_for_unit(
    session: Session, unit_code: str, start: date | None = None, end: date | None = None
) -> list[RecordEntry]:
    """A unit's entries (person_id None or any), optionally within [start, end) — a cadre's time in post."""
    query = select(RecordEntry).where(RecordEntry.unit_code == unit_code)
    if start is not None:
        query = query.where(RecordEntry.occurred_on >= start)
    if end is not None:
        query = query.where(RecordEntry.occurred_on < end)
    return list(session.scalars(query.order_by(RecordEntry.occurred_on, RecordEntry.id)))


def entries_for_person(session: Session, person_id: int) -> list[RecordEntry]:
    query = select(RecordEntry).where(RecordEntry.person_id == person_id)
    return list(session.scalars(query.order_by(RecordEntry.occurred_on, RecordEntry.id)))


# -- reading a record (O22.1) -------------------------------------------------------------------------------
#: Posts whose holder has a record (Art. 22): the leaders a committee keeps records of, and a department's
#: principal (a city-direct unit's, kept by the city like a member unit's).
RECORD_POSTS = (*LOWER_CADRES, *MEMBER_CADRES, "principal")
#: What the office may add by hand (the rest comes from the procedures that know it).
OFFICE_KINDS = ("note", "duty", "award_person", "award_unit")
AWARD_KINDS = ("award_person", "award_unit")
SOURCE_LABELS = {
    "assessment": N_("考核评价"),
    "case": N_("追责案件"),
    "office": N_("综治办记载"),
    "consultation": N_("征求意见"),
    "commendation": N_("表彰奖励"),
}


class RecordError(ValueError):
    """An entry the office cannot add as asked; the message says why."""


def instant(at: date | datetime) -> datetime:
    """An instant for ``at``: a date is read as the end of that Nanyang day."""
    return at if isinstance(at, datetime) else datetime.combine(at, time(23, 59, 59), tzinfo=CST)


def record_posts(session: Session, person_id: int) -> list[Post]:
    return [p for p in post_history(session, get_person(session, person_id)) if p.kind in RECORD_POSTS]


def keeping_committees(session: Session, person_id: int) -> set[str]:
    """The committees that keep (or kept) the person's record: the parent of each unit of a record post."""
    codes = {p.org_code for p in record_posts(session, person_id)}
    if not codes:
        return set()
    rows = session.execute(select(OrgUnit.parent_code).where(OrgUnit.code.in_(codes)))
    return {code for (code,) in rows if code}


def _names(session: Session, codes: list[str]) -> dict[str, str]:
    rows = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(codes)))
    return {code: name for code, name in rows}


def _stored(row: RecordEntry) -> dict[str, Any]:
    found = record_feeds.entry(
        row.kind,
        row.title,
        row.occurred_on,
        row.unit_code,
        row.source,
        source_ref=row.document_no or "",
        source_id=row.source_id,
        person_id=row.person_id,
        document_no=row.document_no,
        text=row.text,
        detail={**(row.detail or {}), "added_by": row.added_by},
    )
    found["year"], found["entry_id"] = row.year, row.id
    return found


def _in_post(item: dict[str, Any], posts: list[Post]) -> bool:
    """A unit's fact dated within one of the cadre's posts there; a listing counts while it overlaps one."""
    start: date = item["occurred_on"]
    end: date | None = item.get("ended_on")
    for post in posts:
        if post.org_code != item["unit_code"]:
            continue
        if post.held_on(start):
            return True
        if item["kind"] == "listing" and start < post.start_on and (end is None or end > post.start_on):
            return True
    return False


def _labelled(item: dict[str, Any], units: dict[str, str]) -> dict[str, Any]:
    return {
        **item,
        "kind_label": KINDS.get(item["kind"], item["kind"]),
        "unit_name": units.get(item["unit_code"], item["unit_code"]),
        "source_label": SOURCE_LABELS.get(item["source"], item["source"]),
    }


def cadre_record(session: Session, person_id: int, at: date | datetime) -> dict[str, Any]:
    """The record of one cadre on the day of ``at`` (Art. 22, O22.1): basic data and posts; per year the
    grade of each unit they held a post in, their own entries and the unit's facts dated within their time in
    post (each citing its source); the awards; the sanctions in force for their units."""
    day = day_of(at)
    person = get_person(session, person_id)
    posts = [p for p in record_posts(session, person_id) if p.start_on <= day]
    codes = sorted({p.org_code for p in posts})
    units = _names(session, codes)
    stored = session.scalars(
        select(RecordEntry)
        .where(
            or_(
                RecordEntry.person_id == person_id,
                RecordEntry.person_id.is_(None) & RecordEntry.unit_code.in_(codes),
            )
        )
        .order_by(RecordEntry.occurred_on, RecordEntry.id)
    )
    facts = [_stored(row) for row in stored]
    facts += record_feeds.case_entries(session, codes)
    facts += record_feeds.measure_entries(session, codes, person.name)
    facts = [
        f
        for f in facts
        if f["occurred_on"] <= day
        and (f["person_id"] == person_id or f["kind"] == "personal_measure" or _in_post(f, posts))
    ]
    facts.sort(key=lambda f: (f["occurred_on"], f["kind"]))
    grades = record_feeds.grades(session, codes)
    years: dict[int, dict[str, Any]] = {}
    for post in posts:
        last = min(day, post.end_on) if post.end_on else day
        for year in range(post.start_on.year, last.year + 1):
            slot = years.setdefault(year, {"year": year, "grades": [], "entries": []})
            grade = grades.get((post.org_code, year))
            if grade is not None and grade["occurred_on"] <= day and grade not in slot["grades"]:
                slot["grades"].append(_labelled(grade, units))
    for fact in facts:
        slot = years.setdefault(fact["year"], {"year": fact["year"], "grades": [], "entries": []})
        slot["entries"].append(_labelled(fact, units))
    moment = instant(at)
    return {
        "person": {
            "id": person.id,
            "name": person.name,
            "gender": GENDERS.get(person.gender or "", ""),
            "notes": person.notes,
        },
        "posts": [
            {
                "id": p.id,
                "unit_code": p.org_code,
                "unit_name": units.get(p.org_code, p.org_code),
                "kind": p.kind,
                "title": p.label,
                "start_on": p.start_on,
                "end_on": p.end_on,
            }
            for p in posts
        ],
        "years": [years[y] for y in sorted(years, reverse=True)],
        "awards": [_labelled(f, units) for f in facts if f["kind"] in AWARD_KINDS],
        "open_sanctions": [
            {"unit_code": code, "kind": s.kind, "article": s.article, "start_at": s.start_at}
            for code in codes
            for s in active_sanctions(session, code, moment)
        ],
        "committees": sorted(keeping_committees(session, person_id)),
        "as_of": day,
    }


def records_kept_by(session: Session, committee_code: str, at: date | datetime) -> list[dict[str, Any]]:
    """The office's list (Art. 22): each cadre whose record the committee keeps on the day of ``at``, with
    the unit's latest grade and the sanctions in force (listing, veto)."""
    day, moment = day_of(at), instant(at)
    posts = record_subjects(session, committee_code, at)
    codes = sorted({p.org_code for p in posts})
    units = _names(session, codes)
    latest: dict[str, dict[str, Any]] = {}
    for (code, _year), grade in sorted(record_feeds.grades(session, codes).items()):
        if grade["occurred_on"] <= day:
            latest[code] = grade
    rows = []
    for post in posts:
        last = latest.get(post.org_code)
        rows.append(
            {
                "person_id": post.person_id,
                "name": post.person.name,
                "unit_code": post.org_code,
                "unit_name": units.get(post.org_code, post.org_code),
                "post": post.label,
                "start_on": post.start_on,
                "latest_grade_year": last["detail"]["year"] if last else None,
                "latest_grade": last["detail"]["grade"] if last else None,
                "latest_grade_label": last["detail"]["grade_label"] if last else "",
                "open_sanctions": [
                    {"kind": s.kind, "article": s.article, "start_at": s.start_at}
                    for s in active_sanctions(session, post.org_code, moment)
                ],
            }
        )
    return rows


def add_office_entry(
    session: Session,
    person_id: int,
    *,
    kind: str,
    title: str,
    added_by: str,
    occurred_on: date,
    document_no: str | None = None,
    text: str | None = None,
) -> RecordEntry:
    """What the office alone knows (Art. 22): a note, the year's duties, an award to the cadre or to the
    unit. The entry belongs to the unit of the cadre's record post on that day (an award to the unit counts
    for whoever led it then). Nothing commits."""
    if kind not in OFFICE_KINDS:
        raise RecordError(f"the office adds entries of kind {', '.join(OFFICE_KINDS)}, not {kind!r}")
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise RecordError("an entry needs a title of at most 300 characters")
    posts = record_posts(session, person_id)
    held = [p for p in posts if p.held_on(occurred_on)] or [p for p in posts if p.start_on <= occurred_on]
    if not held:
        raise RecordError(f"person {person_id} held no post with a record on {occurred_on}")
    return add_entry(
        session,
        unit_code=held[-1].org_code,
        kind=kind,
        title=title,
        source="office",
        added_by=added_by,
        person_id=None if kind == "award_unit" else person_id,
        occurred_on=occurred_on,
        document_no=(document_no or "").strip() or None,
        text=(text or "").strip() or None,
    )
