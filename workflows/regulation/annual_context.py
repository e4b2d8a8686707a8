"""What a reviewer of the annual cycle needs beside the form (issue 11, item 9), read-only, by element id:

* ``assess_unit`` (Art. 18–20, O20.1): the assessed unit's name, its year-end summary (Art. 15) or, for a
  committee with its own cycle, its annual report (Art. 17), its responsibility letter (Art. 13), the
  year's inspection findings (Art. 18) and its accountability cases (Art. 31);
* ``joint_opinion_assessment``, ``joint_conclusion_assessment``, ``decide_assessment`` (Art. 20, 24,
  O24.1): the proposed grades with scores, totals and reasons, the joint-meeting departments' opinions
  recorded so far and, once recorded, the joint meeting's conclusion;
* ``receive_annual_report`` (Art. 17, O17.1): the lower committee's annual report.

Plain dicts of codes and values; the page (app/templates/inbox/task.html) puts the words on them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.regulation.annual import cycle_key
from workflows.regulation.annual_models import InspectionFinding, ResponsibilityLetter
from workflows.regulation.indicators import unit_name
from workflows.regulation.people import JOINT_MEETING

REVIEW_STEPS = ("joint_opinion_assessment", "joint_conclusion_assessment", "decide_assessment")


def task_context(
    session: Session, task: Task, data: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """What the holder of ``task`` reviews, or None for a step that needs nothing beside its form.
    ``data``: the ready task's workflow data (it carries the proposed grades); empty for a done task."""
    build = BUILDERS.get(task.element_id)
    if build is None:
        return None
    return {"kind": task.element_id, **build(session, task, dict(data or {}))}


def _year(inst: ProcessInstance, data: Mapping[str, Any]) -> int | None:
    if isinstance(data.get("year"), int):
        return int(data["year"])
    parts = inst.business_key.split("-")  # 年度-2026-411300
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def completions(session: Session, instance_id: int, element: str) -> list[tuple[InstanceEvent, Task | None]]:
    """Each completion of ``element`` in the instance, oldest first, with its task row (unit, role)."""
    rows = session.execute(
        select(InstanceEvent, Task)
        .outerjoin(Task, Task.id == InstanceEvent.task_id)
        .where(
            InstanceEvent.instance_id == instance_id,
            InstanceEvent.kind == "task_completed",
            InstanceEvent.element_id == element,
        )
        .order_by(InstanceEvent.id)
    )
    return [(event, task) for event, task in rows]


def _form(event: InstanceEvent) -> dict[str, Any]:
    data = (event.detail or {}).get("data")
    return dict(data) if isinstance(data, Mapping) else {}


def _annual_report(session: Session, instance_id: int) -> dict[str, Any] | None:
    """The last annual report the committee of ``instance_id`` sent up (Art. 17)."""
    done = completions(session, instance_id, "submit_annual_report")
    if not done:
        return None
    event, _task = done[-1]
    form = _form(event)
    return {
        "document_no": form.get("report_document_no", ""),
        "submitted_on": form.get("submitted_on", ""),
        "report": form.get("report", ""),
        "recorded_at": event.at,
        "recorded_by": event.actor,
    }


