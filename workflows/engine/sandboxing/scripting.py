"""The script engine every instance runs with: SpiffWorkflow's, sandboxed (sandbox.py) and under a budget
(budgeted.py), noting in a task's internal data when a deadline it computed rests on a year without an
official holiday schedule."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from workflows.engine.errors import BudgetExceeded
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.phrase import Phrase
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
        with self.calendar.track() as tracked, _budget_unwrapped(task):
            value = super().evaluate(task, expression, external_context)
        if tracked.provisional:
            task.internal_data[PROVISIONAL_KEY] = sorted(tracked.provisional_years)
        else:
            task.internal_data.pop(PROVISIONAL_KEY, None)
        return value

    def execute(self, task: SpiffTask, script: str, external_context: Any = None) -> Any:
        with _budget_unwrapped(task):
            return super().execute(task, script, external_context)


@contextmanager
def _budget_unwrapped(task: SpiffTask) -> Iterator[None]:
    """SpiffWorkflow wraps every failure of a script or expression in a WorkflowTaskException (and the
    engine turns those into ProcessFailed, a 500); an overrun must reach the caller as itself, naming the
    element, so it can be answered with a 4xx and filed as an incident (issue 16)."""
    try:
        yield
    except WorkflowTaskException as exc:
        cause = exc.__cause__ or exc.__context__
        if not isinstance(cause, BudgetExceeded):
            raise
        spec = task.task_spec
        name = spec.bpmn_name or ""
        where = (
            Phrase("元素 {id}（{name}）", id=spec.bpmn_id, name=name)
            if name
            else Phrase("元素 {id}", id=spec.bpmn_id)
        )
        said = cause.args[0] if cause.args and isinstance(cause.args[0], Phrase) else str(cause)
        raise BudgetExceeded(
            Phrase("{where}的{cause}；实例保持原状", where=where, cause=said),
            cause.resource,
            detail=cause.detail,
            element_id=spec.bpmn_id,
            element_name=name,
        ) from cause
