"""Accountability facts kept as rows (Ch. 5): sanctions while a unit is listed (Art. 35, O35.3) and vetoes
(Art. 37, O37.1). The diagrams say when (``record("listing_started")``…); this module says what it means.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from workflows.engine.core import Engine, Handler
from workflows.engine.legaltime import clock
from workflows.engine.models import ProcessInstance
from workflows.engine.records import Record
from workflows.regulation.models import Sanction


def _start(kind: str, article: str) -> Handler:
    def handle(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
        engine.session.add(
            Sanction(
                instance_id=inst.id,
                unit_code=str(rec.detail.get("unit_code") or inst.unit_code),
                kind=kind,
                article=article,
                start_at=clock.now(),
            )
        )

    return handle


def _end_listing(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Delisted after acceptance (Art. 35, 36) or superseded by a veto: the listing's sanctions end now."""
    open_rows = engine.session.scalars(
        select(Sanction).where(
            Sanction.instance_id == inst.id, Sanction.kind == "listing", Sanction.end_at.is_(None)
        )
    )
    for row in open_rows:
        row.end_at = clock.now()


HANDLERS: dict[str, Handler] = {
    "listing_started": _start("listing", "Art. 35"),
    "listing_ended": _end_listing,
    "veto_imposed": _start("veto", "Art. 37"),
}


CASE_PROCESS = "accountability_case"


def next_case_key(session: Session, year: int) -> str:
    """Case numbers per year whoever opens the case (report, assessment, inspection): 追责-2026-0001."""
    prefix = f"追责-{year}-"
    count = session.scalar(
        select(func.count())
        .select_from(ProcessInstance)
        .where(ProcessInstance.process_id == CASE_PROCESS, ProcessInstance.business_key.like(prefix + "%"))
    )
    return f"{prefix}{(count or 0) + 1:04d}"


def active_sanctions(session: Session, unit_code: str, at: datetime) -> list[Sanction]:
    """Sanctions in force for ``unit_code`` at instant ``at`` (start inclusive, end exclusive)."""
    query = (
        select(Sanction)
        .where(Sanction.unit_code == unit_code, Sanction.start_at <= at)
        .where(or_(Sanction.end_at.is_(None), Sanction.end_at > at))
        .order_by(Sanction.start_at)
    )
    return list(session.scalars(query))
