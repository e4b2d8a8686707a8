"""Personal measures per leader (Art. 32, 39; O32.1, O39.1): each leader named in a case gets their own
proposal, referred by cadre authority, with the outcome recorded per leader and per measure.

Art. 32 lists the measures a leader may face besides the unit's (引咎辞职, 责令辞职, 免职; party and
government discipline for violations of discipline or law; criminal liability for a crime); Art. 39 says
the organisation-personnel departments and the discipline inspection and supervision organs handle them
"按照管理权限和程序" — by cadre authority: the departments one level above the case's unit (``…@upper``).

* ``personal_measures_proposed`` (stated by the case, ``accountability_case``, at intake or on a new
  finding at any level: ``record("personal_measures_proposed", leaders=personal_measures, level=level)``)
  → one ``personal_measure`` row and one ``accountability_referral`` instance per leader, a child of the
  case (``追责-2026-0001-个人1``). Several measures may apply to one leader; the referral sends those of
  the organisation side to ``organization_personnel@upper`` and the disciplinary ones and the transfer to
  judicial organs to ``discipline_supervision@upper``, in parallel when both apply.
* ``personal_measure_decided`` (the referral, once per authority) → that authority's outcome per measure
  on the row: adopted or not (with the reason), decision date, document number, the receiving judicial
  organ; who recorded it and when. One ``personal_measure`` event per measure goes on the case's working
  file.
* ``personal_measure_concluded`` (the referral, after the office filed it) → the row is closed; the
  case's working file says so.

Contract with ``bpmn/accountability_referral.bpmn`` and its forms: the referral starts with the data of
:func:`_referral_data`; ``personal_measure_decided`` carries ``authority`` and the parallel lists
``measures``, ``decisions``, ``decided_on``, ``document_no``, ``reasons``, ``receiving_organs`` (record
details are scalars or lists of scalars). Handlers never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, func, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock
from workflows.engine.models import Base, InstanceEvent, ProcessInstance
from workflows.engine.parts import Handler
from workflows.engine.records import Record
from workflows.regulation.roles import org_of

REFERRAL_PROCESS = "accountability_referral"
ORGANIZATION = "organization_personnel"  # 组织人事部门 (the lane's role)
DISCIPLINE = "discipline_supervision"  # 纪检监察机关


@dataclass(frozen=True)
class Measure:
    zh: str
    en: str
    authority: str


# Art. 32, 39. The order is the order shown and recorded.
MEASURES: dict[str, Measure] = {
    "resignation": Measure("引咎辞职", "Resignation to take responsibility", ORGANIZATION),
    "ordered_resignation": Measure("责令辞职", "Ordered resignation", ORGANIZATION),
    "removal": Measure("免职", "Removal from office", ORGANIZATION),
    "party_discipline": Measure("党纪处分", "Party discipline", DISCIPLINE),
    "government_discipline": Measure("政务处分", "Government discipline", DISCIPLINE),
    "judicial_transfer": Measure("移送司法机关", "Transfer to judicial organs", DISCIPLINE),
}
AUTHORITIES: dict[str, tuple[str, str]] = {
    ORGANIZATION: ("组织人事部门", "Organisation and personnel department"),
    DISCIPLINE: ("纪检监察机关", "Discipline inspection and supervision organ"),
}
# The referral's form field each authority fills (forms/referral_organization.json, referral_discipline.json).
OUTCOME_FIELDS = {ORGANIZATION: "organization_outcomes", DISCIPLINE: "discipline_outcomes"}
RESPONSIBILITIES = ("principal_leader", "in_charge_leader", "other_responsible")
DECISIONS: dict[str, tuple[str, str]] = {
    "adopted": ("采纳", "Adopted"),
    "not_adopted": ("不予采纳", "Not adopted"),
}
STATUSES: dict[str, tuple[str, str]] = {
    "referred": ("办理中", "Being handled"),
    "decided": ("已作出处理，待归档", "Decided, to be filed"),
    "concluded": ("已办结", "Concluded"),
}


class PersonalMeasure(Base):
    """One leader's proposal in one case (Art. 32, 39): what was proposed, by whom, at which level, and what
    each authority decided, when, under which document."""

    __tablename__ = "personal_measure"
    __table_args__ = (UniqueConstraint("case_instance_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    referral_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 个人1, 个人2 … within the case
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    # The level whose departments have cadre authority (管理权限): one above the case's unit.
    authority_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    leader_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    responsibility: Mapped[str] = mapped_column(String(30))  # principal_leader | in_charge_leader | other_…
    measures: Mapped[list[Any]]  # codes of MEASURES
    facts: Mapped[str] = mapped_column(Text)
    proposed_level: Mapped[str | None] = mapped_column(String(30))  # intake | notification | … | veto
    proposed_at: Mapped[datetime]
    proposed_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # referred | decided | concluded
    # {authority: {"decided_by", "recorded_at", "measures": {code: {"decision", "decided_on", "document_no",
    #  "reason", "receiving_organ"}}}}
    outcome: Mapped[dict[str, Any]]
    decided_at: Mapped[datetime | None]  # when the last authority recorded its outcome
    concluded_at: Mapped[datetime | None]  # filed by the office
    concluded_by: Mapped[str | None] = mapped_column(String(64))

    @property
    def authorities(self) -> list[str]:
        """The authorities this proposal goes to, organisation side first."""
        needed = {MEASURES[m].authority for m in self.measures if m in MEASURES}
        return [a for a in AUTHORITIES if a in needed]

    @property
    def lines(self) -> list[dict[str, Any]]:
        """One line per proposed measure, in the order proposed, for the case page: its titles, the
        authority handling it, and its recorded outcome (``None`` while pending)."""
        lines = []
        for code in self.measures:
            measure = MEASURES.get(code)
            if measure is None:
                continue
            given = (self.outcome or {}).get(measure.authority, {})
            result = given.get("measures", {}).get(code)
            lines.append(
                {
                    "measure": code,
                    "title": (measure.zh, measure.en),
                    "authority": measure.authority,
                    "authority_title": AUTHORITIES[measure.authority],
                    "result": result,
                    "decision_title": DECISIONS.get(result["decision"]) if result else None,
                    "decided_by": given.get("decided_by") if result else None,
                }
            )
        return lines

    @property
    def status_title(self) -> tuple[str, str]:
        return STATUSES.get(self.status, (self.status, self.status))


def measures_for(authority: str, measures: Sequence[str]) -> list[str]:
    return [m for m in measures if m in MEASURES and MEASURES[m].authority == authority]


def personal_measures_of(session: Session, case_instance_id: int) -> list[PersonalMeasure]:
    """The proposals of a case in the order made (for a referral instance: its own proposal)."""
    query = (
        select(PersonalMeasure)
        .where(
            or_(
                PersonalMeasure.case_instance_id == case_instance_id,
                PersonalMeasure.referral_instance_id == case_instance_id,
            )
        )
        .order_by(PersonalMeasure.case_instance_id, PersonalMeasure.seq)
    )
    return list(session.scalars(query))


# -- proposal ------------------------------------------------------------------------------------------------
def _clean_leaders(leaders: Any, facts: Any = None) -> list[dict[str, Any]]:
    """The proposal as the case stated it, checked; :class:`FormInvalid` keyed like the case's form field.
    A leader without facts of their own takes the proposal's (``facts=`` of the record), if any."""
    field = "personal_measures"
    if not isinstance(leaders, list) or not leaders:
        message = "name at least one leader and the measures proposed"
        raise FormInvalid({field: [message]}, {field: [("minItems", 1)]})
    errors: dict[str, list[str]] = {}
    clean: list[dict[str, Any]] = []
    for i, leader in enumerate(leaders):
        at = f"{field}/{i}"
        if not isinstance(leader, Mapping):
            errors[at] = ["a leader is an object"]
            continue
        item: dict[str, Any] = {k: str(leader.get(k) or "").strip() for k in ("name", "position", "facts")}
        item["facts"] = item["facts"] or str(facts or "").strip()
        for key, value in item.items():
            if not value:
                errors[f"{at}/{key}"] = ["required"]
        responsibility = leader.get("responsibility")
        if responsibility not in RESPONSIBILITIES:
            errors[f"{at}/responsibility"] = [f"one of {', '.join(RESPONSIBILITIES)}"]
        measures = leader.get("measures")
        if not isinstance(measures, list) or not measures:
            errors[f"{at}/measures"] = ["at least one measure"]
        elif any(m not in MEASURES for m in measures) or len(set(measures)) != len(measures):
            errors[f"{at}/measures"] = [f"distinct codes of {', '.join(MEASURES)}"]
        else:
            item["measures"] = [m for m in MEASURES if m in measures]  # canonical order
        item["responsibility"] = responsibility
        clean.append(item)
    if errors:
        raise FormInvalid(errors)
    return clean


