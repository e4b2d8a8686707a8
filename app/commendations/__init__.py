"""Page of a committee's office for commendation (Art. 26–30): start the year's commendation
(表彰-2026-411300), follow its awards and the special reward fund (Art. 28), and export the year's
extra-month-salary list (Art. 20, O20.3) as CSV or Excel. Views only: the rules are
workflows.regulation.commendation, the same the API (app/api/commendations.py) calls."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from openpyxl import Workbook

from app.auth import current_actor
from app.errors import engine_error_text
from app.extensions import db
from app.params import FIRST_YEAR, LAST_YEAR, to_int
from app.runtime import engine
from workflows.engine.errors import EngineError, FormInvalid
from workflows.engine.legaltime.legal_time import to_cst
from workflows.regulation.access import can_work
from workflows.regulation.annual_queries import salary_list
from workflows.regulation.commendation import allocations, awards, commendations, start_commendation
from workflows.regulation.roles import org_of
from workflows.regulation.starting import office_committees

bp = Blueprint("commendations", __name__, url_prefix="/commendations")

SALARY_HEADER = ("年度", "单位代码", "单位名称")


def _committees() -> list[str]:
    committees = office_committees(org_of(engine()), current_actor())
    if not committees:
        abort(403)
    return committees


@bp.get("")
@login_required
def index() -> ResponseReturnValue:
    """表彰奖励: for the office director and clerks of a city or county committee."""
    committees = _committees()
    eng = engine()
    org = org_of(eng)
    rows = []
    for inst in commendations(db.session(), committees):
        allocated, total = allocations(db.session(), inst.id)
        rows.append(
            {"inst": inst, "awards": awards(db.session(), inst.id), "allocations": allocated, "total": total}
        )
    return render_template(
        "commendations/index.html",
        committees=[org.nodes[c] for c in committees],
        year=to_cst(eng.now()).year,
        rows=rows,
        names=org.nodes,
    )


@bp.post("/start")
@login_required
def start() -> ResponseReturnValue:
    eng = engine()
    actor = current_actor()
    typed = request.form.get("year") or ""
    year = to_int(typed, FIRST_YEAR, LAST_YEAR) if typed else None
    if typed and year is None:
        flash(_("年度格式不正确"), "error")
        return redirect(url_for("commendations.index"))
    try:
        inst = start_commendation(eng, actor, year, request.form.get("unit_code") or None)
        db.session.commit()
    except (FormInvalid, EngineError) as exc:
        db.session.rollback()
        flash(engine_error_text(exc), "error")
        return redirect(url_for("commendations.index"))
    flash(_("已发起：%(key)s", key=inst.business_key), "success")
    mine = [t for t in eng.ready_tasks(inst.id) if can_work(actor, t)]
    if mine:
        return redirect(url_for("inbox.task_page", task_id=mine[0].id))
    return redirect(url_for("cases.case_page", case_id=inst.id))


@bp.get("/salary-list/<int:year>.<fmt>")
@login_required
def salary_export(year: int, fmt: str) -> ResponseReturnValue:
    """Art. 20 (O20.3): the units graded excellent whose staff get one extra month's salary, per year."""
    _committees()
    nodes = org_of(engine()).nodes
    rows = [
        (year, code, nodes[code].name if code in nodes else code) for code in salary_list(db.session(), year)
    ]
    name = f"salary-list-{year}"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(SALARY_HEADER)
        writer.writerows(rows)
        return Response(
            "\ufeff" + out.getvalue(),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={name}.csv"},
        )
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = f"{year}多发一个月工资"
        sheet.append(SALARY_HEADER)
        for row in rows:
            sheet.append(row)
        data = io.BytesIO()
        book.save(data)
        return Response(
            data.getvalue(),
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f"attachment; filename={name}.xlsx"},
        )
    abort(404)
