"""What a workflow is waiting for: its timers' next wake-up, and re-evaluating provisional deadlines.

Pure functions over a deserialised :class:`BpmnWorkflow`, kept apart from :mod:`workflows.engine.core` so the
engine's unit of work (load, check, advance, write back) reads in one place; the engine calls these on the
workflow it holds and writes the results to the instance row and its task rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from workflows.engine.sandboxing.scripting import PROVISIONAL_KEY


def _waiting_timers(wf: BpmnWorkflow) -> list[tuple[Any, TimerEventDefinition]]:
    found = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if isinstance(definition, TimerEventDefinition):
            found.append((task, definition))
    return found


def next_wake(wf: BpmnWorkflow) -> tuple[datetime | None, bool]:
    """The earliest instant a waiting timer fires (None: no timer waits), and whether any waiting timer's
    deadline is provisional (computed with a year's holiday schedule not yet published)."""
    wakes: list[datetime] = []
    provisional = False
    for task, definition in _waiting_timers(wf):
        value = definition.details(task).value
        if isinstance(value, str):
            wakes.append(TimerEventDefinition.get_datetime(value))
        provisional = provisional or PROVISIONAL_KEY in task.internal_data
    return (min(wakes) if wakes else None), provisional


def reevaluate_provisional_timers(wf: BpmnWorkflow, evaluate: Any) -> dict[str, str]:
    """Evaluate again each waiting timer whose deadline was provisional (``evaluate(task, expression)``, the
    engine's script engine) and store the new instant; returns ``{element id: new value}`` of those."""
    changed: dict[str, str] = {}
    for task, definition in _waiting_timers(wf):
        if PROVISIONAL_KEY not in task.internal_data:
            continue
        old = task.internal_data.get("event_value")
        new = evaluate(task, definition.expression)
        if isinstance(old, str) and isinstance(new, str):
            task.internal_data["event_value"] = new
            changed[task.task_spec.bpmn_id or task.task_spec.name] = new
    return changed
