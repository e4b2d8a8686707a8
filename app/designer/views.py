"""Designer pages: versions, the modeller, deploy, upload, compare, download, forms with live preview,
migration. Every deploy and migration is audited; only designers may change anything."""

from __future__ import annotations

import io
import re
import zipfile
from functools import wraps
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from app.audit import AuditEntry
from app.auth import current_actor
from app.auth.services import people_named
from app.designer.pages import deployed_text, refused_context, refused_text
from app.designer.services import (
    LISTED,
    InstanceFilter,
    MigrationRequest,
    deploy_changes,
    each_file_checked,
    require_designer,
    run_migration,
    running_instances,
    version_by_number,
)
from app.extensions import db
from app.inbox.formrender import build_fields
from app.labels import problem_dicts
from app.params import MAX_ID, id_list, to_int
from app.runtime import engine
from workflows.engine.deploy.compare import compare
from workflows.engine.deploy.forms import parse_form
from workflows.engine.errors import DefinitionInvalid, EngineError
from workflows.engine.models import DefinitionFile, DefinitionVersion, ProcessInstance
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
def designer_home() -> ResponseReturnValue:
    versions = db.session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.number.desc())).all()
    audit_rows = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(20)).all()
    people = {a.actor for a in audit_rows} | {v.created_by for v in versions}
    names = people_named(db.session(), people, engine().now())
    return render_template("designer/home.html", versions=versions, audit=audit_rows, names=names)


def _file(version: DefinitionVersion, path: str) -> DefinitionFile:
    row = next((f for f in version.files if f.path == path), None)
    if row is None:
        abort(404)
    return row


@bp.get("/versions/<int:number>/files/<path:path>")
@designer_required
def file_content(number: int, path: str) -> ResponseReturnValue:
    row = _file(version_by_number(engine(), number), path)
    return Response(row.content, mimetype="application/xml" if path.endswith(".bpmn") else "application/json")


@bp.get("/versions/<int:number>/download")
@designer_required
def download(number: int) -> ResponseReturnValue:
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
def edit(number: int, path: str) -> ResponseReturnValue:
    version = version_by_number(engine(), number)
    xml = _file(version, path).content
    return render_template("designer/modeler.html", xml=xml, **_editor_context(number, path))


# The starting diagram of "new procedure", laid out already (regenerate its DI with scripts/layout_bpmn.py
# after editing it): one lane office_staff@own with a start event, a user task and an end event.
NEW_PROCESS_TEMPLATE = Path(__file__).with_name("new_process.bpmn")
_PLACEHOLDER = re.compile(r"__PROCESS_(ID|NAME)__")
# What XML 1.0 does not allow in a document: controls other than tab/newline/return, U+FFFE, U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _new_process_xml(pid: str, name: str) -> str:
    """The template with its placeholders filled in, in one pass (a value is never substituted again).

    ``pid`` has matched ``[a-z][a-z0-9_]{2,60}``, so it is an XML NCName and every id built from it is one;
    ``name`` (the process id if empty) goes into attributes: characters XML cannot hold are dropped, runs of
    whitespace become one space, and the rest is escaped.
    """
    name = " ".join(_NOT_XML.sub("", name).split()) or pid
    values = {"ID": pid, "NAME": escape(name, {'"': "&quot;"})}
    template = NEW_PROCESS_TEMPLATE.read_text(encoding="utf-8")
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


@bp.get("/new")
@designer_required
def new_diagram() -> ResponseReturnValue:
    pid = request.args.get("process_id", "").strip()
    if not re.fullmatch(r"[a-z][a-z0-9_]{2,60}", pid):
        flash(_("流程标识须为小写字母、数字和下划线"), "error")
        return redirect(url_for("designer.designer_home"))
    xml = _new_process_xml(pid, request.args.get("name", ""))
    newest = db.session.scalar(select(DefinitionVersion.number).order_by(DefinitionVersion.number.desc()))
    return render_template("designer/modeler.html", xml=xml, **_editor_context(newest, f"bpmn/{pid}.bpmn"))


