"""Definitions and migrations over the API (designers only): upload or deploy files, compare versions,
plan and run migrations. The same services as the designer pages; every change is audited."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import (
    ComparisonSchema,
    DeployResultSchema,
    DeploySchema,
    MigrationResultSchema,
    MigrationSchema,
    UploadSchema,
)
from app.auth import current_actor
from app.designer.services import MigrationRequest, deploy_changes, require_designer, run_migration
from app.designer.services import version_by_number as by_number
from app.extensions import db
from app.runtime import engine
from workflows.engine.deploy.compare import compare


@bp.post("/definitions")
@doc(
    "Deploy or upload BPMN/forms as a new version (designers); 422 lists the problems by file and element; "
    "files identical to the newest version create nothing (200, unchanged: true)",
    body=DeploySchema,
    multipart=UploadSchema,
    response=DeployResultSchema,
    status=201,
    errors=(403, 404, 422),
)
@login_required
def upload_definitions() -> ResponseReturnValue:
    """JSON ``{"files": {"bpmn/x.bpmn": "<xml…>"}, "comment": …}`` or multipart ``files`` (.bpmn/.json)."""
    if request.files:
        changes: dict[str, str | bytes] = {}
        for storage in request.files.getlist("files"):
            name = (storage.filename or "").rsplit("/", 1)[-1]
            changes[f"{'bpmn' if name.endswith('.bpmn') else 'forms'}/{name}"] = storage.read()
        comment, base = request.form.get("comment", "upload"), None
    else:
        body = DeploySchema().load(request.get_json(silent=True) or {})
        changes, comment, base = body["files"], body["comment"], body["base"]
    done = deploy_changes(engine(), current_actor(), changes, comment, base=base, action="upload")
    db.session.commit()
    version = done.version
    body = {"version": version.number, "processes": version.process_ids, "unchanged": done.unchanged}
    return DeployResultSchema().dump(body), 200 if done.unchanged else 201


@bp.get("/definitions/<int:old>/compare/<int:new>")
@doc(
    "Elements added, removed, renamed and changed between two versions (designers)",
    response=ComparisonSchema,
    errors=(403, 404),
)
@login_required
def compare_definitions(old: int, new: int) -> ResponseReturnValue:
    eng = engine()
    require_designer(current_actor())
    return ComparisonSchema().dump({"changes": compare(by_number(eng, old), by_number(eng, new))})


@bp.post("/migrations")
@doc(
    "Plan (dry_run) or run the migration of running instances to a version (designers)",
    body=MigrationSchema,
    response=MigrationResultSchema,
    errors=(403, 404),
)
@login_required
def migrations() -> ResponseReturnValue:
    body = MigrationSchema().load(request.get_json(silent=True) or {})
    results = run_migration(engine(), current_actor(), MigrationRequest(**body))
    db.session.commit()
    return MigrationResultSchema().dump({"dry_run": body["dry_run"], "results": results})
