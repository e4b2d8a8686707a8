"""Health and deployed definitions (read-only)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select, text

from app.api import bp
from app.api.openapi import doc
from app.api.schemas import DefinitionVersionSchema, HealthSchema
from app.extensions import db
from app.runtime import runtime
from workflows.engine.models import DefinitionVersion


@bp.get("/health")
@doc("Liveness and database check", response=HealthSchema, public=True)
def health() -> ResponseReturnValue:
    db.session.execute(text("select 1"))
    return HealthSchema().dump({"status": "ok", "now": runtime().clock.now()})


@bp.get("/definitions")
@doc("Deployed definition versions, newest first", response=DefinitionVersionSchema(many=True))
@login_required
def definitions() -> ResponseReturnValue:
    rows = db.session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.number.desc()))
    return DefinitionVersionSchema(many=True).dump(
        [
            {
                "number": v.number,
                "created_at": v.created_at,
                "created_by": v.created_by,
                "processes": v.process_ids,
                "files": [f.path for f in v.files],
            }
            for v in rows
        ]
    )
