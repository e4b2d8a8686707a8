"""Session login for API clients (the web pages share the same session)."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from app.api import bp
from app.api.errors import error_response
from app.api.openapi import doc
from app.api.schemas import LoginSchema, MeSchema, StatusSchema
from app.auth.services import authenticate
from app.extensions import csrf, db


def _me() -> dict[str, object]:
    return MeSchema().dump(
        {
            "username": current_user.username,
            "display_name": current_user.display_name,
            "locale": current_user.locale,
            "grants": [{"role": g.role, "org_code": g.org_code} for g in current_user.grants],
            "csrf_token": generate_csrf(),
        }
    )


@bp.post("/auth/login")
@doc(
    "Log in (session cookie); returns the user and a CSRF token",
    body=LoginSchema,
    response=MeSchema,
    errors=(401,),
    public=True,
)
@csrf.exempt  # a cross-site JSON POST needs a CORS preflight we never grant; everything after is protected
def login() -> ResponseReturnValue:
    creds = LoginSchema().load(request.get_json(silent=True) or {})
    user = authenticate(db.session(), creds["username"], creds["password"])
    if user is None:
        return error_response("login_failed", "wrong username or password", 401)
    login_user(user)
    return _me()


@bp.post("/auth/logout")
@doc("Log out", response=StatusSchema)
@login_required
def logout() -> ResponseReturnValue:
    logout_user()
    return StatusSchema().dump({"status": "logged_out"})


@bp.get("/auth/me")
@doc("Current user, grants and CSRF token", response=MeSchema)
@login_required
def me() -> ResponseReturnValue:
    return _me()
