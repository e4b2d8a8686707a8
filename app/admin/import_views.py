"""Import of people, posts, accounts and grants (admin only): upload → preview → confirm.

The preview runs the whole import (``app/org/people_import.py``) and rolls it back; the page lists what each
line will do and every refused line with its reason. The uploaded bytes travel with the confirm form
(base64, at most ``table_upload.MAX_BYTES``) with their SHA-256, so the import that is confirmed is the one
that was previewed, without keeping files on the server; confirming runs it again and commits only when no
line is refused (all or nothing).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from flask import Response, abort, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from app.admin import admin_required, bp
from app.audit import audit
from app.extensions import db
from app.org import people_import
from app.org.people_import import HEADERS, ImportPlan, kind_names, plan_import, role_names
from app.org.table_upload import MAX_BYTES, MAX_ROWS, UploadError, read_upload
from app.runtime import runtime


def _now() -> datetime:
    return runtime().clock.now()


def _page(
    plan: ImportPlan | None = None,
    *,
    filename: str = "",
    content: str = "",
    sha: str = "",
    done: bool = False,
    status: int = 200,
) -> ResponseReturnValue:
    return (
        render_template(
            "admin/import_people.html",
            plan=plan,
            filename=filename,
            content=content,
            digest=sha,
            done=done,
            headers=HEADERS,
            roles=[n for n in role_names() if not n.isascii()],
            kinds=[n for n in kind_names() if not n.isascii()],
            max_mb=MAX_BYTES // 1024 // 1024,
            max_rows=MAX_ROWS,
        ),
        status,
    )


def _plan(filename: str, data: bytes) -> ImportPlan:
    table = read_upload(filename, data, HEADERS)
    return plan_import(db.session(), table, _now())


@bp.get("/import/people")
@admin_required
def people_import_page() -> ResponseReturnValue:
    return _page()


@bp.post("/import/people")
@admin_required
def people_import_preview() -> ResponseReturnValue:
    """The dry run: everything is applied, reported, and rolled back."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择要导入的文件"), "error")
        return _page(status=422)
    data = upload.read(MAX_BYTES + 1)
    try:
        plan = _plan(upload.filename, data)
    except UploadError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return _page(filename=upload.filename, status=422)
    db.session.rollback()  # a preview writes nothing
    return _page(
        plan,
        filename=upload.filename,
        content=base64.b64encode(data).decode("ascii") if plan.ok else "",
        sha=people_import.digest(data),
        status=200 if plan.ok else 422,
    )


@bp.post("/import/people/confirm")
@admin_required
def people_import_confirm() -> ResponseReturnValue:
    form = request.form
    filename = form.get("filename", "")[:200]
    try:
        data = base64.b64decode(form.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    if not data or people_import.digest(data) != form.get("digest"):
        flash(_("预览的文件与确认的内容不一致，请重新上传。"), "error")
        return _page(status=422)
    session = db.session()
    try:
        plan = _plan(filename, data)
    except UploadError as exc:
        session.rollback()
        flash(str(exc), "error")
        return _page(status=422)
    if not plan.ok:  # the database changed since the preview
        session.rollback()
        flash(_("文件有 %(n)s 行错误，未导入任何数据", n=len(plan.errors)), "error")
        return _page(plan, filename=filename, status=422)
    audit(
        session,
        _now(),
        current_user.username,
        "people_import",
        file=filename,
        digest=people_import.digest(data),
        lines=len(plan.changes),
        **dict(plan.counts),
    )
    session.commit()
    flash(_("导入完成：%(n)s 行", n=len(plan.changes)), "success")
    return _page(plan, filename=filename, done=True)


@bp.get("/import/people/template.<any(csv, xlsx):ext>")
@admin_required
def people_import_template(ext: str) -> ResponseReturnValue:
    name = "people-grants-template"
    if ext == "csv":
        body: str | bytes = people_import.template_csv()
        mimetype = "text/csv; charset=utf-8"
    else:
        body = people_import.template_xlsx()
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={name}.{ext}"}
    )
