"""The year dashboard (年度仪表盘) and the year's annual work (年度工作), both for the reader's own scope: a
county's officials see their county (its units, letters, grades, findings, cases and overdue tasks), the
city's the whole city. The dashboard's figures — cases by level, stage and county, overdue tasks by county,
letters signed, grades and findings — are ECharts charts served from /static, and every figure links to
the list it counts (:func:`year_cases`, :func:`overdue`, the annual page filtered by county or grade).

年度工作 is the nested blueprint ``dashboard.annual`` so the menu can highlight it apart from 年度仪表盘
(``url_for("dashboard.annual_overview")`` still builds its address). Stage and procedure names come from
``templates/dashboard/_labels.html``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, get_template_attribute, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import Select, func, select

from app.auth import current_actor
from app.cases.services import CaseFilters, case_rows, cases_query
from app.extensions import db
from app.labels import INSTANCE_STATUSES, level_label
from app.params import FIRST_YEAR, LAST_YEAR, page_arg, to_int, year_arg
from app.runtime import engine
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import ProcessInstance
from workflows.regulation import annual_queries as annual
from workflows.regulation.access import can_work
from workflows.regulation.annual import find_cycle, start_cycle
from workflows.regulation.annual_queries import CITY_GROUP, letter_state
from workflows.regulation.roles import OrgTree, org_of

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
annual_bp = Blueprint("annual", __name__, url_prefix="/annual")

LEVELS = ("intake", "notification", "interview", "listing", "veto")
CASE_STAGES = ("intake", "proposal", "interview", "rectification", "finding", "decided", "closed")  # in order
GRADES = {"excellent": _l("优秀"), "qualified": _l("合格"), "unqualified": _l("不合格")}
GRADE_COLOURS = {"excellent": "#2e7d32", "qualified": "#1565c0", "unqualified": "#c62828"}  # green, blue, red
LETTER_STATES = {"signed": _l("已签订"), "late": _l("逾期签订"), "pending": _l("未签订")}
LETTER_COLOURS = {"signed": "#2e7d32", "late": "#ef6c00", "pending": "#9e9e9e"}
OVERDUE_COLOUR = "#c62828"
PER_PAGE = 50


def label(kind: str, code: str | None) -> str:
    """A stage's (``kind="stage"``) or procedure's (``"process"``) name in the reader's language."""
    return str(get_template_attribute("dashboard/_labels.html", kind)(code)).strip()


def group_name(org: OrgTree, group: str) -> str:
    """A county's name, or 市直 for the city's own units."""
    return _("市直") if group == CITY_GROUP else org.nodes[group].name


def _now() -> datetime:
    return to_cst(engine().now())


def _year() -> int:
    return year_arg(request.args.get("year"), _now().year)


def _scope() -> set[str] | None:
    """The units the reader oversees (``None``: the whole city)."""
    return annual.scope_units(org_of(engine()), current_actor().grants)


def _group(units: Collection[str] | None) -> str | None:
    """The ``county`` filter: a county (or 市直) the reader oversees, else none."""
    group = request.args.get("county") or None
    return group if group in annual.county_groups(org_of(engine()), units) else None


def _choice(name: str, allowed: Collection[str]) -> str | None:
    value = request.args.get(name)
    return value if value in allowed else None


def year_choices(year: int, units: Collection[str] | None) -> list[int]:
    """Every year with data in the reader's scope, this year and the next (to start it), and the one shown."""
    now = _now().year
    return sorted(annual.years_with_data(db.session(), units) | {now, now + 1, year})


def _year_cases(year: int, group: str | None = None, stage: str | None = None, **filters: Any) -> Select[Any]:
    """The year's accountability cases the reader oversees (``cases_query``), narrowed as a figure is."""
    eng = engine()
    query = cases_query(eng, current_actor(), CaseFilters(**filters)).where(annual.case_year(year))
    if group is not None:
        query = query.where(ProcessInstance.unit_code.in_(sorted(annual.units_of_group(org_of(eng), group))))
    if stage is not None:
        query = query.where(ProcessInstance.summary["stage"].as_string() == stage)
    return query


def _bars(categories: list[str], *series: dict[str, Any], **options: Any) -> dict[str, Any]:
    return {"type": "bar", "categories": categories, "series": list(series), **options}


