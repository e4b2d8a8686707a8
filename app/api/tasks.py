"""My tasks and acting on them (complete, claim, release)."""

from __future__ import annotations

from flask import request
from flask_login import login_required
from sqlalchemy import func, select

from app.api import bp
from app.api.schemas import CompleteTaskSchema, TaskPageSchema, TaskQuerySchema
from app.auth import current_actor
from app.cases.services import case_row
from app.extensions import db
from app.runtime import engine
from workflows.engine.inbox import COLOURS, deadline_status, visible_tasks
from workflows.engine.models import Task


def _with_status(task: Task, now):  # type: ignore[no-untyped-def]
    status = deadline_status(task.due_at, task.remind_at, now)
    return {
        **{c.key: getattr(task, c.key) for c in Task.__table__.columns},
        "deadline_status": status,
        "colour": COLOURS[status],
    }


@bp.get("/tasks")
@login_required
def list_tasks():  # type: ignore[no-untyped-def]
    args = TaskQuerySchema().load(request.args)
    eng = engine()
    query = visible_tasks(current_actor())
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Task.due_at.is_(None), Task.due_at, Task.created_at)
        .limit(args["per_page"])
        .offset((args["page"] - 1) * args["per_page"])
    )
    now = eng.now()
    return TaskPageSchema().dump(
        {
            "items": [_with_status(t, now) for t in rows],
            "total": total,
            "page": args["page"],
            "per_page": args["per_page"],
        }
    )


@bp.post("/tasks/<task_id>/complete")
@login_required
def complete_task(task_id: str):  # type: ignore[no-untyped-def]
    body = CompleteTaskSchema().load(request.get_json(silent=True) or {})
    eng = engine()
    inst = eng.complete_task(task_id, body["data"], current_actor())
    db.session.commit()
    return {"case": case_row(eng, inst, eng.now())}


@bp.post("/tasks/<task_id>/claim")
@login_required
def claim_task(task_id: str):  # type: ignore[no-untyped-def]
    eng = engine()
    task = eng.claim(task_id, current_actor())
    db.session.commit()
    return _with_status(task, eng.now())


@bp.post("/tasks/<task_id>/release")
@login_required
def release_task(task_id: str):  # type: ignore[no-untyped-def]
    eng = engine()
    task = eng.release(task_id, current_actor())
    db.session.commit()
    return _with_status(task, eng.now())
