"""What the system already knows about a unit or a cadre, read as performance-record entries (Art. 22, O22.1).

No handler writes these: each is built when a record is read, from the rows their procedures keep, so a
record can never disagree with them —

* the year's grade: ``assessment_result`` (Art. 19, 20), source the assessment (the cycle instance);
* notification, interview, listing, veto: the accountability cases of the unit (``process_instance``
  ``accountability_case``), their ``level_entered`` events (the decision's date), the number of the document
  that issued the decision (``issued_document``: 通报, 约谈情况通报, 挂牌督办决定书,
  一票否决决定), and for a listing the ``sanction`` rows (from
  listing to delisting, Art. 35) — source the case's business key;
* personal measures (Art. 32, 39): the ``personal_measure`` rows naming the cadre, with each authority's
  decision and document.

Entries are plain dicts with the keys of :data:`ENTRY_KEYS`; ``cadre_record`` merges them with the stored
entries (what the office alone knows, consultations, awards). Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import InstanceEvent, ProcessInstance
from workflows.regulation.accountability import CASE_PROCESS
from workflows.regulation.annual_models import AssessmentResult
from workflows.regulation.document_reading import documents_of
from workflows.regulation.models import Sanction
from workflows.regulation.personal_measures import DECISIONS, MEASURES, PersonalMeasure

GRADE_LABELS = {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}
LEVEL_LABELS = {"notification": "通报", "interview": "约谈", "listing": "挂牌督办", "veto": "一票否决"}
ENTRY_KEYS = (
    "kind",
    "title",
    "occurred_on",
    "ended_on",
    "year",
    "unit_code",
    "person_id",
    "source",
    "source_ref",
    "source_id",
    "document_no",
    "text",
    "detail",
)


# The document that issued each level's decision (the first one per case and level is cited).
DECISION_DOCUMENTS = {
    "notification": "notification",
    "interview_report": "interview",
    "listing_decision": "listing",
    "veto_decision": "veto",
}


def _day(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_cst(value).date()
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        return to_cst(datetime.fromisoformat(text)).date() if "T" in text else date.fromisoformat(text[:10])
    except ValueError:
        return None


def entry(
    kind: str,
    title: str,
    occurred_on: date,
    unit_code: str,
    source: str,
    *,
    source_ref: str = "",
    source_id: int | None = None,
    person_id: int | None = None,
    ended_on: date | None = None,
    document_no: str | None = None,
    text: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": title,
        "occurred_on": occurred_on,
        "ended_on": ended_on,
        "year": occurred_on.year,
        "unit_code": unit_code,
        "person_id": person_id,
        "source": source,
        "source_ref": source_ref,
        "source_id": source_id,
        "document_no": document_no or None,
        "text": text,
        "detail": detail or {},
    }


def grades(session: Session, unit_codes: Iterable[str]) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (unit, year): the grade the committee decided (Art. 20), as an entry citing the assessment."""
    codes = list(unit_codes)
    found: dict[tuple[str, int], dict[str, Any]] = {}
    if not codes:
        return found
    rows = session.scalars(select(AssessmentResult).where(AssessmentResult.unit_code.in_(codes)))
    for row in rows:
        label = GRADE_LABELS.get(row.grade, row.grade)
        found[(row.unit_code, row.year)] = entry(
            "grade",
            f"{row.year}年度考核评价：{label}（总分 {row.total_score:g}）",
            _day(row.decided_at) or date(row.year, 12, 31),
            row.unit_code,
            "assessment",
            source_ref=f"{row.year}年度考核评价",
            source_id=row.cycle_instance_id,
            detail={"grade": row.grade, "grade_label": label, "total": row.total_score, "year": row.year},
        )
    return found


