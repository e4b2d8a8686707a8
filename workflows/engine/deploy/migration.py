"""Moving running instances to a newer definition version, without moving their deadlines.

SpiffWorkflow aligns the old and new specs by BPMN id (``SpiffWorkflow.bpmn.util.diff``) and re-predicts
READY and WAITING tasks, which restarts waiting timers (ENGINE_NOTES.md): a rectification deadline would
be recomputed from the migration instant. We keep every waiting timer's computed due value and put it back,
so a unit's legal deadline stays what it was told. An instance whose current (READY/WAITING) steps no
longer exist in the new version cannot move; the dry run says so per instance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import LoadedVersion
from workflows.engine.deploy.serializer import serializer
from workflows.engine.deploy.validation import ARTICLE_PROPERTY, FORM_PROPERTY
from workflows.engine.deploy.wording import label
from workflows.engine.errors import EngineError, NotFound
from workflows.engine.models import DefinitionVersion, ProcessInstance, Task
from workflows.engine.phrase import Phrase

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


class MigrationRefused(EngineError):
    code = "migration_refused"


@dataclass
class MigrationPlan:
    instance_id: int
    business_key: str
    from_version: int
    to_version: int
    can_migrate: bool
    reasons: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # element ids whose definition changed
    removed: list[str] = field(default_factory=list)  # element ids gone in the new version
    changed_names: list[str] = field(default_factory=list)  # the changed steps' names in the new version

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _target(engine: Engine, number: int) -> tuple[DefinitionVersion, LoadedVersion]:
    version = engine.session.query(DefinitionVersion).filter_by(number=number).one_or_none()
    if version is None:
        raise NotFound(f"流程定义版本 {number} 不存在")
    return version, engine.specs.get(engine.session, version.id)


def plan(engine: Engine, inst: ProcessInstance, to_number: int) -> MigrationPlan:
    version, target = _target(engine, to_number)
    current = engine.session.get(DefinitionVersion, inst.version_id)
    result = MigrationPlan(inst.id, inst.business_key, current.number if current else 0, to_number, True)
    if inst.status != "running":
        result.can_migrate = False
        result.reasons.append(Phrase("实例状态为 {status}，只能迁移运行中的实例", status=inst.status))
        return result
    if version.id == inst.version_id:
        result.can_migrate = False
        result.reasons.append(Phrase("已经在版本 {version} 上", version=to_number))
        return result
    if inst.process_id not in target.specs:
        result.can_migrate = False
        result.reasons.append(
            Phrase("版本 {version} 中没有流程 {process}", version=to_number, process=inst.process_id)
        )
        return result
    wf = engine.workflow(inst)
    top, subs = diff_workflow(serializer().registry, wf, target.specs[inst.process_id], target.specs)
    diffs = [top, *[d for d in subs.values() if d is not None]]
    for sp_id, diff in subs.items():
        if diff is None and wf.subprocesses[sp_id].get_tasks(state=ACTIVE):
            result.can_migrate = False
            result.reasons.append(
                Phrase(
                    "正在运行的子流程 {process} 在版本 {version} 中不存在",
                    process=wf.subprocesses[sp_id].spec.name,
                    version=to_number,
                )
            )
    for diff in diffs:
        for task in diff.removed:
            name = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
            result.removed.append(name)
            if task.state & ACTIVE:
                result.can_migrate = False
                step = label(name, getattr(task.task_spec, "bpmn_name", None))
                result.reasons.append(
                    Phrase(
                        "当前步骤{step}在版本 {version} 中不存在，实例不能迁移", step=step, version=to_number
                    )
                )
        result.changed.extend(getattr(t.task_spec, "bpmn_id", None) or t.task_spec.name for t in diff.changed)
    result.removed = sorted(set(result.removed))
    result.changed = sorted(set(result.changed))
    result.changed_names = _step_names(target, result.changed)
    return result


def migrate(engine: Engine, inst: ProcessInstance, to_number: int, actor: Actor) -> MigrationPlan:
    """Move one instance; raise :class:`MigrationRefused` (nothing written) when the plan says it cannot."""
    checked = plan(engine, inst, to_number)
    if not checked.can_migrate:
        raise MigrationRefused("; ".join(checked.reasons))
    version, target = _target(engine, to_number)
    wf = engine.workflow(inst)
    kept = {
        (t.workflow.spec.name, t.task_spec.name): t.internal_data["event_value"]
        for t in wf.get_tasks(state=TaskState.WAITING)
        if "event_value" in t.internal_data
    }
    top, subs = diff_workflow(serializer().registry, wf, target.specs[inst.process_id], target.specs)
    with engine._running():  # the engine's own unit of work: clock, records, error translation
        migrate_workflow(top, wf, target.specs[inst.process_id])
        for sp_id, diff in subs.items():
            if diff is not None:
                sub = wf.subprocesses[sp_id]
                migrate_workflow(diff, sub, target.specs[sub.spec.name])
        wf.subprocess_specs = dict(target.specs)
        wf.do_engine_steps()
        for task in wf.get_tasks(state=TaskState.WAITING):
            key = (task.workflow.spec.name, task.task_spec.name)
            if key in kept:  # the deadline the unit was told stays the deadline
                task.internal_data["event_value"] = kept[key]
        inst.version_id = version.id
        engine.event(
            inst,
            actor,
            "migrated",
            detail={
                "from": checked.from_version,
                "to": to_number,
                "changed": checked.changed,
                "changed_names": checked.changed_names,
            },
        )
        engine._advance(inst, wf, target, actor)
        _rename_open_tasks(engine, inst, wf)
    return checked


def _step_names(target: LoadedVersion, element_ids: list[str]) -> list[str]:
    """The new version's names of the changed steps that have one (what a reader of the file knows)."""
    names: dict[str, str] = {}
    for spec in target.specs.values():
        for task_spec in spec.task_specs.values():
            bpmn_id, name = getattr(task_spec, "bpmn_id", None), getattr(task_spec, "bpmn_name", None)
            if bpmn_id and name:
                names.setdefault(bpmn_id, name)
    return [names[i] for i in element_ids if i in names]


def _rename_open_tasks(engine: Engine, inst: ProcessInstance, wf: Any) -> None:
    """Open task rows read as the new version says: its step names, forms and article references (the
    rows stay the same rows, so their deadlines, claims and reminders stay too)."""
    ready = {str(t.id): t for t in wf.get_tasks(state=TaskState.READY, manual=True)}
    rows = engine.session.scalars(select(Task).where(Task.instance_id == inst.id, Task.state == "ready"))
    for row in rows:
        task = ready.get(row.id)
        if task is None:
            continue
        spec = task.task_spec
        props = getattr(spec, "extensions", {}).get("properties", {})
        row.name = spec.bpmn_name or spec.bpmn_id
        row.form = props.get(FORM_PROPERTY)
        row.article = props.get(ARTICLE_PROPERTY)
