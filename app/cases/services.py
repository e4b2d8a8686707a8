"""Case services: open a case (Art. 38), read it (level, step, deadlines, tasks, history, sanctions), list
the cases an actor may oversee. Plain functions over the engine and the projection; the caller commits."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, Select, any_, bindparam, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, defer

from app.auth.services import people_named
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.forms import validate_submission
from workflows.engine.errors import FormInvalid, NotAuthorized, NotFound
from workflows.engine.inbox import COLOURS, deadline_status
from workflows.engine.models import InstanceEvent, OrgUnit, ProcessInstance, Task
from workflows.engine.reading import start_form
from workflows.regulation import intake
from workflows.regulation.access import can_read
from workflows.regulation.accountability import CASE_PROCESS, STANDING_STEPS, next_case_key
from workflows.regulation.case_search import matching_ids
from workflows.regulation.dossier import Entry, dossier, is_unit_audience
from workflows.regulation.models import Sanction
from workflows.regulation.personal_measures import personal_measures_of
from workflows.regulation.roles import OrgNode, org_of

LEVELS = ("intake", "notification", "interview", "listing", "veto")


def open_case(engine: Engine, actor: Actor, unit_code: str, report: Mapping[str, Any]) -> ProcessInstance:
    """Open a case on a written report (Art. 38): anyone with an account may report; the office one
    level above the unit registers it (the first task of accountability_intake).

    The report is checked against the case's start form (``forms/case_report.json``), the one definition
    the web page and the API share; ``FormInvalid`` lists every problem by field.

    The case is always opened against the unit the report is about, so it lands at that unit's competent
    office. An office clerk or director whose office is not the competent one received a report that is
    not theirs: it is forwarded, and a ``report_forwarded`` event on the case's working file says who
    received it, which office it went to and when (``workflows.regulation.intake``, O38.1)."""
    if not actor.grants:
        raise NotAuthorized("only registered officials can file a report")
    org = org_of(engine)
    errors: dict[str, list[str]] = {}
    codes: dict[str, list[tuple[str, object]]] = {}
    if unit_code not in org.nodes:
        errors["unit_code"], codes["unit_code"] = ["unknown organisation unit"], [("unit", None)]
    clean: dict[str, Any] = {}
    try:
        clean = validate_submission(start_form(engine, CASE_PROCESS), report)
    except FormInvalid as exc:
        errors.update(exc.errors)
        codes.update(exc.codes)
    if errors:
        raise FormInvalid(errors, codes)
    if intake.registers_itself(org, actor, unit_code, clean):  # one step for the competent office
        clean = {**clean, "registered": True}
    key = next_case_key(engine.session, engine.now().year)
    inst = engine.start(CASE_PROCESS, business_key=key, unit_code=unit_code, data=clean, actor=actor)
    received_by = intake.receiving_office(org, actor, unit_code)
    if received_by is not None:
        intake.forward(engine, org, inst, received_by, actor)
    return inst


@dataclass
class UnitGroup:
    """Units of one level that one office is competent for: one ``<optgroup>`` of the report page's picker."""

    office_code: str
    office_name: str
    level: str
    units: list[OrgNode]


UNIT_LEVEL_ORDER = ("county", "city_direct", "township", "county_direct")


def unit_choices(engine: Engine, actor: Actor) -> list[UnitGroup]:
    """The units the page 登记书面反映 offers (Art. 38): to an office clerk or director, the units their
    office is competent for (a county office: its townships and county departments; the city office: the
    counties and city-direct units); to anyone else, every unit grouped by its competent office. Offices
    in code order (the city first), levels in ``UNIT_LEVEL_ORDER``, units by code."""
    org = org_of(engine)
    offices = [code for code in intake.offices_of(org, actor) if intake.units_in_competence(org, code)]
    if not offices:
        competent = {code: intake.competent_office(org, code) for code in org.nodes}
        offices = sorted({office for code, office in competent.items() if office != code})
    rank = {level: i for i, level in enumerate(UNIT_LEVEL_ORDER)}
    groups: list[UnitGroup] = []
    for office in offices:
        by_level: dict[str, list[OrgNode]] = {}
        for node in intake.units_in_competence(org, office):
            by_level.setdefault(node.level, []).append(node)
        for level in sorted(by_level, key=lambda lv: (rank.get(lv, len(rank)), lv)):
            groups.append(UnitGroup(office, intake.office_name(org, office), level, by_level[level]))
    return groups


