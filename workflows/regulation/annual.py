"""The annual cycle's facts as rows (Art. 13–25), and the queries the supervisor needs.

The diagrams (``bpmn/annual_*.bpmn``) say when something happened — ``record("letter_signed", ...)``,
``record("finding", ...)``, ``record("grade_decided", ...)`` — and this module says what it means, inside
the same transaction as the step (see :mod:`workflows.engine.records`):

* ``letters_issued`` → one ``responsibility_letter`` row and one ``annual_letter`` instance per
  subordinate unit, linked to the cycle (Art. 13, O13.1); a county's own ``annual_cycle`` starts at
  the same moment, so its townships' letters never wait for the county's signature (层层签订). Each
  letter is its own small instance rather than a branch of the cycle: a signature then costs the
  same whether the committee issued 15 letters or 300 (docs/annual-cycle.md, "Cost").
* ``letter_signed`` → the row is signed (late after 31 March, O13.2).
* ``finding`` → an ``inspection_finding``; one marked for accountability opens an ``accountability_case`` for
  the unit (Art. 18, 31): the case's ``parent_instance_id`` is the cycle, the finding keeps the case's id.
* ``grade_decided`` → ``assessment_result``; excellent → ``salary_list_entry`` (Art. 20, O20.3); every
  covered cadre's ``performance_record`` gets the grade (Art. 22, O22.1); unqualified → an accountability
  case (Art. 31(8), O31.8).
* ``report_referred`` → an accountability case against the unit a member unit's report is about (Art. 15,
  38); a report its office is not competent for is forwarded (``workflows.regulation.intake``).

Handlers get the engine (session, clock, organisation) and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.counters import next_business_key
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock
from workflows.engine.models import ProcessInstance, Task
from workflows.engine.parts import Handler
from workflows.engine.records import Record
from workflows.regulation import intake
from workflows.regulation.accountability import open_child_case
from workflows.regulation.annual_models import (
    CADRE_ROLES,
    AssessmentResult,
    InspectionFinding,
    PerformanceRecord,
    ResponsibilityLetter,
    SalaryListEntry,
)
from workflows.regulation.roles import org_of

CYCLE_PROCESS = "annual_cycle"
LETTER_PROCESS = "annual_letter"
FILING_PROCESS = "annual_report_filing"


def cycle_key(year: int, unit_code: str) -> str:
    """Business key of a committee's cycle: 年度-2026-411300."""
    return f"年度-{year}-{unit_code}"


def letter_key(year: int, unit_code: str) -> str:
    return f"责任书-{year}-{unit_code}"


# -- starting -----------------------------------------------------------------------------------------------
def find_cycle(session: Session, year: int, unit_code: str) -> ProcessInstance | None:
    return session.scalar(
        select(ProcessInstance).where(
            ProcessInstance.process_id == CYCLE_PROCESS,
            ProcessInstance.business_key == cycle_key(year, unit_code),
        )
    )


def start_cycle(
    engine: Engine,
    unit_code: str,
    year: int,
    *,
    actor: Actor = SYSTEM,
    parent_instance_id: int | None = None,
) -> ProcessInstance:
    """Start the committee of ``unit_code``'s cycle for ``year``, or return the one already running.

    Idempotent, so a yearly job (1 January) and an office starting it by hand never make two.
    """
    existing = find_cycle(engine.session, year, unit_code)
    if existing is not None:
        return existing
    return engine.start(
        CYCLE_PROCESS,
        business_key=cycle_key(year, unit_code),
        unit_code=unit_code,
        data={"year": year},
        actor=actor,
        parent_instance_id=parent_instance_id,
    )


def start_report_filing(engine: Engine, unit_code: str, actor: Actor) -> ProcessInstance:
    """A member unit starts a report (Art. 15): 报送-2026-CD01-0003. Its first task is the unit's form."""
    year = engine.now().year
    return engine.start(
        FILING_PROCESS,
        business_key=next_business_key(engine.session, FILING_PROCESS, f"报送-{year}-{unit_code}-"),
        unit_code=unit_code,
        data={"year": year},
        actor=actor,
    )


def _office_name(engine: Engine, unit_code: str) -> str:
    node = org_of(engine).nodes.get(unit_code)
    return f"{node.name if node else unit_code}综治办"


