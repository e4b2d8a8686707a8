"""法规条款对照: the page for supervisors and designers that shows, per obligation of the regulation, the BPMN
elements that carry it and the tests that exercise it, and a read-only view of a deployed diagram with one
element highlighted. Views only; the report is :mod:`workflows.regulation.traceability`."""

from __future__ import annotations

from functools import wraps
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from app.auth import current_actor
from app.extensions import db
from workflows.engine.deploy.definitions import latest_version
from workflows.engine.models import DefinitionFile, DefinitionVersion
from workflows.regulation.traceability import build_report, can_read_coverage

bp = Blueprint("regulation", __name__, url_prefix="/regulation")


def readers_only(view: Any) -> Any:
    """Supervisors and designers (workflows.regulation.traceability.COVERAGE_ROLES); others get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not can_read_coverage(current_actor()):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/coverage")
@readers_only
def coverage_page() -> ResponseReturnValue:
    report = build_report(Path(current_app.config["PROJECT_ROOT"]))
    return render_template("regulation/coverage.html", report=report, totals=report.totals)


def _deployed_file(path: str) -> tuple[DefinitionVersion, DefinitionFile]:
    version = latest_version(db.session(), required=False)
    row = next((f for f in version.files if f.path == path and f.kind == "bpmn"), None) if version else None
    if version is None or row is None:
        abort(404)
    return version, row


@bp.get("/diagram/<path:path>")
@readers_only
def diagram_page(path: str) -> ResponseReturnValue:
    """The newest deployed version of ``path``, read-only; ``?element=<id>`` is highlighted and centred."""
    version, _row = _deployed_file(path)
    return render_template(
        "regulation/diagram.html", path=path, version=version, element=request.args.get("element", "")
    )


@bp.get("/diagram-xml/<path:path>")
@readers_only
def diagram_xml(path: str) -> ResponseReturnValue:
    return Response(_deployed_file(path)[1].content, mimetype="application/xml")
