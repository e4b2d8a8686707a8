"""What supervisors read about the annual cycle: letters signed per committee (层层签订, Art. 13), findings,
grades, the salary list, performance records, and the dashboard's figures. Read-only queries over the rows
the handlers in ``workflows/annual.py`` write."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session, defer

from workflows.engine.inbox import held_by
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.regulation.accountability import CASE_PROCESS
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


# -- the year dashboard: scope, years, figures --------------------------------------------------------------

#: The 市直 group of the dashboard's per-county figures: the city itself, its city-direct units (and their
#: systems) and the city committee's member units — every unit no county contains.
CITY_GROUP = "city"
#: Business keys of the processes whose years the dashboard offers: ``追责-2026-0001``
#: (``accountability.next_case_key``) and ``年度-2026-411300`` (``annual.cycle_key``).
CASE_KEY_PREFIX, CYCLE_KEY_PREFIX = "追责-", "年度-"


def scope_units(org: OrgTree, grants: Iterable[tuple[str, str]]) -> set[str] | None:
    """The units the holder of ``grants`` oversees (a grant reaches its unit and every unit below it, as
    ``OrgTree.can_oversee``): ``None`` for the whole city (a grant at the city), else the grants' subtrees —
    a county director's county, its townships and member units (DOMAIN.md, "Organisation")."""
    codes = {org_code for _, org_code in grants}
    if org.city_code is not None and org.city_code in codes:
        return None
    return org.subtree(codes)


def within(column: Any, units: Collection[str] | None) -> ColumnElement[bool]:
    """``column`` names a unit in ``units`` (``None``: any unit)."""
    return true() if units is None else column.in_(sorted(units))


def county_group(org: OrgTree, code: str) -> str:
    """The per-county figures' group of a unit: its county's code, or :data:`CITY_GROUP` (市直)."""
    county = org.county_of(code) if code in org.nodes else None
    return county or CITY_GROUP


def county_groups(org: OrgTree, units: Collection[str] | None) -> list[str]:
    """The groups a scope covers, counties by code and 市直 last: every county of the city for the city's
    users, their own county for a county's."""
    codes = org.nodes if units is None else units
    groups = {county_group(org, code) for code in codes}
    return sorted(groups - {CITY_GROUP}) + ([CITY_GROUP] if CITY_GROUP in groups else [])


def units_of_group(org: OrgTree, group: str) -> set[str]:
    """Every unit of a county (its subtree), or of 市直 (the units no county contains)."""
    if group == CITY_GROUP:
        return {code for code in org.nodes if org.county_of(code) is None}
    return org.subtree({group}) if org.nodes.get(group) and org.nodes[group].level == "county" else set()


def instance_year(business_key: str | None, created_at: datetime) -> int:
    """The year an instance belongs to: the one its business key names (``追责-2026-0001``,
    ``年度-2027-411300``, ``责任书-2026-411302``), else the Beijing year it was created in — never the UTC
    year (a cycle the 1 January job starts at 00:10 is still 31 December in UTC; one the office starts on
    30 December for the next year is that year's)."""
    parts = (business_key or "").split("-")
    if len(parts) > 1 and len(parts[1]) == 4 and parts[1].isdigit():
        return int(parts[1])
    return to_cst(created_at).year


def case_year(year: int) -> ColumnElement[bool]:
    """An accountability case of ``year`` (by its number, 追责-YYYY-NNNN, not its UTC creation time)."""
    return ProcessInstance.business_key.like(f"{CASE_KEY_PREFIX}{year}-%")


def years_with_data(session: Session, units: Collection[str] | None = None) -> set[int]:
    """The years with cases, cycles, letters, findings or grades at ``units`` (``None``: the whole city)."""
    years: set[int] = set()
    for model in (ResponsibilityLetter, InspectionFinding, AssessmentResult):
        years.update(session.scalars(select(model.year).where(within(model.unit_code, units)).distinct()))
    for process, prefix in ((CASE_PROCESS, CASE_KEY_PREFIX), (CYCLE_PROCESS, CYCLE_KEY_PREFIX)):
        found = session.scalars(
            select(func.substr(ProcessInstance.business_key, len(prefix) + 1, 4))
            .where(
                ProcessInstance.process_id == process,
                ProcessInstance.business_key.like(prefix + "%"),
                within(ProcessInstance.unit_code, units),
            )
            .distinct()
        )
        years.update(int(y) for y in found if y and str(y).isdigit())
    return years


