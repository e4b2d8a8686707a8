"""Supervisor pages: the case list (filters, counts, export), one case (diagram with the current step,
timeline, deadlines, sanctions), and filing a written report (Art. 38)."""

from __future__ import annotations

import csv
import io
from typing import Any

import click
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from lxml import etree
from sqlalchemy import select

from app.auth import current_actor
from app.bpmn_messages import english_names, names_in
from app.cases.counts import case_figures
from app.cases.services import (
    CaseFilters,
    case_detail,
    case_file,
    case_rows,
    cases_query,
    county_choices,
    get_case,
    list_page,
    open_case,
    search_cases,
    unit_choices,
)
from app.errors import engine_error_text
from app.extensions import db
from app.inbox.formrender import build_fields, localized_errors, parse_submission
from app.labels import INSTANCE_STATUSES, cst, level_label, outcome_label, status_label
from app.params import page_arg
from app.processes.services import made_procedures
from app.runtime import engine
from workflows.engine.errors import EngineError, FormInvalid, NotAuthorized
from workflows.engine.models import DefinitionFile, ProcessInstance
from workflows.engine.reading import element_states, start_form
from workflows.engine.tally import recount
from workflows.regulation.accountability import CASE_PROCESS
from workflows.regulation.case_search import backfill
from workflows.regulation.document_reading import documents_of
from workflows.regulation.intake import competent_office, office_name, receiving_office
from workflows.regulation.roles import ROLES, org_of

bp = Blueprint("cases", __name__, url_prefix="/cases")


def _procedures() -> dict[str, str]:
    """The procedures the list offers: accountability cases (first, the default) and the designer-made
    procedures people start (issue 15), whose instances the list shows the same way."""
    return {CASE_PROCESS: "责任督导和追究案件", **made_procedures(engine())}


def _filters() -> CaseFilters:
    args = request.args
    process = args.get("process") or CASE_PROCESS
    overdue = {"1": True, "0": False}.get(args.get("overdue", ""))
    page = page_arg(args)
    level = args.get("level") or None
    status = args.get("status") or None
    return CaseFilters(
        level=level if level in ("intake", "notification", "interview", "listing", "veto") else None,
        status=status if status in INSTANCE_STATUSES else None,
        county=args.get("county") or None,
        overdue=overdue,
        page=page,
        per_page=25,
        q=" ".join(args.get("q", "").split())[:200] or None,
        process_id=process if process in _procedures() else CASE_PROCESS,
    )


@bp.get("")
@login_required
def case_list() -> ResponseReturnValue:
    eng = engine()
    filters = search_cases(eng, _filters())
    total, counts = case_figures(eng, current_actor(), filters)
    rows = list_page(eng, current_actor(), filters)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "cases/list.html",
        rows=case_rows(eng, list(rows), eng.now()),
        total=total,
        filters=filters,
        counts=counts,
        counties=county_choices(eng, current_actor()),
        procedures=_procedures(),
        args=args,
        pages=max(1, -(-total // filters.per_page)),
    )


EXPORT_COLUMNS = [
    ("business_key", "案件编号"),
    ("unit_name", "单位"),
    ("county_name", "县(区)"),
    ("level", "追究方式"),
    ("steps", "当前环节"),
    ("due_at", "最近期限"),
    ("deadline_status", "期限状态"),
    ("status", "案件状态"),
    ("outcome", "结果"),
    ("created_at", "立案时间"),
]


def _export_rows() -> list[list[str]]:
    eng = engine()
    filters = search_cases(eng, _filters())
    query = (
        cases_query(eng, current_actor(), filters)
        .order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc())
        .limit(10000)
    )
    out = []
    for row in case_rows(eng, list(db.session.scalars(query)), eng.now()):
        out.append(
            [
                row["business_key"],
                row["unit_name"],
                row["county_name"] or "",
                level_label(row["level"]),
                "、".join(row["steps"]),
                cst(row["due_at"]),
                status_label(row["deadline_status"]),
                row["status"],
                outcome_label(row["outcome"]),
                cst(row["created_at"]),
            ]
        )
    return out


@bp.get("/export.csv")
@login_required
def export_csv() -> ResponseReturnValue:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_(label) for _key, label in EXPORT_COLUMNS])
    writer.writerows(_export_rows())
    # UTF-8 with BOM: Excel on Chinese Windows opens it without garbling.
    return Response(
        "\ufeff" + buffer.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=cases.csv"},
    )


@bp.get("/export.xlsx")
@login_required
def export_xlsx() -> ResponseReturnValue:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "cases"
    sheet.append([_(label) for _key, label in EXPORT_COLUMNS])
    for row in _export_rows():
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(
        buffer.getvalue(),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=cases.xlsx"},
    )


@bp.cli.command("reindex")
def reindex_command() -> None:
    """Index every case for the search of the case list (cases opened before the search existed)."""
    count = backfill(db.session())
    db.session.commit()
    click.echo(f"{count} cases indexed for search")


