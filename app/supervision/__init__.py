"""Pages of the committee's office for what it starts at any time and follows up: 发起督查 / 召开会议
(an inspection, Art. 18; a meeting, Art. 24, 25, 7(2)) and the rectification items (整改事项) with their
owners and deadlines, which the unit's leader marks done. Views only: the rules are
workflows.regulation.starting and workflows.regulation.rectification, the same the API
(app/api/supervision.py) calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from app.auth import current_actor
from app.errors import engine_error_text
from app.extensions import db
from app.inbox.formrender import build_fields, localized_errors, parse_submission
from app.params import page_arg
from app.runtime import engine
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import EngineError, FormInvalid
from workflows.engine.models import ProcessInstance
from workflows.engine.reading import start_form
from workflows.regulation.access import can_work
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
from workflows.regulation.starting import office_committees, start_inspection, start_meeting

bp = Blueprint("supervision", __name__, url_prefix="/supervision")

Starter = Callable[[Engine, Actor, Mapping[str, Any], str | None], ProcessInstance]
STARTS: dict[str, tuple[str, Starter]] = {
    "inspection": (INSPECTION_PROCESS, start_inspection),
    "meeting": (MEETING_PROCESS, start_meeting),
}


def _start_page(
    values: dict[str, dict[str, Any]] | None = None, errors: dict[str, dict[str, list[str]]] | None = None
) -> ResponseReturnValue:
    eng = engine()
    org = org_of(eng)
    committees = office_committees(org, current_actor())
    if not committees:
        abort(403)
    values, errors = values or {}, errors or {}
    forms = {
        what: build_fields(start_form(eng, process_id) or {}, values.get(what, {}), errors.get(what))
        for what, (process_id, _start) in STARTS.items()
    }
    recent = db.session.scalars(
        select(ProcessInstance)
        .where(
            ProcessInstance.process_id.in_([INSPECTION_PROCESS, MEETING_PROCESS]),
            ProcessInstance.unit_code.in_(committees),
        )
        .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc())
        .limit(20)
    )
    return render_template(
        "supervision/start.html",
        committees=[org.nodes[c] for c in committees],
        unit_code=request.form.get("unit_code", committees[0]),
        forms=forms,
        recent=list(recent),
    ), (422 if errors else 200)


@bp.get("")
@login_required
def start_page() -> ResponseReturnValue:
    """发起督查 / 召开会议: for the office director and clerks of a city or county committee."""
    return _start_page()


@bp.post("/<what>")
@login_required
def start(what: str) -> ResponseReturnValue:
    if what not in STARTS:
        abort(404)
    process_id, starter = STARTS[what]
    eng = engine()
    actor = current_actor()
    values = parse_submission(start_form(eng, process_id) or {}, request.form)
    try:
        inst = starter(eng, actor, values, request.form.get("unit_code") or None)
        db.session.commit()
    except FormInvalid as exc:
        db.session.rollback()
        return _start_page({what: values}, {what: localized_errors(exc.codes, exc.errors)})
    except EngineError as exc:
        db.session.rollback()
        flash(engine_error_text(exc), "error")
        return redirect(url_for("supervision.start_page"))
    flash(_("已发起：%(key)s", key=inst.business_key), "success")
    mine = [t for t in eng.ready_tasks(inst.id) if can_work(actor, t)]
    if mine:
        return redirect(url_for("inbox.task_page", task_id=mine[0].id))
    return redirect(url_for("cases.case_page", case_id=inst.id))


def _filters() -> ItemFilters:
    args = request.args
    status, source = args.get("status") or None, args.get("source") or None
    return ItemFilters(
        status=status if status in STATUSES else None,
        source=source if source in SOURCES else None,
        county=args.get("county") or None,
        page=page_arg(args),
        per_page=25,
    )


@bp.get("/rectification")
@login_required
def rectification_list() -> ResponseReturnValue:
    """整改事项: the items of the units the user oversees; the unit's leader marks them done."""
    org = org_of(engine())
    actor = current_actor()
    filters = _filters()
    query = items_query(org, actor, filters)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(RectificationItem.deadline, RectificationItem.id)
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    counties = sorted((n for n in org.nodes.values() if n.level == "county"), key=lambda n: n.code)
    return render_template(
        "supervision/rectification.html",
        rows=[item_row(org, r, actor) for r in rows],
        total=total,
        filters=filters,
        counties=counties,
        statuses=STATUSES,
        sources=SOURCES,
        args={k: v for k, v in request.args.items() if k != "page"},
        pages=max(1, -(-total // filters.per_page)),
    )


@bp.post("/rectification/<int:item_id>/done")
@login_required
def rectification_done(item_id: int) -> ResponseReturnValue:
    try:
        mark_done(db.session(), current_actor(), item_id, request.form.get("evidence", ""), engine().now())
        db.session.commit()
        flash(_("已标记整改完成"), "success")
    except FormInvalid:
        db.session.rollback()
        flash(_("请填写整改完成情况和佐证材料。"), "error")
    except EngineError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("supervision.rectification_list"))
