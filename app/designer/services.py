"""Designer operations shared by the pages and the API: deploy a changed file set on top of a version,
upload files made in a desktop modeller, plan and run migrations. Only holders of the designer role."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.audit import audit
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy, latest_version
from workflows.engine.deploy.migration import MigrationPlan, MigrationRefused, migrate, plan
from workflows.engine.errors import DefinitionInvalid, NotAuthorized, NotFound, Problem
from workflows.engine.models import DefinitionVersion, ProcessInstance

DESIGNER = "designer"
ALLOWED_PATHS = ("bpmn/", "forms/")


def require_designer(actor: Actor) -> None:
    if not any(role == DESIGNER for role, _org in actor.grants):
        raise NotAuthorized("only process designers may deploy or migrate")


def version_by_number(engine: Engine, number: int) -> DefinitionVersion:
    version = engine.session.scalar(select(DefinitionVersion).where(DefinitionVersion.number == number))
    if version is None:
        raise NotFound(f"definition version {number} does not exist")
    return version


def _check_paths(changes: Mapping[str, str | bytes]) -> None:
    problems = []
    for path in changes:
        ok = path.startswith(ALLOWED_PATHS) and path.count("/") == 1 and ".." not in path
        ok = ok and (path.endswith(".bpmn") if path.startswith("bpmn/") else path.endswith(".json"))
        if not ok:
            problems.append(Problem(path, "files go to bpmn/<name>.bpmn or forms/<name>.json"))
    if problems:
        raise DefinitionInvalid(problems)


def deploy_changes(
    engine: Engine,
    actor: Actor,
    changes: Mapping[str, str | bytes],
    comment: str,
    base: int | None = None,
    action: str = "deploy",
    removed: list[str] | None = None,
) -> DefinitionVersion:
    """A new version = the base version's files (default: newest) with ``changes`` applied. Validated in
    full; on any problem nothing is stored and :class:`DefinitionInvalid` says where."""
    require_designer(actor)
    _check_paths(changes)
    base_version = version_by_number(engine, base) if base else latest_version(engine.session, required=False)
    files: dict[str, str | bytes] = {f.path: f.content for f in base_version.files} if base_version else {}
    for path in removed or []:
        files.pop(path, None)
    files.update(changes)
    version = deploy(engine.session, files, engine.checks, created_by=actor.user_id, comment=comment)
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
    return version


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
