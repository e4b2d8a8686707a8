"""Designer pages: versions, the modeller, deploy, upload, compare, download, forms with live preview,
migration. Every deploy and migration is audited; only designers may change anything."""

from __future__ import annotations

import io
import json
import re
import zipfile
from functools import wraps
from typing import Any

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from app.audit import AuditEntry
from app.auth import current_actor
from app.designer.services import (
    MigrationRequest,
    deploy_changes,
    require_designer,
    run_migration,
    version_by_number,
)
from app.extensions import db
from app.inbox.formrender import build_fields
from app.runtime import engine
from workflows.bpmn_layout import layout
from workflows.engine.compare import compare
from workflows.engine.errors import DefinitionInvalid, EngineError
from workflows.engine.forms import parse_form
from workflows.engine.models import DefinitionFile, DefinitionVersion
from workflows.regulation.roles import ROLES, SCOPES

bp = Blueprint("designer", __name__, url_prefix="/designer")


def designer_required(view: Any) -> Any:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            require_designer(current_actor())
        except EngineError:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.get("")
@designer_required
def designer_home():  # type: ignore[no-untyped-def]
    versions = db.session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.number.desc())).all()
    audit_rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(20)).all()
    return render_template("designer/home.html", versions=versions, audit=audit_rows)


def _file(version: DefinitionVersion, path: str) -> DefinitionFile:
    row = next((f for f in version.files if f.path == path), None)
    if row is None:
        abort(404)
    return row


@bp.get("/versions/<int:number>/files/<path:path>")
@designer_required
def file_content(number: int, path: str):  # type: ignore[no-untyped-def]
    row = _file(version_by_number(engine(), number), path)
    return Response(row.content, mimetype="application/xml" if path.endswith(".bpmn") else "application/json")


@bp.get("/versions/<int:number>/download")
@designer_required
def download(number: int):  # type: ignore[no-untyped-def]
    version = version_by_number(engine(), number)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in version.files:
            archive.writestr(f.path, f.content)
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=definitions-v{number}.zip"},
    )


def _editor_context(number: int | None, path: str) -> dict[str, Any]:
    eng = engine()
    version = version_by_number(eng, number) if number else None
    forms = sorted(f.path.split("/", 1)[1] for f in (version.files if version else []) if f.kind == "form")
    return {
        "version": version,
        "path": path,
        "forms": forms,
        "roles": [{"id": r, "label": label} for r, label in sorted(ROLES.items())],
        "scopes": list(SCOPES),
    }


@bp.get("/edit/<int:number>/<path:path>")
@designer_required
def edit(number: int, path: str):  # type: ignore[no-untyped-def]
    version = version_by_number(engine(), number)
    xml = _file(version, path).content
    return render_template("designer/modeler.html", xml=xml, **_editor_context(number, path))


NEW_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_{pid}"
  targetNamespace="http://nanyang.gov.cn/governance">
  <bpmn:collaboration id="Collab_{pid}">
    <bpmn:participant id="Participant_{pid}" name="{name}" processRef="{pid}"/>
  </bpmn:collaboration>
  <bpmn:process id="{pid}" name="{name}" isExecutable="true">
    <bpmn:documentation>Art. ?: what this procedure implements.</bpmn:documentation>
    <bpmn:laneSet id="LaneSet_{pid}">
      <bpmn:lane id="Lane_{pid}_office" name="office_director@upper">
        <bpmn:flowNodeRef>Start_{pid}</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>propose_{pid}</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>EndEvent_{pid}</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_{pid}_committee" name="committee_director@upper">
        <bpmn:flowNodeRef>approve_{pid}</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_{pid}_unit" name="unit_principal_leader@own"/>
    </bpmn:laneSet>
    <bpmn:startEvent id="Start_{pid}"/>
    <bpmn:sequenceFlow id="Flow_{pid}_1" sourceRef="Start_{pid}" targetRef="propose_{pid}"/>
    <bpmn:userTask id="propose_{pid}" name="综治办提出意见">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="level_proposal.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_{pid}_2" sourceRef="propose_{pid}" targetRef="approve_{pid}"/>
    <bpmn:userTask id="approve_{pid}" name="综治委审批">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="level_approval.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="Flow_{pid}_3" sourceRef="approve_{pid}" targetRef="EndEvent_{pid}"/>
    <bpmn:endEvent id="EndEvent_{pid}"/>
  </bpmn:process>
