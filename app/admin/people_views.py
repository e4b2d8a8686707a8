"""People pages (admin only): search people, a person's posts with their dates (history included), start,
end or change a post (调任: the roles and the open tasks move with it), link a login account. Thin views over
``app/org/services.py``; each commits once."""

from __future__ import annotations

from datetime import date, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.admin import admin_required, bp
from app.extensions import db
from app.org import services
from app.org.imports import parse_date
from app.org.services import OrgAdminError
from app.params import page_arg
from app.runtime import engine, runtime
from app.security import referrer_or
from workflows.regulation import people
from workflows.regulation.people import GENDERS, POST_KINDS, PeopleError
from workflows.regulation.roles import org_of

PEOPLE_PER_PAGE = 100


def _now() -> datetime:
    return runtime().clock.now()


def _date(name: str, required: bool = True) -> date | None:
    value = parse_date(request.form.get(name, "").strip(), name)
    if value is None and required:
        raise PeopleError(_("请填写日期（%(f)s）", f=name))
    return value


@bp.get("/people")
@admin_required
def people_list() -> ResponseReturnValue:
    q, org_code = request.args.get("q", "").strip()[:100], request.args.get("org_code", "").strip()[:40]
    page, session = page_arg(request.args), db.session()
    matched = services.count_people(session, q, org_code)
    return render_template(
        "admin/people.html",
        q=q,
        org_code=org_code,
        found=services.search_people(session, q, org_code, PEOPLE_PER_PAGE, (page - 1) * PEOPLE_PER_PAGE),
        page=page,
        pages=max(1, -(-matched // PEOPLE_PER_PAGE)),
        matched=matched,
        org=org_of(engine()),
        today=people.day_of(_now()),
        genders=GENDERS,
        total=services.count_people(session),
    )


@bp.post("/people")
@admin_required
def create_person() -> ResponseReturnValue:
    form = request.form
    try:
        person = services.add_person(
            db.session(), form.get("name", ""), form.get("gender"), form.get("notes", "")
        )
        if form.get("org_code") and form.get("kind"):
            start_on = _date("start_on")
            assert start_on is not None
            services.assign_post(
                db.session(),
                person.id,
                form["org_code"],
                form["kind"],
                start_on,
                _now(),
                form.get("title", ""),
            )
        db.session.commit()
        flash(_("已添加 %(name)s", name=person.name), "success")
        return redirect(url_for("admin.person_page", person_id=person.id))
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(referrer_or(url_for("admin.people_list")))


@bp.get("/people/<int:person_id>")
@admin_required
def person_page(person_id: int) -> ResponseReturnValue:
    session = db.session()
    person = session.get(people.Person, person_id) or abort(404)
    return render_template(
        "admin/person.html",
        person=person,
        history=people.post_history(session, person),
        accounts=services.accounts_of(session, person.id),
        org=org_of(engine()),
        today=people.day_of(_now()),
        post_kinds=POST_KINDS,
        genders=GENDERS,
    )


@bp.post("/people/<int:person_id>")
@admin_required
def edit_person(person_id: int) -> ResponseReturnValue:
    form = request.form
    try:
        services.edit_person(
            db.session(), person_id, form.get("name", ""), form.get("gender"), form.get("notes", "")
        )
        db.session.commit()
        flash(_("已保存"), "success")
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.person_page", person_id=person_id))


@bp.post("/people/<int:person_id>/posts")
@admin_required
def start_post(person_id: int) -> ResponseReturnValue:
    form = request.form
    try:
        start_on = _date("start_on")
        assert start_on is not None
        services.assign_post(
            db.session(),
            person_id,
            form.get("org_code", "").strip(),
            form.get("kind", ""),
            start_on,
            _now(),
            form.get("title", ""),
            _date("end_on", required=False),
        )
        db.session.commit()
        flash(_("已任职"), "success")
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.person_page", person_id=person_id))


@bp.post("/posts/<int:post_id>/end")
@admin_required
def end_post(post_id: int) -> ResponseReturnValue:
    try:
        end_on = _date("end_on")
        assert end_on is not None
        post = services.end_post(db.session(), post_id, end_on, _now())
        person_id = post.person_id
        db.session.commit()
        flash(_("已离任"), "success")
        return redirect(url_for("admin.person_page", person_id=person_id))
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(referrer_or(url_for("admin.people_list")))


@bp.post("/posts/<int:post_id>/change")
@admin_required
def change_post(post_id: int) -> ResponseReturnValue:
    form = request.form
    try:
        on = _date("on")
        assert on is not None
        post = services.change_post(
            db.session(),
            post_id,
            on,
            _now(),
            org_code=form.get("org_code", "").strip() or None,
            kind=form.get("kind") or None,
            title=form.get("title"),
        )
        person_id = post.person_id
        db.session.commit()
        flash(_("已调任：原职务于 %(d)s 结束，新职务同日开始", d=on.isoformat()), "success")
        return redirect(url_for("admin.person_page", person_id=person_id))
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(referrer_or(url_for("admin.people_list")))


@bp.post("/people/<int:person_id>/accounts")
@admin_required
def link_account(person_id: int) -> ResponseReturnValue:
    try:
        user = services.link_account(db.session(), person_id, request.form.get("username", ""), _now())
        db.session.commit()
        flash(_("已关联账号 %(u)s", u=user.username), "success")
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.person_page", person_id=person_id))


@bp.post("/accounts/<int:user_id>/unlink")
@admin_required
def unlink_account(user_id: int) -> ResponseReturnValue:
    try:
        user = services.unlink_account(db.session(), user_id, _now())
        person_id = request.form.get("person_id", type=int)
        db.session.commit()
        flash(_("已取消关联 %(u)s", u=user.username), "success")
    except OrgAdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        person_id = request.form.get("person_id", type=int)
    return redirect(
        url_for("admin.person_page", person_id=person_id) if person_id else url_for("admin.people_list")
    )
