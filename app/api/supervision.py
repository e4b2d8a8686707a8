"""What a committee's office starts at any time and follows up: inspections (Art. 18, O18.1), meetings
(Art. 24, 25, 7(2)), and the rectification items their findings and decisions set (issue 11, item 7).

``POST /inspections`` and ``POST /meetings`` take the process's start form (forms/inspection_start.json,
forms/meeting_start.json) and, for a clerk of several offices, the committee's ``unit_code``
(workflows.regulation.starting); they answer the started instance as a case (its first task, history).
``GET /rectification-items`` lists the items of the units the caller oversees; the unit's principal or
in-charge leader marks one done with the evidence."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import CaseDetailSchema, CstDateTime
from app.auth import current_actor
from app.cases.services import case_detail
from app.extensions import db
from app.params import Page, PerPage
from app.runtime import engine
from workflows.engine.errors import NotFound
from workflows.engine.reading import start_form
from workflows.regulation.inspections import INSPECTION_PROCESS
from workflows.regulation.meetings import MEETING_PROCESS
from workflows.regulation.rectification import (
    SOURCES,
    STATUSES,
    ItemFilters,
    RectificationItem,
    item_row,
    items_query,
    mark_done,
)
from workflows.regulation.roles import org_of
from workflows.regulation.starting import start_inspection, start_meeting

COMMITTEE = {
    "type": "string",
    "minLength": 1,
    "maxLength": 32,
    "description": (
        "the committee whose office starts it (a city or county division code, e.g. 411302); may be left out "
        "by a caller who works at one office only"
    ),
}


def start_body(process_id: str, form_file: str) -> Callable[[], dict[str, Any]]:
    """The body of a start: the process's start form as deployed (the file while nothing is deployed) and
    the optional committee ``unit_code``."""

    def body() -> dict[str, Any]:
        try:
            form = start_form(engine(), process_id)
        except NotFound:
            path = Path(current_app.config["DEFINITIONS_ROOT"]) / "forms" / form_file
            form = json.loads(path.read_text(encoding="utf-8"))
        schema: dict[str, Any] = copy.deepcopy(form) if form else {"type": "object"}  # the cache's: copy
        schema["properties"] = {"unit_code": dict(COMMITTEE), **schema.get("properties", {})}
        return schema

    return body


def _body() -> tuple[dict[str, Any], str | None]:
    body = request.get_json(silent=True)
    data = dict(body) if isinstance(body, dict) else {}
    unit_code = data.pop("unit_code", None)
    return data, str(unit_code) if unit_code else None


@bp.post("/inspections")
@doc(
    "Start a special, unannounced or patrol inspection (Art. 18); the office director plans it next",
    body=start_body(INSPECTION_PROCESS, "inspection_start.json"),
    response=CaseDetailSchema,
    status=201,
    errors=(403,),
)
@login_required
def create_inspection() -> ResponseReturnValue:
    data, unit_code = _body()
    eng = engine()
    inst = start_inspection(eng, current_actor(), data, unit_code)
    db.session.commit()
    return CaseDetailSchema().dump(case_detail(eng, inst)), 201


@bp.post("/meetings")
@doc(
    "Convene or record a meeting: joint meeting (Art. 24), plenary / enlarged (Art. 25), party standing "
    "committee or government executive meeting (Art. 7(2))",
    body=start_body(MEETING_PROCESS, "meeting_start.json"),
    response=CaseDetailSchema,
    status=201,
    errors=(403,),
)
@login_required
def create_meeting() -> ResponseReturnValue:
    data, unit_code = _body()
    eng = engine()
    inst = start_meeting(eng, current_actor(), data, unit_code)
    db.session.commit()
    return CaseDetailSchema().dump(case_detail(eng, inst)), 201


class RectificationItemSchema(Schema):
    id = fields.Integer()
    source = fields.String(metadata={"description": "inspection | meeting | annual_findings | assessment"})
    source_instance_id = fields.Integer()
    source_key = fields.String()
    committee_code = fields.String()
    committee_name = fields.String()
    unit_code = fields.String()
    unit_name = fields.String()
    problem = fields.String()
    owner = fields.String()
    owner_post = fields.String()
    person_id = fields.Integer(allow_none=True)
    deadline = CstDateTime(metadata={"description": "end of the due day, 23:59:59 +08:00"})
    status = fields.String(metadata={"description": "open | overdue | done"})
    created_at = CstDateTime()
    overdue_at = CstDateTime(allow_none=True)
    done_at = CstDateTime(allow_none=True)
    done_by = fields.String(allow_none=True)
    evidence = fields.String(allow_none=True)
    can_mark_done = fields.Boolean(
        metadata={"description": "the caller leads the unit and the item is not done"}
    )


class RectificationPageSchema(Schema):
    items = fields.List(fields.Nested(RectificationItemSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class RectificationQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    source = fields.String(validate=validate.OneOf(SOURCES))
    county = fields.String(metadata={"description": "a county-level unit: its own and its townships' items"})
    unit_code = fields.String()
    committee_code = fields.String(metadata={"description": "the committee whose office set the items"})
    page = Page()
    per_page = PerPage()


class MarkDoneSchema(Schema):
    evidence = fields.String(
        required=True,
        validate=validate.Length(min=2, max=4000),
        metadata={"description": "what was done and the documents that show it"},
    )


@bp.get("/rectification-items")
@doc(
    "Rectification items of the units the caller oversees, with owner, deadline and status",
    query=RectificationQuerySchema,
    response=RectificationPageSchema,
)
@login_required
def list_rectification_items() -> ResponseReturnValue:
    filters = ItemFilters(**RectificationQuerySchema().load(request.args))
    org = org_of(engine())
    actor = current_actor()
    query = items_query(org, actor, filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(RectificationItem.deadline, RectificationItem.id)
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    return RectificationPageSchema().dump(
        {
            "items": [item_row(org, r, actor) for r in rows],
            "total": total,
            "page": filters.page,
            "per_page": filters.per_page,
        }
    )


@bp.post("/rectification-items/<int:item_id>/done")
@doc(
    "The unit's principal or in-charge leader marks an item rectified, with the evidence",
    body=MarkDoneSchema,
    response=RectificationItemSchema,
    errors=(403, 404, 409),
)
@login_required
def mark_rectification_item_done(item_id: int) -> ResponseReturnValue:
    args = MarkDoneSchema().load(request.get_json(silent=True) or {})
    eng = engine()
    actor = current_actor()
    item = mark_done(db.session(), actor, item_id, args["evidence"], eng.now())
    db.session.commit()
    return RectificationItemSchema().dump(item_row(org_of(eng), item, actor))
