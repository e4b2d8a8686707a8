"""The OpenAPI 3.1 document of /api/v1, generated from the routes so it cannot drift from them.

Each view declares its contract beside it with :func:`doc` (summary, request body, query, response, status,
errors). :func:`build_spec` walks ``app.url_map`` for the rules under /api/v1, turns ``<int:case_id>`` into
``{case_id}`` and reads each view's contract; a route without one is an error (:class:`UndocumentedRoute`),
so a new route cannot be served undocumented. Schemas are the same marshmallow classes the views load and
dump with; a body may also be a JSON Schema built when the document is (the deployed start form of a case).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, current_app
from flask.typing import ResponseReturnValue
from marshmallow import Schema

from app.api import bp
from app.api.schemas import ErrorSchema
from app.params import MAX_ID

SchemaRef = type[Schema] | Schema
JsonSchema = dict[str, Any]
View = TypeVar("View", bound=Callable[..., Any])

PREFIX = bp.url_prefix or ""
CONTRACT_ATTRIBUTE = "api_contract"
IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
_PARAMETER = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<arguments>[^)]*)\))?:)?(?P<name>\w+)>")


class UndocumentedRoute(RuntimeError):
    """An /api/v1 route whose view declares no contract with :func:`doc`."""


@dataclass(frozen=True)
class Contract:
    """What a view accepts and answers. ``body`` is a marshmallow schema or a function returning a JSON
    Schema (called when the document is built); ``multipart`` an alternative multipart/form-data body;
    ``errors`` the statuses the view's services raise. 401 (login), 400 (CSRF), 422 (invalid input) and
    404 (a path naming what does not exist) are added from what the contract and the route already say."""

    summary: str
    body: SchemaRef | Callable[[], JsonSchema] | None = None
    multipart: SchemaRef | None = None
    query: type[Schema] | None = None
    response: SchemaRef | JsonSchema | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    public: bool = False  # no login; then no CSRF token either (login itself is exempt)


def doc(
    summary: str,
    *,
    body: SchemaRef | Callable[[], JsonSchema] | None = None,
    multipart: SchemaRef | None = None,
    query: type[Schema] | None = None,
    response: SchemaRef | JsonSchema | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    public: bool = False,
) -> Callable[[View], View]:
    """Declare a view's contract; put it right under the route decorator."""
    contract = Contract(summary, body, multipart, query, response, status, errors, public)

    def declare(view: View) -> View:
        setattr(view, CONTRACT_ATTRIBUTE, contract)
        return view

    return declare


def contract_of(view: Callable[..., Any]) -> Contract | None:
    found = getattr(view, CONTRACT_ATTRIBUTE, None)
    return found if isinstance(found, Contract) else None


def openapi_path(rule: str) -> str:
    """``/api/v1/tasks/<task_id>/complete`` → ``/tasks/{task_id}/complete`` (the server URL is /api/v1)."""
    return _PARAMETER.sub(r"{\g<name>}", rule.removeprefix(PREFIX))


def _parameter_schema(converter: str | None, arguments: str | None) -> JsonSchema:
    """What the route's converter matches: ``<int:…>`` a number from 0 to :data:`MAX_ID` (a larger one
    matches no route), ``<any(a, b):…>`` one of its words, anything else a string."""
    if converter == "int":
        return {"type": "integer", "minimum": 0, "maximum": MAX_ID}
    if converter == "float":
        return {"type": "number"}
    if converter == "any" and arguments:
        return {"type": "string", "enum": [word.strip().strip("'\"") for word in arguments.split(",")]}
    return {"type": "string"}


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    return [
        {
            "in": "path",
            "name": m["name"],
            "required": True,
            "schema": _parameter_schema(m["converter"], m["arguments"]),
        }
        for m in _PARAMETER.finditer(rule)
    ]


def _body_required(schema: SchemaRef | JsonSchema) -> bool:
    if isinstance(schema, dict):
        return bool(schema.get("required"))
    instance = schema if isinstance(schema, Schema) else schema()
    return any(field.required for field in instance.fields.values())


def _request_body(contract: Contract) -> dict[str, Any] | None:
    content: dict[str, Any] = {}
    required = False
    body = contract.body
    if body is not None:
        schema = body if isinstance(body, (Schema, type)) else body()
        content["application/json"] = {"schema": schema}
        required = _body_required(schema)
    if contract.multipart is not None:
        content["multipart/form-data"] = {"schema": contract.multipart}
    return {"required": required, "content": content} if content else None


def _error(status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": "Error"}},
    }


def _operation(
    operation_id: str, rule: str, method: str, view: Callable[..., Any], contract: Contract
) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": HTTPStatus(contract.status).phrase}
    if contract.response is not None:
        ok["content"] = {"application/json": {"schema": contract.response}}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": contract.summary,
        "tags": [view.__module__.rsplit(".", 1)[-1]],
        "responses": {str(contract.status): ok},
    }
    description = inspect.getdoc(view)
    if description:
        operation["description"] = description
    parameters = _path_parameters(rule)
    if contract.query is not None:
        parameters.append({"in": "query", "schema": contract.query})
    if parameters:
        operation["parameters"] = parameters
    body = _request_body(contract)
    if body is not None:
        operation["requestBody"] = body
    errors = set(contract.errors)
    if contract.public:
        operation["security"] = []
    elif method == "GET":
        operation["security"] = [{"session": []}]
        errors.add(401)
    else:
        operation["security"] = [{"session": [], "csrf": []}]
        errors |= {400, 401}
    if body is not None or contract.query is not None:
        errors.add(422)
    if _PARAMETER.search(rule):  # the path names a case, task, person …: it may not exist
        errors.add(404)
    for status in sorted(errors):
        operation["responses"][str(status)] = _error(status)
    return operation


def build_spec(app: Flask | None = None) -> dict[str, Any]:
    """The document, from the app's /api/v1 rules and their views' contracts."""
    app = app or current_app
    spec = APISpec(
        title="南阳市社会治安综合治理领导责任制 — API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "Accountability cases and tasks (Ch. 5 of the 2017 regulation). Log in at "
            "/auth/login (session cookie), then send the X-CSRFToken header on every POST. Every instant "
            "is ISO 8601 with the +08:00 offset."
        },
        servers=[{"url": PREFIX}],
    )
    spec.components.schema("Error", schema=ErrorSchema)
    cookie = app.config.get("SESSION_COOKIE_NAME", "session")
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": cookie})
    spec.components.security_scheme("csrf", {"type": "apiKey", "in": "header", "name": "X-CSRFToken"})
    paths: dict[str, dict[str, Any]] = {}
    undocumented: list[str] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        view = app.view_functions[rule.endpoint]
        contract = contract_of(view)
        if contract is None:
            undocumented.append(f"{rule.rule} ({rule.endpoint})")
            continue
        methods = sorted(set(rule.methods or ()) - IGNORED_METHODS)
        name = rule.endpoint.removeprefix(f"{bp.name}.")
        for method in methods:
            operation_id = name if len(methods) == 1 else f"{name}_{method.lower()}"
            operations = paths.setdefault(openapi_path(rule.rule), {})
            operations[method.lower()] = _operation(operation_id, rule.rule, method, view, contract)
    if undocumented:
        raise UndocumentedRoute(
            "API routes without a contract (declare one with @doc): " + ", ".join(undocumented)
        )
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
@doc(
    "This document (OpenAPI 3.1), generated from the routes",
    response={"type": "object", "description": "an OpenAPI 3.1 document"},
    public=True,
)
def openapi_document() -> ResponseReturnValue:
    return build_spec()
