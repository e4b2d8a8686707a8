"""Marshmallow schemas of the v1 API: what goes in (load) and what comes out (dump). Also the source of
the OpenAPI document (app/api/openapi.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate

from app.cases.services import LEVELS
from workflows.engine.legal_time import to_cst


class CstDateTime(fields.AwareDateTime):
    """Instants are written with the +08:00 offset: deadlines are Nanyang times (DOMAIN.md, "Time")."""

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else super()._serialize(to_cst(value), attr, obj, **kwargs)


class LoginSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=200))


class GrantSchema(Schema):
    role = fields.String()
    org_code = fields.String()


class MeSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    locale = fields.String()
    grants = fields.List(fields.Nested(GrantSchema))
    csrf_token = fields.String()


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.Integer()
    process_id = fields.String()
    element_id = fields.String()
    name = fields.String()
    role = fields.String()
    org_code = fields.String()
    unit_code = fields.String()
    form = fields.String(allow_none=True)
    article = fields.String(allow_none=True)
    due_at = CstDateTime(allow_none=True)
    due_provisional = fields.Boolean()
    remind_at = CstDateTime(allow_none=True)
    state = fields.String()
    created_at = CstDateTime()
    claimed_by = fields.String(allow_none=True)
    completed_by = fields.String(allow_none=True)
    completed_at = CstDateTime(allow_none=True)
    deadline_status = fields.String(dump_only=True)
    colour = fields.String(dump_only=True)


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CompleteTaskSchema(Schema):
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={"description": "the form's fields"})


class ReportSchema(Schema):
    """A written report opening a case (Art. 38): the intake form's fields, prefilled for the office."""

    unit_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    source = fields.String(
        required=True,
        validate=validate.OneOf(["member_unit", "other_unit", "individual", "assessment", "inspection"]),
    )
    reporter = fields.String(required=True, validate=validate.Length(min=1, max=200))
    art31_items = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=9)), required=True, validate=validate.Length(min=1)
    )
    facts = fields.String(required=True, validate=validate.Length(min=10, max=5000))


class DeadlineSchema(Schema):
    kind = fields.String()
    task_id = fields.String(allow_none=True)
    name = fields.String()
    due_at = CstDateTime()
    provisional = fields.Boolean()
    remind_at = CstDateTime(allow_none=True)
    status = fields.String()


class EventSchema(Schema):
    id = fields.Integer()
    at = CstDateTime()
    actor = fields.String()
    kind = fields.String()
    element_id = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    detail = fields.Dict()


class SanctionSchema(Schema):
    kind = fields.String()
    unit_code = fields.String()
    article = fields.String()
    start_at = CstDateTime()
    end_at = CstDateTime(allow_none=True)


class CaseRowSchema(Schema):
    id = fields.Integer()
    business_key = fields.String()
    unit_code = fields.String()
    unit_name = fields.String()
    county_code = fields.String(allow_none=True)
    county_name = fields.String(allow_none=True)
    level = fields.String(allow_none=True, metadata={"enum": list(LEVELS)})
    stage = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    status = fields.String()
    steps = fields.List(fields.String())
    due_at = CstDateTime(allow_none=True)
    due_provisional = fields.Boolean()
    deadline_status = fields.String()
    colour = fields.String()
    created_at = CstDateTime()
    updated_at = CstDateTime()


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class CaseDetailSchema(CaseRowSchema):
    tasks = fields.List(fields.Nested(TaskSchema))
    deadlines = fields.List(fields.Nested(DeadlineSchema))
    history = fields.List(fields.Nested(EventSchema))
    sanctions = fields.List(fields.Nested(SanctionSchema))
    version_id = fields.Integer()


class CaseQuerySchema(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    status = fields.String(validate=validate.OneOf(["running", "complete", "error"]))
    county = fields.String()
    overdue = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TaskQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ErrorSchema(Schema):
    error = fields.String(metadata={"description": "machine-readable code"})
    message = fields.String()
    errors = fields.Dict(metadata={"description": "field → messages, for invalid input"})
