"""Accountability cases: open (Art. 38; the report is checked against forms/case_report.json, as on the
web page; a report about a unit outside the caller's office's competence is forwarded to the competent
office, see app.cases.services.open_case), list (supervisors, scoped), read one."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import CaseDetailSchema, CasePageSchema, CaseQuerySchema
from app.auth import current_actor
from app.cases.counts import case_total
from app.cases.services import CaseFilters, case_detail, case_rows, get_case, list_page, open_case
from app.extensions import db
from app.runtime import engine
from workflows.engine.errors import NotFound
from workflows.engine.reading import start_form
from workflows.regulation.accountability import CASE_PROCESS

UNIT_CODE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 32,
    "description": (
        "the unit the report is about (division code, e.g. 411302001); the case is opened against it and "
        "handled by its competent office, the one level above it (Art. 38). Any unit may be named: a report "
        "an office clerk's own office is not competent for is forwarded (a report_forwarded event in the "
        "case's history)"
    ),
}


def report_body() -> dict[str, Any]:
    """The body of ``POST /cases``: the case's start form as deployed (forms/case_report.json; the file
    itself while nothing is deployed) and the unit it is about."""
    try:
        form = start_form(engine(), CASE_PROCESS)
    except NotFound:
        path = Path(current_app.config["DEFINITIONS_ROOT"]) / "forms" / "case_report.json"
        form = json.loads(path.read_text(encoding="utf-8"))
    # The engine caches the form: never mutate it.
    body: dict[str, Any] = copy.deepcopy(form) if form else {"type": "object"}
    body["properties"] = {"unit_code": dict(UNIT_CODE), **body.get("properties", {})}
    body["required"] = ["unit_code", *body.get("required", [])]
    return body


@bp.post("/cases")
@doc(
    "Open an accountability case on a written report (Art. 38)",
    body=report_body,
    response=CaseDetailSchema,
    status=201,
    errors=(403, 422),
)
@login_required
def create_case() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    report = dict(body) if isinstance(body, dict) else {}
    unit_code = str(report.pop("unit_code", ""))
    eng = engine()
    inst = open_case(eng, current_actor(), unit_code, report)
    db.session.commit()
    return CaseDetailSchema().dump(case_detail(eng, inst)), 201


@bp.get("/cases")
@doc(
    "Cases the caller oversees, with level, step, deadline and colour",
    query=CaseQuerySchema,
    response=CasePageSchema,
)
@login_required
def list_cases() -> ResponseReturnValue:
    filters = CaseFilters(**CaseQuerySchema().load(request.args))
    eng = engine()
    total = case_total(eng, current_actor(), filters)
    rows = list_page(eng, current_actor(), filters)
    return CasePageSchema().dump(
        {
            "items": case_rows(eng, list(rows), eng.now()),
            "total": total,
            "page": filters.page,
            "per_page": filters.per_page,
        }
    )


@bp.get("/cases/<int:case_id>")
@doc(
    "One case: level, step, deadlines (provisional flag), tasks, history",
    response=CaseDetailSchema,
    errors=(403, 404),
)
@login_required
def read_case(case_id: int) -> ResponseReturnValue:
    eng = engine()
    inst = get_case(eng, current_actor(), case_id)
    return CaseDetailSchema().dump(case_detail(eng, inst))
