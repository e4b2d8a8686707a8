"""What supervisors read about the annual cycle: letters signed per committee (层层签订, Art. 13), findings,
grades, the salary list, performance records, and the dashboard's figures. Read-only queries over the rows
the handlers in ``workflows/annual.py`` write."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.models import InstanceEvent, ProcessInstance
from workflows.regulation.annual import CYCLE_PROCESS
from workflows.regulation.annual_models import (
    AssessmentResult,
    InspectionFinding,
    PerformanceRecord,
    ResponsibilityLetter,
    SalaryListEntry,
)
from workflows.regulation.roles import OrgTree


@dataclass(frozen=True)
class LetterProgress:
    """Letters one committee issued for a year (for the city: its counties and city-direct units; for a
    county: its townships), and where the committee's own letter stands."""

    committee_code: str
    issued: int
    signed: int
    signed_late: int
    amendment_requested: int
    unsigned_overdue: int  # still unsigned after the deadline (flagged)
    unsigned: int


def letter_progress(session: Session, year: int, now: datetime) -> list[LetterProgress]:
    """Letters signed per committee (city → each county): 层层签订 at a glance (Art. 13, O13.1, O13.2)."""
    rows = session.scalars(select(ResponsibilityLetter).where(ResponsibilityLetter.year == year))
    by_committee: dict[str, list[ResponsibilityLetter]] = {}
    for row in rows:
        by_committee.setdefault(row.committee_code, []).append(row)
    result = []
    for committee, letters in sorted(by_committee.items()):
        unsigned = [r for r in letters if r.status != "signed"]
        result.append(
            LetterProgress(
                committee_code=committee,
                issued=len(letters),
                signed=len(letters) - len(unsigned),
                signed_late=sum(1 for r in letters if r.status == "signed" and r.late),
                amendment_requested=sum(1 for r in unsigned if r.status == "amendment_requested"),
                unsigned_overdue=sum(1 for r in unsigned if r.late or r.due_at < now),
                unsigned=len(unsigned),
            )
        )
    return result


def letters(session: Session, year: int, committee_code: str | None = None) -> list[ResponsibilityLetter]:
    query = select(ResponsibilityLetter).where(ResponsibilityLetter.year == year)
    if committee_code:
        query = query.where(ResponsibilityLetter.committee_code == committee_code)
    return list(session.scalars(query.order_by(ResponsibilityLetter.unit_code)))


def findings(
    session: Session, year: int, *, unit_codes: Iterable[str] | None = None, kind: str | None = None
) -> list[InspectionFinding]:
    """Inspection findings of a year (optionally for some units, e.g. a county's subtree, or one kind)."""
    query = select(InspectionFinding).where(InspectionFinding.year == year)
    if unit_codes is not None:
        query = query.where(InspectionFinding.unit_code.in_(sorted(unit_codes)))
    if kind:
        query = query.where(InspectionFinding.kind == kind)
    return list(session.scalars(query.order_by(InspectionFinding.id)))


def grades(session: Session, year: int, committee_code: str | None = None) -> list[AssessmentResult]:
    query = select(AssessmentResult).where(AssessmentResult.year == year)
    if committee_code:
        query = query.where(AssessmentResult.committee_code == committee_code)
    return list(session.scalars(query.order_by(AssessmentResult.unit_code)))


def grade_counts(session: Session, year: int, committee_code: str | None = None) -> dict[str, int]:
    return dict(Counter(r.grade for r in grades(session, year, committee_code)))


def salary_list(session: Session, year: int) -> list[str]:
    """Units whose staff get one extra month's salary (Art. 20, O20.3)."""
    return list(
        session.scalars(
            select(SalaryListEntry.unit_code)
            .where(SalaryListEntry.year == year)
            .order_by(SalaryListEntry.unit_code)
        )
    )


def performance_records(session: Session, unit_code: str) -> list[PerformanceRecord]:
    """A unit's covered cadres' grades over the years (Art. 22, O22.1; read for Art. 23 consultations)."""
    return list(
        session.scalars(
            select(PerformanceRecord)
            .where(PerformanceRecord.unit_code == unit_code)
            .order_by(PerformanceRecord.year, PerformanceRecord.cadre_role)
        )
    )


def cycles(session: Session, year: int) -> list[ProcessInstance]:
    """Every committee's cycle of a year; ``parent_instance_id`` leads from a county's to the city's."""
    return list(
        session.scalars(
            select(ProcessInstance)
            .where(
                ProcessInstance.process_id == CYCLE_PROCESS,
                ProcessInstance.business_key.like(f"年度-{year}-%"),
            )
            .order_by(ProcessInstance.id)
        )
    )


def linked_instances(session: Session, parent_id: int) -> list[ProcessInstance]:
    """What a cycle started: letters, the counties' cycles, accountability cases."""
    return list(
        session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.parent_instance_id == parent_id)
            .order_by(ProcessInstance.id)
        )
    )


def duty_flags(session: Session, year: int, kind: str = "duty_overdue") -> list[tuple[str, str]]:
    """(committee unit, duty) for each year-round duty flagged overdue (Art. 9(3) hearings, Art. 25
    plenary) — or done, with ``kind="duty_done"`` — across the year's cycles."""
    query = (
        select(ProcessInstance.unit_code, InstanceEvent.detail)
        .join(InstanceEvent, InstanceEvent.instance_id == ProcessInstance.id)
        .where(
            ProcessInstance.process_id == CYCLE_PROCESS,
            ProcessInstance.business_key.like(f"年度-{year}-%"),
            InstanceEvent.kind == kind,
        )
        .order_by(InstanceEvent.id)
    )
    return [(unit, str(detail.get("duty"))) for unit, detail in session.execute(query)]


def dashboard_stats(session: Session, year: int, org: OrgTree) -> dict[str, Any]:
    """The year dashboard's annual figures: letters per county (signed / late / pending), grades, and
    inspection findings per county (Art. 13, 18, 20)."""

    def county_name(code: str) -> str:
        county = org.county_of(code) if code in org.nodes else None
        return org.nodes[county].name if county else "市直"

    letter_counts: dict[str, dict[str, int]] = {}
    for row in letters(session, year):
        entry = letter_counts.setdefault(county_name(row.unit_code), {"signed": 0, "late": 0, "pending": 0})
        if row.status == "signed":
            entry["late" if row.late else "signed"] += 1
        else:
            entry["pending"] += 1
    labels = {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}
    finding_counts = Counter(county_name(f.unit_code) for f in findings(session, year))
    return {
        "letters": letter_counts,
        "grades": {labels.get(k, k): v for k, v in grade_counts(session, year).items()},
        "findings": dict(finding_counts),
    }
