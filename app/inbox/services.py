"""Acting on a task, one function per use case, used by the web pages and the API alike: complete (with
comment and the arrival notices of the tasks it opened), send back (驳回), transfer (转办), urge (催办),
comment, attach, claim and release. Each checks access with the one rule of
:mod:`workflows.regulation.access`, works through the engine, and flushes; the caller commits once.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, joinedload

from app.auth.models import RoleGrant, User
from app.inbox.models import Attachment, Notification
from app.inbox.notifications import notify
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid, NotAuthorized, NotFound
from workflows.engine.models import ProcessInstance, Task
from workflows.regulation.access import can_read, can_supervise, can_work
from workflows.regulation.document_models import DocumentDelivery, IssuedDocument
from workflows.regulation.roles import org_of

ALLOWED_UPLOADS = {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".jpg", ".jpeg", ".png", ".txt", ".ofd", ".wps"}


@dataclass
class Completion:
    """What a completion did: the instance as it now stands, the task done, and what the actor can do next
    in this instance (so a client needs no second request)."""

    instance: ProcessInstance
    task: Task
    next_tasks: list[Task]


def get_task(engine: Engine, task_id: str) -> Task:
    task = engine.session.get(Task, task_id, options=[joinedload(Task.instance)])  # one round trip
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task


def readable_task(engine: Engine, actor: Actor, task_id: str) -> Task:
    """The task, if the actor may work it or read its case."""
    task = get_task(engine, task_id)
    if not (can_work(actor, task) or can_read(engine.session, org_of(engine), actor, task.instance)):
        raise NotAuthorized("this task belongs to a case outside your organisation")
    return task


def complete_task(
    engine: Engine,
    actor: Actor,
    task_id: str,
    data: dict[str, Any],
    comment: str = "",
    internal: bool = False,
) -> Completion:
    """Complete the task with its form data; a comment goes on the working file beside it; the units a
    document issued by this step goes to are told at once. The holders of the tasks this step opened are
    told by the scheduler's notices job a few seconds later (``jobs.send_arrival_notices``), not in this
    request (issue 17); its pass sends reminders and overdue notices."""
    issued: list[IssuedDocument] = []  # the documents this step issues, seen as they are written

    def _issued(_session: Session, obj: object) -> None:
        if isinstance(obj, IssuedDocument):
            issued.append(obj)

    event.listen(engine.session, "pending_to_persistent", _issued)  # no query before and after the step
    try:
        inst = engine.complete_task(task_id, data, actor)
    finally:
        event.remove(engine.session, "pending_to_persistent", _issued)
    task = engine.completed or get_task(engine, task_id)  # the row the step closed: no query
    if comment.strip():
        engine.note(inst.id, actor, "comment", _comment(comment, task, internal), task_id)
    announce_documents(engine, inst, [doc for doc in issued if doc.instance_id == inst.id])
    next_tasks = [t for t in engine.open_tasks(inst) if can_work(actor, t)]
    return Completion(inst, task, next_tasks)


def announce_documents(engine: Engine, inst: ProcessInstance, issued: list[IssuedDocument]) -> int:
    """A notice to everyone working at a unit a document ``issued`` by this step was sent to: the unit under
    supervision hears of every decision about it (its number and title; 签收 in 收文)."""
    if not issued:
        return 0
    session = engine.session
    by_id = {doc.id: doc for doc in issued}
    rows = [
        (by_id[document_id], unit)
        for document_id, unit in session.execute(
            select(DocumentDelivery.document_id, DocumentDelivery.unit_code)
            .where(DocumentDelivery.document_id.in_(list(by_id)))
            .order_by(DocumentDelivery.document_id, DocumentDelivery.id)
        )
    ]
    now, sent = engine.now(), 0
    for doc, unit in rows:
        users = session.scalars(select(RoleGrant.user_id).where(RoleGrant.org_code == unit).distinct())
        for user_id in users:
            message = f"{doc.number} {doc.title}".strip()
            session.add(
                Notification(
                    user_id=user_id, kind="document", instance_id=inst.id, message=message, created_at=now
                )
            )
            sent += 1
    session.flush()
    return sent


def claim(engine: Engine, actor: Actor, task_id: str) -> Task:
    return engine.claim(task_id, actor)


def release(engine: Engine, actor: Actor, task_id: str) -> Task:
    return engine.release(task_id, actor)


def send_back(engine: Engine, actor: Actor, task_id: str, reason: str) -> ProcessInstance:
    return engine.send_back(task_id, reason, actor)  # the reopened task's notice: the notices job


def transfer(engine: Engine, actor: Actor, task_id: str, username: str, note: str = "") -> Task:
    target = engine.session.scalar(select(User).where(User.username == username))
    if target is None:
        raise NotFound(f"unknown user {username!r}")
    row = engine.transfer(task_id, actor, target.actor(), note)
    notify(engine.session, row, "transferred", row.name, engine.now())
    return row


def urge(engine: Engine, actor: Actor, task_id: str, note: str = "") -> Task:
    task = get_task(engine, task_id)
    if task.state != "ready":
        raise FormInvalid({"": ["only an open task can be urged"]})
    if not can_supervise(org_of(engine), actor, task.instance):
        raise NotAuthorized("only supervisors of the unit may urge")
    engine.note(task.instance_id, actor, "urged", {"task": task.name, "note": note}, task_id)
    notify(engine.session, task, "urged", task.name, engine.now())
    return task


def _comment(text: str, task: Task, internal: bool) -> dict[str, Any]:
    """A comment on the working file; ``internal`` ones are the office's deliberation, which the unit under
    supervision does not see (workflows/regulation/dossier.py)."""
    return {"text": text.strip(), "task": task.name, **({"internal": True} if internal else {})}


def comment(engine: Engine, actor: Actor, task_id: str, text: str, internal: bool = False) -> Task:
    task = _task_for_notes(engine, actor, task_id)
    if not text.strip():
        raise FormInvalid({"text": ["required"]})
    engine.note(task.instance_id, actor, "comment", _comment(text, task, internal), task_id)
    return task


def attach(
    engine: Engine, actor: Actor, task_id: str, filename: str, content: bytes, store: Path
) -> Attachment:
    """Store a file by content hash under ``store`` and put it on the case's working file."""
    task = _task_for_notes(engine, actor, task_id)
    name = Path(filename).name
    if not name:
        raise FormInvalid({"file": ["required"]})
    if Path(name).suffix.lower() not in ALLOWED_UPLOADS:
        raise FormInvalid({"file": ["type not allowed"]})
    digest = hashlib.sha256(content).hexdigest()
    target = store / digest[:2] / digest
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
        uploaded_at=engine.now(),
    )
    engine.session.add(row)
    engine.session.flush()
    engine.note(
        task.instance_id,
        actor,
        "attachment",
        {"file": name, "attachment_id": row.id, "size": len(content)},
        task_id,
    )
    return row


def readable_attachment(engine: Engine, actor: Actor, attachment_id: int) -> Attachment:
    row = engine.session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    inst = engine.get_instance(row.instance_id)
    if not can_read(engine.session, org_of(engine), actor, inst):
        raise NotAuthorized("this file belongs to a case outside your organisation")
    return row


def _task_for_notes(engine: Engine, actor: Actor, task_id: str) -> Task:
    """Comments and files: whoever works the task or supervises the case's unit."""
    task = get_task(engine, task_id)
    if not (can_work(actor, task) or can_supervise(org_of(engine), actor, task.instance)):
        raise NotAuthorized("not your case")
    return task
