"""The page 发起: the procedures the user may start (newest version, name, articles), each with its start
form, and the instances of designer-made procedures in the units the user oversees. A built-in procedure
links to its own page (登记书面反映, 发起督查 / 召开会议, 征求意见); any other is started here.
Views only: the rules are app.processes.services, the same the API (app/api/processes.py) calls."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from app.auth import current_actor
from app.errors import engine_error_text
from app.extensions import db
from app.inbox.formrender import build_fields, localized_errors, parse_submission
from app.processes.services import BUILT_IN, BUILT_IN_PAGES, first_tasks, offer, offers, start_any
from app.runtime import engine
from workflows.engine.errors import EngineError, FormInvalid
from workflows.engine.models import ProcessInstance
from workflows.regulation.roles import org_of
from workflows.regulation.startable import catalog

bp = Blueprint("processes", __name__, url_prefix="/start")
RECENT = 20


def _recent() -> list[ProcessInstance]:
    """The latest instances of designer-made procedures in the units the user oversees."""
    eng = engine()
    ids = [s.process_id for s in catalog(eng) if s.process_id not in BUILT_IN]
    units = org_of(eng).subtree({code for _role, code in current_actor().grants})
    if not ids or not units:
        return []
    return list(
        db.session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.process_id.in_(ids), ProcessInstance.unit_code.in_(sorted(units)))
            .order_by(ProcessInstance.created_at.desc(), ProcessInstance.id.desc())
            .limit(RECENT)
        )
    )


@bp.get("")
@login_required
def start_list() -> ResponseReturnValue:
    """发起: what the user may start; an empty list (with a word why) for a role that may start nothing."""
    eng = engine()
    return render_template(
        "processes/list.html",
        offers=offers(eng, current_actor()),
        pages=BUILT_IN_PAGES,
        recent=_recent(),
        org=org_of(eng),
    )


def _form_page(
    process_id: str, values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None
) -> ResponseReturnValue:
    eng = engine()
    try:
        found = offer(eng, current_actor(), process_id)
    except EngineError as exc:
        abort(404 if exc.code == "not_found" else 403)
    if process_id in BUILT_IN_PAGES:  # a built-in procedure with a page of its own
        return redirect(url_for(BUILT_IN_PAGES[process_id]))
    org = org_of(eng)
    return render_template(
        "processes/start.html",
        offer=found,
        units=[org.nodes[c] for c in found.units],
        unit_code=request.form.get("unit_code", found.units[0] if found.units else ""),
        fields=build_fields(found.start_form or {}, values or {}, errors),
        errors=errors or {},
    ), (422 if errors else 200)


@bp.get("/<process_id>")
@login_required
def start_page(process_id: str) -> ResponseReturnValue:
    return _form_page(process_id)


@bp.post("/<process_id>")
@login_required
def start(process_id: str) -> ResponseReturnValue:
    eng = engine()
    actor = current_actor()
    try:
        schema = offer(eng, actor, process_id).start_form or {}
    except EngineError as exc:
        abort(404 if exc.code == "not_found" else 403)
    values = parse_submission(schema, request.form)
    try:
        inst = start_any(eng, actor, process_id, values, request.form.get("unit_code") or None)
        db.session.commit()
    except FormInvalid as exc:
        db.session.rollback()
        return _form_page(process_id, values, localized_errors(exc.codes, exc.errors))
    except EngineError as exc:
        db.session.rollback()
        flash(engine_error_text(exc), "error")
        return redirect(url_for("processes.start_page", process_id=process_id))
    flash(_("已发起：%(key)s", key=inst.business_key), "success")
    _ready, mine = first_tasks(eng, actor, inst)
    if mine:
        return redirect(url_for("inbox.task_page", task_id=mine[0].id))
    return redirect(url_for("cases.case_page", case_id=inst.id))