def case_entries(session: Session, unit_codes: Iterable[str]) -> list[dict[str, Any]]:
    """The notifications, interviews, listings and vetoes of the units' cases, each citing its case."""
    codes = list(unit_codes)
    if not codes:
        return []
    cases = {
        inst.id: inst
        for inst in session.scalars(
            select(ProcessInstance).where(
                ProcessInstance.process_id == CASE_PROCESS, ProcessInstance.unit_code.in_(codes)
            )
        )
    }
    if not cases:
        return []
    events = session.scalars(
        select(InstanceEvent)
        .where(
            InstanceEvent.instance_id.in_(list(cases)),
            InstanceEvent.kind == "level_entered",
        )
        .order_by(InstanceEvent.id)
    )
    documents: dict[tuple[int, str], str] = {}
    for doc in documents_of(session, list(cases)):
        if doc.kind in DECISION_DOCUMENTS:
            documents.setdefault((doc.instance_id, DECISION_DOCUMENTS[doc.kind]), doc.number)
    entered = list(events)
    listings = session.scalars(
        select(Sanction).where(Sanction.instance_id.in_(list(cases))).order_by(Sanction.start_at)
    )
    periods: dict[tuple[int, str], list[Sanction]] = {}
    for row in listings:
        periods.setdefault((row.instance_id, row.kind), []).append(row)
    found = []
    seen: set[tuple[int, str]] = set()
    for event in entered:
        level = str((event.detail or {}).get("level") or "")
        if level not in LEVEL_LABELS or (event.instance_id, level) in seen:
            continue  # a renewed listing is the same listing
        seen.add((event.instance_id, level))
        inst = cases[event.instance_id]
        sanction = next(iter(periods.get((inst.id, level), [])), None)
        start = _day((event.detail or {}).get("decided_at")) or _day(event.at) or _day(inst.created_at)
        assert start is not None
        ended = _day(sanction.end_at) if sanction is not None and level == "listing" else None
        article = str((event.detail or {}).get("article") or "")
        found.append(
            entry(
                level,
                f"{LEVEL_LABELS[level]}（{article}）" if article else LEVEL_LABELS[level],
                start,
                inst.unit_code,
                "case",
                source_ref=inst.business_key,
                source_id=inst.id,
                ended_on=ended,
                document_no=documents.get((inst.id, level)),
                detail={
                    "article": article,
                    "rectify_due": (event.detail or {}).get("rectify_due"),
                    "in_force": sanction is not None and sanction.end_at is None and level == "listing",
                },
            )
        )
    return found


def measure_entries(session: Session, unit_codes: Iterable[str], name: str) -> list[dict[str, Any]]:
    """Personal measures proposed in the units' cases for the leader called ``name`` (Art. 32, 39), with
    each authority's decision and document number."""
    codes = list(unit_codes)
    if not codes:
        return []
    rows = session.execute(
        select(PersonalMeasure, ProcessInstance.business_key)
        .join(ProcessInstance, ProcessInstance.id == PersonalMeasure.case_instance_id)
        .where(PersonalMeasure.unit_code.in_(codes), PersonalMeasure.leader_name == name)
        .order_by(PersonalMeasure.proposed_at)
    )
    found = []
    for row, key in rows:
        labels = "、".join(MEASURES[m].zh if m in MEASURES else str(m) for m in row.measures or [])
        outcomes, numbers = [], []
        for decided in (row.outcome or {}).values():
            for code, result in (decided.get("measures") or {}).items():
                measure = MEASURES[code].zh if code in MEASURES else code
                verdict = DECISIONS.get(result.get("decision"), (result.get("decision") or "",))[0]
                outcomes.append(f"{measure}：{verdict}")
                if result.get("document_no"):
                    numbers.append(str(result["document_no"]))
        day = _day(row.proposed_at)
        assert day is not None
        found.append(
            entry(
                "personal_measure",
                f"个人责任追究建议：{labels}",
                day,
                row.unit_code,
                "case",
                source_ref=key,
                source_id=row.case_instance_id,
                document_no="、".join(numbers) or None,
                text="；".join(outcomes) or "办理中",
                detail={"status": row.status, "position": row.position, "measures": list(row.measures or [])},
            )
        )
    return found
