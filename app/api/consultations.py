"""Promotion consultations (征求意见, Art. 23, O23.1): the organisation/personnel department of a city or
county starts one (``POST /consultations``, the start form forms/consultation_request.json plus, for a
holder at several levels, the level's ``unit_code``); ``GET /consultations`` lists those of the levels the
caller works at or oversees, with the answer once given. The rules are workflows.regulation.consultation."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from marshmallow import Schema, fields

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import CaseDetailSchema, CstDateTime
from app.api.supervision import start_body
from app.auth import current_actor
from app.cases.services import case_detail
from app.extensions import db
from app.runtime import engine
from workflows.regulation.consultation import CONSULTATION_PROCESS, consultation_rows, start_consultation
from workflows.regulation.roles import org_of


class ConsultationSchema(Schema):
    id = fields.Integer()
    business_key = fields.String(metadata={"description": "征求意见-2026-411302-0001"})
    committee_code = fields.String(metadata={"description": "the level (city or county) consulted"})
    status = fields.String(metadata={"description": "running (awaiting the answer) | complete"})
    requested_at = CstDateTime()
    cadre_name = fields.String(allow_none=True)
    post = fields.String(allow_none=True)
    person_id = fields.Integer(allow_none=True)
    cadre_unit_code = fields.String()
    cadre_unit_name = fields.String()
    purpose = fields.String(allow_none=True, metadata={"description": "pre_appointment | promotion | award"})
    document_no = fields.String(allow_none=True)
    answer_due = fields.String(allow_none=True, metadata={"description": "ISO 8601 instant, +08:00"})
    blocked = fields.Boolean(
        metadata={"description": "the cadre's unit was listed or vetoed when asked (Art. 35 para 4, Art. 37)"}
    )
    answer = fields.String(allow_none=True, metadata={"description": "agree | disagree | defer"})
    reasons = fields.String(allow_none=True)
    override_reason = fields.String(allow_none=True)


class ConsultationListSchema(Schema):
    items = fields.List(fields.Nested(ConsultationSchema))
    total = fields.Integer()


def _body() -> tuple[dict[str, Any], str | None]:
    body = request.get_json(silent=True)
    data = dict(body) if isinstance(body, dict) else {}
    unit_code = data.pop("unit_code", None)
    return data, str(unit_code) if unit_code else None


@bp.post("/consultations")
@doc(
    "Consult the governance office of the same level before a pre-appointment review, promotion or "
    "comprehensive award of a principal or in-charge leader (Art. 23); the office director answers next",
    body=start_body(CONSULTATION_PROCESS, "consultation_request.json"),
    response=CaseDetailSchema,
    status=201,
    errors=(403,),
)
@login_required
def create_consultation() -> ResponseReturnValue:
    data, unit_code = _body()
    eng = engine()
    inst = start_consultation(eng, current_actor(), data, unit_code)
    db.session.commit()
    return CaseDetailSchema().dump(case_detail(eng, inst)), 201


@bp.get("/consultations")
@doc(
    "Consultations of the levels the caller works at or oversees, newest first, with the answer (Art. 23)",
    response=ConsultationListSchema,
)
@login_required
def list_consultations() -> ResponseReturnValue:
    rows = consultation_rows(db.session(), org_of(engine()), current_actor())
    return ConsultationListSchema().dump({"items": rows, "total": len(rows)})