def _json_body() -> dict[str, Any]:
    """The posted JSON object; anything else (a list, a number, no JSON) as an empty one."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/deploy")
@designer_required
def deploy_json() -> ResponseReturnValue:
    body = _json_body()
    files = body.get("files")
    if not isinstance(files, dict) or not files or not all(isinstance(v, str) for v in files.values()):
        message = _("请求须包含 files（文件路径 → 文件内容）")
        return jsonify(error="invalid_input", message=message), 422
    try:
        done = deploy_changes(
            engine(),
            current_actor(),
            files,
            str(body.get("comment", "")),
            base=body.get("base") if isinstance(body.get("base"), int) else None,
        )
        db.session.commit()
    except DefinitionInvalid as exc:
        db.session.rollback()
        return jsonify(error=exc.code, message=refused_text(exc), problems=problem_dicts(exc.problems)), 422
    return jsonify(
        version=done.version.number,
        unchanged=done.unchanged,
        message=deployed_text(done),
        url=url_for("designer.designer_home"),
    )


@bp.post("/upload")
@designer_required
def upload() -> ResponseReturnValue:
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
        done = deploy_changes(
            engine(), current_actor(), changes, request.form.get("comment", "upload"), action="upload"
        )
        db.session.commit()
    except DefinitionInvalid as exc:
        db.session.rollback()
        problems = each_file_checked(engine(), changes, exc)
        return render_template("designer/problems.html", **refused_context(changes, problems)), 422
    flash(deployed_text(done), "info" if done.unchanged else "success")
    return redirect(url_for("designer.designer_home"))


@bp.get("/compare")
@designer_required
def compare_versions() -> ResponseReturnValue:
    eng = engine()
    numbers = [to_int(request.args.get(name), 1, MAX_ID) for name in ("from", "to")]
    try:
        old, new = (version_by_number(eng, number or 0) for number in numbers)
    except EngineError:
        abort(404)
    versions = db.session.scalars(select(DefinitionVersion.number).order_by(DefinitionVersion.number.desc()))
    contents = {
        side: {f.path: f.content for f in version.files if f.kind == "bpmn"}
        for side, version in (("old", old), ("new", new))
    }
    changes = compare(old, new)
    for c in changes:  # the viewer's markers: removed elements on the old diagram, the rest on the new one
        marks = c.get("marks", {})
        c["new_marks"] = {i: f"diff-{m}" for i, m in marks.items() if m != "removed"}
        c["old_marks"] = {i: "diff-removed" for i, m in marks.items() if m == "removed"}
    return render_template(
        "designer/compare.html",
        old=old,
        new=new,
        changes=changes,
        numbers=list(versions),
        contents=contents,
    )


@bp.get("/forms/<int:number>/<path:path>")
@designer_required
def edit_form(number: int, path: str) -> ResponseReturnValue:
    version = version_by_number(engine(), number)
    return render_template(
        "designer/form.html", version=version, path=path, text=_file(version, path).content
    )


@bp.post("/forms/preview")
@designer_required
def preview_form() -> ResponseReturnValue:
    text = _json_body().get("text", "")
    schema, problems = parse_form("forms/preview.json", text if isinstance(text, str) else "")
    if schema is None:
        return jsonify(problems=problem_dicts(problems), html="")
    html = render_template("designer/_form_preview.html", fields=build_fields(schema, {}))
    return jsonify(problems=[], html=html)


@bp.route("/migrate", methods=["GET", "POST"])
@designer_required
def migrate_page() -> ResponseReturnValue:
    """The running instances per version, narrowed by version, process, unit and current step; the
    designer ticks the ones to move (or takes every listed one), tries the move, then runs it."""
    versions = db.session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.number.desc())).all()
    results = None
    form = request.form
    args = request.values
    wanted = InstanceFilter(
        version=to_int(args.get("version"), 1, MAX_ID),
        process_id=args.get("process", "").strip(),
        unit=args.get("unit", "").strip(),
        step=args.get("step", "").strip(),
    )
    listed, per_version = running_instances(engine(), wanted)
    if request.method == "POST":
        ticked = id_list(" ".join(form.getlist("instance_ids")))
        if form.get("scope") == "listed":
            ticked = [i.id for i in listed]
        if not ticked:
            flash(_("请勾选要迁移的实例（或选择“全部筛选结果”）"), "error")
        else:
            req = MigrationRequest(
                to_version=to_int(form.get("to_version"), 1, MAX_ID) or 0,  # 0: no such version, refused
                instance_ids=ticked,
                dry_run=form.get("execute") != "1",
            )
            try:
                results = run_migration(engine(), current_actor(), req)
                db.session.commit()
            except EngineError as exc:
                db.session.rollback()
                flash(str(exc), "error")
            if results is not None and not req.dry_run:
                listed, per_version = running_instances(engine(), wanted)
    processes = sorted(db.session.scalars(select(ProcessInstance.process_id).distinct()))
    return render_template(
        "designer/migrate.html",
        versions=versions,
        results=results,
        form=form,
        wanted=wanted,
        listed=listed,
        per_version=per_version,
        processes=processes,
        ticked={str(i) for i in form.getlist("instance_ids")},
        limit=LISTED,
    )