def unit_context(session: Session, inst: ProcessInstance, unit_code: str, year: int | None) -> dict[str, Any]:
    """The assessed unit's year as the scorer needs it (Art. 13, 15, 17, 18, 31)."""
    summaries = [
        {"summary": _form(event).get("summary", ""), "recorded_at": event.at, "recorded_by": event.actor}
        for event, task in completions(session, inst.id, "submit_annual_summary")
        if task is not None and task.unit_code == unit_code
    ]
    report = None
    letter = None
    findings: list[dict[str, Any]] = []
    if year is not None:
        own_cycle = session.scalar(
            select(ProcessInstance.id).where(
                ProcessInstance.business_key == cycle_key(year, unit_code),
                ProcessInstance.process_id == inst.process_id,
            )
        )
        report = _annual_report(session, own_cycle) if own_cycle is not None else None
        row = session.scalar(
            select(ResponsibilityLetter).where(
                ResponsibilityLetter.year == year, ResponsibilityLetter.unit_code == unit_code
            )
        )
        if row is not None:
            letter = {
                "status": row.status,
                "issued_at": row.issued_at,
                "due_at": row.due_at,
                "signed_at": row.signed_at,
                "late": bool(row.late),
                "amendments": row.amendments,
            }
        findings = [
            {
                "kind": f.kind,
                "text": f.text,
                "art31_item": f.art31_item,
                "open_case": f.open_case,
                "case_instance_id": f.case_instance_id,
                "found_at": f.found_at,
            }
            for f in session.scalars(
                select(InspectionFinding)
                .where(InspectionFinding.year == year, InspectionFinding.unit_code == unit_code)
                .order_by(InspectionFinding.found_at, InspectionFinding.id)
            )
        ]
    cases = [
        {
            "id": c.id,
            "business_key": c.business_key,
            "status": c.status,
            "level": (c.summary or {}).get("level"),
            "outcome": (c.summary or {}).get("outcome"),
            "created_at": c.created_at,
        }
        for c in session.scalars(
            select(ProcessInstance)
            .where(
                ProcessInstance.process_id == "accountability_case",
                ProcessInstance.unit_code == unit_code,
            )
            .order_by(ProcessInstance.created_at, ProcessInstance.id)
        )
        if year is None or to_cst(c.created_at).year == year or c.status == "running"
    ]
    return {
        "year": year,
        "unit_code": unit_code,
        "unit_name": unit_name(session, unit_code),
        "summaries": summaries,
        "annual_report": report,
        "letter": letter,
        "findings": findings,
        "cases": cases,
    }


def _assess_unit(session: Session, task: Task, data: dict[str, Any]) -> dict[str, Any]:
    unit = task.unit_code or str(data.get("unit_code") or data.get("assessed_unit") or "")
    return unit_context(session, task.instance, unit, _year(task.instance, data))


def review_context(session: Session, inst: ProcessInstance, data: Mapping[str, Any]) -> dict[str, Any]:
    """The proposed grades (Art. 19–20) and the joint meeting's opinions and conclusion so far (Art. 24)."""
    proposed = [
        {
            "unit_code": p.get("unit_code", ""),
            "unit_name": p.get("unit_name") or unit_name(session, str(p.get("unit_code", ""))),
            "scores": [dict(s) for s in p.get("scores") or [] if isinstance(s, Mapping)],
            "total": p.get("total"),
            "grade": p.get("grade", ""),
            "reasons": list(p.get("reasons") or []),
        }
        for p in data.get("proposed_grades") or []
        if isinstance(p, Mapping)
    ]
    opinions = []
    for event, task in completions(session, inst.id, "joint_opinion_assessment"):
        department = task.role.partition("/")[2] if task is not None else ""
        form = _form(event)
        opinions.append(
            {
                "department": department,
                "department_name": JOINT_MEETING.get(department, department),
                "opinion": form.get("department_opinion", ""),
                "remarks": form.get("remarks", ""),
                "recorded_at": event.at,
                "recorded_by": event.actor,
            }
        )
    concluded = completions(session, inst.id, "joint_conclusion_assessment")
    conclusion = _form(concluded[-1][0]).get("conclusion", "") if concluded else ""
    return {
        "year": _year(inst, data),
        "proposed": proposed,
        "opinions": opinions,
        "departments": len(JOINT_MEETING),
        "conclusion": conclusion,
    }


def _review(session: Session, task: Task, data: dict[str, Any]) -> dict[str, Any]:
    return review_context(session, task.instance, data)


def _receive_report(session: Session, task: Task, data: dict[str, Any]) -> dict[str, Any]:
    inst = task.instance
    return {
        "unit_code": inst.unit_code,
        "unit_name": unit_name(session, inst.unit_code),
        "annual_report": _annual_report(session, inst.id),
    }


BUILDERS: dict[str, Callable[[Session, Task, dict[str, Any]], dict[str, Any]]] = {
    "assess_unit": _assess_unit,
    **dict.fromkeys(REVIEW_STEPS, _review),
    "receive_annual_report": _receive_report,
}
