"""Who may read an issued document and what is in a user's 收文: the rule of workflows.regulation.access
(the case's readers, and the units it was sent to) over the documents' rows."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import NotAuthorized, NotFound
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import ProcessInstance
from workflows.regulation.access import can_read_document
from workflows.regulation.document_models import DocumentDelivery, IssuedDocument
from workflows.regulation.document_reading import deliveries_to
from workflows.regulation.roles import org_of


def readable_document(
    engine: Engine, actor: Actor, document_id: int
) -> tuple[IssuedDocument, list[DocumentDelivery]]:
    """The document and its deliveries, if the actor reads its case or works at a unit it was sent to."""
    session = engine.session
    doc = session.get(IssuedDocument, document_id)
    if doc is None:
        raise NotFound(f"no document {document_id}")
    deliveries = list(
        session.scalars(
            select(DocumentDelivery)
            .where(DocumentDelivery.document_id == doc.id)
            .order_by(DocumentDelivery.role, DocumentDelivery.unit_code)
        )
    )
    deliveries.sort(
        key=lambda d: (d.unit_code != doc.unit_code, d.role != "main")
    )  # the unit concerned first
    inst = session.get(ProcessInstance, doc.instance_id)
    assert inst is not None
    if not can_read_document(session, org_of(engine), actor, inst, {d.unit_code for d in deliveries}):
        raise NotAuthorized("this document was neither sent to your unit nor belongs to a case you read")
    return doc, deliveries


def addressed_units(actor: Actor, deliveries: list[DocumentDelivery]) -> set[str]:
    """The units among the addressees at which the actor works (and may sign for)."""
    held = {code for _, code in actor.grants}
    return {d.unit_code for d in deliveries if d.unit_code in held}


def sent_to(session: Session, actor: Actor) -> list[Any]:
    return deliveries_to(session, {code for _, code in actor.grants})


def pending_count(session: Session, actor: Actor) -> int:
    codes = sorted({code for _, code in actor.grants})
    if not codes:
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(DocumentDelivery)
            .where(DocumentDelivery.unit_code.in_(codes), DocumentDelivery.received_at.is_(None))
        )
        or 0
    )


def download_name(doc: IssuedDocument, suffix: str) -> str:
    """``attachment`` with the document's number and title as its file name (RFC 5987 for Chinese)."""
    name = f"{doc.number}{doc.title}.{suffix}".replace("/", "／")
    return f"attachment; filename=document-{doc.id}.{suffix}; filename*=UTF-8''{quote(name)}"


def working_file_rows(file: Any) -> list[list[str]]:
    """The working file as the office reads it (time, what, step, who, details), oldest first."""
    from app.labels import event_label

    rows = [["时间", "事项", "环节", "办理人", "说明"]]
    for event in reversed(file.history):
        detail = event.detail or {}
        said = "；".join(
            str(detail[k]) for k in ("text", "reason", "number", "title") if detail.get(k) not in (None, "")
        )
        if event.kind == "migrated":  # a designer moved the case to a newer version of its procedure
            said = f"由流程版本 v{detail.get('from')} 迁移到 v{detail.get('to')}"
        rows.append(
            [
                to_cst(event.at).strftime("%Y-%m-%d %H:%M"),
                event_label(event.kind),
                file.steps.get(event.element_id or "", ""),
                file.names.get(event.actor or "", ""),
                said,
            ]
        )
    return rows


def case_archive(
    key: str, dossier_html: str, rows: list[list[str]], documents: list[IssuedDocument]
) -> bytes:
    """A ZIP: 案卷.html, 工作档案.csv (UTF-8 with BOM, for Excel), 公文/<文号 标题>.docx, and SHA256SUMS.txt
    so whoever receives it can check every file (the documents' hashes are those frozen at issue)."""
    files: dict[str, bytes] = {"案卷.html": dossier_html.encode("utf-8")}
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    files["工作档案.csv"] = ("\ufeff" + out.getvalue()).encode("utf-8")
    for doc in documents:
        label = f"{doc.number} {doc.title}" if doc.number else doc.title
        files[f"公文/{label.replace('/', '／')}.docx"] = doc.docx
    sums = "".join(f"{hashlib.sha256(content).hexdigest()}  {path}\n" for path, content in files.items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(f"{key}/{path}", content)
        archive.writestr(f"{key}/SHA256SUMS.txt", sums)
    return buffer.getvalue()