def get_case(engine: Engine, actor: Actor, instance_id: int) -> ProcessInstance:
    inst = engine.session.get(ProcessInstance, instance_id)
    if inst is None:  # any instance: accountability cases, annual cycles and their letters alike
        raise NotFound(f"case {instance_id} does not exist")
    if not can_read(engine.session, org_of(engine), actor, inst):
        raise NotAuthorized("this case belongs to a unit outside your organisation")
    return inst


def dialect_of(engine: Engine) -> str:
    return engine.session.get_bind().dialect.name


def county_choices(engine: Engine, actor: Actor) -> list[OrgNode]:
    """The counties the case list's county filter offers: every county to whoever holds a role at the city;
    to anyone else only the counties their roles are in (a county's officials: their own county, by
    ``county_of``; a city-direct unit: none), by code."""
    org = org_of(engine)
    held = {code for _, code in actor.grants if code in org.nodes}
    counties = sorted((n for n in org.nodes.values() if n.level == "county"), key=lambda n: n.code)
    if any(org.nodes[code].level == "city" for code in held):
        return counties
    mine = {org.county_of(code) for code in held}
    return [n for n in counties if n.code in mine]


@dataclass
class CaseFilters:
    level: str | None = None
    status: str | None = None  # running | complete | error
    county: str | None = None
    overdue: bool | None = None
    page: int = 1
    per_page: int = 50
    q: str | None = None  # words searched in the case number, unit, people and facts (case_search)
    hits: list[int] | None = None  # the cases ``q`` matched, when resolved once for a page (search_cases)
    process_id: str = CASE_PROCESS  # or a designer-made procedure (issue 15: 发起), listed the same way


#: Up to this many matches a page's search is resolved once to ids (``search_cases``); beyond, a subquery.
SEARCH_HITS_MAX = 2000


def search_cases(engine: Engine, filters: CaseFilters) -> CaseFilters:
    """The filters with their search run once: the ids of the matching cases, so that a page that counts
    by county, level and status as well as listing (half a dozen queries) searches the index once, not in
    each of them. A search matching more than ``SEARCH_HITS_MAX`` cases stays a subquery."""
    found = matching_ids(dialect_of(engine), filters.q)
    if found is None:
        return filters
    hits = list(engine.session.scalars(found.limit(SEARCH_HITS_MAX + 1)))
    return replace(filters, hits=hits) if len(hits) <= SEARCH_HITS_MAX else filters


def _one_of(engine: Engine, column: InstrumentedAttribute[Any], values: list[Any]) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL ``= ANY`` of one array parameter, which the driver passes as it is,
    rather than hundreds of values it would rewrite into each of a page's half-dozen statements."""
    if dialect_of(engine) == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def cases_query(engine: Engine, actor: Actor, filters: CaseFilters) -> Select[ProcessInstance]:
    """The cases ``actor`` oversees under ``filters``, without their workflow state (a list never needs the
    state JSON, tens of KB a case, which a sort of 10,000 cases would otherwise carry along)."""
    conditions = case_conditions(engine, actor, filters)
    return select(ProcessInstance).options(defer(ProcessInstance.state_json)).where(*conditions)


