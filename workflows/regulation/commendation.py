"""Commendation (Art. 26–30, O27.1, O29.1) with Art. 35 para 4 (O35.3) and Art. 37 enforced at the step.

One instance per committee and year (``表彰-2026-411300``), started by its office
(:func:`start_commendation`).
The diagram (``bpmn/commendation.bpmn``) says when; this module says what it means:

* ``commendation_nominated``: every nomination is checked against the sanctions in force
  (:func:`workflows.regulation.accountability.active_sanctions`). A listed unit gets no comprehensive honour
  and its principal or in-charge leaders no commendation (Art. 35 para 4); a vetoed unit, in the veto's
  year, nothing (Art. 37, 宛办〔2009〕28号). A refusal is a :class:`FormInvalid` keyed
  ``nominations/N/unit_code`` citing the article and the case's business key — the office's step fails and
  nothing is stored.
* ``commendation_decided``: the same check again (a unit may have been listed meanwhile), then one
  :class:`CommendationAward` per approved nomination, one :class:`RewardAllocation` per unit of the special
  reward fund (Art. 28), and one performance-record entry per award (Art. 22, ``award_unit`` /
  ``award_person``, source ``commendation``, the decision's document number).
* ``priority_promotion_recommended``: Art. 29's written recommendation goes into the records of the named
  counties' leaders (``priority_promotion``).

Nothing here commits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Integer, Numeric, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import Base, ProcessInstance
from workflows.engine.parts import Handler
from workflows.engine.records import Record
from workflows.regulation.accountability import active_sanctions
from workflows.regulation.annual_models import AssessmentResult
from workflows.regulation.cadre_record import add_entry
from workflows.regulation.document_models import latest_document
from workflows.regulation.models import Sanction
from workflows.regulation.people import Person, Post, in_post_on
from workflows.regulation.roles import org_of
from workflows.regulation.starting import committee_for

COMMENDATION_PROCESS = "commendation"
LEADER_POSTS = ("principal", "in_charge")


class CommendationAward(Base):
    """One decided award (Art. 27): an advanced unit, or an advanced individual of a unit."""

    __tablename__ = "commendation_award"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    kind: Mapped[str] = mapped_column(String(10))  # unit | person
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    person_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    post: Mapped[str | None] = mapped_column(String(100), nullable=True)
    person_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reasons: Mapped[str] = mapped_column(String(2000))
    document_no: Mapped[str] = mapped_column(String(100))
    published_on: Mapped[date]


class RewardAllocation(Base):
    """The special reward fund's share of one unit, recorded with the decision (Art. 28)."""

    __tablename__ = "reward_allocation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    document_no: Mapped[str] = mapped_column(String(100))


def commendation_key(year: int, committee_code: str) -> str:
    return f"表彰-{year}-{committee_code}"


def find_commendation(session: Session, year: int, committee_code: str) -> ProcessInstance | None:
    return session.scalar(
        select(ProcessInstance).where(
            ProcessInstance.process_id == COMMENDATION_PROCESS,
            ProcessInstance.business_key == commendation_key(year, committee_code),
        )
    )


def candidates(session: Session, year: int, committee_code: str) -> list[dict[str, Any]]:
    """The units this committee graded excellent in ``year`` (Art. 20, 27): the commendation's candidates."""
    rows = session.scalars(
        select(AssessmentResult)
        .where(
            AssessmentResult.year == year,
            AssessmentResult.committee_code == committee_code,
            AssessmentResult.grade == "excellent",
        )
        .order_by(AssessmentResult.total_score.desc(), AssessmentResult.unit_code)
    )
    return [{"unit_code": r.unit_code, "total_score": r.total_score} for r in rows]


def start_commendation(
    engine: Engine, actor: Actor, year: int | None = None, unit_code: str | None = None
) -> ProcessInstance:
    """The office of a city or county committee starts its year's commendation (one per committee and year);
    the candidates are the units it graded excellent that year."""
    committee = committee_for(org_of(engine), actor, unit_code)
    year = int(year) if year else to_cst(engine.now()).year
    if find_commendation(engine.session, year, committee) is not None:
        raise FormInvalid(
            {"year": [f"{commendation_key(year, committee)} 已发起"]}, {"year": [("unique", None)]}
        )
    return engine.start(
        COMMENDATION_PROCESS,
        business_key=commendation_key(year, committee),
        unit_code=committee,
        data={"year": year, "candidates": candidates(engine.session, year, committee)},
        actor=actor,
    )


