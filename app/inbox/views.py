"""Inbox and task pages. Thin: read the request, check access through the engine, call one service,
commit, render or redirect. Invalid form input re-renders the page with the messages and what was typed."""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth import current_actor
from app.auth.models import RoleGrant, User
from app.cases.services import case_row
from app.extensions import db
from app.inbox import queries
from app.inbox.formrender import build_fields, localized_errors, parse_submission
from app.inbox.models import Attachment, Notification
from app.inbox.notifications import kind_label, notify, send_due_alerts
from app.runtime import engine
from workflows.engine.errors import EngineError, FormInvalid, NotAuthorized
from workflows.engine.inbox import COLOURS, deadline_status
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.engine.reading import element_documentation, form_schema
from workflows.regulation.roles import org_of

bp = Blueprint("inbox", __name__)

ALLOWED_UPLOADS = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".jpg", ".jpeg", ".png", ".txt", ".ofd", ".wps"}


def _status(task: Task, now: Any) -> dict[str, str]:
    status = deadline_status(task.due_at, task.remind_at, now)
    return {"status": status, "colour": COLOURS[status] or "none"}


@bp.get("/inbox")
@login_required
def inbox():  # type: ignore[no-untyped-def]
    eng = engine()
    actor = current_actor()
    filters = queries.InboxFilters.from_args(request.args)
    now = eng.now()
    rows, total = queries.page(db.session, actor, filters, org_of(eng), now)
    instances = {
        i.id: i
        for i in db.session.scalars(
            select(ProcessInstance).where(ProcessInstance.id.in_({t.instance_id for t in rows}))
        )
    }
    counties = sorted((n for n in org_of(eng).nodes.values() if n.level == "county"), key=lambda n: n.code)
    return render_template(
        "inbox/inbox.html",
        rows=[(t, instances[t.instance_id], _status(t, now)) for t in rows],
        total=total,
        filters=filters,
        status_counts=queries.status_counts(db.session, actor, filters, org_of(eng), now),
        tab_counts=queries.tab_counts(db.session, actor, filters, org_of(eng), now),
        procedures=queries.PROCEDURES,
        counties=counties,
        org=org_of(eng),
        now=now,
        pages=max(1, -(-total // filters.per_page)),
    )


def _task_or_404(task_id: str) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        abort(404)
    return task


def _render_task(
    task: Task,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    eng = engine()
    actor = current_actor()
    inst = task.instance
    can_act = task.state == "ready" and actor.holds(task.role, task.org_code)
    if not can_act and not org_of(eng).can_oversee(actor, inst.unit_code):
        abort(403)
    schema = form_schema(eng, inst.version_id, task.form)
    data = values if values is not None else _current_data(eng, inst, task)
    fields = build_fields(schema, data, errors) if schema else []
    history = db.session.scalars(
        select(InstanceEvent).where(InstanceEvent.instance_id == inst.id).order_by(InstanceEvent.id.desc())
    ).all()
    colleagues = db.session.scalars(
        select(User)
        .join(RoleGrant)
        .where(
            RoleGrant.role == task.role, RoleGrant.org_code == task.org_code, User.username != actor.user_id
        )
    ).all()
    attachments = db.session.scalars(select(Attachment).where(Attachment.instance_id == inst.id)).all()
    return render_template(
        "inbox/task.html",
        task=task,
        inst=inst,
        case=case_row(eng, inst, eng.now()),
        form=schema,
        fields=fields,
        errors=errors or {},
        documentation=element_documentation(eng, inst.version_id, task.process_id, task.element_id),
        history=history,
        can_act=can_act,
        colleagues=colleagues,
        attachments=attachments,
        status=_status(task, eng.now()),
        org=org_of(eng),
    ), status


def _current_data(eng: Any, inst: ProcessInstance, task: Task) -> dict[str, Any]:
    """Prefill a form with what the case already knows (e.g. the report when registering it)."""
    if task.state != "ready":
        return {}
    wf = eng.workflow(inst)
    from uuid import UUID

    spiff_task = wf.get_task_from_id(UUID(task.id))
    return dict(spiff_task.data) if spiff_task is not None else {}


@bp.get("/tasks/<task_id>")
@login_required
def task_page(task_id: str):  # type: ignore[no-untyped-def]
    return _render_task(_task_or_404(task_id))


@bp.post("/tasks/<task_id>")
@login_required
def complete(task_id: str):  # type: ignore[no-untyped-def]
    task = _task_or_404(task_id)
    eng = engine()
    schema = form_schema(eng, task.instance.version_id, task.form)
    data = parse_submission(schema, request.form) if schema else {}
    comment = request.form.get("comment", "").strip()
    try:
        inst = eng.complete_task(task_id, data, current_actor())
        if comment:
            eng.note(inst.id, current_actor(), "comment", {"text": comment, "task": task.name}, task_id)
        send_due_alerts(db.session, eng.now())
        db.session.commit()
    except FormInvalid as exc:
        db.session.rollback()
        flash(_("表单有误，请按提示修改后再提交。"), "error")
        return _render_task(_task_or_404(task_id), data, localized_errors(exc.codes), 422)
    except EngineError as exc:
        db.session.rollback()
        flash(_engine_message(exc), "error")
        return redirect(url_for("inbox.task_page", task_id=task_id))
    flash(_("已提交：%(name)s", name=task.name), "success")
    return redirect(url_for("cases.case_page", case_id=task.instance_id))


def _engine_message(exc: EngineError) -> str:
    return {
        "not_authorized": _("您没有办理该任务的权限。"),
        "task_not_ready": _("该任务已办理或不可办理。"),
        "conflict": _("案件刚被他人修改，请刷新后重试。"),
        "not_found": _("未找到。"),
    }.get(exc.code, str(exc))


def _action(task_id: str, run: Any, success: str):  # type: ignore[no-untyped-def]
    try:
        run()
        db.session.commit()
        flash(success, "success")
    except EngineError as exc:
        db.session.rollback()
        flash(_engine_message(exc) if not isinstance(exc, FormInvalid) else _("请填写理由。"), "error")
    return redirect(request.form.get("next") or url_for("inbox.task_page", task_id=task_id))


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str):  # type: ignore[no-untyped-def]
    return _action(task_id, lambda: engine().claim(task_id, current_actor()), _("已签收"))


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str):  # type: ignore[no-untyped-def]
    return _action(task_id, lambda: engine().release(task_id, current_actor()), _("已退回组任务"))


@bp.post("/tasks/<task_id>/send-back")
@login_required
def send_back(task_id: str):  # type: ignore[no-untyped-def]
    reason = request.form.get("reason", "")
    return _action(task_id, lambda: engine().send_back(task_id, reason, current_actor()), _("已驳回"))


@bp.post("/tasks/<task_id>/transfer")
@login_required
def transfer(task_id: str):  # type: ignore[no-untyped-def]
    target = db.session.scalar(select(User).where(User.username == request.form.get("to", "")))

    def run() -> None:
        if target is None:
            raise NotAuthorized("unknown user")
        eng = engine()
        row = eng.transfer(task_id, current_actor(), target.actor(), request.form.get("note", ""))
        notify(db.session, row, "transferred", row.name, eng.now())

    return _action(task_id, run, _("已转办"))


@bp.post("/tasks/<task_id>/urge")
@login_required
def urge(task_id: str):  # type: ignore[no-untyped-def]
    task = _task_or_404(task_id)

    def run() -> None:
        eng = engine()
        if not org_of(eng).can_oversee(current_actor(), task.instance.unit_code):
            raise NotAuthorized("only supervisors of the unit may urge")
        eng.note(
            task.instance_id,
            current_actor(),
            "urged",
            {"task": task.name, "note": request.form.get("note", "")},
            task_id,
        )
        notify(db.session, task, "urged", task.name, eng.now())

    return _action(task_id, run, _("已催办"))


@bp.post("/tasks/<task_id>/comment")
@login_required
def comment(task_id: str):  # type: ignore[no-untyped-def]
    task = _task_or_404(task_id)
    text = request.form.get("text", "").strip()

    def run() -> None:
        eng = engine()
        actor = current_actor()
        if not (
            actor.holds(task.role, task.org_code) or org_of(eng).can_oversee(actor, task.instance.unit_code)
        ):
            raise NotAuthorized("not your case")
        if not text:
            raise FormInvalid({"text": ["required"]})
        eng.note(task.instance_id, actor, "comment", {"text": text, "task": task.name}, task_id)

    return _action(task_id, run, _("意见已保存"))


@bp.post("/tasks/<task_id>/attach")
@login_required
def attach(task_id: str):  # type: ignore[no-untyped-def]
    task = _task_or_404(task_id)
    upload = request.files.get("file")

    def run() -> None:
        eng = engine()
        actor = current_actor()
        if not (
            actor.holds(task.role, task.org_code) or org_of(eng).can_oversee(actor, task.instance.unit_code)
        ):
            raise NotAuthorized("not your case")
        if upload is None or not upload.filename:
            raise FormInvalid({"file": ["required"]})
        name = Path(upload.filename).name
        if Path(name).suffix.lower() not in ALLOWED_UPLOADS:
            raise FormInvalid({"file": ["type not allowed"]})
        content = upload.read()
        digest = hashlib.sha256(content).hexdigest()
        target = Path(current_app.config["ATTACHMENTS_DIR"]) / digest[:2] / digest
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_bytes(content)
        row = Attachment(
            instance_id=task.instance_id,
            task_id=task.id,
            filename=name,
            content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
            size=len(content),
            sha256=digest,
            uploaded_by=actor.user_id,
            uploaded_at=eng.now(),
        )
        db.session.add(row)
        db.session.flush()
        eng.note(
            task.instance_id,
            actor,
            "attachment",
            {"file": name, "attachment_id": row.id, "size": len(content)},
            task_id,
        )

    return _action(task_id, run, _("附件已上传"))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):  # type: ignore[no-untyped-def]
    row = db.session.get(Attachment, attachment_id)
    if row is None:
        abort(404)
    inst = db.session.get(ProcessInstance, row.instance_id)
    eng = engine()
    actor = current_actor()
    tasks = db.session.scalars(select(Task).where(Task.instance_id == row.instance_id))
    if not (
        org_of(eng).can_oversee(actor, inst.unit_code) or any(actor.holds(t.role, t.org_code) for t in tasks)
    ):
        abort(403)
    path = Path(current_app.config["ATTACHMENTS_DIR"]) / row.sha256[:2] / row.sha256
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename)


@bp.get("/notifications")
@login_required
def notifications():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(200)
    ).all()
    return render_template("inbox/notifications.html", rows=rows, kind_label=kind_label)


@bp.post("/notifications/read")
@login_required
def mark_read():  # type: ignore[no-untyped-def]
    now = engine().now()
    for row in db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
    ):
        row.read_at = now
    db.session.commit()
    return redirect(url_for("inbox.notifications"))
