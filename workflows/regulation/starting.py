"""What a committee's office starts at any time: an inspection (Art. 18, O18.1) or a meeting (Art. 24, 25,
7(2)). One rule for the page 发起督查 / 召开会议 and for ``POST /api/v1/inspections`` / ``/meetings``:

* the starter is an office director or clerk (``office_director`` / ``office_staff``) of a city or a county —
  a committee's office; the instance belongs to that committee's unit;
* the start data is checked against the process's start form (``forms/inspection_start.json``,
  ``forms/meeting_start.json``), as a case's report is;
* business keys count per kind, year and committee: 督查-2026-411302-0001, 会议-2026-411302-0001.

Plain functions; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.counters import next_business_key
from workflows.engine.deploy.forms import validate_submission
from workflows.engine.errors import FormInvalid, NotAuthorized
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import ProcessInstance
from workflows.engine.reading import start_form
from workflows.regulation import intake
from workflows.regulation.inspections import INSPECTION_PROCESS
from workflows.regulation.meetings import COMMITTEE_LEVELS, MEETING_PROCESS
from workflows.regulation.roles import OrgTree, org_of

KEY_LABELS = {INSPECTION_PROCESS: "督查", MEETING_PROCESS: "会议"}


def office_committees(org: OrgTree, actor: Actor) -> list[str]:
    """The committees (city or county units) whose office ``actor`` works at, sorted by code."""
    return [code for code in intake.offices_of(org, actor) if org.nodes[code].level in COMMITTEE_LEVELS]


def committee_for(org: OrgTree, actor: Actor, unit_code: str | None) -> str:
    """The committee an office starts for: the one named (it must be one of the actor's offices), or the
    actor's only office."""
    offices = office_committees(org, actor)
    if not offices:
        raise NotAuthorized("only the office of a city or county committee (综治办) may start this")
    if unit_code:
        if unit_code not in offices:
            raise NotAuthorized(f"you do not work at the office of {unit_code}")
        return unit_code
    if len(offices) > 1:
        raise FormInvalid(
            {"unit_code": ["required: you work at several offices"]}, {"unit_code": [("unit", None)]}
        )
    return offices[0]


def numbered_key(session: Session, process_id: str, year: int, unit_code: str) -> str:
    """督查-2026-411302-0001: the next number of this kind, year and committee, from its counter row taken
    under lock in the caller's transaction (two starts at once never share a number; issue 16)."""
    return next_business_key(session, process_id, f"{KEY_LABELS[process_id]}-{year}-{unit_code}-")


def _start(
    engine: Engine, process_id: str, actor: Actor, data: Mapping[str, Any], unit_code: str | None
) -> ProcessInstance:
    org = org_of(engine)
    committee = committee_for(org, actor, unit_code)
    clean = validate_submission(start_form(engine, process_id), data)
    year = to_cst(engine.now()).year
    return engine.start(
        process_id,
        business_key=numbered_key(engine.session, process_id, year, committee),
        unit_code=committee,
        data={**clean, "year": year},
        actor=actor,
    )


def start_inspection(
    engine: Engine, actor: Actor, data: Mapping[str, Any], unit_code: str | None = None
) -> ProcessInstance:
    """Art. 18 (O18.1): a special, unannounced or patrol inspection; the office director plans it next."""
    return _start(engine, INSPECTION_PROCESS, actor, data, unit_code)


def start_meeting(
    engine: Engine, actor: Actor, data: Mapping[str, Any], unit_code: str | None = None
) -> ProcessInstance:
    """Art. 24, 25, 7(2): a meeting of the kind given; its record is the next step."""
    return _start(engine, MEETING_PROCESS, actor, data, unit_code)
