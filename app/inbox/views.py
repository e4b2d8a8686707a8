"""Inbox and task pages. Thin: read the request, check access through the engine, call one service,
commit, render or redirect. Invalid form input re-renders the page with the messages and what was typed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.auth import current_actor
from app.auth.models import RoleGrant, User
from app.auth.services import people_named
from app.cases.services import case_file, case_row
from app.errors import engine_error_text
from app.extensions import db
from app.inbox import queries, services
from app.inbox.formrender import build_fields, localized_errors, parse_submission
from app.inbox.models import Attachment, Notification
from app.inbox.notifications import kind_label
from app.processes.services import made_procedures
from app.runtime import engine
from app.security import safe_next
from workflows.engine.errors import (
    BudgetExceeded,
    EngineError,
    FormInvalid,
    NotAuthorized,
    NotFound,
    ProcessFailed,
)
from workflows.engine.inbox import COLOURS, deadline_status
from workflows.engine.models import ProcessInstance, Task
from workflows.engine.reading import form_schema, prefill, ready_task
from workflows.regulation.access import can_work
from workflows.regulation.annual_context import task_context
from workflows.regulation.articles import cited_texts
from workflows.regulation.document_reading import preview_of_draft
from workflows.regulation.roles import org_of

bp = Blueprint("inbox", __name__)


def _status(task: Task, now: Any) -> dict[str, str]:
    status = deadline_status(task.due_at, task.remind_at, now)
    return {"status": status, "colour": COLOURS[status] or "none"}


@bp.get("/inbox")
@login_required
def inbox() -> ResponseReturnValue:
    eng = engine()
    actor = current_actor()
    filters = queries.InboxFilters.from_args(request.args)
    now = eng.now()
    rows, total = queries.page(db.session(), actor, filters, org_of(eng), now)
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
        status_counts=queries.status_counts(db.session(), actor, filters, org_of(eng), now),
        tab_counts=queries.tab_counts(db.session(), actor, filters, org_of(eng), now),
        procedures={**queries.PROCEDURES, **made_procedures(eng)},  # and designer-made ones (issue 15)
        counties=counties,
        org=org_of(eng),
        now=now,
        pages=max(1, -(-total // filters.per_page)),
        claimers=people_named(db.session(), {t.claimed_by for t in rows}, now),  # names, not account ids
    )


def _task_or_404(task_id: str) -> Task:
    """The task if the user may work it or read its case; 404/403 otherwise."""
    try:
        return services.readable_task(engine(), current_actor(), task_id)
    except NotFound:
        abort(404)
    except NotAuthorized:
        abort(403)


def _render_task(
    task: Task,
    values: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    eng = engine()
    actor = current_actor()
    inst = task.instance
    can_act = task.state == "ready" and can_work(actor, task)
    schema = form_schema(eng, inst.version_id, task.form)
    ready = ready_task(eng, inst, task.id) if task.state == "ready" else None
    known = ready.data if ready else {}  # prefill with what the case knows (e.g. the report to register)
    data = values if values is not None else prefill(schema, known)
    fields = build_fields(schema, data, errors) if schema else []
    file = case_file(eng, actor, inst)
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
        article_texts=cited_texts(draft_article(known) or task.article),
        file=file,
        history=file.history,
        can_act=can_act,
        can_send_back=can_act and ready is not None and ready.can_send_back,
        colleagues=colleagues,
        attachments=attachments,
        status=_status(task, eng.now()),
        org=org_of(eng),
        reference=task_context(db.session(), task, known),
        draft=preview_of_draft(db.session(), known) if known.get("doc_organ") else None,
        draft_info=known if known.get("doc_organ") else {},
        claimer=people_named(db.session(), [task.claimed_by], eng.now()).get(task.claimed_by or "", ""),
    ), status


def draft_article(known: dict[str, Any]) -> str | None:
    """A document task cites its document's article (the draft's), not the generic Art. 33–39."""
    return str(known["doc_article"]) if known.get("doc_article") else None


@bp.get("/tasks/<task_id>")
@login_required
def task_page(task_id: str) -> ResponseReturnValue:
    return _render_task(_task_or_404(task_id))


@bp.post("/tasks/<task_id>")
@login_required
def complete(task_id: str) -> ResponseReturnValue:
    task = _task_or_404(task_id)
    eng = engine()
    schema = form_schema(eng, task.instance.version_id, task.form)
    data = parse_submission(schema, request.form) if schema else {}
    comment = request.form.get("comment", "")
    internal = request.form.get("internal") == "1"
    try:
        services.complete_task(eng, current_actor(), task_id, data, comment, internal)
        db.session.commit()
    except FormInvalid as exc:
        db.session.rollback()
        flash(_("表单有误，请按提示修改后再提交。"), "error")
        return _render_task(_task_or_404(task_id), data, localized_errors(exc.codes, exc.errors), 422)
    except (ProcessFailed, BudgetExceeded) as exc:  # refused or stopped: nothing saved, keep what was typed
        db.session.rollback()
        flash(engine_error_text(exc), "error")
        return _render_task(_task_or_404(task_id), data, None, 422)
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
        "nothing_to_send_back": _(
            "该环节不能驳回：它不是由上一办理环节提交的（首个环节，或由期限届满等事件开启）。"
        ),
        "conflict": _("案件刚被他人修改，请刷新后重试。"),
        "not_found": _("未找到。"),
    }.get(exc.code) or engine_error_text(exc)


def _action(task_id: str, success: str, run: Callable[..., object], *args: Any) -> ResponseReturnValue:
    """Run one task service as the current user, commit, and go back with a message."""
    try:
        run(engine(), current_actor(), task_id, *args)
        db.session.commit()
        flash(success, "success")
    except EngineError as exc:
        db.session.rollback()
        flash(_engine_message(exc) if not isinstance(exc, FormInvalid) else _("请填写理由。"), "error")
    back = url_for("inbox.task_page", task_id=task_id)
    return redirect(safe_next(request.form.get("next"), back))  # never to another site (issue 16)


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim(task_id: str) -> ResponseReturnValue:
    return _action(task_id, _("已签收"), services.claim)


@bp.post("/tasks/<task_id>/release")
@login_required
def release(task_id: str) -> ResponseReturnValue:
    return _action(task_id, _("已退回组任务"), services.release)


@bp.post("/tasks/<task_id>/send-back")
@login_required
def send_back(task_id: str) -> ResponseReturnValue:
    return _action(task_id, _("已驳回"), services.send_back, request.form.get("reason", ""))


@bp.post("/tasks/<task_id>/transfer")
@login_required
def transfer(task_id: str) -> ResponseReturnValue:
    form = request.form
    return _action(task_id, _("已转办"), services.transfer, form.get("to", ""), form.get("note", ""))


@bp.post("/tasks/<task_id>/urge")
@login_required
def urge(task_id: str) -> ResponseReturnValue:
    return _action(task_id, _("已催办"), services.urge, request.form.get("note", ""))


@bp.post("/tasks/<task_id>/comment")
@login_required
def comment(task_id: str) -> ResponseReturnValue:
    internal = request.form.get("internal") == "1"
    return _action(task_id, _("意见已保存"), services.comment, request.form.get("text", ""), internal)


@bp.post("/tasks/<task_id>/attach")
@login_required
def attach(task_id: str) -> ResponseReturnValue:
    upload = request.files.get("file")
    name, content = (upload.filename or "", upload.read()) if upload else ("", b"")
    store = Path(current_app.config["ATTACHMENTS_DIR"])
    return _action(task_id, _("附件已上传"), services.attach, name, content, store)


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> ResponseReturnValue:
    try:
        row = services.readable_attachment(engine(), current_actor(), attachment_id)
    except NotFound:
        abort(404)
    except NotAuthorized:
        abort(403)
    path = Path(current_app.config["ATTACHMENTS_DIR"]) / row.sha256[:2] / row.sha256
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename)


@bp.get("/notifications")
@login_required
def notifications() -> ResponseReturnValue:
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(200)
    ).all()
    tasks = {t.id: t for t in db.session.scalars(select(Task).where(Task.id.in_({r.task_id for r in rows})))}
    cases = {
        i.id: i
        for i in db.session.scalars(
            select(ProcessInstance).where(ProcessInstance.id.in_({r.instance_id for r in rows}))
        )
    }
    return render_template(
        "inbox/notifications.html",
        rows=rows,
        tasks=tasks,
        cases=cases,
        org=org_of(engine()),
        kind_label=kind_label,
    )


@bp.post("/notifications/read")
@login_required
def mark_read() -> ResponseReturnValue:
    now = engine().now()
    for row in db.session.scalars(
        select(Notification).where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
    ):
        row.read_at = now
    db.session.commit()
    return redirect(url_for("inbox.notifications"))
