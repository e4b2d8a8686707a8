"""公文 pages: an issued document as the office reads it (the same content as the .docx), its .docx and PDF,
a draft's preview from a drafting or review task, and 收文 — the documents sent to the user's units, with
签收. Views only: drafting, issue and receipt are workflows.regulation.documents."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth import current_actor
from app.cases.services import case_file, get_case
from app.documents.services import (
    addressed_units,
    case_archive,
    download_name,
    pending_count,
    readable_document,
    sent_to,
    working_file_rows,
)
from app.extensions import db
from app.inbox import services as inbox_services
from app.labels import document_kind_label
from app.runtime import engine
from workflows.engine.errors import EngineError, NotAuthorized, NotFound
from workflows.engine.reading import task_data
from workflows.regulation.doc_numbers import IssuingOrgan
from workflows.regulation.document_reading import (
    documents_of,
    heading_level,
    pdf_of,
    preview_of_draft,
    preview_of_issued,
)
from workflows.regulation.documents import DocumentError, receive
from workflows.regulation.roles import org_of

bp = Blueprint("documents", __name__, url_prefix="/documents")
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _document(document_id: int):  # type: ignore[no-untyped-def]
    try:
        return readable_document(engine(), current_actor(), document_id)
    except NotFound:
        abort(404)
    except NotAuthorized:
        abort(403)


@bp.get("")
@login_required
def received() -> ResponseReturnValue:
    """收文: what was sent to the user's units, newest first, with its receipt."""
    eng = engine()
    rows = sent_to(db.session(), current_actor())
    return render_template("documents/received.html", rows=rows, org=org_of(eng))


@bp.get("/<int:document_id>")
@login_required
def show(document_id: int) -> ResponseReturnValue:
    doc, deliveries = _document(document_id)
    organ = db.session.get(IssuingOrgan, doc.organ_code)
    assert organ is not None
    mine = addressed_units(current_actor(), deliveries)
    return render_template(
        "documents/document.html",
        doc=doc,
        page=preview_of_issued(doc, organ),
        deliveries=deliveries,
        mine=mine,
        org=org_of(engine()),
        label=document_kind_label(doc.kind),
    )


@bp.get("/<int:document_id>.docx")
@login_required
def docx(document_id: int) -> ResponseReturnValue:
    doc, _deliveries = _document(document_id)
    return Response(
        doc.docx,
        mimetype=DOCX,
        headers={"Content-Disposition": download_name(doc, "docx"), "X-Content-SHA256": doc.sha256},
    )


@bp.get("/<int:document_id>.pdf")
@login_required
def pdf(document_id: int) -> ResponseReturnValue:
    doc, _deliveries = _document(document_id)
    data = pdf_of(db.session(), doc)
    if data is None:
        flash(_("本机未安装 LibreOffice，暂不能生成 PDF；请下载 Word 文件（.docx）。"), "error")
        return redirect(url_for("documents.show", document_id=document_id))
    db.session.commit()  # the rendition is kept with its hash
    return Response(
        data, mimetype="application/pdf", headers={"Content-Disposition": download_name(doc, "pdf")}
    )


@bp.post("/<int:document_id>/receipt")
@login_required
def sign(document_id: int) -> ResponseReturnValue:
    doc, deliveries = _document(document_id)
    unit = request.form.get("unit_code", "")
    if unit not in addressed_units(current_actor(), deliveries):
        abort(403)
    try:
        receive(db.session(), doc.id, unit, current_actor().user_id)
        db.session.commit()
    except DocumentError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("documents.show", document_id=document_id))
    flash(_("已签收：%(number)s", number=doc.number), "success")
    return redirect(url_for("documents.show", document_id=document_id))


@bp.get("/draft/<task_id>")
@login_required
def draft_preview(task_id: str) -> ResponseReturnValue:
    """The draft of a drafting or review task as it would be issued (文号 assigned at issue)."""
    eng = engine()
    try:
        task = inbox_services.readable_task(eng, current_actor(), task_id)
    except NotFound:
        abort(404)
    except NotAuthorized:
        abort(403)
    data = task_data(eng, task.instance, task.id) if task.state == "ready" else {}
    if not data.get("doc_organ"):
        abort(404)
    return render_template(
        "documents/document.html",
        doc=None,
        page=preview_of_draft(db.session(), data),
        deliveries=[],
        mine=set(),
        org=org_of(eng),
        label=document_kind_label(str(data.get("doc_kind"))),
        task=task,
    )


def init_app(app) -> None:  # type: ignore[no-untyped-def]
    app.register_blueprint(bp)
    app.jinja_env.filters["heading_level"] = heading_level
    app.jinja_env.filters["document_label"] = document_kind_label
    app.jinja_env.globals.update(
        pending_documents=lambda: (
            pending_count(db.session(), current_actor()) if current_user.is_authenticated else 0
        )
    )


@bp.get("/case/<int:case_id>.zip")
@login_required
def case_zip(case_id: int) -> ResponseReturnValue:
    """One case for the file or an inspector: its documents (.docx), the dossier and the working file."""
    eng = engine()
    try:
        inst = get_case(eng, current_actor(), case_id)
    except EngineError as exc:
        abort(404 if exc.code == "not_found" else 403)
    file = case_file(eng, current_actor(), inst)
    documents = documents_of(db.session(), [inst.id])
    if file.unit_view:
        sent = {e.document_id for e in file.entries if e.document_id}
        documents = [d for d in documents if d.id in sent]
    dossier = render_template(
        "documents/case_export.html", inst=inst, file=file, org=org_of(eng), exported_at=eng.now()
    )
    data = case_archive(inst.business_key, dossier, working_file_rows(file), documents)
    name = quote(f"{inst.business_key}.zip")
    return Response(
        data,
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=case-{inst.id}.zip; filename*=UTF-8''{name}"},
    )
