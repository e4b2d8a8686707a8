"""实绩档案 (Art. 22, O22.1; Art. 21, O21.1): the office's pages for the performance records its committee
keeps — the list of cadres, one cadre's record, the office's entry form — and CSV/Excel exports for the
organisation department. The rules are in ``app/records/services.py`` and
``workflows/regulation/cadre_record.py``; the JSON API is ``app/api/records.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from app.auth import current_actor
from app.extensions import db
from app.records import services
from app.runtime import engine
from workflows.engine.errors import FormInvalid, NotAuthorized, NotFound

bp = Blueprint("records", __name__, url_prefix="/records")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _guard(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except NotFound:
        abort(404)
    except NotAuthorized:
        abort(403)


def _download(table: list[list[Any]], name: str, fmt: str) -> Response:
    if fmt == "csv":
        return Response(
            services.as_csv(table),
            mimetype="text/csv; charset=utf-8",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
    return Response(
        services.as_xlsx(table, name),
        mimetype=XLSX,
        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
    )


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    found = services.committees(engine(), current_actor())
    if not found:
        abort(403)
    if len(found) == 1:
        return redirect(url_for("records.committee", committee_code=found[0]["code"]))
    return render_template("records/index.html", committees=found)


@bp.get("/<committee_code>")
@login_required
def committee(committee_code: str) -> ResponseReturnValue:
    kept = _guard(lambda: services.kept_by(engine(), current_actor(), committee_code))
    return render_template("records/list.html", kept=kept)


@bp.get("/<committee_code>/export.<any(csv, xlsx):fmt>")
@login_required
def export_list(committee_code: str, fmt: str) -> ResponseReturnValue:
    kept = _guard(lambda: services.kept_by(engine(), current_actor(), committee_code))
    return _download(services.list_table(kept["cadres"]), f"records-{committee_code}", fmt)


@bp.route("/person/<int:person_id>", methods=["GET", "POST"])
@login_required
def person(person_id: int) -> ResponseReturnValue:
    eng, actor = engine(), current_actor()
    record = _guard(lambda: services.read_record(eng, actor, person_id))
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            services.add(eng, actor, person_id, request.form.to_dict())
            db.session.commit()
            flash(_("已记入实绩档案"), "success")
            return redirect(url_for("records.person", person_id=person_id))
        except NotAuthorized:
            db.session.rollback()
            abort(403)
        except FormInvalid as exc:
            db.session.rollback()
            errors, status = exc.errors, 422
    return render_template(
        "records/person.html",
        record=record,
        may_add=services.can_add(eng, actor, person_id),
        kinds=services.office_kinds(),
        errors=errors,
        form=request.form,
    ), status


@bp.get("/person/<int:person_id>/export.<any(csv, xlsx):fmt>")
@login_required
def export_person(person_id: int, fmt: str) -> ResponseReturnValue:
    record = _guard(lambda: services.read_record(engine(), current_actor(), person_id))
    return _download(services.record_table(record), f"record-{person_id}", fmt)
