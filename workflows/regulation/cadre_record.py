"""The performance record per named cadre (实绩档案, Art. 22, O22.1): one entry per fact, citing its source.

Entries are what the record is made of: the year's grade from the assessment, a notification, interview,
listing, veto or personal measure that concerned the cadre or the unit during the cadre's time in post, an
award, a promotion consultation and its answer (Art. 23), or what the office alone knows. Every producer
(the assessment, the cases, commendation, consultation, the office) writes through :func:`add_entry`; the
record of a cadre is the entries of the person, plus the unit's entries dated within the cadre's posts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.legaltime import clock
from workflows.engine.models import Base

# What an entry can be (Art. 22 lists the contents; Art. 23 adds the consultations).
KINDS = {
    "grade": "考核等次",
    "assessment": "考核结果",
    "duty": "履行综治职责情况",
    "award_person": "个人受表彰奖励",
    "award_unit": "单位受表彰奖励",
    "notification": "通报",
    "interview": "约谈",
    "listing": "挂牌督办",
    "veto": "一票否决",
    "personal_measure": "个人责任追究",
    "consultation": "征求意见及答复",
    "priority_promotion": "优先提拔推荐",
    "note": "综治办补充记载",
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