def _actor_of(engine: Engine, inst: ProcessInstance, kind: str) -> Actor:
    """Who stated the fact: the engine wrote it to the instance's working file just before the handler."""
    user = engine.session.scalar(
        select(InstanceEvent.actor)
        .where(InstanceEvent.instance_id == inst.id, InstanceEvent.kind == kind)
        .order_by(InstanceEvent.id.desc())
        .limit(1)
    )
    return Actor(user) if user else SYSTEM


def _referral_data(row: PersonalMeasure, case: ProcessInstance) -> dict[str, Any]:
    return {
        "personal_measure_id": row.id,
        "case_instance_id": case.id,
        "case_key": case.business_key,
        "leader_name": row.leader_name,
        "leader_position": row.position,
        "leader_responsibility": row.responsibility,
        "measures": list(row.measures),
        "facts": row.facts,
        "proposed_level": row.proposed_level,
    }


def _propose(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """One row and one referral per leader, children of the case (Art. 32, 39)."""
    leaders = _clean_leaders(rec.detail.get("leaders"), rec.detail.get("facts"))
    session = engine.session
    actor = _actor_of(engine, inst, rec.kind)
    level = rec.detail.get("level") or (inst.summary or {}).get("level")
    authority_code = org_of(engine).upper(inst.unit_code)
    seq = session.scalar(
        select(func.max(PersonalMeasure.seq)).where(PersonalMeasure.case_instance_id == inst.id)
    )
    for leader in leaders:
        seq = (seq or 0) + 1
        row = PersonalMeasure(
            case_instance_id=inst.id,
            seq=seq,
            unit_code=inst.unit_code,
            authority_code=authority_code,
            leader_name=leader["name"],
            position=leader["position"],
            responsibility=leader["responsibility"],
            measures=leader["measures"],
            facts=leader["facts"],
            proposed_level=str(level) if level else None,
            proposed_at=clock.now(),
            proposed_by=actor.user_id,
            status="referred",
            outcome={},
        )
        session.add(row)
        session.flush()
        referral = engine.start(
            REFERRAL_PROCESS,
            business_key=f"{inst.business_key}-个人{seq}",
            unit_code=inst.unit_code,
            data=_referral_data(row, inst),
            actor=actor,
            parent_instance_id=inst.id,
        )
        row.referral_instance_id = referral.id


# -- outcome -------------------------------------------------------------------------------------------------
def _row_of(session: Session, referral: ProcessInstance) -> PersonalMeasure | None:
    return session.scalar(select(PersonalMeasure).where(PersonalMeasure.referral_instance_id == referral.id))


def _column(detail: Mapping[str, Any], key: str, n: int) -> list[Any]:
    values = detail.get(key)
    values = list(values) if isinstance(values, list) else []
    return values + [None] * (n - len(values))


def _entries(rec: Record, row: PersonalMeasure, authority: str) -> dict[str, dict[str, Any]]:
    """The outcome per measure, checked against what was proposed to this authority: every measure it
    handles gets exactly one outcome, and none it was not asked about (the form cannot know the proposal)."""
    d = rec.detail
    measures = list(d.get("measures") or [])
    n = len(measures)
    columns = {
        key: _column(d, key, n)
        for key in ("decisions", "decided_on", "document_no", "reasons", "receiving_organs")
    }
    expected = measures_for(authority, row.measures)
    field = OUTCOME_FIELDS.get(authority, "outcomes")
    if sorted(measures) != sorted(expected):
        titles = "、".join(MEASURES[m].zh for m in expected)
        raise FormInvalid(
            {field: [f"record one outcome for each measure proposed to this authority: {titles}"]},
            {field: [("enum", expected)]},
        )
    entries: dict[str, dict[str, Any]] = {}
    for i, code in enumerate(measures):
        entry = {
            "decision": columns["decisions"][i],
            "decided_on": columns["decided_on"][i],
            "document_no": columns["document_no"][i] or None,
            "reason": columns["reasons"][i] or None,
            "receiving_organ": columns["receiving_organs"][i] or None,
        }
        if entry["decision"] not in DECISIONS:
            raise FormInvalid({f"{field}/{i}/decision": ["adopted or not_adopted"]})
        entries[code] = {k: v for k, v in entry.items() if v is not None}
    return entries


def _case_of(engine: Engine, row: PersonalMeasure) -> ProcessInstance:
    return engine.get_instance(row.case_instance_id)


def _decided(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """An authority's outcome for this leader (Art. 39, O39.1) on the row and on the case's working file."""
    row = _row_of(engine.session, inst)
    if row is None:
        return  # not started by a proposal (an old call from a case): the referral's own file keeps it
    authority = str(rec.detail.get("authority"))
    if authority not in AUTHORITIES:
        raise ValueError(f"unknown authority {authority!r} in personal_measure_decided")
    entries = _entries(rec, row, authority)
    actor = _actor_of(engine, inst, rec.kind)
    now = clock.now()
    outcome = dict(row.outcome or {})
    outcome[authority] = {"decided_by": actor.user_id, "recorded_at": now.isoformat(), "measures": entries}
    row.outcome = outcome
    if all(a in outcome for a in row.authorities):
        row.status, row.decided_at = "decided", now
    case = _case_of(engine, row)
    for code, entry in entries.items():
        engine.event(
            case,
            actor,
            "personal_measure",
            detail={
                "step": "decided",
                "leader": row.leader_name,
                "position": row.position,
                "authority": authority,
                "measure": code,
                **entry,
                "referral": inst.business_key,
                "article": "Art. 39 (O39.1)",
            },
        )


def _concluded(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """The office filed the outcome (Art. 32, O32.1): the proposal is closed."""
    row = _row_of(engine.session, inst)
    if row is None:
        return
    actor = _actor_of(engine, inst, rec.kind)
    row.status, row.concluded_at, row.concluded_by = "concluded", clock.now(), actor.user_id
    engine.event(
        _case_of(engine, row),
        actor,
        "personal_measure",
        detail={
            "step": "concluded",
            "leader": row.leader_name,
            "position": row.position,
            "measures": list(row.measures),
            "referral": inst.business_key,
            "article": "Art. 32 (O32.1)",
        },
    )


PERSONAL_MEASURE_HANDLERS: dict[str, Handler] = {
    "personal_measures_proposed": _propose,
    "personal_measure_decided": _decided,
    "personal_measure_concluded": _concluded,
}
