"""The engine: start instances, complete tasks, fire timers, persist — the only user of BpmnWorkflow.

Each public method is one unit of work on one instance inside the caller's transaction: it loads the
instance (state JSON + cached spec), checks what SpiffWorkflow does not (task READY, caller holds the role in
the task's organisation, form data valid), advances the workflow, and writes back the state, the task
projection, the next wake-up time and the working-file events. It flushes; the caller commits. A concurrent
writer is detected by the instance's ``lock_version`` and reported as :class:`~workflows.errors.Conflict`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from workflows import clock as clockmod
from workflows import records as recordsmod
from workflows.accountability import HANDLERS as ACCOUNTABILITY_HANDLERS
from workflows.clock import Clock, SystemClock
from workflows.definitions import LoadedVersion, SpecCache, latest_version_with
from workflows.errors import Conflict, FormInvalid, NotAuthorized, NotFound, ProcessFailed, TaskNotReady
from workflows.forms import validate_submission
from workflows.legal_time import WorkingCalendar
from workflows.models import InstanceEvent, OrgUnit, ProcessInstance, Task
from workflows.roles import SYSTEM, Actor, OrgNode, OrgTree, parse_lane
from workflows.sandbox import RestrictedEnvironment
from workflows.script_helpers import make_helpers
from workflows.serializer import serializer
from workflows.validation import ARTICLE_PROPERTY, DUE_PROPERTY, FORM_PROPERTY, ROLE_QUALIFIER_PROPERTY

PROVISIONAL_KEY = "provisional_years"


def end_events(wf: BpmnWorkflow) -> list[str]:
    """Ids of the end events the top-level process reached: how the case ended (closed, escalated...)."""
    return [
        t.task_spec.bpmn_id
        for t in wf.get_tasks(state=TaskState.COMPLETED)
        if isinstance(t.task_spec, EndEvent) and t.workflow is wf
    ]


class _ScriptEngine(PythonScriptEngine):
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


class Engine:
    def __init__(
        self,
        session: Session,
        calendar: WorkingCalendar,
        *,
        clock: Clock | None = None,
        spec_cache: SpecCache | None = None,
        org: OrgTree | None = None,
        handlers: recordsmod.Handlers | None = None,
        reminder_working_days: int = 3,
    ) -> None:
        clockmod.install_spiff_clock()
        self.session = session
        self.calendar = calendar
        self.clock = clock or SystemClock()
        self.specs = spec_cache or SpecCache()
        self.helpers = make_helpers(calendar, lambda: self.org)
        self.script_engine = _ScriptEngine(RestrictedEnvironment(self.helpers), calendar)
        self._org = org
        self.handlers = ACCOUNTABILITY_HANDLERS if handlers is None else handlers
        self.reminder_working_days = reminder_working_days

    # -- context ----------------------------------------------------------------------------------------
    @property
    def org(self) -> OrgTree:
        if self._org is None:
            rows = self.session.scalars(select(OrgUnit))
            self._org = OrgTree({r.code: OrgNode(r.code, r.name, r.level, r.parent_code) for r in rows})
        return self._org

    @contextmanager
    def _running(self) -> Iterator[None]:
        with clockmod.activated(self.clock), recordsmod.collecting():
            try:
                yield
            except SpiffWorkflowException as exc:
                raise ProcessFailed(str(exc)) from exc
            except StaleDataError:  # a flush (auto or final) met a newer lock_version
                raise Conflict("someone else changed the case meanwhile; reload and retry") from None

    def now(self) -> datetime:
        with clockmod.activated(self.clock):
            return clockmod.now()

    # -- instances --------------------------------------------------------------------------------------
    def start(
        self,
        process_id: str,
        *,
        business_key: str,
        unit_code: str,
        data: Mapping[str, Any] | None = None,
        actor: Actor = SYSTEM,
        parent_instance_id: int | None = None,
    ) -> ProcessInstance:
        """Start ``process_id`` on the newest version that has it, for the case's unit."""
        if unit_code not in self.org.nodes:
            raise NotFound(f"unknown organisation unit {unit_code!r}")
        version = latest_version_with(self.session, process_id)
        loaded = self.specs.get(self.session, version.id)
        with self._running():
            now = clockmod.now()
            wf = BpmnWorkflow(loaded.specs[process_id], loaded.specs, script_engine=self.script_engine)
            start = wf.get_tasks(state=TaskState.READY)[0]
            unit = self.org.nodes[unit_code]
            start.data.update(
                dict(data or {}),
                unit_code=unit_code,
                unit_name=unit.name,
                unit_level=unit.level,
                business_key=business_key,
            )
            inst = ProcessInstance(
                version_id=version.id,
                process_id=process_id,
                business_key=business_key,
                unit_code=unit_code,
                status="running",
                summary={},
                state_json="",
                created_at=now,
                updated_at=now,
                started_by=actor.user_id,
                parent_instance_id=parent_instance_id,
            )
            self.session.add(inst)
            self.session.flush()
            self._event(inst, actor, "started", detail={"version": version.number})
            self._advance(inst, wf, loaded, actor)
        return inst

    def get_instance(self, instance_id: int) -> ProcessInstance:
        inst = self.session.get(ProcessInstance, instance_id)
        if inst is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        return inst

    def element_documentation(self, version_id: int, process_id: str, element_id: str) -> str:
        """The documentation a designer wrote on a diagram element (usually its article), for task pages."""
        spec = self.specs.get(self.session, version_id).specs.get(process_id)
        if spec is None:
            return ""
        for task_spec in spec.task_specs.values():
            documentation = getattr(task_spec, "documentation", None)
            if getattr(task_spec, "bpmn_id", None) == element_id and documentation:
                return str(documentation)
        return ""

    def form_schema(self, version_id: int, form: str | None) -> dict[str, Any] | None:
        return self.specs.get(self.session, version_id).forms.get(form) if form else None

    def element_states(self, inst: ProcessInstance) -> dict[str, dict[str, list[str]]]:
        """Per (sub)process: the BPMN element ids already passed and those waiting now, for highlighting
        the case's diagrams (supervisor view)."""
        wf = self.workflow(inst)
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

    def workflow(self, inst: ProcessInstance) -> BpmnWorkflow:
        """Deserialize an instance (read-only use: case views, tests). Never needed for inboxes."""
        return self._load(inst)[0]

    def _load(self, inst: ProcessInstance) -> tuple[BpmnWorkflow, LoadedVersion]:
        loaded = self.specs.get(self.session, inst.version_id)
        spec = loaded.specs[inst.process_id]
        wf = serializer().state_from_json(inst.state_json, spec, loaded.specs)
        wf.script_engine = self.script_engine
        return wf, loaded

    # -- tasks ------------------------------------------------------------------------------------------
    def ready_tasks(self, instance_id: int) -> list[Task]:
        return list(
            self.session.scalars(
                select(Task)
                .where(Task.instance_id == instance_id, Task.state == "ready")
                .order_by(Task.created_at)
            )
        )

    def _open_task(self, task_id: str, actor: Actor) -> Task:
        row = self.session.get(Task, task_id)
        if row is None:
            raise NotFound(f"task {task_id} does not exist")
        if row.state != "ready":
            raise TaskNotReady(f"task {row.name!r} is {row.state}, not ready")
        if not actor.holds(row.role, row.org_code):
            raise NotAuthorized(f"task {row.name!r} belongs to role {row.role} at {row.org_code}")
        return row

    def claim(self, task_id: str, actor: Actor) -> Task:
        row = self._open_task(task_id, actor)
        if row.claimed_by and row.claimed_by != actor.user_id:
            raise Conflict(f"task {row.name!r} is already claimed by {row.claimed_by}")
        row.claimed_by = actor.user_id
        self.session.flush()
        return row

    def release(self, task_id: str, actor: Actor) -> Task:
        row = self._open_task(task_id, actor)
        if row.claimed_by != actor.user_id:
            raise Conflict(f"task {row.name!r} is not claimed by you")
        row.claimed_by = None
        self.session.flush()
        return row

    def complete_task(self, task_id: str, data: Mapping[str, Any], actor: Actor) -> ProcessInstance:
        """Complete a READY user task as ``actor`` with form ``data`` and run the engine to its next wait."""
        row = self._open_task(task_id, actor)
        if row.claimed_by and row.claimed_by != actor.user_id:
            raise NotAuthorized(f"task {row.name!r} is claimed by {row.claimed_by}")
        inst = row.instance
        if inst.status != "running":
            raise TaskNotReady(f"the case is {inst.status}")
        wf, loaded = self._load(inst)
        task = wf.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY:
            raise TaskNotReady(f"task {row.name!r} is not ready in the workflow")
        clean = validate_submission(loaded.forms.get(row.form) if row.form else None, data)
        with self._running():
            task.data.update(clean)
            task.run()
            now = clockmod.now()
            row.state, row.completed_by, row.completed_at = "completed", actor.user_id, now
            self._event(inst, actor, "task_completed", task=row, detail={"data": clean})
            self._advance(inst, wf, loaded, actor)
        return inst

    def send_back(self, task_id: str, reason: str, actor: Actor) -> ProcessInstance:
        """驳回: return the case to the previous user task of the same procedure, with a reason on file."""
        row = self._open_task(task_id, actor)
        if not reason.strip():
            raise FormInvalid({"reason": ["a reason is required to send a task back"]})
        inst = row.instance
        wf, loaded = self._load(inst)
        task = wf.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY:
            raise TaskNotReady(f"task {row.name!r} is not ready in the workflow")
        previous = task.parent
        while previous is not None and not (
            getattr(previous.task_spec, "manual", False) and previous.state == TaskState.COMPLETED
        ):
            previous = previous.parent
        if previous is None or previous.workflow is not task.workflow:
            raise TaskNotReady(
                f"task {row.name!r} is the first step of its procedure; nothing to send back to"
            )
        with self._running():
            self._event(
                inst,
                actor,
                "sent_back",
                task=row,
                detail={"reason": reason, "to": previous.task_spec.bpmn_id},
            )
            wf.reset_from_task_id(previous.id)
            self._advance(inst, wf, loaded, actor)
        return inst

    def transfer(self, task_id: str, actor: Actor, to: Actor, note: str = "") -> Task:
        """转办: hand a task to another holder of its role in the same organisation."""
        row = self._open_task(task_id, actor)
        if not to.holds(row.role, row.org_code):
            raise NotAuthorized(f"{to.user_id} does not hold {row.role} at {row.org_code}")
        row.claimed_by = to.user_id
        with clockmod.activated(self.clock):
            self._event(row.instance, actor, "transferred", task=row, detail={"to": to.user_id, "note": note})
        self.session.flush()
        return row

    def note(
        self, instance_id: int, actor: Actor, kind: str, detail: dict[str, Any], task_id: str | None = None
    ):
        """Put a comment (审批意见), an urge (催办) or an attachment on the case's working file."""
        inst = self.get_instance(instance_id)
        row = self.session.get(Task, task_id) if task_id else None
        with clockmod.activated(self.clock):
            self._event(inst, actor, kind, task=row, detail=detail)
        self.session.flush()
        return inst

    # -- timers -----------------------------------------------------------------------------------------
    def wake(self, instance_id: int, actor: Actor = SYSTEM) -> bool:
        """Fire whatever timers of one instance are due now and run the engine on.

        Returns False, writing nothing, when nothing is due (any more): another scheduler got there first.
        """
        inst = self.get_instance(instance_id)
        with clockmod.activated(self.clock):
            if inst.status != "running" or inst.next_wake_at is None or inst.next_wake_at > clockmod.now():
                return False
        wf, loaded = self._load(inst)
        with self._running():
            before = {str(t.id) for t in wf.get_tasks(state=TaskState.WAITING)}
            wf.refresh_timers()
            self._advance(inst, wf, loaded, actor, fired_from=before)
        return True

    def recompute_provisional(self, instance_id: int) -> ProcessInstance:
        """Re-evaluate provisional deadlines after a year's official schedule was loaded."""
        inst = self.get_instance(instance_id)
        wf, loaded = self._load(inst)
        with self._running():
            changed: dict[str, str] = {}
            for task in wf.get_tasks(state=TaskState.WAITING):
                definition = getattr(task.task_spec, "event_definition", None)
                if isinstance(definition, TimerEventDefinition) and PROVISIONAL_KEY in task.internal_data:
                    old = task.internal_data.get("event_value")
                    new = self.script_engine.evaluate(task, definition.expression)
                    if isinstance(old, str) and isinstance(new, str):
                        task.internal_data["event_value"] = new
                        changed[task.task_spec.bpmn_id or task.task_spec.name] = new
            for row in self.ready_tasks(inst.id):
                if row.due_provisional:
                    spiff_task = wf.get_task_from_id(UUID(row.id))
                    row.due_at, row.due_provisional = self._due(spiff_task)
                    row.remind_at = self._remind_at(row.due_at)
                    changed[row.element_id] = row.due_at.isoformat() if row.due_at else ""
            self._event(inst, SYSTEM, "deadlines_recomputed", detail={"changed": changed})
            self._advance(inst, wf, loaded, SYSTEM)
        return inst

    # -- persistence --------------------------------------------------------------------------------------
    def _advance(
        self,
        inst: ProcessInstance,
        wf: BpmnWorkflow,
        loaded: LoadedVersion,
        actor: Actor,
        fired_from: set[str] | None = None,
    ) -> None:
        wf.do_engine_steps()
        wf.refresh_timers()  # a deadline already in the past fires now, not at the next scheduler run
        wf.do_engine_steps()
        now = clockmod.now()
        if fired_from is not None:
            still = {str(t.id) for t in wf.get_tasks(state=TaskState.WAITING)}
            for tid in sorted(fired_from - still):
                task = wf.get_task_from_id(UUID(tid))
                self._event(inst, actor, "timer_fired", element_id=task.task_spec.bpmn_id if task else None)
        self._store_records(inst, actor)  # facts the scripts stated come before the tasks they led to
        self._sync_tasks(inst, wf, now)
        wakes: list[datetime] = []
        provisional = (
            self.session.scalar(
                select(Task.id).where(
                    Task.instance_id == inst.id, Task.state == "ready", Task.due_provisional
                )
            )
            is not None
        )
        for task in wf.get_tasks(state=TaskState.WAITING):
            definition = getattr(task.task_spec, "event_definition", None)
            if not isinstance(definition, TimerEventDefinition):
                continue
            value = definition.details(task).value
            if isinstance(value, str):
                wakes.append(TimerEventDefinition.get_datetime(value))
            provisional = provisional or PROVISIONAL_KEY in task.internal_data
        inst.next_wake_at = min(wakes) if wakes else None
        inst.has_provisional = provisional
        if wf.is_completed():
            inst.status, inst.completed_at, inst.next_wake_at = "complete", now, None
            self._event(inst, actor, "completed", detail={"end_events": end_events(wf)})
        inst.state_json = serializer().state_to_json(wf)
        inst.updated_at = now
        flag_modified(inst, "state_json")  # always write, so every step is checked against lock_version
        self.session.flush()

    def _sync_tasks(self, inst: ProcessInstance, wf: BpmnWorkflow, now: datetime) -> None:
        ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)}
        known = {r.id: r for r in self.session.scalars(select(Task).where(Task.instance_id == inst.id))}
        for tid, row in known.items():
            if row.state == "ready" and tid not in ready:
                row.state = "cancelled"  # e.g. an interrupting deadline took the case elsewhere
                self._event(inst, SYSTEM, "task_cancelled", task=row)
        for tid, task in ready.items():
            if tid in known:
                row = known[tid]
                if row.state != "ready":  # sent back (驳回) to this task: it is open again
                    row.state, row.completed_by, row.completed_at, row.claimed_by = "ready", None, None, None
                    row.due_at, row.due_provisional = self._due(task)
                    row.remind_at = self._remind_at(row.due_at)
                    row.created_at = now
                    self._event(inst, SYSTEM, "task_reopened", task=row)
                continue
            lane = parse_lane(task.task_spec.lane)
            unit = str(task.data.get("unit_code") or inst.unit_code)
            props = task.task_spec.extensions.get("properties", {})
            due_at, due_provisional = self._due(task)
            role = lane.role
            if props.get(ROLE_QUALIFIER_PROPERTY):
                role = f"{role}/{self.script_engine.evaluate(task, props[ROLE_QUALIFIER_PROPERTY])}"
            row = Task(
                id=tid,
                instance_id=inst.id,
                process_id=task.workflow.spec.name,
                element_id=task.task_spec.bpmn_id,
                name=task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                lane=task.task_spec.lane,
                role=role,
                org_code=self.org.resolve(lane, unit),
                unit_code=unit,
                form=props.get(FORM_PROPERTY),
                article=props.get(ARTICLE_PROPERTY),
                due_at=due_at,
                due_provisional=due_provisional,
                remind_at=self._remind_at(due_at),
                state="ready",
                created_at=now,
            )
            self.session.add(row)
            self._event(inst, SYSTEM, "task_created", task=row)

    def _store_records(self, inst: ProcessInstance, actor: Actor) -> None:
        collected = recordsmod.pending()
        for rec in collected:
            self._event(inst, actor, rec.kind, detail=rec.detail)
            recordsmod.apply_summary(inst, rec)
            handler = self.handlers.get(rec.kind)
            if handler is not None:
                handler(self, inst, rec)
        collected.clear()

    def _remind_at(self, due_at: datetime | None) -> datetime | None:
        if due_at is None or self.reminder_working_days <= 0:
            return None
        return self.calendar.working_days_before(due_at, self.reminder_working_days)

    def _due(self, task: SpiffTask) -> tuple[datetime | None, bool]:
        expression = task.task_spec.extensions.get("properties", {}).get(DUE_PROPERTY)
        if not expression:
            return None, False
        value = self.script_engine.evaluate(task, expression)
        provisional = PROVISIONAL_KEY in task.internal_data
        task.internal_data.pop(PROVISIONAL_KEY, None)
        return TimerEventDefinition.get_datetime(str(value)), provisional

    def _event(
        self,
        inst: ProcessInstance,
        actor: Actor,
        kind: str,
        *,
        task: Task | None = None,
        element_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.session.add(
            InstanceEvent(
                instance_id=inst.id,
                at=clockmod.now(),
                actor=actor.user_id,
                kind=kind,
                element_id=task.element_id if task else element_id,
                task_id=task.id if task else None,
                detail=detail or {},
            )
        )
