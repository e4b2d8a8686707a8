"""Promotion consultation (征求意见, Art. 23, O23.1) and the sanction rule it enforces (Art. 35 para 4, O35.3;
Art. 37).

Before 任前考察 (pre-appointment review), 晋职晋级 (promotion) or a comprehensive award for a party or
government principal leader or an in-charge leader, the organisation/personnel department of a city or county
sends a written consultation to the governance office *of the same level*: the instance belongs to that
level's unit (the committee), the cadre's unit (``cadre_unit_code``) is data and must lie below it.

``bpmn/promotion_consultation.bpmn``: the request (``forms/consultation_request.json``) → a script states the
sanctions in force for the cadre's unit (helper ``sanctions_in_force``) → the office director answers
(``forms/consultation_answer.json``) within ``answer_days`` PRC working days (5 unless the request sets
another) → ``record("consultation_answered", …)``. This module:

* :func:`start_consultation` — who may start (``organization_personnel`` at a city or county), the start form,
  the business key 征求意见-2026-411302-0001;
* the handler of ``consultation_answered`` — while the cadre's unit is listed (Art. 35) or in a veto's year
  (Art. 37) the answer must be 不同意 or 暂缓 unless an override reason is recorded; otherwise the completion
  is refused (:class:`FormInvalid` on ``answer``, naming the article and the decision). The consultation, the
  answer, its reasons and the sanctions cited go into the cadre's performance record (Art. 22, 23);
* :func:`consultation_rows` — the list the page and ``GET /api/v1/consultations`` show.

Plain functions; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.counters import next_business_key
from workflows.engine.deploy.forms import validate_submission
from workflows.engine.errors import FormInvalid, NotAuthorized
from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.engine.parts import Handler
from workflows.engine.reading import start_form
from workflows.engine.records import Record
from workflows.regulation.accountability import active_sanctions
from workflows.regulation.cadre_record import add_entry
from workflows.regulation.document_reading import decision_number
from workflows.regulation.models import Sanction
from workflows.regulation.people import Person
from workflows.regulation.roles import OrgTree, org_of

CONSULTATION_PROCESS = "promotion_consultation"
KEY_LABEL = "征求意见"
ANSWER_TASK = "answer_consultation"
REQUESTER_ROLE = "organization_personnel"
COMMITTEE_LEVELS = ("city", "county")
DEFAULT_ANSWER_DAYS = 5
PURPOSES = {"pre_appointment": "任前考察", "promotion": "晋职晋级", "award": "综合性奖励"}
ANSWERS = {"agree": "同意", "disagree": "不同意", "defer": "暂缓"}
#: Answers the sanctions allow without an override reason (Art. 35 para 4; Art. 37).
ALLOWED_WHILE_SANCTIONED = ("disagree", "defer")
SANCTION_NAMES = {"listing": "挂牌督办", "veto": "一票否决"}
#: Who sees the consultations of a committee: its organisation department, office and committee.
READER_ROLES = frozenset(
    {REQUESTER_ROLE, "office_director", "office_staff", "committee_director", "supervisor", "admin"}
)


SANCTION_DOCUMENTS = {"listing": "listing_decision", "veto": "veto_decision"}


# -- the sanction check ---------------------------------------------------------------------------------
def _decision_no(session: Session, row: Sanction) -> str | None:
    """The number of the document that issued the sanction's decision (挂牌督办决定书, 一票否决决定)."""
    return decision_number(session, row.instance_id, SANCTION_DOCUMENTS.get(row.kind, ""))


def sanctions_in_force(session: Session, unit_code: str, at: datetime) -> list[dict[str, Any]]:
    """Plain JSON facts of the sanctions in force for ``unit_code`` at ``at``: kind, article, start and
    (veto) end, the decision's document number, the case's number."""
    facts = []
    for row in active_sanctions(session, unit_code, at):
        inst = session.get(ProcessInstance, row.instance_id)
        facts.append(
            {
                "kind": row.kind,
                "name": SANCTION_NAMES.get(row.kind, row.kind),
                "article": row.article,
                "start_at": to_cst(row.start_at).isoformat(),
                "end_at": to_cst(row.end_at).isoformat() if row.end_at else None,
                "document_no": _decision_no(session, row),
                "case_key": inst.business_key if inst else None,
                "year": row.year,
            }
        )
    return facts


