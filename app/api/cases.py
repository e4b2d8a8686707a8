"""Accountability cases: open (Art. 38), list (supervisors, scoped), read one."""

from __future__ import annotations

from flask import request
from flask_login import login_required
from sqlalchemy import func, select

from app.api import bp
from app.api.schemas import CaseDetailSchema, CasePageSchema, CaseQuerySchema, ReportSchema
from app.auth import current_actor
from app.cases.services import CaseFilters, case_detail, case_row, cases_query, get_case, open_case
from app.extensions import db
from app.runtime import engine
from workflows.engine.models import ProcessInstance


@bp.post("/cases")
@login_required
def create_case():  # type: ignore[no-untyped-def]
    report = ReportSchema().load(request.get_json(silent=True) or {})
    unit_code = report.pop("unit_code")
    eng = engine()
    inst = open_case(eng, current_actor(), unit_code, report)
    db.session.commit()
    return CaseDetailSchema().dump(case_detail(eng, inst)), 201


@bp.get("/cases")
@login_required
def list_cases():  # type: ignore[no-untyped-def]
    filters = CaseFilters(**CaseQuerySchema().load(request.args))
    eng = engine()
    query = cases_query(eng, current_actor(), filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(ProcessInstance.updated_at.desc())
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    now = eng.now()
    return CasePageSchema().dump(
        {
            "items": [case_row(eng, r, now) for r in rows],
            "total": total,
            "page": filters.page,
            "per_page": filters.per_page,
        }
    )


@bp.get("/cases/<int:case_id>")
@login_required
def read_case(case_id: int):  # type: ignore[no-untyped-def]
    eng = engine()
    inst = get_case(eng, current_actor(), case_id)
    return CaseDetailSchema().dump(case_detail(eng, inst))