</bpmn:definitions>
"""


@bp.get("/new")
@designer_required
def new_diagram():  # type: ignore[no-untyped-def]
    pid = request.args.get("process_id", "").strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,60}", pid):
        flash(_("流程标识须为小写字母、数字和下划线"), "error")
        return redirect(url_for("designer.designer_home"))
    name = request.args.get("name", "").strip() or pid
    xml = layout(NEW_TEMPLATE.format(pid=pid, name=name.replace("<", "").replace("&", "")).encode()).decode()
    newest = db.session.scalar(select(DefinitionVersion.number).order_by(DefinitionVersion.number.desc()))
    return render_template("designer/modeler.html", xml=xml, **_editor_context(newest, f"bpmn/{pid}.bpmn"))


@bp.post("/deploy")
@designer_required
def deploy_json():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True) or {}
    files = body.get("files")
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        return jsonify(error="invalid_input", message="files: {path: content}"), 422
    try:
        version = deploy_changes(
            engine(),
            current_actor(),
            files,
            str(body.get("comment", "")),
            base=body.get("base") if isinstance(body.get("base"), int) else None,
        )
        db.session.commit()
    except DefinitionInvalid as exc:
        db.session.rollback()
        return jsonify(error=exc.code, message=str(exc), problems=[p.as_dict() for p in exc.problems]), 422
    return jsonify(version=version.number, url=url_for("designer.designer_home"))


@bp.post("/upload")
@designer_required
def upload():  # type: ignore[no-untyped-def]
    changes: dict[str, bytes] = {}
    for storage in request.files.getlist("files"):
        name = (storage.filename or "").rsplit("/", 1)[-1]
        folder = "bpmn" if name.endswith(".bpmn") else "forms" if name.endswith(".json") else None
        if folder is None:
            flash(_("只能上传 .bpmn 或 .json 文件：%(n)s", n=name), "error")
            return redirect(url_for("designer.designer_home"))
        changes[f"{folder}/{name}"] = storage.read()
    if not changes:
        flash(_("请选择文件"), "error")
        return redirect(url_for("designer.designer_home"))
    try:
        version = deploy_changes(
            engine(), current_actor(), changes, request.form.get("comment", "upload"), action="upload"
        )
        db.session.commit()
    except DefinitionInvalid as exc:
        db.session.rollback()
        return render_template("designer/problems.html", problems=exc.problems), 422
    flash(_("已部署版本 %(n)s", n=version.number), "success")
    return redirect(url_for("designer.designer_home"))


@bp.get("/compare")
@designer_required
def compare_versions():  # type: ignore[no-untyped-def]
    eng = engine()
    try:
        old = version_by_number(eng, int(request.args.get("from", 0)))
        new = version_by_number(eng, int(request.args.get("to", 0)))
    except (EngineError, ValueError):
        abort(404)
    return render_template("designer/compare.html", old=old, new=new, changes=compare(old, new))


@bp.get("/forms/<int:number>/<path:path>")
@designer_required
def edit_form(number: int, path: str):  # type: ignore[no-untyped-def]
    version = version_by_number(engine(), number)
    return render_template(
        "designer/form.html", version=version, path=path, text=_file(version, path).content
    )


@bp.post("/forms/preview")
@designer_required
def preview_form():  # type: ignore[no-untyped-def]
    text = (request.get_json(silent=True) or {}).get("text", "")
    schema, problems = parse_form("forms/preview.json", text if isinstance(text, str) else "")
    if schema is None:
        return jsonify(problems=[p.as_dict() for p in problems], html="")
    html = render_template("designer/_form_preview.html", fields=build_fields(schema, {}))
    return jsonify(problems=[], html=html)


@bp.route("/migrate", methods=["GET", "POST"])
@designer_required
def migrate_page():  # type: ignore[no-untyped-def]
    versions = db.session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.number.desc())).all()
    results = None
    form = request.form
    if request.method == "POST":
        ids = [int(x) for x in re.split(r"[,\s]+", form.get("instance_ids", "")) if x.isdigit()] or None
        req = MigrationRequest(
            to_version=int(form.get("to_version", 0) or 0),
            instance_ids=ids,
            process_id=form.get("process_id") or None,
            dry_run=form.get("execute") != "1",
        )
        try:
            results = run_migration(engine(), current_actor(), req)
            db.session.commit()
        except EngineError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    return render_template(
        "designer/migrate.html", versions=versions, results=results, form=form, dumps=json.dumps
    )