def citation(facts: Sequence[Mapping[str, Any]]) -> str:
    """挂牌督办（Art. 35，追责-2026-0001，宛综治〔2026〕3号）; …"""
    parts = []
    for f in facts:
        refs = [str(f["article"])] + [str(f[k]) for k in ("case_key", "document_no") if f.get(k)]
        parts.append(f"{f.get('name') or f['kind']}（{'，'.join(refs)}）")
    return "；".join(parts)


def consultation_helpers(session: Session | None) -> dict[str, Callable[..., Any]]:
    """``sanctions_in_force(unit_code)`` for scripts: the sanctions in force now (the engine's clock)."""

    def in_force(unit_code: str) -> list[dict[str, Any]]:
        if session is None:
            raise RuntimeError("sanctions_in_force needs the engine's database session (build_engine)")
        return sanctions_in_force(session, str(unit_code), clock.now())

    return {"sanctions_in_force": in_force}


# -- starting -------------------------------------------------------------------------------------------
def requester_committees(org: OrgTree, actor: Actor) -> list[str]:
    """The cities and counties whose organisation department ``actor`` works at, by code."""
    return sorted(
        code
        for role, code in actor.grants
        if role == REQUESTER_ROLE and code in org.nodes and org.nodes[code].level in COMMITTEE_LEVELS
    )


def _refuse(field: str, message: str, code: str = "invalid", value: object = None) -> FormInvalid:
    return FormInvalid({field: [message]}, {field: [(code, value)]})


def numbered_key(session: Session, year: int, committee: str) -> str:
    """征求意见-2026-411302-0001: the next number of this year and committee (a counter row under lock)."""
    return next_business_key(session, CONSULTATION_PROCESS, f"{KEY_LABEL}-{year}-{committee}-")


def start_consultation(
    engine: Engine, actor: Actor, data: Mapping[str, Any], unit_code: str | None = None
) -> ProcessInstance:
    """Art. 23 (O23.1): the organisation department of a city or county consults its level's office about a
    cadre of a unit below it; the office director answers next."""
    org = org_of(engine)
    committees = requester_committees(org, actor)
    if not committees:
        raise NotAuthorized("only the organisation/personnel department of a city or county may consult")
    if unit_code and unit_code not in committees:
        raise NotAuthorized(f"you do not work at the organisation department of {unit_code}")
    if not unit_code and len(committees) > 1:
        raise _refuse("unit_code", "required: you work at several organisation departments", "unit")
    committee = unit_code or committees[0]
    clean = validate_submission(start_form(engine, CONSULTATION_PROCESS), data)
    cadre_unit = str(clean["cadre_unit_code"])
    if cadre_unit not in org.subtree({committee}) - {committee}:
        raise _refuse(
            "cadre_unit_code", f"not a unit under {org.nodes[committee].name}: {cadre_unit}", "unit"
        )
    person_id = clean.get("person_id")
    if person_id is not None and engine.session.get(Person, person_id) is None:
        raise _refuse("person_id", f"no person {person_id} in the people register")
    year = to_cst(engine.now()).year
    return engine.start(
        CONSULTATION_PROCESS,
        business_key=numbered_key(engine.session, year, committee),
        unit_code=committee,
        data={"person_id": None, "answer_days": DEFAULT_ANSWER_DAYS, **clean, "year": year},
        actor=actor,
    )


# -- the answer -----------------------------------------------------------------------------------------
def _answered_by(session: Session, inst: ProcessInstance) -> str:
    row = session.scalars(
        select(Task)
        .where(Task.instance_id == inst.id, Task.element_id == ANSWER_TASK, Task.state == "completed")
        .order_by(Task.completed_at.desc(), Task.id.desc())
    ).first()
    return (row.completed_by if row else None) or "system"


