"""The one place the regulation and the engine meet: build an :class:`Engine` with Nanyang's parts.

The engine is generic; this module hands it the organisation tree as its lanes (``role@scope`` resolution,
unit variables), the record handlers of accountability (Ch. 5) and the annual cycle (Art. 7–25), and the
script helpers that know the organisation and the year's indicator system (Art. 19, over the engine's
session). ``app/runtime.py``, the CLI, the scripts and the tests all build
engines here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import SpecCache
from workflows.engine.legaltime.clock import Clock
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.parts import EngineParts
from workflows.engine.process_properties import ProcessDeclaration
from workflows.regulation import (  # noqa: F401  (tables into the metadata)
    cadre_record,  # record_entry, Art. 22
    case_search,  # case_search and its trigram index; keeps it current on flush (issue 14)
    doc_numbers,  # issuing organs and document numbers (文号), issue 13
    document_models,  # issued documents and their deliveries (公文)
)
from workflows.regulation.accountability import HANDLERS as ACCOUNTABILITY_HANDLERS
from workflows.regulation.annual import ANNUAL_HANDLERS
from workflows.regulation.articles import check_citations
from workflows.regulation.commendation import COMMENDATION_HANDLERS
from workflows.regulation.consultation import CONSULTATION_HANDLERS, consultation_helpers
from workflows.regulation.documents import DOCUMENT_HANDLERS, document_helpers
from workflows.regulation.helpers import organisation_helpers
from workflows.regulation.indicator_grading import indicator_helpers
from workflows.regulation.inspections import INSPECTION_HANDLERS
from workflows.regulation.key_townships import KEY_TOWNSHIP_HANDLERS
from workflows.regulation.meetings import MEETING_HANDLERS
from workflows.regulation.personal_measures import PERSONAL_MEASURE_HANDLERS
from workflows.regulation.rectification import RECTIFICATION_HANDLERS
from workflows.regulation.roles import OrgTree, load_org
from workflows.regulation.startable import check_startable
from workflows.regulation.target_letter import TARGET_LETTER_HANDLERS


def regulation_parts(org: OrgTree, session: Session | None = None) -> EngineParts:
    """The regulation's parts over ``org``; the indicator helpers (``propose_grades``, ``freeze_indicators``
    …, Art. 19) read and write the indicator sets through ``session`` (without one they exist for deploy
    checks and raise when called)."""
    return EngineParts(
        lanes=org,
        handlers={
            **ACCOUNTABILITY_HANDLERS,
            **ANNUAL_HANDLERS,
            **KEY_TOWNSHIP_HANDLERS,
            **PERSONAL_MEASURE_HANDLERS,
            **INSPECTION_HANDLERS,
            **MEETING_HANDLERS,
            **RECTIFICATION_HANDLERS,
            **COMMENDATION_HANDLERS,
            **CONSULTATION_HANDLERS,  # Art. 23 (O23.1), the sanction rule of Art. 35 para 4
            **DOCUMENT_HANDLERS,  # 公文 drafted, issued (numbered, frozen, delivered), received
            **TARGET_LETTER_HANDLERS,  # the signed 目标管理责任书, frozen (Art. 13)
        },
        helpers={
            **organisation_helpers(org),
            **indicator_helpers(session),
            **consultation_helpers(session),
            **document_helpers(org, session),
        },
        check_process=check_process,  # who may start a procedure, which articles its tasks cite
    )


def check_process(declaration: ProcessDeclaration) -> None:
    """Deploy time, per process: ``startable_by`` names roles that exist, and every task's ``article`` cites
    articles the regulation has — the refusals the modeller's lint shows while drawing, in its words."""
    refusals = []
    for check in (check_startable, check_citations):
        try:
            check(declaration)
        except ValueError as exc:
            refusals.append(str(exc))
    if refusals:
        raise ValueError("；".join(refusals))


def build_engine(
    session: Session,
    calendar: WorkingCalendar,
    *,
    clock: Clock | None = None,
    spec_cache: SpecCache | None = None,
    org: OrgTree | None = None,
    reminder_working_days: int = 3,
) -> Engine:
    """An engine for ``session`` with the regulation's parts; the organisation is read from the database
    unless given (callers that build many engines load it once)."""
    return Engine(
        session,
        calendar,
        regulation_parts(org if org is not None else load_org(session), session),
        clock=clock,
        spec_cache=spec_cache,
        reminder_working_days=reminder_working_days,
    )
