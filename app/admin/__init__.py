"""People and roles (admin only): list, search and page accounts (``app/auth/directory.py``), create one,
grant and revoke roles; the organisation and its people (``org_views``, ``people_views``), the import of
people and grants (``import_views``)."""

from __future__ import annotations

from functools import wraps
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.demo_mode import demo_loaded
from app.auth.directory import PER_PAGE_CHOICES, AccountQuery, search_accounts
from app.auth.models import RoleGrant, User
from app.auth.services import AccountError, create_user, grant
from app.extensions import db
from app.inbox.formrender import unit_groups
from app.labels import role_label
from app.params import MAX_ID, to_int
from app.runtime import engine, runtime
from app.security import safe_next
from workflows.regulation import people
from workflows.regulation.roles import ROLES, org_of

bp = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view: Any) -> Any:
    @wraps(view)
    @login_required
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not any(g.role == "admin" for g in current_user.grants):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _list_url(username: str) -> str:
    """The accounts list the form was posted from (its search, filters and page), kept in ``back``."""
    return safe_next(request.form.get("back"), url_for("admin.users", q=username))


@bp.get("/users")
@admin_required
def users() -> ResponseReturnValue:
    query = AccountQuery.from_args(request.args)
    session = db.session()
    found = search_accounts(session, query, people.day_of(runtime().clock.now()))
    grant_to = to_int(request.args.get("grant_to"), 1, MAX_ID)
    org = org_of(engine())
    filters = {k: v for k, v in vars(query).items() if v and k != "page"}
    return render_template(
        "admin/users.html",
        found=found,
        query=query,
        filters=filters,
        per_page_choices=PER_PAGE_CHOICES,
        target=session.get(User, grant_to) if grant_to else None,
        roles=sorted(ROLES),
        units=unit_groups(),
        org=org,
        today=people.day_of(runtime().clock.now()),
        demo_mode=demo_loaded(session),
    )


@bp.post("/users")
@admin_required
def create() -> ResponseReturnValue:
    form = request.form
    try:
        session = db.session()
        user = create_user(
            session,
            form.get("username", "").strip(),
            form.get("display_name", "").strip(),
            form.get("password", ""),
        )
        if form.get("role"):
            if not form.get("org_code"):
                raise AccountError(_("请选择要授权的单位"))
            grant(session, user, form["role"], form["org_code"])
        db.session.commit()
        flash(_("已创建用户 %(u)s", u=user.username), "success")
    except (AccountError, ValueError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.users", q=form.get("username", "")))


@bp.post("/users/<int:user_id>/grants")
@admin_required
def add_grant(user_id: int) -> ResponseReturnValue:
    """A role at a unit, both chosen: the form starts empty, so nothing is granted by a default."""
    user = db.session.get(User, user_id) or abort(404)
    role, org_code = request.form.get("role", "").strip(), request.form.get("org_code", "").strip()
    if request.form.get("department"):
        role = f"{role}/{request.form['department'].strip()}"
    back = _list_url(user.username)
    missing = [
        text for text, given in ((_("请选择要授予的角色"), role), (_("请选择单位"), org_code)) if not given
    ]
    if missing:
        flash(_("未授权：%(why)s。", why=_("；").join(missing)), "error")
        return redirect(_with_grant_form(back, user.id))
    try:
        grant(db.session(), user, role, org_code)
        db.session.commit()
        flash(_("已授予 %(u)s：%(r)s @ %(o)s", u=user.username, r=role_label(role), o=org_code), "success")
    except AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(_with_grant_form(back, user.id))
    return redirect(back)


def _with_grant_form(url: str, user_id: int) -> str:
    parts = urlsplit(url)
    args = [(k, v) for k, v in parse_qsl(parts.query) if k != "grant_to"] + [("grant_to", str(user_id))]
    return f"{parts.path}?{urlencode(args)}#grant"


@bp.post("/grants/<int:grant_id>/revoke")
@admin_required
def revoke(grant_id: int) -> ResponseReturnValue:
    row = db.session.get(RoleGrant, grant_id) or abort(404)
    username = row.user.username
    db.session.delete(row)
    db.session.commit()
    flash(_("已撤销授权"), "success")
    return redirect(_list_url(username))


from app.admin import (  # noqa: E402,F401  (registers the pages: organisation, people, imports, 运行异常)
    import_views,
    incident_views,
    org_views,
    people_views,
)
