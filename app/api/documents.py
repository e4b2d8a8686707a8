"""公文 over the API: a case's issued documents (number, title, issued_at, sha256, download links), one
document with its deliveries, and 签收 by an addressed unit. Downloads are the web routes
(``/documents/<id>.docx`` and ``.pdf``), which take the same session."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import DocumentSchema, ReceiptSchema
from app.auth import current_actor
from app.cases.services import get_case
from app.documents.services import addressed_units, readable_document
from app.extensions import db
from app.runtime import engine
from workflows.engine.errors import FormInvalid, NotAuthorized
from workflows.regulation.document_models import DocumentDelivery, IssuedDocument
from workflows.regulation.document_reading import documents_of
from workflows.regulation.document_texts import document_label
from workflows.regulation.documents import DocumentError, receive


def _dump(doc: IssuedDocument, deliveries: list[DocumentDelivery] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        **{key: getattr(doc, key) for key in DocumentSchema.COLUMNS},
        "doc_date": doc.doc_date.isoformat(),
        "kind_label": document_label(doc.kind),
        "links": {
            "html": url_for("documents.show", document_id=doc.id),
            "docx": url_for("documents.docx", document_id=doc.id),
            "pdf": url_for("documents.pdf", document_id=doc.id),
        },
    }
    if deliveries is not None:
        out["deliveries"] = deliveries
    return out


@bp.get("/cases/<int:case_id>/documents")
@doc(
    "The documents a case issued (公文), in issue order: number, title, issued_at, sha256, download links",
    response=DocumentSchema(many=True),
    errors=(403, 404),
)
@login_required
def case_documents(case_id: int) -> ResponseReturnValue:
    inst = get_case(engine(), current_actor(), case_id)
    return DocumentSchema(many=True).dump([_dump(d) for d in documents_of(db.session(), [inst.id])])


@bp.get("/documents/<int:document_id>")
@doc("One issued document, its deliveries and receipts (签收)", response=DocumentSchema, errors=(403, 404))
@login_required
def read_document(document_id: int) -> ResponseReturnValue:
    found, deliveries = readable_document(engine(), current_actor(), document_id)
    return DocumentSchema().dump(_dump(found, deliveries))


@bp.post("/documents/<int:document_id>/receipt")
@doc(
    "Record the receipt (签收) of a document by one of the caller's addressed units",
    body=ReceiptSchema,
    response=DocumentSchema,
    errors=(403, 404, 422),
)
@login_required
def receive_document(document_id: int) -> ResponseReturnValue:
    body = ReceiptSchema().load(request.get_json(silent=True) or {})
    actor = current_actor()
    found, deliveries = readable_document(engine(), actor, document_id)
    if body["unit_code"] not in addressed_units(actor, deliveries):
        raise NotAuthorized("the document was not sent to that unit, or you do not work there")
    try:
        receive(db.session(), found.id, body["unit_code"], actor.user_id)
    except DocumentError as exc:
        raise FormInvalid({"unit_code": [str(exc)]}) from None
    db.session.commit()
    return DocumentSchema().dump(_dump(found, deliveries))
