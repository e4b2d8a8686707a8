"""Organisation pages (admin only): the tree with member units and the people in post, a unit's page (edit,
deactivate, add a member or system unit, its posts), and the import of units and of people with posts from
CSV or Excel. Views parse, call one service of ``app/org``, commit, and reload the organisation tree."""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.admin import admin_required, bp
from app.extensions import db
from app.org import imports, services
from app.org.services import OrgAdminError
from app.runtime import engine, runtime
from workflows.regulation import people
from workflows.regulation.org_units import CHILD_PREFIX, LEVELS, PARENT_LEVELS
from workflows.regulation.people import POST_KINDS
from workflows.regulation.roles import org_of

# The tree names each unit's leaders and the committee's director and office director; a unit's page the rest.
TREE_KINDS = (
    "party_principal",
    "government_principal",
    "principal",
    "in_charge",
    "member_principal",
    "member_in_charge",
    "committee_director",
    "office_director",
)


def _now() -> datetime:
    return runtime().clock.now()


def _committed(message: str) -> None:
    db.session.commit()
    runtime().reload_calendar(db.session())  # the organisation tree is cached per process
    flash(message, "success")


@bp.get("/org")
@admin_required
def org_tree() -> ResponseReturnValue:
    org = org_of(engine())
    root = request.args.get("root") or None
    return render_template(
        "admin/org.html",
        tree=services.org_tree(db.session(), org, _now(), root),
        levels=LEVELS,
        people_count=services.count_people(db.session()),
        root=root,
        tree_kinds=TREE_KINDS,
    )


@bp.get("/org/units/<code>")
@admin_required
def unit_page(code: str) -> ResponseReturnValue:
    org = org_of(engine())
    node = org.nodes.get(code) or abort(404)
    session = db.session()
    posts = sorted(
        (p for person in services.search_people(session, org_code=code, limit=500) for p in person.posts),
        key=lambda p: (p.end_on is not None, list(POST_KINDS).index(p.kind) if p.kind in POST_KINDS else 99),
    )
    kinds = [k for k, spec in POST_KINDS.items() if node.level in spec.levels]
    parents = [n for n in org.nodes.values() if n.level in PARENT_LEVELS.get(node.level, ())]
    return render_template(
        "admin/unit.html",
        node=node,
        org=org,
        chain=list(reversed(org.ancestors(code))),
        children=org.children(code, active_only=False),
        posts=[p for p in posts if p.org_code == code],
        today=people.day_of(_now()),
        kinds=kinds,
        post_kinds=POST_KINDS,
        child_levels=[lv for lv in CHILD_PREFIX if node.level in PARENT_LEVELS[lv]],
        parents=sorted(parents, key=lambda n: n.code),
        levels=LEVELS,
    )


@bp.post("/org/units")
@admin_required
def create_unit() -> ResponseReturnValue:
    form = request.form
    try:
        unit = services.create_unit(
            db.session(),
            form.get("name", ""),
            form.get("level", ""),
            form.get("parent_code"),
            form.get("code"),
        )
        _committed(_("已添加单位 %(name)s（%(code)s）", name=unit.name, code=unit.code))
        return redirect(url_for("admin.unit_page", code=unit.code))
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        back = form.get("parent_code")
        return redirect(url_for("admin.unit_page", code=back) if back else url_for("admin.org_tree"))


@bp.post("/org/units/<code>")
@admin_required
def edit_unit(code: str) -> ResponseReturnValue:
    try:
        services.edit_unit(db.session(), code, request.form.get("name"), request.form.get("parent_code"))
        _committed(_("已保存"))
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.unit_page", code=code))


@bp.post("/org/units/<code>/active")
@admin_required
def set_unit_active(code: str) -> ResponseReturnValue:
    active = request.form.get("active") == "1"
    try:
        ended = services.set_unit_active(db.session(), code, active, _now(), request.form.get("note", ""))
        _committed(_("已启用") if active else _("已停用，%(n)s 个职务随之结束", n=len(ended)))
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.unit_page", code=code))


@bp.get("/org/import")
@admin_required
def import_page() -> ResponseReturnValue:
    return render_template(
        "admin/import.html",
        unit_fields=imports.UNIT_HEADERS,
        people_fields=imports.PEOPLE_HEADERS,
        levels=LEVELS,
        post_kinds=POST_KINDS,
        report=None,
    )


@bp.post("/org/import/<what>")
@admin_required
def import_file(what: str) -> ResponseReturnValue:
    if what not in ("units", "people"):
        abort(404)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("请选择文件"), "error")
        return redirect(url_for("admin.import_page"))
    session = db.session()
    try:
        headers = imports.UNIT_HEADERS if what == "units" else imports.PEOPLE_HEADERS
        rows = imports.read_table(upload.filename, upload.read(), headers)
    except imports.TableError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.import_page"))
    if what == "units":
        report: object = imports.import_units(session, rows, people.day_of(_now()))
    else:
        report = imports.import_people(session, rows, _now())
    errors = getattr(report, "errors", {})
    if errors:
        session.rollback()
        flash(_("文件有 %(n)s 行错误，未导入任何数据", n=len(errors)), "error")
    else:
        _committed(_("导入完成"))
    return render_template(
        "admin/import.html",
        unit_fields=imports.UNIT_HEADERS,
        people_fields=imports.PEOPLE_HEADERS,
        levels=LEVELS,
        post_kinds=POST_KINDS,
        report=report,
        what=what,
    )


@bp.get("/org/import/<what>-template.csv")
@admin_required
def import_template(what: str) -> ResponseReturnValue:
    fields = {"units": imports.UNIT_TEMPLATE, "people": imports.PEOPLE_TEMPLATE}.get(what) or abort(404)
    return Response(
        imports.template_csv(fields),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename={what}-template.csv"},
    )
