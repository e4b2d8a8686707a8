"""The task projection: after every engine step, READY user tasks become ``task`` rows (role and organisation
resolved from the lane, form, article, due date with its provisional flag, reminder start) and rows of tasks
that went away are closed, in the same transaction as the instance; facts recorded by scripts are stored
and handed to their handlers. Inboxes read only these rows."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select

from workflows import records as recordsmod
from workflows.models import ProcessInstance, Task
from workflows.roles import SYSTEM, Actor, parse_lane
from workflows.scripting import PROVISIONAL_KEY
from workflows.validation import ARTICLE_PROPERTY, DUE_PROPERTY, FORM_PROPERTY, ROLE_QUALIFIER_PROPERTY

if TYPE_CHECKING:
    from workflows.engine import Engine


def sync_tasks(engine: Engine, inst: ProcessInstance, wf: BpmnWorkflow, now: datetime) -> list[Task]:
    """Bring the instance's task rows in line with its READY user tasks; return the open rows."""
    ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    # One query: the open rows, plus finished rows of tasks READY again (the case was sent back, 驳回, to
    # them). Finished rows of other tasks are not loaded (a 300-way step keeps hundreds per instance).
    condition = Task.state == "ready"
    if ready:
        condition = or_(condition, Task.id.in_(list(ready)))
    rows = list(engine.session.scalars(select(Task).where(Task.instance_id == inst.id, condition)))
    open_rows = {r.id: r for r in rows if r.state == "ready"}
    finished = {r.id: r for r in rows if r.state != "ready"}
    for tid, row in open_rows.items():
        if tid not in ready:
            row.state = "cancelled"  # e.g. an interrupting deadline took the case elsewhere
            engine.event(inst, SYSTEM, "task_cancelled", task=row)
    result = [row for tid, row in open_rows.items() if tid in ready]
    fresh = [tid for tid in ready if tid not in open_rows]
    for tid in fresh:
        task = ready[tid]
        row = finished.get(tid)
        if row is not None:
            row.state, row.completed_by, row.completed_at, row.claimed_by = "ready", None, None, None
            row.due_at, row.due_provisional = due(engine, task)
            row.remind_at = remind_at(engine, row.due_at)
            row.created_at = now
            engine.event(inst, SYSTEM, "task_reopened", task=row)
            result.append(row)
            continue
        lane = parse_lane(task.task_spec.lane)
        unit = str(task.data.get("unit_code") or inst.unit_code)
        props = task.task_spec.extensions.get("properties", {})
        due_at, due_provisional = due(engine, task)
        role = lane.role
        if props.get(ROLE_QUALIFIER_PROPERTY):
            role = f"{role}/{engine.script_engine.evaluate(task, props[ROLE_QUALIFIER_PROPERTY])}"
        row = Task(
            id=tid,
            instance_id=inst.id,
            process_id=task.workflow.spec.name,
            element_id=task.task_spec.bpmn_id,
            name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            lane=task.task_spec.lane,
            role=role,
            org_code=engine.org.resolve(lane, unit),
            unit_code=unit,
            form=props.get(FORM_PROPERTY),
            article=props.get(ARTICLE_PROPERTY),
            due_at=due_at,
            due_provisional=due_provisional,
            remind_at=remind_at(engine, due_at),
            state="ready",
            created_at=now,
        )
        engine.session.add(row)
        engine.event(inst, SYSTEM, "task_created", task=row)
        result.append(row)
    return result


def store_records(engine: Engine, inst: ProcessInstance, actor: Actor) -> None:
    collected = recordsmod.pending()
    for rec in collected:
        engine.event(inst, actor, rec.kind, detail=rec.detail)
        recordsmod.apply_summary(inst, rec)
        handler = engine.handlers.get(rec.kind)
        if handler is not None:
            handler(engine, inst, rec)
    collected.clear()


def remind_at(engine: Engine, due_at: datetime | None) -> datetime | None:
    if due_at is None or engine.reminder_working_days <= 0:
        return None
    return engine.calendar.working_days_before(due_at, engine.reminder_working_days)


def due(engine: Engine, task: SpiffTask) -> tuple[datetime | None, bool]:
    expression = task.task_spec.extensions.get("properties", {}).get(DUE_PROPERTY)
    if not expression:
        return None, False
    value = engine.script_engine.evaluate(task, expression)
    provisional = PROVISIONAL_KEY in task.internal_data
    task.internal_data.pop(PROVISIONAL_KEY, None)
    return TimerEventDefinition.get_datetime(str(value)), provisional
