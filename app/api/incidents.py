"""Incidents (issue 16 point 2): failures of background work on an instance — list them, retry one (its
wake-up re-armed now, retries reset) or cancel it (the instance is cancelled;
``workflows/engine/incidents.py``). Administrators only (role ``admin``), like the page
``/admin/incidents``."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from marshmallow import Schema, fields, validate

from app.api import bp
from app.api.errors import error_response
from app.api.openapi import doc
from app.api.schemas import CstDateTime
from app.auth import current_actor
from app.extensions import db
from app.runtime import engine, runtime
from workflows.engine import incidents
from workflows.engine.errors import NotAuthorized


class IncidentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    business_key = fields.String(allow_none=True)
    process_id = fields.String(allow_none=True)
    instance_status = fields.String(
        allow_none=True, metadata={"description": "running | complete | cancelled"}
    )
    kind = fields.String(metadata={"description": "the work that failed: timer (a wake-up) | script"})
    element_id = fields.String(allow_none=True, metadata={"description": "the BPMN element, when known"})
    element_name = fields.String(allow_none=True)
    message = fields.String()
    status = fields.String(metadata={"description": "open | retrying | parked | resolved | cancelled"})
    created_at = CstDateTime(metadata={"description": "first failure"})
    last_failed_at = CstDateTime()
    failures = fields.Integer()
    retries_left = fields.Integer()
    next_retry_at = CstDateTime(allow_none=True)
    retried_by = fields.String(allow_none=True)
    retried_at = CstDateTime(allow_none=True)
    closed_by = fields.String(allow_none=True, metadata={"description": "who resolved or cancelled it"})
    closed_at = CstDateTime(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "the reason given when cancelled"})


class IncidentPageSchema(Schema):
    items = fields.List(fields.Nested(IncidentSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class IncidentQuerySchema(Schema):
    status = fields.String(
        load_default="open",
        validate=validate.OneOf(list(incidents.FILTERS)),
        metadata={"description": "open: every unresolved one (open, retrying, parked); parked; all"},
    )
    instance_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class IncidentCancelSchema(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "why the case is given up; goes on its working file"},
    )


def _admin() -> None:
    if not any(g.role == "admin" for g in current_user.grants):
        raise NotAuthorized("incidents are handled by an administrator (role admin)")


def _dump(incident: Any) -> dict[str, Any]:
    return IncidentSchema().dump(incidents.as_dict(incident))


@bp.errorhandler(incidents.IncidentClosed)
def _incident_closed(exc: incidents.IncidentClosed) -> ResponseReturnValue:
    db.session.rollback()
    return error_response(exc.code, str(exc), 409)


@bp.get("/incidents")
@doc("Incidents: failed background work on instances, newest first", query=IncidentQuerySchema,
     response=IncidentPageSchema, errors=(403,))  # fmt: skip
@login_required
def list_incidents() -> ResponseReturnValue:
    _admin()
    args = IncidentQuerySchema().load(request.args)
    page, per_page = args["page"], args["per_page"]
    rows, total = incidents.list_incidents(
        db.session(),
        args["status"],
        args.get("instance_id"),
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return IncidentPageSchema().dump(
        {"items": [incidents.as_dict(i) for i in rows], "total": total, "page": page, "per_page": per_page}
    )


@bp.get("/incidents/<int:incident_id>")
@doc("One incident", response=IncidentSchema, errors=(403, 404))
@login_required
def read_incident(incident_id: int) -> ResponseReturnValue:
    _admin()
    return _dump(incidents.get_incident(db.session(), incident_id))


@bp.post("/incidents/<int:incident_id>/retry")
@doc("Retry now: the instance's wake-up is re-armed and the retries start again", response=IncidentSchema,
     errors=(403, 404, 409))  # fmt: skip
@login_required
def retry_incident(incident_id: int) -> ResponseReturnValue:
    """The next background pass (every 30 s) runs the wake-up; a success resolves the incident."""
    _admin()
    incident = incidents.retry(
        db.session(),
        incident_id,
        current_user.username,
        now=runtime().clock.now(),
        backoff=current_app.config["INCIDENT_BACKOFF"],
    )
    db.session.commit()
    return _dump(incident)


@bp.post("/incidents/<int:incident_id>/cancel")
@doc("Cancel: the instance is cancelled (open tasks too) and its incidents closed", body=IncidentCancelSchema,
     response=IncidentSchema, errors=(403, 404, 409))  # fmt: skip
@login_required
def cancel_incident(incident_id: int) -> ResponseReturnValue:
    """What Camunda Cockpit does with a failed job that retrying cannot fix: the process instance is
    cancelled. The reason goes on the case's working file."""
    _admin()
    data = IncidentCancelSchema().load(request.get_json(silent=True) or {})
    incident = incidents.cancel(engine(), incident_id, current_actor(), data["reason"])
    db.session.commit()
    return _dump(incident)