# -- letters (Art. 13) --------------------------------------------------------------------------------------
def _instant(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _letter(session: Session, year: int, unit_code: str) -> ResponsibilityLetter | None:
    return session.scalar(
        select(ResponsibilityLetter).where(
            ResponsibilityLetter.year == year, ResponsibilityLetter.unit_code == unit_code
        )
    )


def _issue_letters(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    d = rec.detail
    year = int(d["year"])
    due = _instant(d["due"])
    now = clock.now()
    committee = inst.unit_code
    units = [str(u) for u in d["units"]]
    issued = set(  # one query for the lot, not one per letter (issue 17: a county issues hundreds)
        engine.session.scalars(
            select(ResponsibilityLetter.unit_code).where(
                ResponsibilityLetter.year == year, ResponsibilityLetter.unit_code.in_(units)
            )
        )
    )
    for unit in units:
        if unit in issued:
            continue  # issued already (a second cycle for the same committee cannot exist; be safe)
        row = ResponsibilityLetter(
            year=year,
            unit_code=unit,
            committee_code=committee,
            cycle_instance_id=inst.id,
            status="issued",
            issued_at=now,
            due_at=due,
            late=False,
            amendments=0,
        )
        engine.session.add(row)
        letter = engine.start(
            LETTER_PROCESS,
            business_key=letter_key(year, unit),
            unit_code=unit,
            data={
                "year": year,
                "q1_due": d["due"],
                "committee_code": committee,
                "committee_name": org_of(engine).nodes[committee].name,
                "key_tasks": list(d.get("key_tasks") or []),
                "targets": list(d.get("targets") or []),
                "security_target_percent": d.get("security_target_percent"),
            },
            parent_instance_id=inst.id,
        )
        row.letter_instance_id = letter.id
        # 层层签订 (Art. 13): a county's committee issues its own letters at once, not after it has signed the
        # city's, so every letter can be signed in Q1.
        if org_of(engine).nodes[unit].level == "county":
            row.unit_cycle_instance_id = start_cycle(engine, unit, year, parent_instance_id=inst.id).id


def _letter_update(status: str | None = None, *, overdue: bool = False, count: bool = False) -> Handler:
    def handle(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
        row = _letter(engine.session, int(rec.detail["year"]), str(rec.detail["unit_code"]))
        if row is None:
            return
        if status is not None:
            row.status = status
        if overdue:
            row.late = True
        if count:
            row.amendments = int(rec.detail.get("amendments") or row.amendments + 1)

    return handle


def _letter_signed(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Signed (late after 31 March)."""
    year, unit = int(rec.detail["year"]), str(rec.detail["unit_code"])
    row = _letter(engine.session, year, unit)
    if row is not None:
        row.status = "signed"
        row.signed_at = clock.now()
        row.late = bool(row.late or rec.detail.get("late"))


# -- inspections (Art. 18) ----------------------------------------------------------------------------------
_KIND_LABEL = {"mid_year": "半年督查", "annual": "年度督查"}


def _finding(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    d = rec.detail
    year, unit, kind = int(d["year"]), str(d["unit_code"]), str(d["finding_kind"])
    item = d.get("art31_item")
    row = InspectionFinding(
        year=year,
        unit_code=unit,
        committee_code=inst.unit_code,
        cycle_instance_id=inst.id,
        kind=kind,
        text=str(d["text"]),
        art31_item=int(item) if item is not None else None,
        open_case=bool(d.get("open_case")),
        found_at=clock.now(),
    )
    engine.session.add(row)
    engine.session.flush()
    if row.open_case:
        case = open_child_case(
            engine,
            inst,
            unit,
            source="inspection",
            reporter=f"{_office_name(engine, inst.unit_code)}（{_KIND_LABEL.get(kind, kind)}）",
            facts=row.text,
            art31_items=[row.art31_item or 1],
            origin={"kind": "inspection_finding", "finding_id": row.id, "annual_cycle": inst.id},
        )
        row.case_instance_id = case.id


# -- assessment (Art. 20–22, 31(8)) -------------------------------------------------------------------------
def _grade_decided(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    d = rec.detail
    session = engine.session
    year, unit, grade = int(d["year"]), str(d["unit_code"]), str(d["grade"])
    now = clock.now()
    row = session.scalar(
        select(AssessmentResult).where(AssessmentResult.year == year, AssessmentResult.unit_code == unit)
    )
    if row is None:
        row = AssessmentResult(year=year, unit_code=unit)
        session.add(row)
    row.committee_code = inst.unit_code
    row.cycle_instance_id = inst.id
    row.scores = list(d.get("scores") or [])
    row.total_score = float(d["total"])
    row.proposed_grade = str(d["proposed"])
    row.grade = grade
    row.decided_at = now

    # Art. 20 (O20.3): one extra month's salary for the staff of an excellent unit.
    listed = session.scalar(
        select(SalaryListEntry).where(SalaryListEntry.year == year, SalaryListEntry.unit_code == unit)
    )
    if grade == "excellent" and listed is None:
        session.add(SalaryListEntry(year=year, unit_code=unit, cycle_instance_id=inst.id, added_at=now))
    elif grade != "excellent" and listed is not None:
        session.delete(listed)

    # Art. 22 (O22.1): the grade goes into the performance record of the unit's covered cadres.
    for role in CADRE_ROLES:
        record = session.scalar(
            select(PerformanceRecord).where(
                PerformanceRecord.year == year,
                PerformanceRecord.unit_code == unit,
                PerformanceRecord.cadre_role == role,
            )
        )
        if record is None:
            record = PerformanceRecord(year=year, unit_code=unit, cadre_role=role)
            session.add(record)
        record.grade, record.cycle_instance_id, record.recorded_at = grade, inst.id, now

    # Art. 31(8) (O31.8): an unqualified unit is held to account.
    if grade == "unqualified" and row.case_instance_id is None:
        session.flush()
        case = open_child_case(
            engine,
            inst,
            unit,
            source="assessment",
            reporter=f"{_office_name(engine, inst.unit_code)}（{year}年度考核）",
            facts=f"{year}年度社会治安综合治理和平安建设考核评价不合格（总分{row.total_score:g}）。",
            art31_items=[8],
            origin={
                "kind": "assessment_result",
                "assessment_id": row.id,
                "annual_cycle": inst.id,
                "grade": grade,
                "article": "Art. 31(8)",
                "year": year,
            },
            registered=True,
        )
        row.case_instance_id = case.id


# -- member-unit reports (Art. 15, 38) ----------------------------------------------------------------------
def _receiving_clerk(engine: Engine, inst: ProcessInstance) -> Actor:
    """Who completed the office's ``receive_report`` of this filing (the step that referred it)."""
    rows = engine.session.scalars(
        select(Task).where(Task.instance_id == inst.id, Task.element_id == "receive_report")
    )
    done = sorted((r.completed_at, str(r.completed_by)) for r in rows if r.completed_by and r.completed_at)
    return Actor(done[-1][1]) if done else SYSTEM


def _report_referred(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Art. 38 (O38.1): the case is opened against the unit the report is about (``subject_unit_code``, named
    by the filer, confirmed or corrected by the office), so it lands at that unit's competent office. The
    report came to the office above the filer (the filing's ``office_staff@upper`` lane); when that office is
    not the competent one, the forwarding goes on the case's working file and on the report's."""
    d = rec.detail
    org = org_of(engine)
    # A diagram version from before the field referred the filer itself: keep what that version meant.
    subject = str(d["subject_unit_code"]).strip() if "subject_unit_code" in d else inst.unit_code
    if subject not in org.nodes:
        raise FormInvalid(
            {"subject_unit_code": [f"unknown organisation unit {subject!r}"]},
            {"subject_unit_code": [("unit", None)]},
        )
    case = open_child_case(
        engine,
        inst,
        subject,
        source="member_unit",
        reporter=org.nodes[inst.unit_code].name,
        facts=f"{d.get('title', '')}：{d.get('content', '')}",
        art31_items=[int(i) for i in d.get("art31_items") or [1]],
        origin={"kind": "report_filing", "filing": inst.id, "filing_key": inst.business_key},
    )
    intake.forward(
        engine,
        org,
        case,
        org.upper(inst.unit_code),
        _receiving_clerk(engine, inst),
        extra={"report_id": inst.id, "report_key": inst.business_key},
        also_on=[inst],
    )


ANNUAL_HANDLERS: dict[str, Handler] = {
    "letters_issued": _issue_letters,
    "letter_amendment_requested": _letter_update("amendment_requested", count=True),
    "letter_revised": _letter_update("issued"),
    "letter_overdue": _letter_update(overdue=True),
    "letter_signed": _letter_signed,
    "finding": _finding,
    "grade_decided": _grade_decided,
    "report_referred": _report_referred,
}
HANDLERS = ANNUAL_HANDLERS


# -- queries for the supervisor -----------------------------------------------------------------------------
