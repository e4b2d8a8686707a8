"""The engine: start instances, complete tasks, fire timers, persist — the only user of BpmnWorkflow.

Each public method is one unit of work on one instance inside the caller's transaction: it loads the
instance (state JSON + cached spec), checks what SpiffWorkflow does not (task READY, caller holds the role in
the task's organisation, form data valid), advances the workflow, and writes back the state, the task
projection, the next wake-up time and the working-file events. It flushes; the caller commits. A concurrent
writer is detected by the instance's ``lock_version`` and reported as :class:`~.errors.Conflict`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from workflows.engine import records as recordsmod
from workflows.engine import tally, waiting  # noqa: F401  (tally: registers the listener that keeps counts)
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.audit_chain import begin_chain
from workflows.engine.deploy.definitions import LoadedVersion, SpecCache, latest_version_with
from workflows.engine.deploy.forms import validate_submission
from workflows.engine.deploy.serializer import serializer
from workflows.engine.errors import (
    Conflict,
    FormInvalid,
    NotAuthorized,
    NotFound,
    NothingToSendBack,
    ProcessFailed,
    TaskNotReady,
)
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.clock import Clock, SystemClock
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.models import ProcessInstance, Task
from workflows.engine.parts import DeployChecks, EngineParts
from workflows.engine.projection import TaskProjection
from workflows.engine.sandboxing.budgeted import BudgetedEnvironment
from workflows.engine.sandboxing.script_helpers import make_helpers
from workflows.engine.sandboxing.scripting import ScriptEngine, end_events
from workflows.engine.send_back import reset_to, returnable_step
from workflows.engine.step_events import StepEvents

# A completion's one read: the task, its instance and the instance's other open tasks. Built once: building
# it per call cost more than running it from SQLAlchemy's compiled cache (issue 17).
_TASK_WITH_SIBLINGS = (
    select(Task)
    .options(joinedload(Task.instance))
    .where(
        Task.instance_id == select(Task.instance_id).where(Task.id == bindparam("task_id")).scalar_subquery(),
        or_(Task.state == "ready", Task.id == bindparam("task_id")),
    )
)


class Engine:
    def __init__(
        self,
        session: Session,
        calendar: WorkingCalendar,
        parts: EngineParts,
        *,
        clock: Clock | None = None,
        spec_cache: SpecCache | None = None,
        reminder_working_days: int = 3,
    ) -> None:
        clockmod.install_spiff_clock()
        self.session = session
        self.calendar = calendar
        self.parts = parts
        self.clock = clock or SystemClock()
        self.specs = spec_cache or SpecCache()
        self.helpers = {**make_helpers(calendar), **parts.helpers}
        self.script_engine = ScriptEngine(BudgetedEnvironment(self.helpers), calendar)  # issue 16
        self.reminder_working_days = reminder_working_days
        self.acting: Actor = SYSTEM  # who takes the current step; set before record handlers run
        self.projection = TaskProjection(
            session, parts.lanes, self.script_engine.evaluate, calendar, reminder_working_days, self.event
        )
        # The open task rows each instance was left with by this engine's last step on it: what the caller
        # shows next (a completion's next tasks, the case row) without querying the rows it just wrote.
        self._opened: dict[int, list[Task]] = {}
        self.completed: Task | None = None  # the row the last complete_task closed, for its caller to show
        self.events = StepEvents(session)  # a step's working-file events, written together at its end

    # -- context ----------------------------------------------------------------------------------------
    @property
    def checks(self) -> DeployChecks:
        """What deploy-time validation needs: every script helper, the lane and process-property checks."""
        return DeployChecks(self.helpers, self.parts.lanes.check, self.parts.check_process)

    @contextmanager
    def _running(self) -> Iterator[None]:
        """One step: on the engine's clock, collecting what scripts state and its working-file events."""
        with clockmod.activated(self.clock), recordsmod.collecting():
            try:
                with self.events.step():
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
        try:
            unit_variables = self.parts.lanes.unit_variables(unit_code)
        except KeyError:
            raise NotFound(f"unknown organisation unit {unit_code!r}") from None
        version = latest_version_with(self.session, process_id)
        loaded = self.specs.get(self.session, version.id)
        with self._running():
            now = clockmod.now()
            wf = BpmnWorkflow(loaded.specs[process_id], loaded.specs, script_engine=self.script_engine)
            start = wf.get_tasks(state=TaskState.READY)[0]
            start.data.update(
                dict(data or {}), **unit_variables, unit_code=unit_code, business_key=business_key
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
            begin_chain(self.session, inst.id)  # a new instance: empty working file, no task rows to read
            self.event(inst, actor, "started", detail={"version": version.number})
            self._advance(inst, wf, loaded, actor, known_open=[])
        return inst

    def get_instance(self, instance_id: int) -> ProcessInstance:
        inst = self.session.get(ProcessInstance, instance_id)
        if inst is None:
            raise NotFound(f"process instance {instance_id} does not exist")
        return inst

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
    def open_tasks(self, inst: ProcessInstance) -> list[Task]:
        """The instance's open task rows, oldest first: those its last step on this engine left (no query),
        else :meth:`ready_tasks`."""
        opened = self._opened.get(inst.id)
        if opened is None:
            return self.ready_tasks(inst.id)
        return sorted((row for row in opened if row.state == "ready"), key=lambda row: row.created_at)

    def ready_tasks(self, instance_id: int) -> list[Task]:
        return list(
            self.session.scalars(
                select(Task)
                .where(Task.instance_id == instance_id, Task.state == "ready")
                .order_by(Task.created_at)
            )
        )

    def _open_task(self, task_id: str, actor: Actor, found: Task | None = None) -> Task:
        row = found or self.session.get(Task, task_id, options=[joinedload(Task.instance)])  # one round trip
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
        """Complete a READY user task as ``actor`` with form ``data`` and run the engine to its next wait.

        One query loads the task, its instance and its other open tasks, so the projection needs none: a
        completion never reopens a finished task (a loop gives a new id; only :meth:`send_back` reopens)."""
        rows = self.session.scalars(_TASK_WITH_SIBLINGS, {"task_id": task_id}).unique().all()
        row = self._open_task(task_id, actor, next((r for r in rows if r.id == task_id), None))
        if row.claimed_by and row.claimed_by != actor.user_id:
            raise NotAuthorized(f"task {row.name!r} is claimed by {row.claimed_by}")
        inst = row.instance
        if inst.status != "running":
            raise TaskNotReady(f"the case is {inst.status}")
        wf, loaded = self._load(inst)
        task = wf.get_task_from_id(UUID(task_id))
        if task is None or task.state != TaskState.READY:
            raise TaskNotReady(f"task {row.name!r} is not ready in the workflow")
        with self._running():  # on the engine's clock: "not after today" is the engine's today
            clean = validate_submission(loaded.forms.get(row.form) if row.form else None, data)
            task.data.update(clean)
            task.run()
            now = clockmod.now()
            row.state, row.completed_by, row.completed_at = "completed", actor.user_id, now
            self.event(inst, actor, "task_completed", task=row, detail={"data": clean})
            self.completed = row
            self._advance(inst, wf, loaded, actor, known_open=[r for r in rows if r.state == "ready"])
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
        previous = returnable_step(task)
        if previous is None:
            raise NothingToSendBack(
                f"task {row.name!r} was not handed on by an earlier step of its procedure (it is the first, "
                "or a deadline or another event opened it): nothing to send back to"
            )
        with self._running():
            self.event(
                inst,
                actor,
                "sent_back",
                task=row,
                detail={"reason": reason, "to": previous.task_spec.bpmn_id},
            )
            reset_to(wf, previous.id)
            self._advance(inst, wf, loaded, actor)
        return inst

    def transfer(self, task_id: str, actor: Actor, to: Actor, note: str = "") -> Task:
        """转办: hand a task to another holder of its role in the same organisation."""
        row = self._open_task(task_id, actor)
        if not to.holds(row.role, row.org_code):
            raise NotAuthorized(f"{to.user_id} does not hold {row.role} at {row.org_code}")
        row.claimed_by = to.user_id
        with clockmod.activated(self.clock):
            self.event(row.instance, actor, "transferred", task=row, detail={"to": to.user_id, "note": note})
        self.session.flush()
        return row

    def note(
        self, instance_id: int, actor: Actor, kind: str, detail: dict[str, Any], task_id: str | None = None
    ) -> ProcessInstance:
        """Put a comment (审批意见), an urge (催办) or an attachment on the case's working file."""
        inst = self.get_instance(instance_id)
        row = self.session.get(Task, task_id) if task_id else None
        with clockmod.activated(self.clock):
            self.event(inst, actor, kind, task=row, detail=detail)
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
            changed = waiting.reevaluate_provisional_timers(wf, self.script_engine.evaluate)
            changed.update(self.projection.recompute_provisional_due(self.ready_tasks(inst.id), wf))
            self.event(inst, SYSTEM, "deadlines_recomputed", detail={"changed": changed})
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
        known_open: list[Task] | None = None,
    ) -> None:
        wf.do_engine_steps()
        wf.refresh_timers()  # a deadline already in the past fires now, not at the next scheduler run
        wf.do_engine_steps()
        now = clockmod.now()
        if fired_from is not None:
            still = {str(t.id) for t in wf.get_tasks(state=TaskState.WAITING)}
            for tid in sorted(fired_from - still):
                task = wf.get_task_from_id(UUID(tid))
                self.event(inst, actor, "timer_fired", element_id=task.task_spec.bpmn_id if task else None)
        self._store_records(inst, actor)  # facts the scripts stated come before the tasks they led to
        with self.session.no_autoflush:  # handlers above may query; from here on, one flush at the end
            self._write_back(inst, wf, actor, now, known_open)
        self.session.flush()

    def _write_back(
        self,
        inst: ProcessInstance,
        wf: BpmnWorkflow,
        actor: Actor,
        now: datetime,
        known_open: list[Task] | None = None,
    ) -> None:
        open_rows = self.projection.sync(inst, wf, now, known_open)
        self._opened[inst.id] = open_rows
        inst.earliest_due_at = min((row.due_at for row in open_rows if row.due_at), default=None)
        inst.next_wake_at, provisional_timer = waiting.next_wake(wf)
        inst.has_provisional = provisional_timer or any(row.due_provisional for row in open_rows)
        if wf.is_completed():
            inst.status, inst.completed_at, inst.next_wake_at = "complete", now, None
            self.event(inst, actor, "completed", detail={"end_events": end_events(wf)})
        inst.state_json = serializer().state_to_json(wf)
        inst.updated_at = now
        flag_modified(inst, "state_json")  # always write, so every step is checked against lock_version

    def _store_records(self, inst: ProcessInstance, actor: Actor) -> None:
        """Facts the scripts stated go to the working file, the case summary, and their handlers."""
        collected = recordsmod.pending()
        self.acting = actor  # who took the step, for handlers that write their own rows (e.g. who issued)
        for rec in collected:
            self.event(inst, actor, rec.kind, detail=rec.detail)
            recordsmod.apply_summary(inst, rec)
            handler = self.parts.handlers.get(rec.kind)
            if handler is not None:
                self.events.write()  # a handler reading the working file sees the step's events so far
                handler(self, inst, rec)
        collected.clear()

    def event(
        self,
        inst: ProcessInstance,
        actor: Actor,
        kind: str,
        *,
        task: Task | None = None,
        element_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Put an event on the instance's working file: at the end of the running step, else at once."""
        self.events.add(inst.id, actor.user_id, kind, task, element_id, detail)
