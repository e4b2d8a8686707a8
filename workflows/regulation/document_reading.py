"""Reading issued documents: a case's documents, the number a later decision cites, a unit's 收文, the PDF
rendition, and the HTML preview (the same content as the .docx) of a draft or an issued document."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.regulation.doc_numbers import IssuingOrgan
from workflows.regulation.document_models import DocumentDelivery, IssuedDocument, latest_document
from workflows.regulation.documents import names, nanyang_today, organ_of, paragraphs
from workflows.regulation.gongwen import HEADINGS, chinese_date, render_pdf


def documents_of(session: Session, instance_ids: list[int]) -> list[IssuedDocument]:
    """The documents of these instances (a case and its child procedures), in issue order."""
    if not instance_ids:
        return []
    return list(
        session.scalars(
            select(IssuedDocument)
            .where(IssuedDocument.instance_id.in_(instance_ids))
            .order_by(IssuedDocument.issued_at, IssuedDocument.id)
        )
    )


def decision_number(session: Session, instance_id: int, kind: str) -> str | None:
    """The number of the latest document of ``kind`` the instance issued."""
    doc = latest_document(session, instance_id, kind)
    return doc.number if doc is not None else None


def deliveries_to(session: Session, unit_codes: set[str], *, pending_only: bool = False) -> list[Any]:
    """(delivery, document) rows for the units' 收文, newest first."""
    if not unit_codes:
        return []
    query = (
        select(DocumentDelivery, IssuedDocument)
        .join(IssuedDocument, IssuedDocument.id == DocumentDelivery.document_id)
        .where(DocumentDelivery.unit_code.in_(sorted(unit_codes)))
        .order_by(DocumentDelivery.delivered_at.desc(), DocumentDelivery.id.desc())
    )
    if pending_only:
        query = query.where(DocumentDelivery.received_at.is_(None))
    return list(session.execute(query).all())


def pdf_of(session: Session, doc: IssuedDocument) -> bytes | None:
    """The PDF rendition (LibreOffice), made once and kept with its hash; None without LibreOffice."""
    if doc.pdf is not None:
        return doc.pdf
    pdf = render_pdf(doc.docx)
    if pdf is None:
        return None
    doc.pdf, doc.pdf_sha256 = pdf, hashlib.sha256(pdf).hexdigest()
    session.flush()
    return pdf


@dataclass(frozen=True)
class Preview:
    """A draft (or an issued document) as the HTML preview shows it: the same content as the .docx."""

    organ_mark: str
    number: str
    title: str
    main_recipients: list[str]
    body: list[str]
    attachments: list[str]
    issuer: str
    date: str
    copied_to: list[str]
    printed: str


def preview_of_draft(session: Session, data: Mapping[str, Any]) -> Preview:
    """What the draft in a task's data would issue as (the number is shown as 〔年份〕 号 until issue)."""
    organ = organ_of(session, data.get("doc_organ"))
    day = str(data.get("doc_date") or "")
    try:
        shown = chinese_date(date.fromisoformat(day))
    except ValueError:
        shown = day
    return Preview(
        organ_mark=organ.organ_mark,
        number=f"{organ.short_mark}〔{nanyang_today().year}〕  号",
        title=str(data.get("doc_title") or ""),
        main_recipients=names(data.get("doc_main_recipients")),
        body=paragraphs(data.get("doc_body")),
        attachments=names(data.get("doc_attachments")),
        issuer=organ.name,
        date=shown,
        copied_to=names(data.get("doc_copied_to")),
        printed=f"{organ.name}　{shown}印发",
    )


def preview_of_issued(doc: IssuedDocument, organ: IssuingOrgan) -> Preview:
    shown = chinese_date(doc.doc_date)
    return Preview(
        organ_mark=organ.organ_mark,
        number=doc.number,
        title=doc.title,
        main_recipients=list(doc.main_recipients),
        body=list(doc.body),
        attachments=list(doc.attachments),
        issuer=doc.issuer,
        date=shown,
        copied_to=list(doc.copied_to),
        printed=f"{doc.issuer}　{shown}印发",
    )


def heading_level(text: str) -> int:
    """1–4 for a paragraph opening with 一、/（一）/1./（1）, 0 for body text (the HTML preview's styles)."""
    for level, (pattern, _font) in enumerate(HEADINGS, start=1):
        if pattern.match(text.strip()):
            return level
    return 0
