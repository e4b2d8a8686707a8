"""Who may read an issued document and what is in a user's 收文: the rule of workflows.regulation.access
(the case's readers, and the units it was sent to) over the documents' rows."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import NotAuthorized, NotFound
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
