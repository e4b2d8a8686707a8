"""Login (Flask-Login), CSRF (Flask-WTF) and the current user's Actor."""

from __future__ import annotations

from flask import Flask, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from app.auth.models import User
from app.extensions import db
from workflows.engine.actors import Actor

login_manager = LoginManager()
login_manager.login_view = "web.login"


# Built once: every request runs it, and building the statement with its loader option cost more than
# executing it from SQLAlchemy's compiled cache (issue 17).
_USER_WITH_GRANTS = select(User).options(joinedload(User.grants)).where(User.id == bindparam("user_id"))


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The user with their grants in one query: every request needs both (the Actor)."""
    return db.session.scalars(_USER_WITH_GRANTS, {"user_id": int(user_id)}).unique().first()


@login_manager.unauthorized_handler
def _unauthorized() -> ResponseReturnValue:
    if request.path.startswith("/api/"):
        return jsonify(error="not_logged_in", message="log in first (POST /api/v1/auth/login)"), 401
    return redirect(url_for("web.login", next=request.full_path))


def current_actor() -> Actor:
    return current_user.actor()


def init_app(app: Flask) -> None:
    from app.auth import models  # noqa: F401  (tables known to the metadata and to Alembic)

    login_manager.init_app(app)
