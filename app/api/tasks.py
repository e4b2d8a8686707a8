"""My tasks and acting on them: complete, claim, release, send back (驳回), transfer (转办), urge (催办),
comment. The same services as the web pages (app/inbox/services.py), so both leave the same working file."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import (
    CommentSchema,
    CompleteTaskSchema,
    CompletionSchema,
    SendBackSchema,
    TaskDetailSchema,
    TaskPageSchema,
    TaskQuerySchema,
    TaskSchema,
    TransferSchema,
    UrgeSchema,
)
from app.auth import current_actor
from app.cases.services import case_row
from app.extensions import db
from app.inbox import services
from app.runtime import engine
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.inbox import COLOURS, deadline_status, visible_tasks
from workflows.engine.models import Task
from workflows.engine.reading import form_schema, form_values
from workflows.regulation.access import can_work

# The schemas of the most frequent requests, built once (marshmallow schemas are stateless between calls):
# building one per request, with its nested schemas, cost ~0.3 ms of a completion (issue 17).
_TASK_QUERY, _TASK_PAGE, _TASK_DETAIL = TaskQuerySchema(), TaskPageSchema(), TaskDetailSchema()
_COMPLETE, _COMPLETION, _TASK = CompleteTaskSchema(), CompletionSchema(), TaskSchema()


def _with_status(task: Task, now: Any) -> dict[str, Any]:
    status = deadline_status(task.due_at, task.remind_at, now)
    return {
        **{c.key: getattr(task, c.key) for c in Task.__table__.columns},
        "deadline_status": status,
        "colour": COLOURS[status],
    }


def next_task_rows(eng: Engine, actor: Actor, opened: list[Task], now: Any) -> list[dict[str, Any]]:
    """The caller's next tasks in the instance a step left ``opened``, each with its form (JSON Schema) and
    prefill: what the client shows next without a second request."""
    return [
        {
            **_with_status(t, now),
            "form_schema": form_schema(eng, t.instance.version_id, t.form),
            "values": form_values(eng, t),
        }
        for t in opened
        if can_work(actor, t)
    ]


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.get("/tasks")
@doc(
    "Open tasks the caller may work (role and organisation scope)",
    query=TaskQuerySchema,
    response=TaskPageSchema,
)
@login_required
def list_tasks() -> ResponseReturnValue:
    args = _TASK_QUERY.load(request.args)
    eng = engine()
    query = visible_tasks(current_actor())
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at)
        .limit(args["per_page"])
        .offset((args["page"] - 1) * args["per_page"])
    )
    now = eng.now()
    return _TASK_PAGE.dump(
        {
            "items": [_with_status(t, now) for t in rows],
            "total": total,
            "page": args["page"],
            "per_page": args["per_page"],
        }
    )


@bp.get("/tasks/<task_id>")
@doc(
    "One task the caller may work or read: its form and the values the form is prefilled with",
    response=TaskDetailSchema,
    errors=(403, 404),
)
@login_required
def get_task(task_id: str) -> ResponseReturnValue:
    eng = engine()
    task = services.readable_task(eng, current_actor(), task_id)
    return _TASK_DETAIL.dump(
        {
            **_with_status(task, eng.now()),
            "form_schema": form_schema(eng, task.instance.version_id, task.form),
            "values": form_values(eng, task),
        }
    )


@bp.post("/tasks/<task_id>/complete")
@doc(
    "Complete a READY task with its form data and a comment; the case and the caller's next tasks",
    body=CompleteTaskSchema,
    response=CompletionSchema,
    errors=(403, 404, 409, 422),
)
@login_required
def complete_task(task_id: str) -> ResponseReturnValue:
    body = _COMPLETE.load(_body())
    eng, actor = engine(), current_actor()
    done = services.complete_task(eng, actor, task_id, body["data"], body["comment"], body["internal"])
    now, opened = eng.now(), eng.open_tasks(done.instance)
    result = {  # built before the commit: nothing is reloaded after it
        "case": case_row(eng, done.instance, now, opened),
        "next_tasks": next_task_rows(eng, actor, done.next_tasks, now),
    }
    db.session.commit()
    return _COMPLETION.dump(result)


def _task_action(task_id: str, run: Any, *args: Any) -> ResponseReturnValue:
    eng = engine()
    run(eng, current_actor(), task_id, *args)
    task = services.get_task(eng, task_id)
    result = _with_status(task, eng.now())
    db.session.commit()
    return _TASK.dump(result)


@bp.post("/tasks/<task_id>/claim")
@doc("Claim a task of one of the caller's groups", response=TaskSchema, errors=(403, 404, 409))
@login_required
def claim_task(task_id: str) -> ResponseReturnValue:
    return _task_action(task_id, services.claim)


@bp.post("/tasks/<task_id>/release")
@doc("Release a claimed task", response=TaskSchema, errors=(403, 404, 409))
@login_required
def release_task(task_id: str) -> ResponseReturnValue:
    return _task_action(task_id, services.release)


@bp.post("/tasks/<task_id>/send-back")
@doc(
    "Send the task back to the previous step with a reason (驳回)",
    body=SendBackSchema,
    response=TaskSchema,
    errors=(403, 404, 409),
)
@login_required
def send_back_task(task_id: str) -> ResponseReturnValue:
    return _task_action(task_id, services.send_back, SendBackSchema().load(_body())["reason"])


@bp.post("/tasks/<task_id>/transfer")
@doc(
    "Transfer the task to another user holding its role (转办)",
    body=TransferSchema,
    response=TaskSchema,
    errors=(403, 404, 409),
)
@login_required
def transfer_task(task_id: str) -> ResponseReturnValue:
    body = TransferSchema().load(_body())
    return _task_action(task_id, services.transfer, body["to"], body["note"])


@bp.post("/tasks/<task_id>/urge")
@doc(
    "Urge the holders of an open task (催办; supervisors of the unit)",
    body=UrgeSchema,
    response=TaskSchema,
    errors=(403, 404),
)
@login_required
def urge_task(task_id: str) -> ResponseReturnValue:
    return _task_action(task_id, services.urge, UrgeSchema().load(_body())["note"])


@bp.post("/tasks/<task_id>/comment")
@doc("Comment on the task's working file", body=CommentSchema, response=TaskSchema, errors=(403, 404))
@login_required
def comment_task(task_id: str) -> ResponseReturnValue:
    body = CommentSchema().load(_body())
    return _task_action(task_id, services.comment, body["text"], body["internal"])
