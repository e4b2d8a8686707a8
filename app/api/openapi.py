"""The OpenAPI 3 document of /api/v1, built with apispec from the same marshmallow schemas the views use."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import jsonify

from app.api import bp, schemas

# (path, method, summary, request body schema, response schema, query schema)
OPERATIONS: list[tuple[str, str, str, Any, Any, Any]] = [
    (
        "/auth/login",
        "post",
        "Log in (session cookie); returns the user and a CSRF token",
        schemas.LoginSchema,
        schemas.MeSchema,
        None,
    ),
    ("/auth/logout", "post", "Log out", None, None, None),
    ("/auth/me", "get", "Current user, grants and CSRF token", None, schemas.MeSchema, None),
    (
        "/tasks",
        "get",
        "Open tasks the caller may work (role and organisation scope)",
        None,
        schemas.TaskPageSchema,
        schemas.TaskQuerySchema,
    ),
    (
        "/tasks/{task_id}/complete",
        "post",
        "Complete a READY task with its form data",
        schemas.CompleteTaskSchema,
        schemas.CaseRowSchema,
        None,
    ),
    (
        "/tasks/{task_id}/claim",
        "post",
        "Claim a task of one of the caller's groups",
        None,
        schemas.TaskSchema,
        None,
    ),
    ("/tasks/{task_id}/release", "post", "Release a claimed task", None, schemas.TaskSchema, None),
    (
        "/cases",
        "post",
        "Open an accountability case on a written report (Art. 38)",
        schemas.ReportSchema,
        schemas.CaseDetailSchema,
        None,
    ),
    (
        "/cases",
        "get",
        "Cases the caller oversees, with level, step, deadline and colour",
        None,
        schemas.CasePageSchema,
        schemas.CaseQuerySchema,
    ),
    (
        "/cases/{case_id}",
        "get",
        "One case: level, step, deadlines (provisional flag), tasks, history",
        None,
        schemas.CaseDetailSchema,
        None,
    ),
    (
        "/definitions",
        "post",
        "Deploy or upload BPMN/forms as a new version (designers); 422 lists problems",
        None,
        None,
        None,
    ),
    (
        "/definitions/{old}/compare/{new}",
        "get",
        "Elements added/removed/renamed between versions",
        None,
        None,
        None,
    ),
    (
        "/migrations",
        "post",
        "Plan (dry_run) or run the migration of running instances to a version",
        None,
        None,
        None,
    ),
    ("/health", "get", "Liveness and database check", None, None, None),
    ("/definitions", "get", "Deployed definition versions", None, None, None),
]


def build_spec() -> dict[str, Any]:
    spec = APISpec(
        title="南阳市社会治安综合治理领导责任制 — API",
        version="1",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Accountability cases and tasks (Ch. 5 of the 2017 regulation)."},
        servers=[{"url": "/api/v1"}],
    )
    spec.components.schema("Error", schema=schemas.ErrorSchema)
    error = {"description": "error", "content": {"application/json": {"schema": "Error"}}}
    paths: dict[str, dict[str, Any]] = {}
    for path, method, summary, body, response, query in OPERATIONS:
        op: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "OK"}}}
        if response is not None:
            op["responses"]["200"]["content"] = {"application/json": {"schema": response}}
        for status in ("401", "403", "404", "409", "422"):
            op["responses"][status] = error
        if body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
        params: list[dict[str, Any]] = []
        for name in ("task_id", "case_id", "old", "new"):
            if "{" + name + "}" in path:
                params.append(
                    {
                        "in": "path",
                        "name": name,
                        "required": True,
                        "schema": {"type": "integer" if name == "case_id" else "string"},
                    }
                )
        if query is not None:
            params.append({"in": "query", "schema": query})
        if params:
            op["parameters"] = params
        paths.setdefault(path, {})[method] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_document():  # type: ignore[no-untyped-def]
    return jsonify(build_spec())