def overdue_tasks(
    session: Session,
    year: int,
    now: datetime,
    units: Collection[str] | None,
    grants: Collection[tuple[str, str]],
) -> list[tuple[Task, ProcessInstance]]:
    """The open tasks past their deadline that a supervisor sees, of the instances of ``year`` (cases,
    cycles, letters, inspections …): those of instances at ``units`` (``None``: the whole city), and those
    they hold themselves (a county's tasks on the city's cycle) — each once, the most overdue first."""
    held = held_by(grants)
    seen = true() if units is None else or_(ProcessInstance.unit_code.in_(sorted(units)), held)
    rows = session.execute(
        select(Task, ProcessInstance)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(Task.state == "ready", Task.due_at < now, seen)
        .order_by(Task.due_at, Task.id)
        # Not the workflow state (tens of KB an instance): after 31 March thousands of letters are overdue,
        # and loading theirs cost a web worker ~100 MB a dashboard (issue 17, memory per process).
        .options(defer(ProcessInstance.state_json))
    )
    return [(t, i) for t, i in rows if instance_year(i.business_key, i.created_at) == year]


def case_figures(session: Session, cases: Any, org: OrgTree) -> dict[str, Any]:
    """The dashboard's counts of the cases ``cases`` (a select of ``ProcessInstance``) selects: by (level,
    stage), by :func:`county_group` and by status."""
    sub = cases.subquery()
    level, stage = sub.c.summary["level"].as_string(), sub.c.summary["stage"].as_string()
    by_level_stage = {
        (str(lv or ""), str(st or "")): n
        for lv, st, n in session.execute(select(level, stage, func.count()).group_by(level, stage))
    }
    by_group: Counter[str] = Counter()
    for unit_code, n in session.execute(select(sub.c.unit_code, func.count()).group_by(sub.c.unit_code)):
        by_group[county_group(org, unit_code)] += n
    by_status = {
        st: n for st, n in session.execute(select(sub.c.status, func.count()).group_by(sub.c.status))
    }
    return {"by_level_stage": by_level_stage, "by_group": dict(by_group), "by_status": by_status}


def open_steps(session: Session, instance_ids: Collection[int]) -> dict[int, list[tuple[str, int]]]:
    """Each instance's open steps, each name once with how many are open (a step run for 20 member units
    is one entry, 20)."""
    counts: dict[int, Counter[str]] = {}
    rows = session.execute(
        select(Task.instance_id, Task.name)
        .where(Task.instance_id.in_(sorted(instance_ids)), Task.state == "ready")
        .order_by(Task.created_at, Task.id)
    )
    for instance_id, name in rows:
        counts.setdefault(instance_id, Counter())[name] += 1
    return {i: list(c.items()) for i, c in counts.items()}


LETTER_STATES = ("signed", "late", "pending")


def letter_state(row: ResponsibilityLetter) -> str:
    """signed (in time) | late (signed after the deadline) | pending (not signed)."""
    if row.status == "signed":
        return "late" if row.late else "signed"
    return "pending"


def dashboard_stats(
    session: Session, year: int, org: OrgTree, units: Collection[str] | None = None
) -> dict[str, Any]:
    """The year dashboard's annual figures at ``units`` (``None``: the whole city): letters per county
    (signed / late / pending), grades, and inspection findings per county (Art. 13, 18, 20).

    ``letters`` and ``findings`` are keyed by county name (市直 for the city's own units), ``by_group`` has
    both keyed by :func:`county_group`; ``grades`` (the committee's decided grades) by the grade's Chinese
    name, ``grade_codes`` by its code."""

    def mine(code: str) -> bool:
        return units is None or code in units

    def county_name(group: str) -> str:
        return "市直" if group == CITY_GROUP else org.nodes[group].name

    letter_counts: dict[str, dict[str, int]] = {}
    for row in letters(session, year):
        if not mine(row.unit_code):
            continue
        group = letter_counts.setdefault(county_group(org, row.unit_code), dict.fromkeys(LETTER_STATES, 0))
        group[letter_state(row)] += 1
    labels = {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}
    grade_codes = Counter(g.grade for g in grades(session, year) if g.grade and mine(g.unit_code))
    finding_counts = Counter(
        county_group(org, f.unit_code) for f in findings(session, year, unit_codes=units)
    )
    return {
        "letters": {county_name(k): v for k, v in letter_counts.items()},
        "grades": {labels.get(str(k), str(k)): v for k, v in grade_codes.items()},
        "findings": {county_name(k): v for k, v in finding_counts.items()},
        "by_group": {"letters": letter_counts, "findings": dict(finding_counts)},
        "grade_codes": {str(k): v for k, v in grade_codes.items()},
    }
