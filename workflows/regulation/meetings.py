"""Meetings the office records (issue 11, item 8): the five-department joint meeting (Art. 24, O24.1: on the
assessment, commendations, major problems; regular or ad hoc, with observers 列席), the committee's plenary or
enlarged meeting (Art. 25, O25.1: at least one a year), and the party standing committee's or the government's
executive meeting that studies the work (Art. 7(2), O7.2).

``bpmn/meeting.bpmn`` — one instance per meeting (会议-2026-411302-0001), for the committee whose office
convenes or records it (a city or a county). Its last step states ``record("meeting_recorded", …)``; decisions
that need follow-up state ``record("rectification_items", …)`` (:mod:`workflows.regulation.rectification`).

* ``meeting_recorded`` → a ``committee_meeting`` row (kind, date, topics, participants, observers, decisions,
  minutes). A plenary or enlarged meeting recorded after its year was flagged resolves the flag (it stays on
  record, with when it was resolved).
* :func:`flag_missing_plenaries` — the yearly check (``app/jobs.py``): once 31 December 23:59:59 +08:00 has
  passed, every committee (the city's, each county's) with no plenary or enlarged meeting of that year on
  record by then gets a ``meeting_duty_flag`` row (duty ``plenary``), once. A plenary the annual cycle
  recorded (its ``record_plenary`` step, a ``duty_done`` fact with duty ``plenary``) counts as well, so the
  two ways of recording it agree; the cycle's own ``Timer_plenary_overdue`` has the same deadline.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.core import Engine
from workflows.engine.counters import insert_ignoring_conflicts
from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Base, InstanceEvent, ProcessInstance
from workflows.engine.parts import Handler
from workflows.engine.records import Record
from workflows.regulation.roles import OrgTree

MEETING_PROCESS = "meeting"
#: kind → (name, article)
KINDS: dict[str, tuple[str, str]] = {
    "joint_meeting": ("五部门联席会议", "Art. 24 (O24.1)"),
    "plenary": ("综治委全体会议", "Art. 25 (O25.1)"),
    "enlarged": ("综治委扩大会议", "Art. 25 (O25.1)"),
    "party_standing_committee": ("党委常委会会议", "Art. 7(2) (O7.2)"),
    "government_executive": ("政府常务会议", "Art. 7(2) (O7.2)"),
}
PLENARY_KINDS = ("plenary", "enlarged")
COMMITTEE_LEVELS = ("city", "county")
PLENARY = "plenary"
#: The annual cycle states the plenary it recorded as ``duty_done`` / ``duty_overdue`` with this duty.
CYCLE_PROCESS, CYCLE_DUTY_DONE = "annual_cycle", "duty_done"


class CommitteeMeeting(Base):
    __tablename__ = "committee_meeting"
    __table_args__ = (Index("ix_committee_meeting_committee_year_kind", "committee_code", "year", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # see KINDS
    regularity: Mapped[str] = mapped_column(String(10))  # regular | ad_hoc (定期 / 不定期)
    subject: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)  # of held_on
    chaired_by: Mapped[str] = mapped_column(
        String(100)
    )  # empty for a joint meeting (its convener records it)
    subjects: Mapped[list[Any]] = mapped_column(
        JSON
    )  # joint meeting: assessment, commendation, major_problems…
    departments: Mapped[list[Any]] = mapped_column(JSON)  # joint meeting: the five departments present
    topics: Mapped[str] = mapped_column(Text)
    participants: Mapped[list[Any]] = mapped_column(JSON)  # [{name, post}]
    observers: Mapped[list[Any]] = mapped_column(JSON)  # 列席 [{name, post}]
    decisions: Mapped[str] = mapped_column(Text)
    minutes: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime]


class MeetingDutyFlag(Base):
    """A committee that had no plenary or enlarged meeting on record when its year ended (Art. 25)."""

    __tablename__ = "meeting_duty_flag"
    __table_args__ = (UniqueConstraint("committee_code", "year", "duty"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    year: Mapped[int] = mapped_column(Integer)
    duty: Mapped[str] = mapped_column(String(30))  # plenary
    due_at: Mapped[datetime]  # 31 December 23:59:59 +08:00
    flagged_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]  # a meeting of that year recorded late
    resolved_by_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))


def year_end(year: int) -> datetime:
    """The deadline of a yearly duty: 31 December 23:59:59 +08:00 (the annual cycle's ``year_end_due``)."""
    return datetime(year, 12, 31, 23, 59, 59, tzinfo=CST)


def _people(value: Any) -> list[dict[str, str]]:
    return [
        {"name": str(p.get("name", "")), "post": str(p.get("post", ""))}
        for p in (value or [])
        if isinstance(p, dict)
    ]


def _recorded(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    d = rec.detail
    held = date.fromisoformat(str(d["held_on"]))
    kind = str(d["meeting_kind"])
    now = clock.now()
    engine.session.add(
        CommitteeMeeting(
            committee_code=inst.unit_code,
            instance_id=inst.id,
            kind=kind,
            regularity=str(d.get("regularity") or "regular"),
            subject=str(d.get("subject") or KINDS.get(kind, (kind,))[0])[:200],
            held_on=held,
            year=held.year,
            chaired_by=str(d.get("chaired_by") or "")[:100],
            subjects=[str(v) for v in d.get("subjects") or []],
            departments=[str(v) for v in d.get("departments") or []],
            topics=str(d.get("topics") or ""),
            participants=_people(d.get("participants")),
            observers=_people(d.get("observers")),
            decisions=str(d.get("decisions") or ""),
            minutes=str(d.get("minutes") or ""),
            recorded_at=now,
        )
    )
    if kind in PLENARY_KINDS:
        flag = engine.session.scalar(
            select(MeetingDutyFlag).where(
                MeetingDutyFlag.committee_code == inst.unit_code,
                MeetingDutyFlag.year == held.year,
                MeetingDutyFlag.duty == PLENARY,
                MeetingDutyFlag.resolved_at.is_(None),
            )
        )
        if flag is not None:
            flag.resolved_at, flag.resolved_by_instance_id = now, inst.id


MEETING_HANDLERS: dict[str, Handler] = {"meeting_recorded": _recorded}


# -- the yearly check (Art. 25) ------------------------------------------------------------------------------
def plenary_held(session: Session, year: int, by: datetime) -> set[str]:
    """Committees with a plenary or enlarged meeting of ``year`` on record at ``by``: recorded as a meeting,
    or by the annual cycle's ``record_plenary`` (a ``duty_done`` fact with duty ``plenary``)."""
    meetings = session.scalars(
        select(CommitteeMeeting.committee_code).where(
            CommitteeMeeting.year == year,
            CommitteeMeeting.kind.in_(PLENARY_KINDS),
            CommitteeMeeting.recorded_at <= by,
        )
    )
    cycle_facts = session.execute(
        select(ProcessInstance.unit_code, InstanceEvent.detail)
        .join(InstanceEvent, InstanceEvent.instance_id == ProcessInstance.id)
        .where(
            ProcessInstance.process_id == CYCLE_PROCESS,
            ProcessInstance.business_key.like(f"年度-{year}-%"),
            InstanceEvent.kind == CYCLE_DUTY_DONE,
            InstanceEvent.at <= by,
        )
    )
    return set(meetings) | {unit for unit, detail in cycle_facts if (detail or {}).get("duty") == PLENARY}


def flag_missing_plenaries(session: Session, org: OrgTree, year: int, now: datetime) -> list[str]:
    """After 31 December of ``year``: flag each committee (city, counties) with no plenary or enlarged meeting
    of that year on record by the deadline. Idempotent (one flag per committee and year); returns the
    committees flagged now. Before the deadline it does nothing."""
    due = year_end(year)
    if now <= due:
        return []
    committees = {code for code, node in org.nodes.items() if node.level in COMMITTEE_LEVELS}
    flagged = set(
        session.scalars(
            select(MeetingDutyFlag.committee_code).where(
                MeetingDutyFlag.year == year, MeetingDutyFlag.duty == PLENARY
            )
        )
    )
    missing = sorted(committees - plenary_held(session, year, due) - flagged)
    if not missing:
        return []
    # Two schedulers may check at once (issue 17: scripts/serve starts two): the second waits for the
    # first one's flags, skips them and returns only the committees it flagged itself.
    table = cast(Table, MeetingDutyFlag.__table__)
    rows = [
        {"committee_code": code, "year": year, "duty": PLENARY, "due_at": due, "flagged_at": now}
        for code in missing
    ]
    insert = insert_ignoring_conflicts(session, table).values(rows).returning(table.c.committee_code)
    return sorted(session.scalars(insert))


def plenary_flags(session: Session, year: int) -> list[MeetingDutyFlag]:
    return list(
        session.scalars(
            select(MeetingDutyFlag)
            .where(MeetingDutyFlag.year == year, MeetingDutyFlag.duty == PLENARY)
            .order_by(MeetingDutyFlag.committee_code)
        )
    )


def meetings_of(session: Session, committee_code: str, year: int | None = None) -> list[CommitteeMeeting]:
    query = select(CommitteeMeeting).where(CommitteeMeeting.committee_code == committee_code)
    if year is not None:
        query = query.where(CommitteeMeeting.year == year)
    return list(session.scalars(query.order_by(CommitteeMeeting.held_on, CommitteeMeeting.id)))
