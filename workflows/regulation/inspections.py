"""Inspections the office starts at any time (Art. 18, O18.1; Art. 7(5), O7.5): special (专项), unannounced
(暗访) and patrol (巡察) inspections, beside the half-year and annual ones the annual cycle runs.

``bpmn/inspection.bpmn`` — one instance per inspection (督查-2026-411302-0001), for the committee whose office
runs it (a city or a county): the office director plans it (units, scope, team, dates), one inspector task per
unit runs in parallel, and each finding states ``record("inspection_finding", …)``. This module says what the
facts mean, in the step's transaction:

* ``inspection_planned`` → the units must be inside the committee's organisation (below it, not the committee
  itself) and the dates in order; otherwise the plan is refused with the problem by field.
* ``inspection_finding`` → an ``inspection_finding`` row (the table the annual cycle's inspections write, its
  ``cycle_instance_id`` being this inspection); a finding marked for accountability opens an
  ``accountability_case`` against the inspected unit (Art. 38, O38.1; Art. 31), source ``inspection``, child
  of the inspection, so its intake lands at the unit's competent office (one level above it). When that is
  not the inspecting office (the city inspecting a township), the forwarding is recorded as for reports
  (:func:`workflows.regulation.intake.forward`).

Rectification items of the findings are ``record("rectification_items", …)``, handled by
:mod:`workflows.regulation.rectification`. Handlers never commit.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from workflows.engine.actors import SYSTEM
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock
from workflows.engine.models import ProcessInstance
from workflows.engine.parts import Handler
from workflows.engine.records import Record
from workflows.regulation import intake
from workflows.regulation.accountability import open_child_case
from workflows.regulation.annual_models import InspectionFinding
from workflows.regulation.roles import org_of

INSPECTION_PROCESS = "inspection"
#: Art. 18: 专项督查、暗访督查、巡察督查 (the half-year and annual ones belong to the annual cycle).
KINDS = {"special": "专项督查", "unannounced": "暗访督查", "patrol": "巡察督查"}


def _refuse(field: str, message: str, code: str, value: object = None) -> FormInvalid:
    """Refused with the JSON Schema keyword a page words in the reader's language (app/inbox/formrender)."""
    return FormInvalid({field: [message]}, {field: [(code, value)]})


def _planned(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """The plan names units below the committee (any depth: the city may inspect a township unannounced)."""
    org = org_of(engine)
    committee = inst.unit_code
    below = org.subtree({committee}) - {committee}
    units = [str(u) for u in rec.detail.get("units") or []]
    outside = [u for u in units if u not in below]
    if not units or outside:
        raise _refuse("inspected_units", f"not units of {org.nodes[committee].name}: {outside}", "unit")
    try:
        starts, ends = (
            date.fromisoformat(str(rec.detail["starts_on"])),
            date.fromisoformat(str(rec.detail["ends_on"])),
        )
    except (KeyError, ValueError):
        raise _refuse("ends_on", "dates must be YYYY-MM-DD", "format", "date") from None
    if ends < starts:
        raise _refuse("ends_on", "the inspection cannot end before it starts", "minimum", starts.isoformat())


def open_case(
    engine: Engine, inst: ProcessInstance, unit_code: str, facts: str, art31_item: int, origin: dict[str, Any]
) -> ProcessInstance:
    """An accountability case against ``unit_code`` found by inspection ``inst`` (its parent), with the
    intake's report prefilled (source ``inspection``, the inspecting office as reporter); forwarded to the
    competent office when the inspecting one is not it."""
    org = org_of(engine)
    kind = KINDS.get(str(origin.get("inspection_kind")), "督查")
    case = open_child_case(
        engine,
        inst,
        unit_code,
        source="inspection",
        reporter=f"{intake.office_name(org, inst.unit_code)}（{kind}）",
        facts=facts,
        art31_items=[art31_item],
        origin=origin,
    )
    extra = {"inspection_id": inst.id, "inspection_key": inst.business_key}
    intake.forward(engine, org, case, inst.unit_code, SYSTEM, extra=extra, also_on=[inst])
    return case


def _finding(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    d = rec.detail
    unit, kind = str(d["unit_code"]), str(d["inspection_kind"])
    item = d.get("art31_item")
    row = InspectionFinding(
        year=int(d["year"]),
        unit_code=unit,
        committee_code=inst.unit_code,
        cycle_instance_id=inst.id,  # the inspection that found it
        kind=kind,
        text=str(d["text"]),
        art31_item=int(item) if item is not None else None,
        open_case=bool(d.get("open_case")),
        found_at=clock.now(),
    )
    engine.session.add(row)
    engine.session.flush()
    if row.open_case:
        case = open_case(
            engine,
            inst,
            unit,
            row.text,
            row.art31_item or 1,
            {
                "kind": "inspection_finding",
                "finding_id": row.id,
                "inspection": inst.id,
                "inspection_key": inst.business_key,
                "inspection_kind": kind,
            },
        )
        row.case_instance_id = case.id


INSPECTION_HANDLERS: dict[str, Handler] = {
    "inspection_planned": _planned,
    "inspection_finding": _finding,
}
