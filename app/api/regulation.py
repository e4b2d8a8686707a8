"""The regulation's traceability (read-only): for each obligation of the 2017 regulation, the BPMN elements
that carry it and the tests that exercise it (:mod:`workflows.regulation.traceability`)."""

from __future__ import annotations

from pathlib import Path

from flask import current_app
from flask.typing import ResponseReturnValue
from flask_login import login_required
from marshmallow import Schema, fields

from app.api import bp
from app.api.openapi import doc
from workflows.regulation.traceability import build_report, coverage_json


class CoverageElementSchema(Schema):
    file = fields.String(metadata={"description": "bpmn/<name>.bpmn"})
    id = fields.String(metadata={"description": "the element's id in that file"})
    name = fields.String()
    process = fields.String(metadata={"description": "id of the process the element belongs to"})
    kind = fields.String(metadata={"description": "BPMN element type, e.g. userTask"})


class CoverageSchema(Schema):
    id = fields.String(metadata={"description": "obligation id, e.g. O34.2"})
    article = fields.String(metadata={"description": "e.g. Art. 34, Art. 7(1)"})
    article_zh = fields.String(metadata={"description": "e.g. 第三十四条"})
    obligation = fields.String()
    actor = fields.String()
    timing = fields.String()
    elements = fields.List(fields.Nested(CoverageElementSchema))
    tests = fields.List(fields.String(), metadata={"description": "pytest node ids"})
    carried = fields.Boolean()
    tested = fields.Boolean()


@bp.get("/regulation/coverage")
@doc(
    "Per obligation of the regulation: the BPMN elements that carry it and the tests that exercise it",
    response=CoverageSchema(many=True),
)
@login_required
def regulation_coverage() -> ResponseReturnValue:
    """Read from the checkout: the obligation list, the ``article`` property of ``bpmn/*.bpmn`` and the
    ``obligation`` markers of ``tests/*.py`` (the same as ``flask regulation coverage``)."""
    report = build_report(Path(current_app.config["PROJECT_ROOT"]))
    return CoverageSchema(many=True).dump(coverage_json(report))
