"""驳回 (send back) on the workflow: which earlier step a task returns to, and the reset to it.

Pure functions over a deserialised :class:`BpmnWorkflow`, like :mod:`workflows.engine.waiting`; the engine's
``send_back`` checks who may send back and writes the working file around them.
"""

from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState


def reset_to(wf: BpmnWorkflow, task_id: UUID) -> None:
    """Reset the workflow to the task ``task_id`` (驳回: send a case back to an earlier step). SpiffWorkflow
    3.2 removes the task's descendants from the tree but leaves a removed waiting event — the boundary timer
    of the task being sent back — registered, and its next timer refresh fails on the detached task: it is
    unregistered here."""
    for removed in wf.reset_from_task_id(task_id):
        wf.event_manager.remove_task(removed)


def returnable_step(task: SpiffTask) -> SpiffTask | None:
    """The earlier user task 驳回 returns ``task`` to: the nearest completed user task above it in its own
    procedure, when only flow lies between them (gateways, scripts, the splits of boundary events). None when
    there is none, or when an event (a deadline that passed, a message, a signal) or a called procedure
    opened the way to ``task``: no person's step handed it on, and going back would undo what that event or
    procedure did — a unit applying for the acceptance check after its rectification period must not
    return the case to the committee's decision."""
    previous = task.parent
    while previous is not None and previous.workflow is task.workflow:
        spec = previous.task_spec
        if getattr(spec, "manual", False) and previous.state == TaskState.COMPLETED:
            return previous
        if isinstance(spec, CatchingEvent | SubWorkflowTask):
            return None
        previous = previous.parent
    return None
