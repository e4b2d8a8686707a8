"""Commendation (Art. 26–30): ``POST /commendations`` starts a committee's year (its office only;
one per committee and year, 表彰-2026-411300); ``GET /commendations`` lists the caller's committees'
commendations with their awards and the special reward fund's allocations and total (Art. 28)."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from marshmallow import Schema, fields

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import CaseDetailSchema
from app.auth import current_actor
from app.cases.services import case_detail
from app.extensions import db
from app.params import Year
from app.runtime import engine
from workflows.engine.errors import NotAuthorized
from workflows.regulation.commendation import allocations, awards, commendations, start_commendation
from workflows.regulation.roles import org_of
from workflows.regulation.starting import office_committees


class StartCommendationSchema(Schema):
    year = Year(metadata={"description": "the assessed year; the engine clock's year if left out"})
    unit_code = fields.String(
        metadata={"description": "the committee (city or county code); may be left out by a one-office clerk"}
    )


class AwardSchema(Schema):
    kind = fields.String(metadata={"description": "unit | person"})
    unit_code = fields.String()
    person_name = fields.String(allow_none=True)
    post = fields.String(allow_none=True)
    reasons = fields.String()
    document_no = fields.String()
    published_on = fields.Date()


class AllocationSchema(Schema):
    unit_code = fields.String()
    amount = fields.Decimal(as_string=True, places=2)


class CommendationSchema(Schema):
    id = fields.Integer()
    business_key = fields.String()
    unit_code = fields.String()
    status = fields.String()
    awards = fields.List(fields.Nested(AwardSchema))
    allocations = fields.List(fields.Nested(AllocationSchema))
    fund_total = fields.Decimal(as_string=True, places=2, metadata={"description": "Art. 28, yuan"})


class CommendationListSchema(Schema):
    commendations = fields.List(fields.Nested(CommendationSchema))


@bp.post("/commendations")
@doc(
    "Start a committee's yearly commendation of advanced units and individuals (Art. 27); "
    "the office proposes next",
    body=StartCommendationSchema,
    response=CaseDetailSchema,
    status=201,
    errors=(403, 422),
)
@login_required
def create_commendation() -> ResponseReturnValue:
    data = StartCommendationSchema().load(request.get_json(silent=True) or {})
    eng = engine()
    inst = start_commendation(eng, current_actor(), data.get("year"), data.get("unit_code"))
    db.session.commit()
    return CaseDetailSchema().dump(case_detail(eng, inst)), 201


@bp.get("/commendations")
@doc(
    "The commendations of the caller's committees with their awards and fund allocations (Art. 27, 28)",
    response=CommendationListSchema,
    errors=(403,),
)
@login_required
def list_commendations() -> ResponseReturnValue:
    committees = office_committees(org_of(engine()), current_actor())
    if not committees:
        raise NotAuthorized("only the office of a city or county committee (综治办) sees commendations")
    rows = []
    for inst in commendations(db.session(), committees):
        allocated, total = allocations(db.session(), inst.id)
        rows.append(
            {
                "id": inst.id,
                "business_key": inst.business_key,
                "unit_code": inst.unit_code,
                "status": inst.status,
                "awards": awards(db.session(), inst.id),
                "allocations": allocated,
                "fund_total": total,
            }
        )
    return CommendationListSchema().dump({"commendations": rows})
