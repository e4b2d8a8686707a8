"""The organisation department's page 征求意见 (Art. 23, O23.1): start a consultation of the governance office
of the same level about a cadre, and follow the answers. Views only: the rules are
workflows.regulation.consultation, the same the API (app/api/consultations.py) calls."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from app.auth import current_actor
from app.extensions import db
from app.inbox.formrender import build_fields, localized_errors, parse_submission
from app.runtime import engine
from workflows.engine.errors import EngineError, FormInvalid
from workflows.engine.reading import start_form
from workflows.regulation.consultation import (
    ANSWERS,
    CONSULTATION_PROCESS,
    PURPOSES,
    consultation_rows,
    requester_committees,
    visible_committees,
)
from workflows.regulation.consultation import start_consultation as start_instance
from workflows.regulation.roles import org_of

bp = Blueprint("consultations", __name__, url_prefix="/consultations")


def _page(
    values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None
) -> ResponseReturnValue:
    eng = engine()
    org = org_of(eng)
    actor = current_actor()
    committees = requester_committees(org, actor)
    if not committees and not visible_committees(org, actor):
        abort(403)
    fields = (
        build_fields(start_form(eng, CONSULTATION_PROCESS) or {}, values or {}, errors) if committees else []
    )
    return render_template(
        "consultations/start.html",
        committees=[org.nodes[c] for c in committees],
        unit_code=request.form.get("unit_code", committees[0] if committees else ""),
        fields=fields,
        rows=consultation_rows(db.session(), org, actor, limit=50),
        purposes=PURPOSES,
        answers=ANSWERS,
    ), (422 if errors else 200)


@bp.get("")
@login_required
def start_page() -> ResponseReturnValue:
    """征求意见: the form for the organisation department, the list for it and the office."""
    return _page()


@bp.post("")
@login_required
def start() -> ResponseReturnValue:
    eng = engine()
    values = parse_submission(start_form(eng, CONSULTATION_PROCESS) or {}, request.form)
    try:
        inst = start_instance(eng, current_actor(), values, request.form.get("unit_code") or None)
        db.session.commit()
    except FormInvalid as exc:
        db.session.rollback()
        return _page(values, localized_errors(exc.codes, exc.errors))
    except EngineError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("consultations.start_page"))
    flash(_("已发出征求意见函：%(key)s", key=inst.business_key), "success")
    return redirect(url_for("cases.case_page", case_id=inst.id))