def list_page(engine: Engine, actor: Actor, filters: CaseFilters) -> list[ProcessInstance]:
    """The page of the list ``filters`` asks for, the most recently changed case first, ties (cases a batch
    changed at the same instant) by id, so pages neither repeat nor skip a case; the sort index holds both.

    Filtered to a county, the county's cases are found first by their units and only they are sorted (two
    materialized CTEs: the cases, then the page of them), joined back by id. Left to the planners, both
    walked the sort index past every newer case of the other counties (issue 17: at 10,000 cases 1.25× on
    SQLite and 1.4× on PostgreSQL the figure at 100; a county of 50 cases walked 9,950 others)."""
    offset = (filters.page - 1) * filters.per_page
    conditions = case_conditions(engine, actor, filters)
    lean = select(ProcessInstance).options(defer(ProcessInstance.state_json))
    if not filters.county or not _materializes(engine):
        query = lean.where(*conditions).order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc())
        return list(engine.session.scalars(query.limit(filters.per_page).offset(offset)))
    found = (
        select(ProcessInstance.id, ProcessInstance.updated_at)
        .where(*conditions)
        .cte("county_cases")
        .prefix_with("MATERIALIZED")
    )
    page = (
        select(found.c.id, found.c.updated_at)
        .order_by(found.c.updated_at.desc(), found.c.id.desc())  # ties in a stable order, page to page
        .limit(filters.per_page)
        .offset(offset)
        .cte("county_page")
        .prefix_with("MATERIALIZED")
    )
    query = lean.join(page, page.c.id == ProcessInstance.id).order_by(
        page.c.updated_at.desc(), page.c.id.desc()
    )
    return list(engine.session.scalars(query))


def _materializes(engine: Engine) -> bool:
    """``WITH … AS MATERIALIZED``: PostgreSQL 12+, SQLite 3.35+."""
    return dialect_of(engine) == "postgresql" or sqlite3.sqlite_version_info >= (3, 35)


def case_conditions(engine: Engine, actor: Actor, filters: CaseFilters) -> list[ColumnElement[bool]]:
    """What :func:`cases_query` asks of a ``process_instance`` row, for the queries that count and group
    rather than list (``app.cases.counts``)."""
    org = org_of(engine)
    units = org.subtree({code for _, code in actor.grants})
    conditions = [ProcessInstance.process_id == filters.process_id]
    if len(units) < len(org.nodes):  # the city oversees every unit: no list to check each case against
        conditions.append(_one_of(engine, ProcessInstance.unit_code, sorted(units)))
    if filters.hits is not None:
        conditions.append(_one_of(engine, ProcessInstance.id, filters.hits))
    elif (found := matching_ids(dialect_of(engine), filters.q)) is not None:
        conditions.append(ProcessInstance.id.in_(found))
    if filters.status:
        conditions.append(ProcessInstance.status == filters.status)
    if filters.county:
        county = sorted(org.subtree({filters.county}))
        conditions.append(_one_of(engine, ProcessInstance.unit_code, county))
    if filters.level:
        conditions.append(ProcessInstance.summary["level"].as_string() == filters.level)
    if filters.overdue is not None:  # an open task past its deadline: the earliest one has passed
        late = ProcessInstance.earliest_due_at < engine.now()
        conditions.append(late if filters.overdue else or_(ProcessInstance.earliest_due_at.is_(None), ~late))
    return conditions


def case_row(
    engine: Engine, inst: ProcessInstance, now: datetime, open_tasks: list[Task] | None = None
) -> dict[str, Any]:
    """What a list shows: unit, county, level, current step(s), nearest deadline and its colour. A list
    passes each case's ``open_tasks`` (:func:`case_rows`, one query a page); a single case queries its own."""
    if open_tasks is None:
        open_tasks = engine.open_tasks(inst)
    dated = [t for t in open_tasks if t.due_at is not None]
    nearest = min(dated, key=lambda t: t.due_at) if dated else None  # type: ignore[arg-type, return-value]
    status = deadline_status(nearest.due_at, nearest.remind_at, now) if nearest else "on_track"
    unit = org_of(engine).nodes.get(inst.unit_code)
    county = org_of(engine).county_of(inst.unit_code)
    return {
        "id": inst.id,
        "business_key": inst.business_key,
        "unit_code": inst.unit_code,
        "unit_name": unit.name if unit else inst.unit_code,
        "county_code": county,
        "county_name": org_of(engine).nodes[county].name if county else None,
        "level": (inst.summary or {}).get("level"),
        "stage": (inst.summary or {}).get("stage"),
        "outcome": (inst.summary or {}).get("outcome"),
        "status": inst.status,
        "steps": [t.name for t in open_tasks if t.element_id not in STANDING_STEPS],
        "due_at": nearest.due_at if nearest else None,
        "due_provisional": bool(nearest and nearest.due_provisional),
        "deadline_status": status,
        "colour": COLOURS[status],
        "created_at": inst.created_at,
        "updated_at": inst.updated_at,
    }


