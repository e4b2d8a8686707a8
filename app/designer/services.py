"""Designer operations shared by the pages and the API: deploy a changed file set on top of a version,
upload files made in a desktop modeller, plan and run migrations. Only holders of the designer role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from app.audit import audit
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy, latest_version
from workflows.engine.deploy.migration import MigrationPlan, MigrationRefused, migrate, plan
from workflows.engine.deploy.validation import validate_files
from workflows.engine.errors import DefinitionInvalid, NotAuthorized, NotFound, Problem
from workflows.engine.models import DefinitionVersion, OrgUnit, ProcessInstance, Task
from workflows.engine.phrase import Phrase

DESIGNER = "designer"
ALLOWED_PATHS = ("bpmn/", "forms/")


def require_designer(actor: Actor) -> None:
    if not any(role == DESIGNER for role, _org in actor.grants):
        raise NotAuthorized("只有流程设计人员可以部署流程或迁移流程实例")


def version_by_number(engine: Engine, number: int) -> DefinitionVersion:
    version = engine.session.scalar(select(DefinitionVersion).where(DefinitionVersion.number == number))
    if version is None:
        raise NotFound(f"流程定义版本 {number} 不存在")
    return version


def _check_paths(changes: Mapping[str, str | bytes]) -> None:
    problems = []
    for path in changes:
        ok = path.startswith(ALLOWED_PATHS) and path.count("/") == 1 and ".." not in path
        ok = ok and (path.endswith(".bpmn") if path.startswith("bpmn/") else path.endswith(".json"))
        if not ok:
            problems.append(
                Problem(
                    path,
                    Phrase(
                        "文件 {path} 的位置不对：流程图放在 bpmn/<名称>.bpmn，表单放在 forms/<名称>.json",
                        path=path,
                    ),
                )
            )
    if problems:
        raise DefinitionInvalid(problems)


@dataclass(frozen=True)
class Deployed:
    """What a deploy did: the new version, or (``unchanged``) the newest one, which already says it all."""

    version: DefinitionVersion
    unchanged: bool = False


def deploy_changes(
    engine: Engine,
    actor: Actor,
    changes: Mapping[str, str | bytes],
    comment: str,
    base: int | None = None,
    action: str = "deploy",
    removed: list[str] | None = None,
) -> Deployed:
    """A new version = the base version's files (default: newest) with ``changes`` applied. Validated in
    full; on any problem nothing is stored and :class:`DefinitionInvalid` says where. Files that say what
    the newest version says create nothing (``unchanged``) and are not audited: nothing happened."""
    require_designer(actor)
    _check_paths(changes)
    newest = latest_version(engine.session, required=False)
    base_version = version_by_number(engine, base) if base else newest
    files: dict[str, str | bytes] = {f.path: f.content for f in base_version.files} if base_version else {}
    for path in removed or []:
        files.pop(path, None)
    files.update(changes)
    version = deploy(engine.session, files, engine.checks, created_by=actor.user_id, comment=comment)
    if newest is not None and version.id == newest.id:
        return Deployed(version, unchanged=True)
    audit(
        engine.session,
        engine.now(),
        actor.user_id,
        action,
        version=version.number,
        base=base_version.number if base_version else None,
        files=sorted(changes),
        comment=comment,
    )
    return Deployed(version)


def each_file_checked(
    engine: Engine, changes: Mapping[str, str | bytes], refused: DefinitionInvalid
) -> list[Problem]:
    """The problems of a refused upload, with every uploaded diagram checked on its own as well.

    Checking a set stops at the first stage with problems, so in a batch of reference files one refused
    file would leave the others unchecked ("no problem found"). Each diagram is checked again alone with
    the newest version's files and the uploaded forms, so every file gets its own verdict."""
    problems = list(refused.problems)
    bpmn = [p for p in changes if p.endswith(".bpmn")]
    if len(bpmn) < 2:
        return problems
    newest = latest_version(engine.session, required=False)
    base: dict[str, str | bytes] = {f.path: f.content for f in newest.files} if newest else {}
    base.update({p: c for p, c in changes.items() if p.endswith(".json")})
    seen = {(p.file, p.element, p.message) for p in problems}
    for path in bpmn:
        if any(p.file == path for p in problems):
            continue
        texts = {k: v.decode("utf-8", "replace") if isinstance(v, bytes) else v for k, v in base.items()}
        content = changes[path]
        texts[path] = content.decode("utf-8", "replace") if isinstance(content, bytes) else content
        for problem in validate_files(texts, engine.checks).problems:
            key = (problem.file, problem.element, problem.message)
            if problem.file == path and key not in seen:
                seen.add(key)
                problems.append(problem)
    return problems


