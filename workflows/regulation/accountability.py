"""Accountability facts kept as rows (Ch. 5): sanctions while a unit is listed (Art. 35, O35.3) and vetoes
(Art. 37, O37.1). The diagrams say when (``record("listing_started")``…); this module says what it means.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflows.engine.core import Engine
from workflows.engine.counters import next_business_key
from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.engine.parts import Handler
from workflows.engine.records import Record
from workflows.regulation.models import Sanction


def _sanction(inst: ProcessInstance, rec: Record, kind: str, article: str, **period: Any) -> Sanction:
    return Sanction(
        instance_id=inst.id,
        unit_code=str(rec.detail.get("unit_code") or inst.unit_code),
        kind=kind,
        article=article,
        start_at=clock.now(),
        **period,
    )


def _listing_started(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Listed (Art. 35, O35.3): the sanctions run until the listing ends; only acceptance (or a decided change
    of level under Art. 41) ends it, never the veto procedure."""
    engine.session.add(_sanction(inst, rec, "listing", "Art. 35", year=clock.now().year))


def _veto_imposed(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """A veto (Art. 37, O37.1) is recorded with its year: its consequences under 宛办〔2009〕28号 (no honours,
    commendation or promotion from that year's results) run to the year's last instant, +08:00."""
    year = int(rec.detail.get("year") or clock.now().astimezone(CST).year)
    end = datetime(year + 1, 1, 1, tzinfo=CST)
    engine.session.add(_sanction(inst, rec, "veto", "Art. 37", end_at=end, year=year))


def _end_listing(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Delisted after acceptance (Art. 35, 36) or lowered by decision (Art. 41): the sanctions end now."""
    open_rows = engine.session.scalars(
        select(Sanction).where(
            Sanction.instance_id == inst.id, Sanction.kind == "listing", Sanction.end_at.is_(None)
        )
    )
    for row in open_rows:
        row.end_at = clock.now()


HANDLERS: dict[str, Handler] = {
    "listing_started": _listing_started,
    "listing_ended": _end_listing,
    "veto_imposed": _veto_imposed,
}


CASE_PROCESS = "accountability_case"

# Steps open for the whole life of a case, not a stage it has reached: the office's task for recording new
# findings (Art. 40, 41, 32, 39). Lists of "where is the case" leave them out; the case page offers them.
STANDING_STEPS = frozenset({"record_finding"})


def next_case_key(session: Session, year: int) -> str:
    """Case numbers per year whoever opens the case (report, assessment, inspection): 追责-2026-0001, from the
    year's counter row taken under lock (two openings at once never share a number; issue 16)."""
    return next_business_key(session, CASE_PROCESS, f"追责-{year}-")


def open_child_case(
    engine: Engine,
    parent: ProcessInstance,
    unit_code: str,
    *,
    source: str,
    reporter: str,
    facts: str,
    art31_items: list[int],
    origin: dict[str, Any],
    registered: bool = False,
    extra: dict[str, Any] | None = None,
) -> ProcessInstance:
    """An accountability case for ``unit_code``, child of ``parent`` (a cycle, an inspection, the key-township
    selection), with the intake's report prefilled; its date and year are Nanyang's. ``registered``: the facts
    are on file already and the case starts at verification (Art. 31(8))."""
    now = clock.now().astimezone(CST)
    return engine.start(
        CASE_PROCESS,
        business_key=next_case_key(engine.session, now.year),
        unit_code=unit_code,
        data={
            "source": source,
            "reporter": reporter,
            "report_date": now.date().isoformat(),
            "art31_items": art31_items,
            "facts": facts,
            "leaders": [],
            "origin": origin,
            "registered": registered,
            **(extra or {}),
        },
        parent_instance_id=parent.id,
    )


def active_sanctions(session: Session, unit_code: str, at: datetime) -> list[Sanction]:
    """Sanctions in force for ``unit_code`` at instant ``at`` (start inclusive, end exclusive)."""
    query = (
        select(Sanction)
        .where(Sanction.unit_code == unit_code, Sanction.start_at <= at)
        .where(or_(Sanction.end_at.is_(None), Sanction.end_at > at))
        .order_by(Sanction.start_at)
    )
    return list(session.scalars(query))
