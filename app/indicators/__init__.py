"""考核评价指标体系 (Art. 19, O19.1): the office's pages for a committee's yearly indicator set, under the
annual area (/annual/indicators). List the sets by year; open one to see its indicators, weights, maximum
scores, sources and grade limits, whether it is frozen (the year's assessment has started), and — for the
committee's own office while it is not frozen — edit them. The rules are in ``app/indicators/services.py``
and ``workflows/regulation/indicators.py``; the JSON API is ``app/api/indicators.py``."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from app.auth import current_actor
from app.extensions import db
from app.indicators import services
from app.indicators.forms import form_of, parse, place_errors
from app.runtime import engine
from workflows.engine.errors import FormInvalid, NotAuthorized, NotFound
from workflows.regulation.indicator_models import SOURCES
from workflows.regulation.indicators import IndicatorSetFrozen

bp = Blueprint("indicators", __name__, url_prefix="/annual/indicators")


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    eng = engine()
    actor = current_actor()
    year = eng.now().year
    return render_template(
        "indicators/list.html",
        sets=services.visible_sets(eng, actor),
        committees=services.editable_committees(eng, actor),
        years=[year, year + 1],
    )


@bp.route("/<int:year>/<committee_code>", methods=["GET", "POST"])
@login_required
def edit(year: int, committee_code: str) -> ResponseReturnValue:
    eng = engine()
    actor = current_actor()
    try:
        current = services.read_or_blank(eng, actor, year, committee_code)
    except NotFound:
        abort(404)
    except NotAuthorized:
        abort(403)
    may_edit = services.can_edit(actor, committee_code) and not current["frozen"]
    form = form_of(current)
    status = 200
    if request.method == "POST":
        data, form, source_rows = parse(request.form)
        try:
            services.save(eng, actor, year, committee_code, data)
            db.session.commit()
            flash(_("已保存%(year)s年考核评价指标体系", year=year), "success")
            return redirect(url_for("indicators.edit", year=year, committee_code=committee_code))
        except NotAuthorized:
            db.session.rollback()
            abort(403)
        except IndicatorSetFrozen as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("indicators.edit", year=year, committee_code=committee_code))
        except FormInvalid as exc:
            db.session.rollback()
            place_errors(form, exc.errors, source_rows)
            status = 422
    return render_template(
        "indicators/edit.html", iset=current, form=form, may_edit=may_edit, sources=SOURCES
    ), status
