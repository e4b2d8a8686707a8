"""A committee's yearly indicator system (Art. 19, O19.1): read it, and — its own office, until the
year's assessment freezes it — replace it (``app/indicators/services.py``,
``workflows/regulation/indicators.py``)."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from marshmallow import Schema, fields

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import CstDateTime
from app.auth import current_actor
from app.extensions import db
from app.indicators import services
from app.runtime import engine

THRESHOLDS = (
    'the grade rule: {"unqualified": {"below_total": n, "below": {code: percent}}, '
    '"excellent": {"min_total": n, "min_each": percent, "min": {code: percent}}}; unqualified when any '
    "condition holds, excellent when all hold, qualified otherwise (workflows/regulation/indicator_rules.py)"
)


class IndicatorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "what the assessment's scores rows name"})
    name = fields.String(required=True, metadata={"description": "Chinese name, e.g. 整体工作情况"})
    description = fields.String(load_default="", dump_default="")
    weight = fields.Float(required=True, metadata={"description": "the weights of a set sum to 100"})
    max_score = fields.Float(required=True)
    order = fields.Integer(metadata={"description": "display order (default: the position in the list)"})
    source = fields.String(
        load_default="manual",
        metadata={
            "description": "manual (the office scores it) or letter (0 while the unit's letter is unsigned)"
        },
    )


class IndicatorSetBodySchema(Schema):
    indicators = fields.List(fields.Nested(IndicatorBodySchema), required=True)
    thresholds = fields.Dict(keys=fields.String(), required=True, metadata={"description": THRESHOLDS})


class IndicatorSetSchema(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "null while the year has no stored set"})
    year = fields.Integer()
    committee_code = fields.String(metadata={"description": "the city or county whose committee assesses"})
    committee_name = fields.String()
    stored = fields.Boolean(
        metadata={"description": "false: the year has no set yet; this is the copy of an earlier year's"}
    )
    copied_from_year = fields.Integer(allow_none=True)
    frozen = fields.Boolean(metadata={"description": "frozen when the year's assessment started: no edits"})
    frozen_at = CstDateTime(allow_none=True)
    frozen_by = fields.String(allow_none=True)
    created_at = CstDateTime(allow_none=True)
    updated_at = CstDateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)
    thresholds = fields.Dict(keys=fields.String(), metadata={"description": THRESHOLDS})
    indicators = fields.List(fields.Nested(IndicatorBodySchema))


@bp.get("/indicator-sets/<int:year>/<committee_code>")
@doc(
    "A committee's indicator system for a year (Art. 19); a year without one shows the earlier year's copy",
    response=IndicatorSetSchema,
    errors=(403, 404),
)
@login_required
def get_indicator_set(year: int, committee_code: str) -> ResponseReturnValue:
    """Readable by anyone holding a role at the committee's unit or above it; 404 when neither the year nor
    any earlier year has a set (or the code is no city or county)."""
    return IndicatorSetSchema().dump(services.read_set(engine(), current_actor(), year, committee_code))


@bp.put("/indicator-sets/<int:year>/<committee_code>")
@doc(
    "Replace a committee's indicator system for a year (its office; refused once frozen)",
    body=IndicatorSetBodySchema,
    response=IndicatorSetSchema,
    errors=(403, 404, 409),
)
@login_required
def put_indicator_set(year: int, committee_code: str) -> ResponseReturnValue:
    """The office (office_director, office_staff) of the committee's own unit; 422 with errors keyed
    ``indicators/N/weight``, ``thresholds/excellent/min_total`` … (the weights must sum to 100); 409 once the
    year's assessment has frozen the set."""
    body = IndicatorSetBodySchema().load(request.get_json(silent=True) or {})
    saved = services.save(engine(), current_actor(), year, committee_code, body)
    db.session.commit()
    return IndicatorSetSchema().dump(saved)
