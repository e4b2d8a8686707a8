"""实绩档案 (Art. 22, O22.1): the cadres whose records a committee keeps, one cadre's record, and the
office's entry (``app/records/services.py``, ``workflows/regulation/cadre_record.py``). Readable by the
office and the organisation/personnel department of the committee that keeps the record (or one above)."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from marshmallow import Schema, fields, validate

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import CstDateTime
from app.auth import current_actor
from app.extensions import db
from app.records import services
from app.runtime import engine
from workflows.regulation.cadre_record import KINDS, OFFICE_KINDS


class SanctionInForceSchema(Schema):
    unit_code = fields.String()
    kind = fields.String(metadata={"description": "listing (Art. 35) | veto (Art. 37)"})
    article = fields.String()
    start_at = CstDateTime()


class KeptCadreSchema(Schema):
    person_id = fields.Integer()
    name = fields.String()
    unit_code = fields.String()
    unit_name = fields.String()
    post = fields.String(metadata={"description": "职务, e.g. 街道党工委书记"})
    start_on = fields.Date()
    latest_grade_year = fields.Integer(allow_none=True)
    latest_grade = fields.String(
        allow_none=True, metadata={"description": "excellent | qualified | unqualified"}
    )
    latest_grade_label = fields.String(metadata={"description": "优秀 / 合格 / 不合格"})
    open_sanctions = fields.List(fields.Nested(SanctionInForceSchema))


class KeptListSchema(Schema):
    committee_code = fields.String()
    committee_name = fields.String()
    as_of = fields.Date()
    cadres = fields.List(fields.Nested(KeptCadreSchema))


class RecordItemSchema(Schema):
    entry_id = fields.Integer(metadata={"description": "stored entries only (the office's, consultations…)"})
    kind = fields.String(metadata={"description": "one of " + ", ".join(KINDS)})
    kind_label = fields.String()
    title = fields.String()
    occurred_on = fields.Date()
    ended_on = fields.Date(allow_none=True, metadata={"description": "a listing's delisting day"})
    year = fields.Integer()
    unit_code = fields.String()
    unit_name = fields.String()
    person_id = fields.Integer(allow_none=True, metadata={"description": "null: a fact about the unit"})
    source = fields.String(
        metadata={"description": "assessment | case | office | consultation | commendation"}
    )
    source_label = fields.String()
    source_ref = fields.String(
        metadata={"description": "the case's business key, the assessment, a document"}
    )
    source_id = fields.Integer(allow_none=True, metadata={"description": "the case or cycle instance"})
    document_no = fields.String(allow_none=True, metadata={"description": "decision document number"})
    text = fields.String(allow_none=True)
    detail = fields.Dict()


class RecordYearSchema(Schema):
    year = fields.Integer()
    grades = fields.List(fields.Nested(RecordItemSchema))
    entries = fields.List(fields.Nested(RecordItemSchema))


class RecordPostSchema(Schema):
    id = fields.Integer()
    unit_code = fields.String()
    unit_name = fields.String()
    kind = fields.String()
    title = fields.String()
    start_on = fields.Date()
    end_on = fields.Date(allow_none=True)


class RecordPersonSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    gender = fields.String()
    notes = fields.String()


class CadreRecordSchema(Schema):
    person = fields.Nested(RecordPersonSchema)
    posts = fields.List(fields.Nested(RecordPostSchema))
    years = fields.List(fields.Nested(RecordYearSchema), metadata={"description": "newest year first"})
    awards = fields.List(fields.Nested(RecordItemSchema))
    open_sanctions = fields.List(fields.Nested(SanctionInForceSchema))
    committees = fields.List(fields.String(), metadata={"description": "the committees that keep the record"})
    as_of = fields.Date()


class OfficeEntryBodySchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(OFFICE_KINDS))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    occurred_on = fields.Date(load_default=None, metadata={"description": "default: today"})
    document_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    text = fields.String(load_default=None, allow_none=True)


class OfficeEntrySchema(Schema):
    id = fields.Integer()
    person_id = fields.Integer(allow_none=True)
    unit_code = fields.String()
    year = fields.Integer()
    kind = fields.String()
    title = fields.String()
    occurred_on = fields.Date()
    source = fields.String()
    document_no = fields.String(allow_none=True)
    text = fields.String(allow_none=True)
    added_by = fields.String()
    added_at = CstDateTime()


@bp.get("/records/<committee_code>")
@doc(
    "The cadres whose performance records a committee keeps (Art. 22), with latest grade and sanctions",
    response=KeptListSchema,
    errors=(403, 404),
)
@login_required
def records_kept(committee_code: str) -> ResponseReturnValue:
    """A city or county code; its office or organisation/personnel department (or a committee above)."""
    return KeptListSchema().dump(services.kept_by(engine(), current_actor(), committee_code))


@bp.get("/records/person/<int:person_id>")
@doc("One cadre's performance record (Art. 22, O22.1)", response=CadreRecordSchema, errors=(403, 404))
@login_required
def cadre_record(person_id: int) -> ResponseReturnValue:
    return CadreRecordSchema().dump(services.read_record(engine(), current_actor(), person_id))


@bp.post("/records/person/<int:person_id>/entries")
@doc(
    "Add what the office alone knows to a cadre's record (note, duties, awards)",
    body=OfficeEntryBodySchema,
    response=OfficeEntrySchema,
    status=201,
    errors=(403, 404),
)
@login_required
def add_record_entry(person_id: int) -> ResponseReturnValue:
    """The office (office_director, office_staff) of a committee keeping the record; 422 for a day on
    which the cadre held no post with a record."""
    body = OfficeEntryBodySchema().load(request.get_json(silent=True) or {})
    entry = services.add(engine(), current_actor(), person_id, body)
    db.session.commit()
    return OfficeEntrySchema().dump(entry), 201