def _series(name: str, data: list[int], urls: list[str], color: str | None = None) -> dict[str, Any]:
    return {"name": name, "data": data, "urls": urls, "color": color}


def charts(
    year: int, units: Collection[str] | None, cases: dict[str, Any], stats: dict[str, Any]
) -> dict[str, Any]:
    """What dashboard.js draws: names in the reader's language, values, colours, and each bar's or slice's
    list (a click opens it)."""
    groups = annual.county_groups(org_of(engine()), units)
    names = [group_name(org_of(engine()), g) for g in groups]
    counts: dict[tuple[str, str], int] = cases["by_level_stage"]
    letters, findings = stats["by_group"]["letters"], stats["by_group"]["findings"]
    levels: Counter[str] = Counter()
    for (lv, _st), n in counts.items():
        levels[lv] += n
    shown = [lv for lv in LEVELS if levels.get(lv)]
    stages = sorted({st for _lv, st in counts}, key=lambda st: (*CASE_STAGES, st).index(st))

    def cases_url(**args: Any) -> str:
        return url_for("dashboard.year_cases", year=year, **args)

    def annual_url(anchor: str, **args: Any) -> str:
        return url_for("dashboard.annual.annual_overview", year=year, _anchor=anchor, **args)

    return {
        "levels": {
            "type": "pie",
            "items": [
                {"name": level_label(lv), "value": levels[lv], "url": cases_url(level=lv)} for lv in shown
            ],
        },
        "stages": _bars(
            [label("stage", st) for st in stages],
            *(
                _series(
                    level_label(lv),
                    [counts.get((lv, st), 0) for st in stages],
                    [cases_url(level=lv, stage=st) for st in stages],
                )
                for lv in shown
            ),
            stack=True,
        ),
        "counties": _bars(
            names,
            _series(
                _("案件数"),
                [cases["by_group"].get(g, 0) for g in groups],
                [cases_url(county=g) for g in groups],
            ),
            _series(
                _("逾期任务"),
                [cases["overdue_by_group"].get(g, 0) for g in groups],
                [url_for("dashboard.overdue", year=year, county=g) for g in groups],
                OVERDUE_COLOUR,
            ),
            horizontal=True,
        ),
        "letters": _bars(
            names,
            *(
                _series(
                    str(name),
                    [letters.get(g, {}).get(state, 0) for g in groups],
                    [annual_url("letters", county=g, letter=state) for g in groups],
                    LETTER_COLOURS[state],
                )
                for state, name in LETTER_STATES.items()
            ),
            horizontal=True,
            stack=True,
        ),
        "grades": {
            "type": "pie",
            "items": [
                {
                    "name": str(name),
                    "value": stats["grade_codes"][code],
                    "color": GRADE_COLOURS[code],
                    "url": annual_url("grades", grade=code),
                }
                for code, name in GRADES.items()
                if stats["grade_codes"].get(code)
            ],
        },
        "findings": _bars(
            names,
            _series(
                _("发现问题"),
                [findings.get(g, 0) for g in groups],
                [annual_url("findings", county=g) for g in groups],
            ),
            horizontal=True,
        ),
    }


@bp.get("")
@login_required
def dashboard() -> ResponseReturnValue:
    eng = engine()
    year, units = _year(), _scope()
    cases = annual.case_figures(db.session(), _year_cases(year), org_of(eng))
    late = annual.overdue_tasks(db.session(), year, eng.now(), units, current_actor().grants)
    cases["overdue"] = len(late)
    cases["overdue_by_group"] = Counter(annual.county_group(org_of(eng), t.unit_code) for t, _i in late)
    stats = annual.dashboard_stats(db.session(), year, org_of(eng), units)
    return render_template(
        "dashboard/dashboard.html",
        year=year,
        years=year_choices(year, units),
        cases=cases,
        charts=charts(year, units, cases, stats),
    )


