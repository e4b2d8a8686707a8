"""Read-only looks into a case for its pages: an element's documentation (its article), a task's form,
and which diagram elements are done or waiting (to highlight the supervisor's diagram)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.util.task import TaskState

from workflows.engine.deploy.definitions import latest_version_with
from workflows.engine.deploy.validation import FORM_PROPERTY
from workflows.engine.models import ProcessInstance, Task
from workflows.engine.send_back import returnable_step

if TYPE_CHECKING:
    from workflows.engine.core import Engine


def element_documentation(engine: Engine, version_id: int, process_id: str, element_id: str) -> str:
    """The documentation a designer wrote on a diagram element (usually its article), for task pages."""
    spec = engine.specs.get(engine.session, version_id).specs.get(process_id)
    if spec is None:
        return ""
    for task_spec in spec.task_specs.values():
        documentation = getattr(task_spec, "documentation", None)
        if getattr(task_spec, "bpmn_id", None) == element_id and documentation:
            return str(documentation)
    return ""


def form_schema(engine: Engine, version_id: int, form: str | None) -> dict[str, Any] | None:
    return engine.specs.get(engine.session, version_id).forms.get(form) if form else None


def task_data(engine: Engine, inst: ProcessInstance, task_id: str) -> dict[str, Any]:
    """The data a ready task sees (what its form is prefilled with, e.g. a drafted document)."""
    return ready_task(engine, inst, task_id).data


@dataclass(frozen=True)
class ReadyTask:
    """What a ready task's page needs from the workflow, read in one deserialisation."""

    data: dict[str, Any]  # what the task sees (its form's prefill)
    can_send_back: bool  # 驳回 has an earlier step to return to (:func:`returnable_step`)


def ready_task(engine: Engine, inst: ProcessInstance, task_id: str) -> ReadyTask:
    """The data a ready task sees and whether it can be sent back, so the task page offers 驳回 only where
    the engine would do it (a first step, or one a deadline opened, has nothing to return to)."""
    spiff_task = engine.workflow(inst).get_task_from_id(UUID(task_id))
    if spiff_task is None:
        return ReadyTask({}, False)
    return ReadyTask(dict(spiff_task.data), returnable_step(spiff_task) is not None)


PREFILL = "x-prefill"


def prefill(schema: dict[str, Any] | None, data: dict[str, Any]) -> dict[str, Any]:
    """What a form opens with: only the fields its ``x-prefill`` names (``true``: all of them), so a form
    never leads — an approval does not open with an earlier step's decision or opinion in its fields — while
    a registration shows the report and a draft document its prefilled text."""
    wanted = (schema or {}).get(PREFILL)
    fields = (schema or {}).get("properties", {})
    names = set(fields) if wanted is True else set(wanted) & set(fields) if isinstance(wanted, list) else None
    return {k: v for k, v in data.items() if k in (names or set())}


def form_values(engine: Engine, task: Task) -> dict[str, Any]:
    """A ready task's prefill (what an API client may show and send back)."""
    schema = form_schema(engine, task.instance.version_id, task.form)
    if task.state != "ready" or not schema or not schema.get(PREFILL):
        return {}  # nothing to prefill: no need to load the workflow
    return prefill(schema, task_data(engine, task.instance, task.id))


def element_states(engine: Engine, inst: ProcessInstance) -> dict[str, dict[str, list[str]]]:
    """Per (sub)process: the BPMN element ids already passed and those waiting now, for highlighting
    the case's diagrams (supervisor view)."""
    wf = engine.workflow(inst)
    states: dict[str, dict[str, set[str]]] = {}
    for task in wf.get_tasks():
        bpmn_id = getattr(task.task_spec, "bpmn_id", None)
        if not bpmn_id:
            continue
        entry = states.setdefault(task.workflow.spec.name, {"done": set(), "current": set()})
        if task.state == TaskState.COMPLETED:
            entry["done"].add(bpmn_id)
        elif task.state in (TaskState.READY, TaskState.WAITING, TaskState.STARTED):
            entry["current"].add(bpmn_id)
    return {
        name: {"done": sorted(v["done"] - v["current"]), "current": sorted(v["current"])}
        for name, v in states.items()
    }


def start_form(engine: Engine, process_id: str) -> dict[str, Any] | None:
    """The form a process is started with (its start event's ``formJsonSchemaFilename``), in the newest
    version that has the process; None when it declares none."""
    version = latest_version_with(engine.session, process_id)
    loaded = engine.specs.get(engine.session, version.id)
    spec = loaded.specs[process_id]
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent):
            form = getattr(task_spec, "extensions", {}).get("properties", {}).get(FORM_PROPERTY)
            if form:
                return loaded.forms.get(form)
    return None
