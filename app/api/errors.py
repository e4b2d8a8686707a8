"""One mapping from engine and input errors to HTTP answers; the transaction is rolled back first.

A script or condition that refuses a step (``process_failed``) is a 422 with a Chinese message and the
engine's text as ``detail``: the request was understood but the process would not take it, and since the
transaction is rolled back the case is as it was (issue 16 point 3; a 500 before)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from marshmallow import ValidationError

from app.api import bp
from app.errors import budget_exceeded_message, error_page, process_failed_message, wants_json
from app.extensions import db
from app.labels import problem_dicts
from workflows.engine.errors import (
    BudgetExceeded,
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
    ProcessFailed: 422,
    BudgetExceeded: 422,
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
    if isinstance(exc, ProcessFailed):
        return error_response(exc.code, process_failed_message(exc), status, detail=str(exc))
    if isinstance(exc, BudgetExceeded):
        return error_response(exc.code, budget_exceeded_message(exc), status, detail=str(exc))
    if isinstance(exc, DefinitionInvalid):  # file, line, element, message: a designer can find each one
        return error_response(exc.code, str(exc), status, problems=problem_dicts(exc.problems))
    return error_response(exc.code, str(exc), status, exc.errors if isinstance(exc, FormInvalid) else None)


@bp.errorhandler(ValidationError)
def _invalid_input(exc: ValidationError) -> ResponseReturnValue:
    db.session.rollback()
    return error_response("invalid_input", "the request is not valid", 422, exc.messages)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> ResponseReturnValue:
        if wants_json():
            return error_response("csrf_failed", f"{exc.description} (send the X-CSRFToken header)", 400)
        return error_page(exc, csrf=True)
