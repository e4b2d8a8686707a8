"""User-task forms: one JSON Schema file per form in ``forms/``, used to render and to validate.

The same file drives the browser form and the server-side check, so what a user is shown and what the
server accepts cannot drift apart. Only fields the form declares reach the task data: a user must not be
able to overwrite variables the process relies on (``unit_code``, decisions, deadlines) by posting extras.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from workflows.engine.errors import FormInvalid, Problem
from workflows.engine.legaltime import clock as clockmod

# A date field marked ``"x-not-future": true`` records a past fact: a value after today is refused.
NOT_FUTURE = "x-not-future"

_FORMAT_CHECKER = FormatChecker()


def parse_form(filename: str, text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Load and check one form file; return the schema (or None) and the problems found."""
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [Problem(filename, f"not valid JSON: {exc.msg}", line=exc.lineno)]
    problems: list[Problem] = []
    if not isinstance(schema, dict):
        return None, [Problem(filename, "a form must be a JSON object (a JSON Schema of type object)")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        problems.append(Problem(filename, f"not a valid JSON Schema at {path}: {exc.message}"))
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        problems.append(Problem(filename, 'a form needs "type": "object" and a "properties" object'))
    if not schema.get("title"):
        problems.append(Problem(filename, 'a form needs a "title" (shown to the user)'))
    for name in schema.get("required", []) if isinstance(schema.get("required"), list) else []:
        if name not in (schema.get("properties") or {}):
            problems.append(Problem(filename, f"required field {name!r} is not declared in properties"))
    return (None if problems else schema), problems


def validate_submission(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``data`` against the task's form and return only the declared fields.

    Raises :class:`FormInvalid` with every problem at once, keyed by field, so a form can show each
    message next to its field and keep what the user typed.
    """
    if not isinstance(data, Mapping):
        raise FormInvalid({"": ["form data must be an object"]})
    if schema is None:
        if data:
            raise FormInvalid({"": ["this task has no form and takes no data"]})
        return {}
    declared = schema.get("properties", {})
    errors: dict[str, list[str]] = {}
    codes: dict[str, list[tuple[str, object]]] = {}

    def add(path: str, message: str, code: str, value: object = None) -> None:
        errors.setdefault(path, []).append(message)
        codes.setdefault(path, []).append((code, value))

    for key in data:
        if key not in declared:
            add(key, "field is not part of this form", "undeclared")
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    for err in validator.iter_errors(dict(data)):
        path = "/".join(str(p) for p in err.absolute_path)
        if err.validator == "additionalProperties" and not path:
            continue  # already reported above, field by field
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            add(f"{path}/{missing}" if path else missing, "required", "required")
            continue
        add(path, err.message, str(err.validator), err.validator_value)
    today = clockmod.now().date()
    for key, prop in declared.items():  # dates of past facts (反映日期, 印发日期…) cannot lie ahead
        value = data.get(key)
        if prop.get(NOT_FUTURE) and isinstance(value, str) and _after(value, today):
            add(key, f"不能晚于今天（{today.isoformat()}）", "not_future", today.isoformat())
    if errors:
        raise FormInvalid(errors, codes)
    return {k: v for k, v in data.items() if k in declared}


def _after(value: str, today: date) -> bool:
    try:
        return date.fromisoformat(value[:10]) > today
    except ValueError:
        return False  # the format check reports it
