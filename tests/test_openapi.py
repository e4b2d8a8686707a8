"""The OpenAPI document is generated from the routes: every /api/v1 rule is in it with its method, the
task completion answers CompletionSchema, opening a case takes the deployed start form
(forms/case_report.json) plus ``unit_code``, the document holds together, real answers match what it says,
and every instant an answer carries is ISO 8601 with +08:00 (never an HTTP date)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator
from marshmallow import Schema, fields

from app.api import schemas as api_schemas
from app.api.openapi import PREFIX, UndocumentedRoute, build_spec, doc, openapi_path
from tests.conftest import ROOT, demo_app
from workflows.engine.errors import NotFound

TOWN, COUNTY = "411302001", "411302"
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
}
REGISTRATION = {
    **REPORT,
    "report_date": "2026-03-02",
    "leaders": [{"name": "张三", "position": "党委书记", "responsibility": "principal_leader"}],
}
METHODS = {"get", "put", "post", "delete", "patch"}
ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
HTTP_DATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"\d{2}:\d{2}:\d{2} (GMT|[+-]\d{4})$"
)


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


@pytest.fixture(scope="module")
def document(app: Flask) -> dict[str, Any]:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json  # type: ignore[return-value]


def login(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.json
    return client, {"X-CSRFToken": response.json["csrf_token"]}  # type: ignore[index]


def api_rules(app: Flask) -> list[tuple[str, str]]:
    return sorted(
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(PREFIX + "/")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    )


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


# The document is generated from the routes


def test_every_api_route_is_documented_with_its_method(app: Flask, document: dict[str, Any]) -> None:
    rules = api_rules(app)
    documented = sorted((path, method) for path, method, _ in operations(document))
    assert documented == rules
    assert {
        ("/tasks/{task_id}/send-back", "post"),
        ("/tasks/{task_id}/transfer", "post"),
        ("/tasks/{task_id}/urge", "post"),
        ("/tasks/{task_id}/comment", "post"),
        ("/cases/{case_id}", "get"),
        ("/definitions/{old}/compare/{new}", "get"),
    } <= set(rules)


def test_a_route_without_a_contract_fails_the_build() -> None:
    bare = Flask(__name__)

    @doc("documented")
    def documented() -> str:
        return ""

    bare.add_url_rule(f"{PREFIX}/documented/<int:case_id>", view_func=documented)
    bare.add_url_rule(f"{PREFIX}/forgotten", view_func=lambda: "", endpoint="forgotten")
    bare.add_url_rule("/elsewhere", view_func=lambda: "", endpoint="elsewhere")  # not the API: ignored
    with bare.test_request_context(), pytest.raises(UndocumentedRoute, match="/api/v1/forgotten"):
        build_spec(bare)
    assert openapi_path(f"{PREFIX}/a/<int:case_id>/b/<path:rest>") == "/a/{case_id}/b/{rest}"


def test_path_parameters_follow_the_converters(document: dict[str, Any]) -> None:
    case = document["paths"]["/cases/{case_id}"]["get"]["parameters"]
    bounded = {"type": "integer", "minimum": 0, "maximum": 2147483647}  # the id columns' size (app/params.py)
    assert case == [{"in": "path", "name": "case_id", "required": True, "schema": bounded}]
    task = document["paths"]["/tasks/{task_id}/complete"]["post"]["parameters"]
    assert task == [{"in": "path", "name": "task_id", "required": True, "schema": {"type": "string"}}]


def test_completion_documents_case_and_next_tasks(document: dict[str, Any]) -> None:
    operation = document["paths"]["/tasks/{task_id}/complete"]["post"]
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert response == {"$ref": "#/components/schemas/Completion"}
    completion = resolve(document, response["$ref"])["properties"]
    assert completion["case"]["$ref"] == "#/components/schemas/CaseRow"
    assert completion["next_tasks"]["items"]["$ref"] == "#/components/schemas/TaskDetail"  # with its form
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(resolve(document, body["$ref"])["properties"]) == {"data", "comment", "internal"}
    assert {"403", "404", "409", "422"} <= set(operation["responses"])
    assert operation["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    for action, body_schema in [
        ("send-back", "SendBack"),
        ("transfer", "Transfer"),
        ("urge", "Urge"),
        ("comment", "Comment"),
    ]:
        op = document["paths"][f"/tasks/{{task_id}}/{action}"]["post"]
        assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(body_schema)
        assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Task")


def test_opening_a_case_takes_the_start_form_and_the_unit(document: dict[str, Any]) -> None:
    operation = document["paths"]["/cases"]["post"]
    assert "201" in operation["responses"]
    body = operation["requestBody"]
    assert body["required"] is True
    schema = body["content"]["application/json"]["schema"]
    form = json.loads((ROOT / "forms" / "case_report.json").read_text(encoding="utf-8"))
    assert schema["properties"]["facts"]["maxLength"] == 4000
    assert schema["properties"]["unit_code"]["type"] == "string"
    assert set(schema["properties"]) == {"unit_code", *form["properties"]}
    assert set(schema["required"]) == {"unit_code", *form["required"]}
    assert schema["properties"]["source"]["enum"] == form["properties"]["source"]["enum"]
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate({**REPORT, "unit_code": TOWN})
    assert not Draft202012Validator(schema).is_valid(REPORT)  # no unit


def test_without_a_deployed_version_the_form_comes_from_the_file(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def nothing_deployed(*_args: object) -> None:
        raise NotFound("no deployed version defines process 'accountability_case'")

    monkeypatch.setattr("app.api.cases.start_form", nothing_deployed)
    with app.test_request_context():
        schema = build_spec()["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]
    assert schema["schema"]["properties"]["facts"]["maxLength"] == 4000
    assert "unit_code" in schema["schema"]["required"]


def test_the_document_holds_together(document: dict[str, Any]) -> None:
    """Structural checks (openapi-spec-validator is not a dependency of the project)."""
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"] == [{"url": PREFIX}]
    for ref in set(refs(document)):
        assert resolve(document, ref) is not None, ref
    schemes = document["components"]["securitySchemes"]
    ids: list[str] = []
    for path, method, operation in operations(document):
        ids.append(operation["operationId"])
        assert operation["summary"], (path, method)
        statuses = operation["responses"]
        assert statuses and all(re.fullmatch(r"[1-5]\d\d", s) for s in statuses), (path, method)
        assert any(s.startswith("2") for s in statuses), (path, method)
        assert all(r["description"] for r in statuses.values())
        in_path = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        assert sorted(in_path) == sorted(re.findall(r"{(\w+)}", path)), (path, method)
        assert all(p["in"] in {"path", "query", "header", "cookie"} for p in operation.get("parameters", []))
        for requirement in operation["security"]:
            assert set(requirement) <= set(schemes)
        if method == "post" and operation["security"]:
            assert "400" in statuses and "401" in statuses  # CSRF token and login
    assert len(ids) == len(set(ids))
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_login_guard_matches_the_document(app: Flask, document: dict[str, Any]) -> None:
    """A GET documented as needing a session answers 401 without one; a public one does not."""
    client = app.test_client()
    for path, method, operation in operations(document):
        if method != "get":
            continue
        url = PREFIX + re.sub(r"{\w+}", "1", path)
        status = client.get(url).status_code
        assert (status == 401) == bool(operation["security"]), (path, status)


# Real answers match the document and carry one datetime format


def instants(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from instants(value)
    elif isinstance(node, list):
        for value in node:
            yield from instants(value)
    elif isinstance(node, str):
        if HTTP_DATE.match(node):
            raise AssertionError(f"HTTP-date in an API answer: {node!r}")
        if ISO_INSTANT.match(node):
            datetime.fromisoformat(node)  # parses
            yield node


def test_a_scenario_answers_as_documented_with_cst_instants(app: Flask, document: dict[str, Any]) -> None:
    answers: list[tuple[str, str, int, Any]] = []

    def call(client: FlaskClient, method: str, template: str, headers: Any = None, **kwargs: Any) -> Any:
        url = PREFIX + template.format(**kwargs.pop("params", {}))
        response = client.open(url, method=method.upper(), headers=headers, **kwargs)
        answers.append((template, method, response.status_code, response.json))
        assert response.status_code < 300, (url, response.status_code, response.json)
        return response.json

    reporter = app.test_client()
    health = call(reporter, "get", "/health")
    me = call(reporter, "post", "/auth/login", json={"username": "411300.supervisor", "password": "demo"})
    token = {"X-CSRFToken": me["csrf_token"]}
    call(reporter, "get", "/auth/me")
    case = call(reporter, "post", "/cases", token, json={**REPORT, "unit_code": TOWN})

    staff, staff_token = login(app, f"{COUNTY}.office_staff")
    tasks = call(staff, "get", "/tasks")
    task = next(t for t in tasks["items"] if t["instance_id"] == case["id"])
    params = {"task_id": task["id"]}
    claimed = call(staff, "post", "/tasks/{task_id}/claim", staff_token, params=params)
    assert claimed["claimed_by"] == f"{COUNTY}.office_staff"
    call(staff, "post", "/tasks/{task_id}/comment", staff_token, params=params, json={"text": "已收到。"})
    done = call(
        staff,
        "post",
        "/tasks/{task_id}/complete",
        staff_token,
        params=params,
        json={"data": REGISTRATION, "comment": "登记。"},
    )
    assert set(done) == {"case", "next_tasks"} and done["case"]["id"] == case["id"]

    director, _ = login(app, f"{COUNTY}.office_director")
    call(director, "get", "/cases")
    detail = call(director, "get", "/cases/{case_id}", params={"case_id": case["id"]})
    assert detail["history"] and detail["deadlines"]

    designer, _ = login(app, "411300.designer")
    versions = call(designer, "get", "/definitions")
    assert versions and versions[0]["files"]

    for template, method, status, body in answers:
        described = document["paths"][template][method]["responses"][str(status)]
        schema = {**described["content"]["application/json"]["schema"], "components": document["components"]}
        errors = sorted(e.message for e in Draft202012Validator(schema).iter_errors(body))
        assert not errors, (template, method, errors)

    seen = [value for *_, body in answers for value in instants(body)]
    wrong = [value for value in seen if not value.endswith("+08:00")]
    assert not wrong
    assert len(seen) > 20  # tasks, cases, history, deadlines, versions, health
    for key in ("created_at", "due_at"):
        assert task[key].endswith("+08:00") and detail[key].endswith("+08:00")
    assert versions[0]["created_at"].endswith("+08:00")
    assert health["now"].endswith("+08:00")


def test_every_instant_field_of_the_api_is_cst() -> None:
    """A datetime field of an API schema is a CstDateTime, so no answer can carry another format."""

    def inner(field: fields.Field) -> Iterator[fields.Field]:
        yield field
        if isinstance(field, fields.List):
            yield from inner(field.inner)
        if isinstance(field, fields.Dict) and field.value_field is not None:
            yield from inner(field.value_field)

    found = 0
    for name, cls in vars(api_schemas).items():
        if isinstance(cls, type) and issubclass(cls, Schema) and cls is not Schema:
            for field_name, declared in cls().fields.items():
                for field in inner(declared):
                    if isinstance(field, (fields.DateTime, fields.Date, fields.Time)):
                        found += 1
                        assert isinstance(field, api_schemas.CstDateTime), f"{name}.{field_name}"
    assert found > 10


def test_the_document_follows_a_deployed_start_form(app: Flask) -> None:
    """Last in the module: deploys a new version whose report allows shorter facts."""
    designer, headers = login(app, "411300.designer")
    form = json.loads((ROOT / "forms" / "case_report.json").read_text(encoding="utf-8"))
    form["properties"]["facts"]["maxLength"] = 3000
    files = {"forms/case_report.json": json.dumps(form, ensure_ascii=False, indent=2)}
    deployed = designer.post("/api/v1/definitions", json={"files": files, "comment": "test"}, headers=headers)
    assert deployed.status_code == 201, deployed.json
    document = app.test_client().get("/api/v1/openapi.json").json
    schema = document["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["properties"]["facts"]["maxLength"] == 3000
