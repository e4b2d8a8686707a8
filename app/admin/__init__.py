"""People and roles (admin only): list and search accounts, create one, grant and revoke roles; the
organisation and its people (``org_views``, ``people_views``)."""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from app.auth.models import RoleGrant, User
from app.auth.services import AccountError, create_user, grant
from app.extensions import db
from app.runtime import engine
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


@bp.get("/users")
@admin_required
def users() -> ResponseReturnValue:
    q = request.args.get("q", "").strip()
    query = select(User).order_by(User.username).limit(100)
    if q:
        query = query.where(or_(User.username.contains(q), User.display_name.contains(q)))
    org = org_of(engine())
    return render_template(
        "admin/users.html",
        users=db.session.scalars(query).all(),
        q=q,
        roles=sorted(ROLES),
        units=sorted(org.nodes.values(), key=lambda n: n.code),
        org=org,
    )


@bp.post("/users")
@admin_required
def create() -> ResponseReturnValue:
    form = request.form
    try:
        user = create_user(
            db.session(),
            form.get("username", "").strip(),
            form.get("display_name", "").strip(),
            form.get("password", ""),
        )
        if form.get("role"):
            grant(db.session(), user, form["role"], form.get("org_code", ""))
        db.session.commit()
        flash(_("已创建用户 %(u)s", u=user.username), "success")
    except (AccountError, ValueError) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.users", q=form.get("username", "")))


@bp.post("/users/<int:user_id>/grants")
@admin_required
def add_grant(user_id: int) -> ResponseReturnValue:
    user = db.session.get(User, user_id) or abort(404)
    role = request.form.get("role", "")
    if request.form.get("department"):
        role = f"{role}/{request.form['department']}"
    try:
        grant(db.session(), user, role, request.form.get("org_code", ""))
        db.session.commit()
        flash(_("已授权"), "success")
    except AccountError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("admin.users", q=user.username))


@bp.post("/grants/<int:grant_id>/revoke")
@admin_required
def revoke(grant_id: int) -> ResponseReturnValue:
    row = db.session.get(RoleGrant, grant_id) or abort(404)
    username = row.user.username
    db.session.delete(row)
    db.session.commit()
    flash(_("已撤销授权"), "success")
    return redirect(url_for("admin.users", q=username))


from app.admin import (  # noqa: E402,F401  (registers the pages: organisation, people, 运行异常)
    incident_views,
    org_views,
    people_views,
)
