"""One mapping from engine and input errors to HTTP answers; the transaction is rolled back first."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError

from app.api import bp
from app.errors import error_page
from app.extensions import db
from workflows.engine.errors import (
    Conflict,
    DefinitionInvalid,
    EngineError,
    FormInvalid,
    NotAuthorized,
    NotFound,
    ProcessFailed,
    TaskNotReady,
)

STATUS: dict[type[EngineError], int] = {
    NotFound: 404,
    NotAuthorized: 403,
    TaskNotReady: 409,
    Conflict: 409,
    FormInvalid: 422,
    DefinitionInvalid: 422,
    ProcessFailed: 500,
}


def error_response(
    code: str, message: str, status: int, errors: Any = None, **extra: Any
) -> ResponseReturnValue:
    body: dict[str, Any] = {"error": code, "message": message, **extra}
    if errors is not None:
        body["errors"] = errors
    return jsonify(body), status


@bp.errorhandler(EngineError)
def _engine_error(exc: EngineError) -> ResponseReturnValue:
    db.session.rollback()
    status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
    if isinstance(exc, DefinitionInvalid):  # file, line, element, message: a designer can find each one
        return error_response(exc.code, str(exc), status, problems=[p.as_dict() for p in exc.problems])
    return error_response(exc.code, str(exc), status, exc.errors if isinstance(exc, FormInvalid) else None)


@bp.errorhandler(ValidationError)
def _invalid_input(exc: ValidationError) -> ResponseReturnValue:
    db.session.rollback()
    return error_response("invalid_input", "the request is not valid", 422, exc.messages)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        if request.path.startswith("/api/"):
            return error_response("csrf_failed", f"{exc.description} (send the X-CSRFToken header)", 400)
        return error_page(exc, csrf=True)
