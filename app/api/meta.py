"""Health and deployed definitions (read-only)."""

from __future__ import annotations

from flask import jsonify
from flask_login import login_required
from sqlalchemy import select, text

from app.api import bp
from app.extensions import db
from app.runtime import runtime
from workflows.engine.models import DefinitionVersion


@bp.get("/health")
def health():  # type: ignore[no-untyped-def]
    db.session.execute(text("select 1"))
    return jsonify(status="ok", now=runtime().clock.now().isoformat())


@bp.get("/definitions")
@login_required
def definitions():  # type: ignore[no-untyped-def]
    rows = db.session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.number.desc()))
    return jsonify(
        [
            {
                "number": v.number,
                "created_at": v.created_at.isoformat(),
                "created_by": v.created_by,
                "processes": v.process_ids,
                "files": [f.path for f in v.files],
            }
            for v in rows
        ]
    )
