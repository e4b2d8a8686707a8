"""The script engine every instance runs with: SpiffWorkflow's, sandboxed (sandbox.py), noting in
a task's internal data when a deadline it computed rests on a year without an official holiday schedule."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.sandboxing.sandbox import RestrictedEnvironment

PROVISIONAL_KEY = "provisional_years"


def end_events(wf: BpmnWorkflow) -> list[str]:
    """Ids of the end events the top-level process reached: how the case ended (closed, escalated...)."""
    return [
        t.task_spec.bpmn_id
        for t in wf.get_tasks(state=TaskState.COMPLETED)
        if isinstance(t.task_spec, EndEvent) and t.workflow is wf
    ]


class ScriptEngine(PythonScriptEngine):
    """Sandboxed evaluation that also notes when a deadline used a year without an official schedule."""

    def __init__(self, environment: RestrictedEnvironment, calendar: WorkingCalendar) -> None:
        super().__init__(environment=environment)
        self.calendar = calendar

    def evaluate(self, task: SpiffTask, expression: str, external_context: Any = None) -> Any:
        with self.calendar.track() as tracked:
            value = super().evaluate(task, expression, external_context)
        if tracked.provisional:
            task.internal_data[PROVISIONAL_KEY] = sorted(tracked.provisional_years)
        else:
            task.internal_data.pop(PROVISIONAL_KEY, None)
        return value
