"""The working file's integrity as the regulation reads it (issue 16 point 6): the engine's hash chains and
daily roots, the issued documents, and which office seals a case's file.

Documents: an issued document (公文, Art. 33–39) is frozen with the SHA-256 of its .docx
(``issued_document.sha256``) and that hash enters the case's chain as its ``document_frozen`` event. The
check recomputes the stored file's hash and compares it with the row and with the chained event, so a file
swapped, a hash edited in either place or a document without its event is named.

Office: the county-level office (综治办) of the case's unit keeps and seals its working files — a township's
or county member unit's county, the city's for the city, its member units, the city-direct units and their
systems. It is the office whose officials see the case (``OrgTree.county_of``), and it does not change as a
case moves up a level, so each file is sealed in one office's roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.audit_chain import DOCUMENT_MISMATCH, Problem, stored_events, verify_chain
from workflows.engine.audit_roots import Report, seal_days, sealed_through, verify_all
from workflows.engine.models import InstanceEvent, ProcessInstance
from workflows.regulation.document_models import IssuedDocument
from workflows.regulation.roles import LaneError, OrgTree

FROZEN = "document_frozen"


def office_of(org: OrgTree) -> Callable[[str], str]:
    """unit code → the code of the office that seals its cases' files (see the module's docstring)."""

    def office(unit_code: str) -> str:
        try:
            county = org.county_of(unit_code)
        except LaneError:  # a unit no longer in the tree keeps a root of its own
            return unit_code
        return county or org.city_code or unit_code

    return office


def seal(session: Session, org: OrgTree, now: datetime) -> int:
    """Seal the days that ended (daily roots per office); flushes, the caller commits."""
    return seal_days(session, office_of(org), now)


def _sha256(data: bytes | None) -> str:
    return hashlib.sha256(data or b"").hexdigest()


def verify_documents(session: Session, instance_id: int | None = None) -> list[Problem]:
    """Every issued document (of one instance, if given) against its file and its frozen event."""
    frozen_query = select(InstanceEvent.instance_id, InstanceEvent.seq, InstanceEvent.detail).where(
        InstanceEvent.kind == FROZEN
    )
    docs_query = select(
        IssuedDocument.id,
        IssuedDocument.instance_id,
        IssuedDocument.number,
        IssuedDocument.title,
        IssuedDocument.sha256,
        IssuedDocument.docx,
        IssuedDocument.pdf,
        IssuedDocument.pdf_sha256,
    ).order_by(IssuedDocument.id)
    if instance_id is not None:
        frozen_query = frozen_query.where(InstanceEvent.instance_id == instance_id)
        docs_query = docs_query.where(IssuedDocument.instance_id == instance_id)
    frozen: dict[int, tuple[int, int, str]] = {}
    for owner, seq, detail in session.execute(frozen_query):
        doc_id = (detail or {}).get("document_id")
        if isinstance(doc_id, int):
            frozen[doc_id] = (owner, seq, str((detail or {}).get("sha256") or ""))
    keys = _keys(
        session, {owner for owner, _, _ in frozen.values()} | ({instance_id} if instance_id else set())
    )
    problems: list[Problem] = []

    def problem(owner: int, seq: int | None, message: str) -> None:
        problems.append(Problem(DOCUMENT_MISMATCH, message, owner, keys.get(owner), seq))

    seen: set[int] = set()
    for doc in session.execute(docs_query, execution_options={"yield_per": 50}):
        seen.add(doc.id)
        name = f"document {doc.id} {doc.number or doc.title}"
        event = frozen.get(doc.id)
        seq = event[1] if event else None
        if _sha256(doc.docx) != doc.sha256:
            problem(doc.instance_id, seq, f"{name}: the stored file's SHA-256 is not its recorded hash")
        if event is None or event[0] != doc.instance_id:
            problem(doc.instance_id, None, f"{name}: no {FROZEN} event in its case's working file")
        elif event[2] != doc.sha256:
            problem(doc.instance_id, seq, f"{name}: its SHA-256 differs from the one in the working file")
        if doc.pdf_sha256 and _sha256(doc.pdf) != doc.pdf_sha256:
            problem(doc.instance_id, seq, f"{name}: the PDF rendition does not match its hash")
    for doc_id, (owner, seq, _) in sorted(frozen.items()):
        if doc_id not in seen:
            problem(owner, seq, f"document {doc_id} frozen in the working file is missing")
    return problems


def _keys(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key).where(ProcessInstance.id.in_(sorted(ids)))
    )
    return {iid: key for iid, key in rows}


def verify_working_files(session: Session) -> Report:
    """What ``flask audit verify`` checks: every chain, every sealed day, every issued document."""
    report = verify_all(session)
    report.problems.extend(verify_documents(session))
    return report


@dataclass(frozen=True)
class CaseIntegrity:
    """One case's file as its page shows it: how many events, the head hash, what is wrong (if anything)."""

    events: int
    documents: int
    head: str | None
    sealed_through: date | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def case_integrity(session: Session, inst: ProcessInstance | Any) -> CaseIntegrity:
    """Check one case's chain and documents now (a page's worth of work: one query per table)."""
    events = stored_events(session, inst.id)
    problems = [p for p in [verify_chain(events, inst.business_key)] if p is not None]
    problems += verify_documents(session, inst.id)
    documents = sum(1 for ev in events if ev.kind == FROZEN)
    head = events[-1].hash if events else None
    return CaseIntegrity(len(events), documents, head, sealed_through(session), problems)
