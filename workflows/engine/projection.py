"""The task projection: after every engine step, READY user tasks become ``task`` rows (role and organisation
from the lane, form, article, due date with its provisional flag, reminder start) and rows of tasks that went
away are closed, in the same transaction as the instance. Inboxes read only these rows.

It is handed what it needs (session, lanes, an expression evaluator, the calendar, an event writer) and never
calls the engine back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.deploy.validation import (
    ARTICLE_PROPERTY,
    DUE_PROPERTY,
    FORM_PROPERTY,
    ROLE_QUALIFIER_PROPERTY,
)
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.models import ProcessInstance, Task
from workflows.engine.parts import Lanes
from workflows.engine.sandboxing.scripting import PROVISIONAL_KEY


class EventWriter(Protocol):
    def __call__(
        self, inst: ProcessInstance, actor: Actor, kind: str, *, task: Task | None = None
    ) -> None: ...


class TaskProjection:
    def __init__(
        self,
        session: Session,
        lanes: Lanes,
        evaluate: Callable[[SpiffTask, str], Any],
        calendar: WorkingCalendar,
        reminder_working_days: int,
        write_event: EventWriter,
    ) -> None:
        self.session = session
        self.lanes = lanes
        self.evaluate = evaluate
        self.calendar = calendar
        self.reminder_working_days = reminder_working_days
        self.write_event = write_event

    def sync(
        self, inst: ProcessInstance, wf: BpmnWorkflow, now: datetime, known_open: list[Task] | None = None
    ) -> list[Task]:
        """Bring the instance's task rows in line with its READY user tasks; return the open rows.

        ``known_open``: the instance's open rows as the caller loaded them in this transaction, when the step
        cannot have made a finished task READY again (a completion); then no query is needed."""
        ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)}
        if known_open is not None:
            rows = known_open
        else:
            # One query: the open rows, plus finished rows of tasks READY again (the case was sent back, 驳回,
            # to them). Finished rows of other tasks are not loaded (a 300-way step keeps hundreds).
            condition = Task.state == "ready"
            if ready:
                condition = or_(condition, Task.id.in_(list(ready)))
            rows = list(self.session.scalars(select(Task).where(Task.instance_id == inst.id, condition)))
        open_rows = {r.id: r for r in rows if r.state == "ready"}
        finished = {r.id: r for r in rows if r.state != "ready"}
        for tid, row in open_rows.items():
            if tid not in ready:
                row.state = "cancelled"  # e.g. an interrupting deadline took the case elsewhere
                self.write_event(inst, SYSTEM, "task_cancelled", task=row)
        result = [row for tid, row in open_rows.items() if tid in ready]
        for tid in (tid for tid in ready if tid not in open_rows):
            again = finished.get(tid)
            if again is not None:
                self._reopen(again, ready[tid], now)
                self.write_event(inst, SYSTEM, "task_reopened", task=again)
                result.append(again)
                continue
            fresh = self._new_row(inst, ready[tid], now)
            self.session.add(fresh)
            self.write_event(inst, SYSTEM, "task_created", task=fresh)
            result.append(fresh)
        return result

    def _reopen(self, row: Task, task: SpiffTask, now: datetime) -> None:
        row.state, row.completed_by, row.completed_at, row.claimed_by = "ready", None, None, None
        row.due_at, row.due_provisional = self.due(task)
        row.remind_at = self.remind_at(row.due_at)
        row.created_at = now

    def _new_row(self, inst: ProcessInstance, task: SpiffTask, now: datetime) -> Task:
        unit = str(task.data.get("unit_code") or inst.unit_code)
        props = task.task_spec.extensions.get("properties", {})
        role, org_code = self.lanes.assign(task.task_spec.lane, unit, task.data)
        if props.get(ROLE_QUALIFIER_PROPERTY):
            role = f"{role}/{self.evaluate(task, props[ROLE_QUALIFIER_PROPERTY])}"
        due_at, due_provisional = self.due(task)
        return Task(
            id=str(task.id),
            instance_id=inst.id,
            process_id=task.workflow.spec.name,
            element_id=task.task_spec.bpmn_id,
            name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
            lane=task.task_spec.lane,
            role=role,
            org_code=org_code,
            unit_code=unit,
            form=props.get(FORM_PROPERTY),
            article=props.get(ARTICLE_PROPERTY),
            due_at=due_at,
            due_provisional=due_provisional,
            remind_at=self.remind_at(due_at),
            state="ready",
            created_at=now,
        )

    def remind_at(self, due_at: datetime | None) -> datetime | None:
        """The start of the reminder window: N PRC working days before the deadline."""
        if due_at is None or self.reminder_working_days <= 0:
            return None
        return self.calendar.working_days_before(due_at, self.reminder_working_days)

    def due(self, task: SpiffTask) -> tuple[datetime | None, bool]:
        """The task's deadline from its ``dueDate`` expression, and whether it is provisional."""
        expression = task.task_spec.extensions.get("properties", {}).get(DUE_PROPERTY)
        if not expression:
            return None, False
        value = self.evaluate(task, expression)
        provisional = PROVISIONAL_KEY in task.internal_data
        task.internal_data.pop(PROVISIONAL_KEY, None)
        return TimerEventDefinition.get_datetime(str(value)), provisional

    def recompute_provisional_due(self, rows: list[Task], wf: BpmnWorkflow) -> dict[str, str]:
        """Compute again the deadline of each open task whose deadline was provisional (a year's schedule has
        since been loaded); returns ``{element id: new deadline}`` for the working file."""
        changed: dict[str, str] = {}
        for row in rows:
            if row.due_provisional:
                row.due_at, row.due_provisional = self.due(wf.get_task_from_id(UUID(row.id)))
                row.remind_at = self.remind_at(row.due_at)
                changed[row.element_id] = row.due_at.isoformat() if row.due_at else ""
        return changed