@bp.cli.command("tallies")
@click.option("--repair", is_flag=True, help="Rewrite the tallies from the count.")
def tallies_command(repair: bool) -> None:
    """Check the counts the case lists read (instance_tally) against a full count of the instances, name
    every difference (a writer that bypassed the ORM: a bulk import, hand-written SQL) and, with --repair,
    rewrite them. Exits 1 when it found drift it did not repair."""
    drift = recount(db.session(), repair=repair)
    db.session.commit()
    for d in drift:
        click.echo(f"{'/'.join(d.key)}: tallied {d.tallied}, counted {d.counted}", err=True)
    click.echo(f"{len(drift)} tallies differed{', repaired' if drift and repair else ''}")
    if drift and not repair:
        raise SystemExit(1)


def _diagram_files(inst: ProcessInstance, states: dict[str, Any]) -> list[dict[str, Any]]:
    """The case's diagrams (its process and the procedures it called), with element states per file."""
    files = db.session.scalars(
        select(DefinitionFile).where(
            DefinitionFile.version_id == inst.version_id, DefinitionFile.kind == "bpmn"
        )
    ).all()
    result = []
    for f in files:
        root = etree.fromstring(f.content.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
        ids = set(root.xpath("//@id"))
        process_ids = root.xpath("//*[local-name()='process']/@id")
        names = root.xpath("//*[local-name()='process']/@name")
        processes = [name for name in states if name in ids]
        if not processes and inst.process_id not in ids:
            continue
        done = sorted({e for p in processes for e in states[p]["done"]})
        current = sorted({e for p in processes for e in states[p]["current"]})
        result.append(
            {
                "path": f.path,
                "main": inst.process_id in ids,
                "done": done,
                "current": current,
                "active": bool(current),
                "processes": process_ids,
                "title": names[0].split("：")[-1] if names else f.path,
                "names": [name for _line, name in names_in(f.content.encode())],
            }
        )
    result.sort(key=lambda d: (not d["main"], d["path"]))
    return result


@bp.get("/<int:case_id>")
@login_required
def case_page(case_id: int) -> ResponseReturnValue:
    eng = engine()
    try:
        inst = get_case(eng, current_actor(), case_id)
    except EngineError as exc:
        abort(404 if exc.code == "not_found" else 403)
    detail = case_detail(eng, inst)
    diagrams = _diagram_files(inst, element_states(eng, inst))
    names = english_names(name for d in diagrams for name in d.pop("names"))  # the viewer's, in English
    documents = documents_of(db.session(), [inst.id])
    file = case_file(eng, current_actor(), inst)
    if file.unit_view:  # the unit under supervision: the documents sent to it, not the whole file
        sent = {e.document_id for e in file.entries if e.document_id}
        documents = [d for d in documents if d.id in sent]
    return render_template(
        "cases/case.html",
        case=detail,
        inst=inst,
        diagrams=diagrams,
        element_names=names,
        org=org_of(eng),
        documents=documents,
        lane_roles=list(ROLES),
        file=file,
        history=file.history,
    )


@bp.get("/<int:case_id>/diagram/<path:path>")
@login_required
def diagram(case_id: int, path: str) -> ResponseReturnValue:
    eng = engine()
    try:
        inst = get_case(eng, current_actor(), case_id)
    except EngineError:
        abort(403)
    row = db.session.scalar(
        select(DefinitionFile).where(
            DefinitionFile.version_id == inst.version_id, DefinitionFile.path == path
        )
    )
    if row is None:
        abort(404)
    return Response(row.content, mimetype="application/xml")


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new_case() -> ResponseReturnValue:
    """File a written report (Art. 38): the fields come from the case's start form, the file the API
    validates with too; only the unit picker is the page's own. It offers the units the clerk's office is
    competent for (``unit_choices``); a report about another unit is forwarded to its competent office, and
    a clerk who may not read the forwarded case is taken to the case list rather than to a 403."""
    eng = engine()
    org = org_of(eng)
    actor = current_actor()
    schema = start_form(eng, CASE_PROCESS) or {}
    unit_code = request.form.get("unit_code", "")
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = parse_submission(schema, request.form)
        try:
            inst = open_case(eng, actor, unit_code, values)
            db.session.commit()
        except FormInvalid as exc:
            db.session.rollback()
            errors = localized_errors(exc.codes, exc.errors)
        except EngineError as exc:
            db.session.rollback()
            flash(engine_error_text(exc), "error")
        else:
            if receiving_office(org, actor, unit_code) is None:
                flash(_("已立案：%(key)s", key=inst.business_key), "success")
            else:
                office = office_name(org, competent_office(org, unit_code))
                flash(
                    _("已立案：%(key)s，已转%(office)s办理", key=inst.business_key, office=office), "success"
                )
            try:
                get_case(eng, actor, inst.id)  # forwarded out of the clerk's sight: not a page he cannot open
            except NotAuthorized:
                return redirect(url_for("cases.case_list"))
            return redirect(url_for("cases.case_page", case_id=inst.id))
    return render_template(
        "cases/new.html",
        groups=unit_choices(eng, actor),
        unit_code=unit_code,
        fields=build_fields(schema, values, errors),
        errors=errors,
        org=org,
    ), (422 if errors else 200)