def case_rows(engine: Engine, insts: list[ProcessInstance], now: datetime) -> list[dict[str, Any]]:
    """:func:`case_row` for a page of cases with one query for all their open tasks (not one per row: a
    page costs the same at 100 cases as at 10,000)."""
    by_instance: dict[int, list[Task]] = {inst.id: [] for inst in insts}
    ids = list(by_instance)
    for start in range(0, len(ids), 1000):  # an export's 10,000 cases: bounded IN lists
        open_rows = engine.session.scalars(
            select(Task)
            .where(Task.instance_id.in_(ids[start : start + 1000]), Task.state == "ready")
            .order_by(Task.created_at)
        )
        for task in open_rows:
            by_instance[task.instance_id].append(task)
    return [case_row(engine, inst, now, by_instance[inst.id]) for inst in insts]


def case_detail(engine: Engine, inst: ProcessInstance) -> dict[str, Any]:
    now = engine.now()
    session = engine.session
    row = case_row(engine, inst, now)
    tasks = engine.ready_tasks(inst.id)
    events = session.scalars(
        select(InstanceEvent).where(InstanceEvent.instance_id == inst.id).order_by(InstanceEvent.id)
    )
    sanctions = session.scalars(select(Sanction).where(Sanction.instance_id == inst.id).order_by(Sanction.id))
    summary = inst.summary or {}
    deadlines = [
        {
            "kind": "task",
            "task_id": t.id,
            "name": t.name,
            "due_at": t.due_at,
            "provisional": t.due_provisional,
            "remind_at": t.remind_at,
            "status": deadline_status(t.due_at, t.remind_at, now),
        }
        for t in tasks
        if t.due_at
    ]
    if inst.next_wake_at:
        deadlines.append(
            {
                "kind": "rectification" if summary.get("stage") == "rectification" else "timer",
                "task_id": None,
                "name": "整改期限" if summary.get("stage") == "rectification" else "定时",
                "due_at": inst.next_wake_at,
                "provisional": inst.has_provisional,
                "remind_at": None,
                "status": deadline_status(inst.next_wake_at, None, now),
            }
        )
    return {
        **row,
        "tasks": tasks,
        "deadlines": deadlines,
        "history": list(events),
        "sanctions": list(sanctions),
        "personal_measures": personal_measures_of(session, inst.id),
        "version_id": inst.version_id,
    }


def unit_exists(session: Session, code: str) -> bool:
    return session.get(OrgUnit, code) is not None


@dataclass
class CaseFile:
    """What a page shows of a case's file for the reader: the dossier (案卷) for their audience, the working
    file (办理记录) unless they are the unit under supervision, and how to name people and steps."""

    entries: list[Entry]
    history: list[InstanceEvent]
    unit_view: bool
    names: dict[str, str]
    steps: dict[str, str]


def case_file(engine: Engine, actor: Actor, inst: ProcessInstance) -> CaseFile:
    session = engine.session
    unit_view = is_unit_audience(org_of(engine), actor, inst)
    forms = engine.specs.get(session, inst.version_id).forms
    entries = dossier(session, inst, forms, unit_view=unit_view)
    events = (
        select(InstanceEvent).where(InstanceEvent.instance_id == inst.id).order_by(InstanceEvent.id.desc())
    )
    history = [] if unit_view else list(session.scalars(events))
    steps = {t.element_id: t.name for t in session.scalars(select(Task).where(Task.instance_id == inst.id))}
    actors = {e.actor for e in entries} | {e.actor for e in history}
    return CaseFile(entries, history, unit_view, people_named(session, actors, engine.now()), steps)