def _case_key(session: Session, sanction: Sanction) -> str:
    inst = session.get(ProcessInstance, sanction.instance_id)
    return inst.business_key if inst is not None and inst.business_key else f"#{sanction.instance_id}"


def refusal(session: Session, nomination: dict[str, Any], at: datetime, year: int) -> str | None:
    """Why Art. 35 para 4 or Art. 37 forbid this nomination at ``at``, citing the case; None when allowed."""
    unit = str(nomination.get("unit_code") or "")
    is_unit = nomination.get("kind", "unit") == "unit"
    for sanction in active_sanctions(session, unit, at):
        key = _case_key(session, sanction)
        if sanction.kind == "listing" and (is_unit or nomination.get("leader") in LEADER_POSTS):
            who = "不得评选综合性荣誉称号" if is_unit else "其主要负责同志、分管负责同志不得评先受奖"
            return f"依据第三十五条第四款，该单位被挂牌督办（{key}），{who}"
        if sanction.kind == "veto" and (sanction.year is None or sanction.year == year):
            year_text = f"{sanction.year}年度" if sanction.year else ""
            return f"依据第三十七条、第三十五条，该单位{year_text}被一票否决（{key}），不得评先受奖"
    return None


def _check(
    session: Session, nominations: list[dict[str, Any]], year: int, skip: frozenset[int] = frozenset()
) -> None:
    problems: dict[str, list[str]] = {}
    for i, nomination in enumerate(nominations):
        if i in skip:
            continue
        why = refusal(session, nomination, clock.now(), year)
        if why:
            problems[f"nominations/{i}/unit_code"] = [why]
    if problems:
        raise FormInvalid(problems, {k: [("sanction", None)] for k in problems})


