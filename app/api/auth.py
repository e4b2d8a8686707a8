"""Session login for API clients (the web pages share the same session)."""

from __future__ import annotations

from flask import current_app, make_response, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from app.api import bp
from app.api.errors import error_response
from app.api.openapi import doc
from app.api.schemas import LoginSchema, MeSchema, StatusSchema
from app.auth.throttle import attempt_login, lockout_message, retry_after_seconds, throttle_from
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
    errors=(401, 429),
    public=True,
)
@csrf.exempt  # a cross-site JSON POST needs a CORS preflight we never grant; everything after is protected
def login() -> ResponseReturnValue:
    """After repeated failures the account or the client's address is locked for a growing while (1, 2, 4 …
    minutes): 429 with ``Retry-After`` (seconds) and a message saying when to try again; while locked even
    the right password is refused."""
    creds = LoginSchema().load(request.get_json(silent=True) or {})
    throttle = throttle_from(current_app.config)
    attempt = attempt_login(
        db.session(), throttle, creds["username"], creds["password"], request.remote_addr or ""
    )
    db.session.commit()
    if attempt.user is None:
        if attempt.retry_at is None:
            return error_response("login_failed", "wrong username or password", 401)
        now = throttle.clock.now()
        response = make_response(
            error_response("too_many_attempts", lockout_message(attempt.retry_at, now), 429)
        )
        response.headers["Retry-After"] = str(retry_after_seconds(attempt.retry_at, now))
        return response
    login_user(attempt.user)
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
