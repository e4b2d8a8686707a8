"""The rows of issued documents (公文): the frozen file with its number and hash, and its deliveries.

Written by workflows.regulation.documents only; read by the pages, the API and the performance record.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.models import Base


class IssuedDocument(Base):
    """An issued document: its frozen .docx and SHA-256, number, addressees; never updated after issue
    (a PDF rendition may be added later, with its own hash)."""

    __tablename__ = "issued_document"
    __table_args__ = (UniqueConstraint("draft_ref", name="uq_issued_document_draft_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(40), index=True)  # the unit the document concerns
    kind: Mapped[str] = mapped_column(String(40))
    article: Mapped[str] = mapped_column(String(40))
    draft_ref: Mapped[str] = mapped_column(String(40))  # one issue per draft
    organ_code: Mapped[str] = mapped_column(ForeignKey("issuing_organ.code"))
    # 文号; none for the 目标管理责任书 (Art. 13), which both parties sign rather than one organ issues
    number_id: Mapped[int | None] = mapped_column(
        ForeignKey("document_number.id"), unique=True, nullable=True
    )
    number: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    main_recipients: Mapped[list[Any]] = mapped_column(JSON)
    copied_to: Mapped[list[Any]] = mapped_column(JSON)
    body: Mapped[list[Any]] = mapped_column(JSON)
    attachments: Mapped[list[Any]] = mapped_column(JSON)
    issuer: Mapped[str] = mapped_column(String(200))
    doc_date: Mapped[date] = mapped_column(Date)
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(100))
    docx: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)


class DocumentDelivery(Base):
    """The document in one addressed unit's inbox (主送 or 抄送), and its receipt (签收) once recorded."""

    __tablename__ = "document_delivery"
    __table_args__ = (UniqueConstraint("document_id", "unit_code", name="uq_document_delivery_unit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("issued_document.id"), index=True)
    unit_code: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str] = mapped_column(String(10))  # main | copy
    delivered_at: Mapped[datetime]
    received_at: Mapped[datetime | None] = mapped_column(nullable=True)
    received_by: Mapped[str | None] = mapped_column(String(100), nullable=True)


def latest_document(session: Session, instance_id: int, kind: str) -> IssuedDocument | None:
    """The instance's latest issued document of ``kind`` (the decision a later step or document cites)."""
    return session.scalars(
        select(IssuedDocument)
        .where(IssuedDocument.instance_id == instance_id, IssuedDocument.kind == kind)
        .order_by(IssuedDocument.id.desc())
        .limit(1)
    ).first()