def _nominated(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Art. 35 para 4 (O35.3): listed or vetoed units (and a listed unit's leaders) are refused here."""
    org = org_of(engine)
    nominations = list(rec.detail.get("nominations") or [])
    unknown = {
        f"nominations/{i}/unit_code": ["单位代码不存在"]
        for i, n in enumerate(nominations)
        if str(n.get("unit_code")) not in org.nodes
    }
    missing = {
        f"nominations/{i}/name": ["先进个人须填写姓名"]
        for i, n in enumerate(nominations)
        if n.get("kind") == "person" and not n.get("name")
    }
    if unknown or missing:
        errors = {**unknown, **missing}
        raise FormInvalid(errors, {k: [("unit", None)] for k in errors})
    _check(engine.session, nominations, int(rec.detail["year"]))


def _person_id(session: Session, name: str, unit_code: str, on: date) -> int | None:
    """The person of that name in post at the unit on ``on`` (one only), for the award_person entry."""
    ids = list(
        session.scalars(
            select(Person.id)
            .join(Post, Post.person_id == Person.id)
            .where(Person.name == name, Post.org_code == unit_code, in_post_on(on))
            .distinct()
        )
    )
    return ids[0] if len(ids) == 1 else None


def _excluded(engine: Engine, rec: Record) -> frozenset[int]:
    """The committee's decision, before its document is drafted: the nominations it names as not approved
    exist, and no unit listed or vetoed is commended (Art. 35 para 4, Art. 37)."""
    detail = rec.detail
    nominations = list(detail.get("nominations") or [])
    excluded = frozenset(int(n["index"]) for n in detail.get("not_approved") or [])
    bad = sorted(i for i in excluded if i >= len(nominations))
    if bad:
        raise FormInvalid({"not_approved": [f"建议名单没有序号 {bad[0]}"]})
    _check(engine.session, nominations, int(detail["year"]), excluded)
    return excluded


def _checked(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    _excluded(engine, rec)


def _decided(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Art. 27, 28, 22: store the awards and allocations with the issued decision's number and date (the
    表彰决定 the document_issue step froze just before); each award into the records."""
    session = engine.session
    detail = rec.detail
    year = int(detail["year"])
    nominations = list(detail.get("nominations") or [])
    excluded = _excluded(engine, rec)
    decision = latest_document(session, inst.id, "commendation_decision")
    if decision is None:
        raise FormInvalid({"": ["表彰决定尚未印发"]})
    document_no, published_on = decision.number, decision.doc_date
    for i, n in enumerate(nominations):
        if i in excluded:
            continue
        unit = str(n["unit_code"])
        is_unit = n.get("kind", "unit") == "unit"
        person_id = None if is_unit else _person_id(session, str(n["name"]), unit, published_on)
        session.add(
            CommendationAward(
                instance_id=inst.id,
                year=year,
                committee_code=inst.unit_code,
                kind="unit" if is_unit else "person",
                unit_code=unit,
                person_name=None if is_unit else n.get("name"),
                post=None if is_unit else n.get("post"),
                person_id=person_id,
                reasons=str(n.get("reasons") or ""),
                document_no=document_no,
                published_on=published_on,
            )
        )
        title = f"{year}年度平安建设先进{'单位' if is_unit else '个人'}"
        add_entry(
            session,
            unit_code=unit,
            kind="award_unit" if is_unit else "award_person",
            title=title if is_unit else f"{title}：{n.get('name')}（{n.get('post') or ''}）",
            source="commendation",
            source_id=inst.id,
            document_no=document_no,
            added_by="commendation",
            person_id=person_id,
            year=year,
            occurred_on=published_on,
            detail={"name": n.get("name"), "post": n.get("post"), "reasons": n.get("reasons")},
        )
    for a in detail.get("fund_allocations") or []:
        session.add(
            RewardAllocation(
                instance_id=inst.id,
                year=year,
                committee_code=inst.unit_code,
                unit_code=str(a["unit_code"]),
                amount=Decimal(str(a["amount"])).quantize(Decimal("0.01")),
                document_no=document_no,
            )
        )


def _recommended(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Art. 29 (O29.1): the written recommendation goes into each named county's record."""
    for county in rec.detail.get("national_commendations") or []:
        for leader in county.get("leaders") or []:
            add_entry(
                engine.session,
                unit_code=str(county["unit_code"]),
                kind="priority_promotion",
                title=f"建议优先提拔使用：{leader.get('name')}（{leader.get('post')}，{county.get('honour')}）",
                source="commendation",
                source_id=inst.id,
                document_no=str(rec.detail.get("document_no") or ""),
                added_by="commendation",
                year=int(rec.detail["year"]),
                detail={
                    "name": leader.get("name"),
                    "post": leader.get("post"),
                    "honour": county.get("honour"),
                },
                text=str(rec.detail.get("text") or ""),
            )


def awards(session: Session, instance_id: int) -> list[CommendationAward]:
    query = select(CommendationAward).where(CommendationAward.instance_id == instance_id)
    return list(session.scalars(query.order_by(CommendationAward.id)))


def allocations(session: Session, instance_id: int) -> tuple[list[RewardAllocation], Decimal]:
    """The fund's allocations recorded with the decision and their total (Art. 28)."""
    rows = list(
        session.scalars(
            select(RewardAllocation)
            .where(RewardAllocation.instance_id == instance_id)
            .order_by(RewardAllocation.unit_code)
        )
    )
    return rows, sum((r.amount for r in rows), Decimal("0.00"))


def commendations(session: Session, committees: list[str]) -> list[ProcessInstance]:
    return list(
        session.scalars(
            select(ProcessInstance)
            .where(
                ProcessInstance.process_id == COMMENDATION_PROCESS, ProcessInstance.unit_code.in_(committees)
            )
            .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc())
        )
    )


COMMENDATION_HANDLERS: dict[str, Handler] = {
    "commendation_nominated": _nominated,
    "commendation_checked": _checked,
    "commendation_decided": _decided,
    "priority_promotion_recommended": _recommended,
}