def _answered(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Art. 35 para 4 / Art. 37 at the instant of the answer, then the cadre's record (Art. 22, 23)."""
    d = rec.detail
    answer, override = str(d["answer"]), str(d.get("override_reason") or "").strip()
    cadre_unit = str(d["cadre_unit_code"])
    facts = sanctions_in_force(engine.session, cadre_unit, clock.now())
    if facts and answer not in ALLOWED_WHILE_SANCTIONED and not override:
        articles = "、".join(sorted({str(f["article"]) for f in facts}))
        raise _refuse(
            "answer",
            f"{articles}: {cadre_unit} is under {citation(facts)}; answer 不同意 or 暂缓, "
            "or record override_reason",
            "enum",
        )
    purpose = str(d["purpose"])
    add_entry(
        engine.session,
        unit_code=cadre_unit,
        person_id=int(d["person_id"]) if d.get("person_id") is not None else None,
        kind="consultation",
        title=f"{PURPOSES.get(purpose, purpose)}征求意见：{d.get('cadre_name')}（{d.get('post')}），"
        f"答复{ANSWERS.get(answer, answer)}",
        source="consultation",
        source_id=inst.id,
        document_no=str(d.get("document_no") or "") or None,
        detail={
            "purpose": purpose,
            "answer": answer,
            "reasons": str(d.get("reasons") or ""),
            "override_reason": override or None,
            "sanctions": facts,
            "citation": citation(facts) if facts else None,
            "business_key": inst.business_key,
            "committee_code": inst.unit_code,
            "cadre_name": d.get("cadre_name"),
            "post": d.get("post"),
        },
        added_by=_answered_by(engine.session, inst),
    )


CONSULTATION_HANDLERS: dict[str, Handler] = {"consultation_answered": _answered}


# -- reading --------------------------------------------------------------------------------------------
def visible_committees(org: OrgTree, actor: Actor) -> set[str]:
    """Committees whose consultations ``actor`` may see: held reader roles at them or above them."""
    held = {code for role, code in actor.grants if role in READER_ROLES and code in org.nodes}
    return {c for c in org.subtree(held) if org.nodes[c].level in COMMITTEE_LEVELS}


def consultation_rows(session: Session, org: OrgTree, actor: Actor, limit: int = 200) -> list[dict[str, Any]]:
    """The consultations of the committees ``actor`` may see, newest first, as plain rows."""
    committees = visible_committees(org, actor)
    if not committees:
        return []
    instances = list(
        session.scalars(
            select(ProcessInstance)
            .where(
                ProcessInstance.process_id == CONSULTATION_PROCESS, ProcessInstance.unit_code.in_(committees)
            )
            .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc())
            .limit(limit)
        )
    )
    facts: dict[tuple[int, str], dict[str, Any]] = {}
    if instances:
        events = session.scalars(
            select(InstanceEvent)
            .where(
                InstanceEvent.instance_id.in_([i.id for i in instances]),
                InstanceEvent.kind.in_(["consultation_requested", "consultation_answered"]),
            )
            .order_by(InstanceEvent.id)
        )
        facts = {(e.instance_id, e.kind): dict(e.detail or {}) for e in events}
    rows = []
    for inst in instances:
        asked = facts.get((inst.id, "consultation_requested"), {})
        answered = facts.get((inst.id, "consultation_answered"), {})
        unit = str(asked.get("cadre_unit_code") or "")
        rows.append(
            {
                "id": inst.id,
                "business_key": inst.business_key,
                "committee_code": inst.unit_code,
                "status": inst.status,
                "requested_at": inst.created_at,
                "cadre_name": asked.get("cadre_name"),
                "post": asked.get("post"),
                "person_id": asked.get("person_id"),
                "cadre_unit_code": unit,
                "cadre_unit_name": org.nodes[unit].name if unit in org.nodes else unit,
                "purpose": asked.get("purpose"),
                "document_no": asked.get("document_no"),
                "answer_due": asked.get("answer_due"),
                "blocked": bool(asked.get("blocked")),
                "answer": answered.get("answer"),
                "reasons": answered.get("reasons"),
                "override_reason": answered.get("override_reason") or None,
            }
        )
    return rows