@dataclass(frozen=True)
class InstanceFilter:
    """What the migrate page narrows the running instances by; empty fields do not narrow."""

    version: int | None = None
    process_id: str = ""
    unit: str = ""  # a unit's code (its subtree) or part of its name
    step: str = ""  # part of a current step's name, or its element id

    def matches_step(self, steps: list[tuple[str, str]]) -> bool:
        return not self.step or any(self.step in name or self.step == element for element, name in steps)


@dataclass
class RunningInstance:
    id: int
    business_key: str
    process_id: str
    process_name: str
    version: int
    unit_code: str
    unit_name: str
    steps: list[str]


LISTED = 500  # the page lists at most this many instances; narrow the filters for the rest


def running_instances(engine: Engine, wanted: InstanceFilter) -> tuple[list[RunningInstance], dict[int, int]]:
    """The running instances the filters select (at most :data:`LISTED`), and how many run per version."""
    session = engine.session
    per_version = dict(
        session.execute(
            select(DefinitionVersion.number, func.count(ProcessInstance.id))
            .join(ProcessInstance, ProcessInstance.version_id == DefinitionVersion.id)
            .where(ProcessInstance.status == "running")
            .group_by(DefinitionVersion.number)
        ).all()
    )
    query = (
        select(ProcessInstance, DefinitionVersion.number, OrgUnit.name)
        .join(DefinitionVersion, ProcessInstance.version_id == DefinitionVersion.id)
        .join(OrgUnit, OrgUnit.code == ProcessInstance.unit_code)
        .where(ProcessInstance.status == "running")
        .order_by(ProcessInstance.id)
    )
    if wanted.version:
        query = query.where(DefinitionVersion.number == wanted.version)
    if wanted.process_id:
        query = query.where(ProcessInstance.process_id == wanted.process_id)
    if wanted.unit:
        query = query.where(
            or_(ProcessInstance.unit_code.startswith(wanted.unit), OrgUnit.name.contains(wanted.unit))
        )
    found: list[RunningInstance] = []
    for inst, number, unit_name in session.execute(query):
        steps = list(
            session.execute(
                select(Task.element_id, Task.name).where(Task.instance_id == inst.id, Task.state == "ready")
            ).all()
        )
        if not wanted.matches_step([(e, n) for e, n in steps]):
            continue
        spec = engine.specs.get(session, inst.version_id).specs.get(inst.process_id)
        found.append(
            RunningInstance(
                inst.id,
                inst.business_key,
                inst.process_id,
                (spec.description if spec is not None else "") or inst.process_id,
                number,
                inst.unit_code,
                unit_name,
                sorted({n for _e, n in steps}),
            )
        )
        if len(found) >= LISTED:
            break
    return found, per_version


@dataclass
class MigrationRequest:
    to_version: int
    instance_ids: list[int] | None = None
    process_id: str | None = None
    dry_run: bool = True


def select_instances(engine: Engine, request: MigrationRequest) -> list[ProcessInstance]:
    query = select(ProcessInstance).where(ProcessInstance.status == "running").order_by(ProcessInstance.id)
    if request.instance_ids:
        query = query.where(ProcessInstance.id.in_(request.instance_ids))
    if request.process_id:
        query = query.where(ProcessInstance.process_id == request.process_id)
    return list(engine.session.scalars(query))


def run_migration(engine: Engine, actor: Actor, request: MigrationRequest) -> list[dict[str, Any]]:
    """Dry run: the plan per instance. Otherwise migrate each movable instance (in the caller's
    transaction) and report what moved and what could not."""
    require_designer(actor)
    version_by_number(engine, request.to_version)
    results: list[dict[str, Any]] = []
    for inst in select_instances(engine, request):
        checked: MigrationPlan = plan(engine, inst, request.to_version)
        entry = {**checked.as_dict(), "migrated": False}
        if not request.dry_run and checked.can_migrate:
            try:
                migrate(engine, inst, request.to_version, actor)
                entry["migrated"] = True
            except MigrationRefused as exc:
                entry["reasons"] = [*entry["reasons"], str(exc)]
        results.append(entry)
    if not request.dry_run:
        audit(
            engine.session,
            engine.now(),
            actor.user_id,
            "migrate",
            to_version=request.to_version,
            migrated=[r["instance_id"] for r in results if r["migrated"]],
            refused=[r["instance_id"] for r in results if not r["migrated"]],
        )
    return results