@bp.get("/cases")
@login_required
def year_cases() -> ResponseReturnValue:
    """The year's cases behind a dashboard figure (by county, level, stage or status)."""
    eng = engine()
    year, units = _year(), _scope()
    filters = {
        "county": _group(units),
        "level": _choice("level", LEVELS),
        "stage": request.args.get("stage") or None,
        "status": _choice("status", tuple(INSTANCE_STATUSES)),
    }
    query = _year_cases(
        year, filters["county"], filters["stage"], level=filters["level"], status=filters["status"]
    )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = page_arg(request.args)
    found = list(
        db.session.scalars(
            query.order_by(ProcessInstance.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
        )
    )
    rows = case_rows(eng, found, eng.now())
    rows = [{**row, "step_counts": list(Counter(row["steps"]).items())} for row in rows]  # each step once
    return render_template(
        "dashboard/cases.html",
        year=year,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        filters={k: v for k, v in filters.items() if v},
        group_label=group_name(org_of(eng), filters["county"]) if filters["county"] else None,
    )


@bp.get("/overdue")
@login_required
def overdue() -> ResponseReturnValue:
    """The overdue tasks the dashboard counts (of every procedure, in the reader's scope), by county."""
    eng, actor = engine(), current_actor()
    org = org_of(eng)
    year, units = _year(), _scope()
    group = _group(units)
    late = annual.overdue_tasks(db.session(), year, eng.now(), units, actor.grants)
    rows = [
        {
            "task": task,
            "inst": inst,
            "unit": org.nodes[task.unit_code].name if task.unit_code in org.nodes else task.unit_code,
            "group": group_name(org, annual.county_group(org, task.unit_code)),
            "workable": can_work(actor, task),
        }
        for task, inst in late
        if group is None or annual.county_group(org, task.unit_code) == group
    ]
    name = group_name(org, group) if group else None
    return render_template("dashboard/overdue.html", year=year, rows=rows, group=group, group_label=name)


@annual_bp.get("")
@login_required
def annual_overview() -> ResponseReturnValue:
    """The year's cycles from the city down to each county, letters per committee (层层签订, Art. 13),
    findings, grades and the salary list — each row linked to its instance page; only the reader's units,
    filtered by county (市直), letter state or grade when a dashboard figure links here."""
    eng = engine()
    org, session = org_of(eng), db.session()
    year, units = _year(), _scope()
    group, letter, grade = _group(units), _choice("letter", LETTER_STATES), _choice("grade", GRADES)
    in_group = annual.units_of_group(org, group) if group else None

    def shown(code: str) -> bool:
        return (units is None or code in units) and (in_group is None or code in in_group)

    cycles = [c for c in annual.cycles(session, year) if shown(c.unit_code)]
    steps = annual.open_steps(session, [c.id for c in cycles])
    visible = {c.id for c in cycles}
    letters = [
        r for r in annual.letters(session, year) if shown(r.unit_code) and letter in (None, letter_state(r))
    ]
    return render_template(
        "dashboard/annual.html",
        year=year,
        years=year_choices(year, units),
        cycles=[
            {
                "inst": c,
                "steps": steps.get(c.id, []),
                "parent_code": org.upper(c.unit_code) if c.parent_instance_id else None,
                "parent_visible": c.parent_instance_id in visible,
            }
            for c in cycles
        ],
        letters=[(r, letter_state(r)) for r in letters],
        letter_counts=Counter(letter_state(r) for r in letters),
        letter_states=LETTER_STATES,
        findings=[f for f in annual.findings(session, year, unit_codes=units) if shown(f.unit_code)],
        grades=[g for g in annual.grades(session, year) if shown(g.unit_code) and grade in (None, g.grade)],
        grade_labels=GRADES,
        salary=[u for u in annual.salary_list(session, year) if shown(u)],
        filters={k: v for k, v in {"county": group, "letter": letter, "grade": grade}.items() if v},
        group_label=group_name(org, group) if group else None,
        org=org,
        now=eng.now(),
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
    year = to_int(request.form.get("year") or eng.now().year, FIRST_YEAR, LAST_YEAR)
    if year is None:
        abort(400)
    if not _can_start(year):
        abort(403)
    inst = start_cycle(eng, str(org_of(eng).city_code), year, actor=current_actor())
    db.session.commit()
    flash(_("已启动%(year)s年度工作", year=year), "success")
    return redirect(url_for("cases.case_page", case_id=inst.id))


# The address other pages and the menu build (``dashboard.annual_overview``); only the nested blueprint's
# rule answers it, so the page's ``request.blueprint`` is ``dashboard.annual``.
bp.add_url_rule("/annual", endpoint="annual_overview", build_only=True)
bp.register_blueprint(annual_bp)
