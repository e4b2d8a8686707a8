"""Start any deployed procedure (issue 15): ``GET /processes`` lists what the caller may start (newest
version, Chinese name, article citations, start form as JSON Schema, the units it may belong to);
``POST /processes/<process_id>/instances`` starts one — the data checked against its start form (422 with
the errors by field), 403 for a caller holding none of its ``startable_by`` roles, 404 for a procedure that
is not deployed or not startable — and answers 201 with the instance and the caller's first tasks. The
built-in procedures start through the same functions as their own endpoints (``POST /cases`` …)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import login_required
from marshmallow import Schema, fields, validate

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import CaseDetailSchema, TaskDetailSchema
from app.api.tasks import next_task_rows
from app.auth import current_actor
from app.cases.services import case_detail
from app.extensions import db
from app.processes.services import offers, start_any
from app.runtime import engine
from workflows.regulation.roles import org_of


class UnitSchema(Schema):
    code = fields.String()
    name = fields.String()


class ProcessSchema(Schema):
    process_id = fields.String()
    name = fields.String(metadata={"description": "the procedure's Chinese name as drawn"})
    version = fields.Integer(metadata={"description": "the newest deployed version's number"})
    version_id = fields.Integer()
    roles = fields.List(
        fields.String(), metadata={"description": "the roles that may start it (startable_by)"}
    )
    articles = fields.List(
        fields.String(), metadata={"description": "article citations on its steps, e.g. Art. 18 (O18.1)"}
    )
    start_form = fields.Dict(
        allow_none=True, metadata={"description": "the JSON Schema the start data is checked against"}
    )
    units = fields.List(
        fields.Nested(UnitSchema),
        metadata={"description": "the units it may belong to for the caller (unit_code); empty for a case"},
    )
    unit_meaning = fields.String(
        metadata={
            "description": "owner: unit_code is the unit the instance belongs to (one of units; may be left "
            "out with a single one); subject: the unit a written report is about (any unit, Art. 38)",
            "enum": ["owner", "subject"],
        }
    )
    built_in = fields.Boolean(
        metadata={"description": "a procedure of the regulation with start rules of its own"}
    )


class ProcessListSchema(Schema):
    items = fields.List(fields.Nested(ProcessSchema))


class StartProcessSchema(Schema):
    unit_code = fields.String(
        validate=validate.Length(min=1, max=32),
        metadata={"description": "see unit_meaning in GET /processes"},
    )
    data = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={"description": "the fields of the procedure's start form (GET /processes)"},
    )


class StartedSchema(Schema):
    instance = fields.Nested(CaseDetailSchema)
    next_tasks = fields.List(
        fields.Nested(TaskDetailSchema),
        metadata={
            "description": "the instance's ready tasks the caller may work, each with its form (JSON Schema) "
            "and prefill, as a completion answers (no second request)"
        },
    )


_START, _STARTED = StartProcessSchema(), StartedSchema()  # built once (see app/api/tasks.py)


@bp.get("/processes")
@doc(
    "Procedures the caller may start: newest version, name, articles, start form", response=ProcessListSchema
)
@login_required
def list_processes() -> ResponseReturnValue:
    eng = engine()
    org = org_of(eng)
    items: list[dict[str, Any]] = []
    for o in offers(eng, current_actor()):
        s = o.procedure
        items.append(
            {
                "process_id": s.process_id,
                "name": s.name,
                "version": s.version_number,
                "version_id": s.version_id,
                "roles": list(s.roles),
                "articles": list(s.articles),
                "start_form": o.start_form,
                "units": [{"code": c, "name": org.nodes[c].name} for c in o.units],
                "unit_meaning": o.unit_meaning,
                "built_in": o.built_in,
            }
        )
    return ProcessListSchema().dump({"items": items})


@bp.post("/processes/<process_id>/instances")
@doc(
    "Start a procedure with its start form's data; 201 with the instance and the caller's first tasks",
    body=StartProcessSchema,
    response=StartedSchema,
    status=201,
    errors=(403, 404, 409, 422),
)
@login_required
def start_process(process_id: str) -> ResponseReturnValue:
    args = _START.load(request.get_json(silent=True) or {})
    eng = engine()
    actor = current_actor()
    inst = start_any(eng, actor, process_id, args["data"], args.get("unit_code"))
    now = eng.now()
    opened = eng.open_tasks(inst)
    body = _STARTED.dump(
        {"instance": case_detail(eng, inst), "next_tasks": next_task_rows(eng, actor, opened, now)}
    )
    db.session.commit()
    return body, 201
