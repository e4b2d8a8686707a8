"""Start any deployed procedure (issue 15): one entry for the page 发起 and ``POST /api/v1/processes/<id>/
instances``. Who may start what is the process's ``startable_by`` (``workflows.regulation.startable``); a
built-in procedure keeps its own start rules, so its start is handed to the function its own page and
endpoint call (a written report's forwarding, an office's committee, an organisation department's consult);
any other procedure belongs to the starter's unit (``startable.start_procedure``). Nothing here commits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.cases.services import open_case
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.forms import validate_submission
from workflows.engine.errors import FormInvalid
from workflows.engine.models import ProcessInstance, Task
from workflows.engine.reading import start_form
from workflows.regulation import startable as startables
from workflows.regulation.access import can_work
from workflows.regulation.accountability import CASE_PROCESS
from workflows.regulation.annual import FILING_PROCESS, start_report_filing
from workflows.regulation.consultation import CONSULTATION_PROCESS, requester_committees, start_consultation
from workflows.regulation.inspections import INSPECTION_PROCESS
from workflows.regulation.meetings import MEETING_PROCESS
from workflows.regulation.roles import OrgTree, org_of
from workflows.regulation.starting import office_committees, start_inspection, start_meeting

Starter = Callable[[Engine, Actor, Mapping[str, Any], str | None], ProcessInstance]


def _open_case(
    engine: Engine, actor: Actor, data: Mapping[str, Any], unit_code: str | None
) -> ProcessInstance:
    return open_case(engine, actor, unit_code or "", data)


def _file_report(
    engine: Engine, actor: Actor, data: Mapping[str, Any], unit_code: str | None
) -> ProcessInstance:
    """Art. 15: a member unit reports (报送-2026-411302-M02-0001); no start form, the report is its first
    step; the unit is the member unit the reporter works at (the one named if several)."""
    procedure = startables.find(engine, FILING_PROCESS)
    validate_submission(None, data)
    unit = startables.owner_unit(org_of(engine), actor, procedure, unit_code)
    if unit is None:
        raise FormInvalid({"unit_code": [startables.UNIT_REQUIRED]}, {"unit_code": [("unit", None)]})
    return start_report_filing(engine, unit, actor)


#: The built-in procedures a person starts, each by the function its own page and endpoint call.
BUILT_IN: dict[str, Starter] = {
    CASE_PROCESS: _open_case,  # unit_code: the unit the report is about (Art. 38), forwarded if need be
    INSPECTION_PROCESS: start_inspection,  # unit_code: the office's committee (Art. 18)
    MEETING_PROCESS: start_meeting,  # unit_code: the office's committee (Art. 24, 25, 7(2))
    CONSULTATION_PROCESS: start_consultation,  # unit_code: the organisation department's level (Art. 23)
    FILING_PROCESS: _file_report,  # unit_code: the reporting member unit (Art. 15); no page of its own
}
#: Their own pages (the page 发起 links there: a case's unit picker, an office's committee …).
BUILT_IN_PAGES = {
    CASE_PROCESS: "cases.new_case",
    INSPECTION_PROCESS: "supervision.start_page",
    MEETING_PROCESS: "supervision.start_page",
    CONSULTATION_PROCESS: "consultations.start_page",
}
#: What ``unit_code`` means when starting each (the API says so per procedure).
UNIT_MEANING = {CASE_PROCESS: "subject"}  # any other: the unit the instance belongs to, one of ``units``


@dataclass(frozen=True)
class Offer:
    """A procedure as the caller may start it: the deployed procedure, its start form, the units it may
    belong to for this caller (empty for a case: its unit is the one the report is about)."""

    procedure: startables.Startable
    start_form: dict[str, Any] | None
    units: list[str]
    unit_meaning: str  # "subject" | "owner"
    built_in: bool


def made_procedures(engine: Engine) -> dict[str, str]:
    """The startable procedures that are not the regulation's own (designer-made, Art. 42), id → name: the
    inbox's and the case list's procedure filters offer them beside the built-in ones."""
    return {s.process_id: s.name for s in startables.catalog(engine) if s.process_id not in BUILT_IN}


def units_for(org: OrgTree, actor: Actor, procedure: startables.Startable) -> list[str]:
    pid = procedure.process_id
    if pid == CASE_PROCESS:
        return []
    if pid in (INSPECTION_PROCESS, MEETING_PROCESS):
        return office_committees(org, actor)
    if pid == CONSULTATION_PROCESS:
        return requester_committees(org, actor)
    return startables.starter_units(org, actor, procedure)


def offers(engine: Engine, actor: Actor) -> list[Offer]:
    """What ``actor`` may start, newest versions, with start forms and units."""
    org = org_of(engine)
    return [
        Offer(
            s,
            start_form(engine, s.process_id),
            units_for(org, actor, s),
            UNIT_MEANING.get(s.process_id, "owner"),
            s.process_id in BUILT_IN,
        )
        for s in startables.startable_for(engine, actor)
    ]


def offer(engine: Engine, actor: Actor, process_id: str) -> Offer:
    """One procedure ``actor`` may start (``NotFound`` / ``NotAuthorized`` otherwise)."""
    s = startables.allowed(engine, actor, process_id)
    return Offer(
        s,
        start_form(engine, process_id),
        units_for(org_of(engine), actor, s),
        UNIT_MEANING.get(process_id, "owner"),
        process_id in BUILT_IN,
    )


def start_any(
    engine: Engine, actor: Actor, process_id: str, data: Mapping[str, Any], unit_code: str | None = None
) -> ProcessInstance:
    """Start ``process_id`` for ``actor``: unknown or not startable → ``NotFound``; none of its roles →
    ``NotAuthorized``; a built-in procedure by its own start function (its rules hold, e.g. a report is
    forwarded to the competent office); any other for the starter's unit."""
    procedure = startables.allowed(engine, actor, process_id)
    starter = BUILT_IN.get(process_id)
    if starter is not None:
        return starter(engine, actor, data, unit_code)
    return startables.start_procedure(engine, actor, procedure, data, unit_code)


def first_tasks(engine: Engine, actor: Actor, inst: ProcessInstance) -> tuple[list[Task], list[Task]]:
    """The instance's ready tasks, and those of them ``actor`` may work (where a page takes the starter)."""
    ready = engine.ready_tasks(inst.id)
    return ready, [t for t in ready if can_work(actor, t)]
