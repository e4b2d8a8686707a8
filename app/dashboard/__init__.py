"""The year dashboard: cases by level and county, overdue counts, and (when the annual cycle has run)
letters signed, inspection findings and assessment grades — as ECharts charts served from /static."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import func, select

from app.auth import current_actor
from app.cases.services import CaseFilters, cases_query
from app.extensions import db
from app.labels import level_label
from app.runtime import engine
from workflows.engine.models import Task
from workflows.regulation import annual_queries as annual
from workflows.regulation.annual import find_cycle, start_cycle
from workflows.regulation.roles import org_of

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def case_stats(year: int) -> dict[str, Any]:
    eng = engine()
    actor = current_actor()
    now = eng.now()
    cases = cases_query(eng, actor, CaseFilters()).subquery()
    in_year = select(cases).where(func.extract("year", cases.c.created_at) == year).subquery()
    level = in_year.c.summary["level"].as_string()
    by_level: dict[str | None, int] = dict(
        db.session.execute(select(level, func.count()).group_by(level)).all()
    )
    overdue_by_county: dict[str, int] = {}
    cases_by_county: dict[str, int] = {}
    for unit_code, n in db.session.execute(
        select(in_year.c.unit_code, func.count()).group_by(in_year.c.unit_code)
    ):
        county = org_of(eng).county_of(unit_code)
        name = org_of(eng).nodes[county].name if county else "市直"
        cases_by_county[name] = cases_by_county.get(name, 0) + n
    late = (
        select(Task.unit_code, func.count())
        .where(Task.state == "ready", Task.due_at < now, Task.instance_id.in_(select(in_year.c.id)))
        .group_by(Task.unit_code)
    )
    for unit_code, n in db.session.execute(late):
        county = org_of(eng).county_of(unit_code)
        name = org_of(eng).nodes[county].name if county else "市直"
        overdue_by_county[name] = overdue_by_county.get(name, 0) + n
    return {
        "by_level": {level_label(k): v for k, v in by_level.items() if k},
        "cases_by_county": cases_by_county,
        "overdue_by_county": overdue_by_county,
        "running": db.session.scalar(
            select(func.count()).select_from(in_year).where(in_year.c.status == "running")
        ),
        "complete": db.session.scalar(
            select(func.count()).select_from(in_year).where(in_year.c.status == "complete")
        ),
    }


def annual_stats(year: int) -> dict[str, Any]:
    """Letters, findings and grades from the annual cycle."""
    return annual.dashboard_stats(db.session(), year, org_of(engine()))


@bp.get("")
@login_required
def dashboard() -> ResponseReturnValue:
    now = engine().now()
    try:
        year = int(request.args.get("year", now.year))
    except ValueError:
        year = now.year
    return render_template(
        "dashboard/dashboard.html",
        year=year,
        cases=case_stats(year),
        annual=annual_stats(year),
        years=list(range(now.year - 3, now.year + 1)),
    )


@bp.get("/annual")
@login_required
def annual_overview() -> ResponseReturnValue:
    """The year's cycles from the city down to each county, letters per committee (层层签订, Art. 13),
    findings, grades and the salary list — each row linked to its instance page."""
    eng = engine()
    now = eng.now()
    try:
        year = int(request.args.get("year", now.year))
    except ValueError:
        year = now.year
    actor = current_actor()
    visible = org_of(eng).subtree({org for _, org in actor.grants})
    cycles = [c for c in annual.cycles(db.session(), year) if c.unit_code in visible]
    return render_template(
        "dashboard/annual.html",
        year=year,
        cycles=cycles,
        letters=[r for r in annual.letters(db.session(), year) if r.unit_code in visible],
        findings=[f for f in annual.findings(db.session(), year) if f.unit_code in visible],
        grades=[g for g in annual.grades(db.session(), year) if g.unit_code in visible],
        salary=[u for u in annual.salary_list(db.session(), year) if u in visible],
        progress=annual.letter_progress(db.session(), year, now),
        org=org_of(eng),
        now=now,
        can_start=_can_start(year),
    )


def _can_start(year: int) -> bool:
    """The city office starts the city's year (Art. 13) when the 1 January job has not (yet) done it."""
    city = org_of(engine()).city_code
    held = {(role, org) for role, org in current_actor().grants}
    office = city is not None and bool({("office_director", city), ("office_staff", city)} & held)
    return office and find_cycle(db.session(), year, str(city)) is None


@bp.post("/annual/start")
@login_required
def start_year() -> ResponseReturnValue:
    """启动年度工作: the city committee's cycle for the year, by its office (idempotent, like the job)."""
    eng = engine()
    try:
        year = int(request.form.get("year", eng.now().year))
    except ValueError:
        abort(400)
    if not _can_start(year):
        abort(403)
    inst = start_cycle(eng, str(org_of(eng).city_code), year, actor=current_actor())
    db.session.commit()
    flash(_("已启动%(year)s年度工作", year=year), "success")
    return redirect(url_for("cases.case_page", case_id=inst.id))
