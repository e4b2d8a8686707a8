"""What a designer sends (issue 16 point 3): a script that refuses a step is a 422 that leaves the case as
it was (a 500 ``process_failed`` before), and a form schema with a reference out of its file or a pattern
that can backtrack without end is refused at deploy, naming the file and the field, in the API and in the
designer's form editor alike."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import demo_app
from tests.test_bad_input import Sessions, assert_api_error, poster

BAD_SCRIPT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d_ratio" targetNamespace="t">
  <bpmn:process id="ratio_check" name="比例核算" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="office_staff@upper">
      <bpmn:flowNodeRef>s</bpmn:flowNodeRef><bpmn:flowNodeRef>enter</bpmn:flowNodeRef>
      <bpmn:flowNodeRef>divide</bpmn:flowNodeRef><bpmn:flowNodeRef>e</bpmn:flowNodeRef>
    </bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="enter"/>
    <bpmn:userTask id="enter" name="填写除数"><bpmn:extensionElements><spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="ratio_divisor.json"/>
    </spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="enter" targetRef="divide"/>
    <bpmn:scriptTask id="divide" name="核算">
      <bpmn:script>ratio = 100 // divisor</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="divide" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
DIVISOR_FORM = {
    "title": "填写除数",
    "type": "object",
    "required": ["divisor"],
    "properties": {"divisor": {"type": "integer", "title": "除数", "maximum": 1000}},
}


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, PROPAGATE_EXCEPTIONS=False) as app:
        yield app


@pytest.fixture(scope="module")
def sessions(app: Flask) -> Sessions:
    return Sessions(app)


@pytest.fixture(scope="module")
def error_schema(app: Flask) -> dict[str, Any]:
    document = app.test_client().get("/api/v1/openapi.json").json
    assert document is not None
    return {"$ref": "#/components/schemas/Error", "components": document["components"]}


# --- a script that refuses a step --------------------------------------------------------------------


def test_refused_script_is_422_and_leaves_the_case_as_it_was(
    app: Flask, sessions: Sessions, error_schema: dict[str, Any]
) -> None:
    from app.extensions import db
    from app.runtime import engine
    from workflows.engine.models import InstanceEvent, ProcessInstance, Task

    designer, headers = sessions.api("411300.designer")
    files = {"bpmn/ratio_check.bpmn": BAD_SCRIPT, "forms/ratio_divisor.json": json.dumps(DIVISOR_FORM)}
    assert designer.post("/api/v1/definitions", json={"files": files}, headers=headers).status_code == 201
    with app.test_request_context():
        inst = engine().start("ratio_check", business_key="ratio-1", unit_code="411302001")
        db.session.commit()
        task_id, instance_id = engine().ready_tasks(inst.id)[0].id, inst.id

    def snapshot() -> tuple[Any, ...]:
        with app.app_context():
            inst = db.session.get(ProcessInstance, instance_id)
            events = db.session.scalar(select(func.count()).where(InstanceEvent.instance_id == instance_id))
            task = db.session.get(Task, task_id)
            return inst.state_json, inst.lock_version, inst.status, events, task.state  # type: ignore[union-attr]

    before = snapshot()
    staff, staff_headers = sessions.api("411302.office_staff")
    url = f"/api/v1/tasks/{task_id}/complete"
    refused = staff.post(url, json={"data": {"divisor": 0}, "comment": "试算"}, headers=staff_headers)
    body = assert_api_error(refused, 422, "process_failed", error_schema)
    assert body["message"].startswith("流程中的脚本未能执行，本次操作未生效，案件保持原状。")
    assert "ZeroDivisionError" in body["detail"] and "ZeroDivisionError" in body["message"]
    assert snapshot() == before

    page, token = sessions.web("411302.office_staff")
    answer = page.post(f"/tasks/{task_id}", data={"divisor": "0", "csrf_token": token})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and answer.mimetype == "text/html"
    assert "本次操作未生效，案件保持原状" in html
    assert 'name="divisor"' in html and 'value="0"' in html  # what was typed is still in the form
    assert snapshot() == before

    done = staff.post(url, json={"data": {"divisor": 4}}, headers=staff_headers)  # nothing was lost: retry
    assert done.status_code == 200, done.get_data(as_text=True)
    assert snapshot()[2] == "complete"
    again = staff.post(url, json={"data": {"divisor": 4}}, headers=staff_headers)
    assert_api_error(again, 409, "task_not_ready", error_schema)


# --- form schemas at deploy ----------------------------------------------------------------------------

UNSAFE_FIELDS = {
    "remote": ({"$ref": "https://evil.example/schema.json"}, "$ref 只能引用本文件内的定义"),
    "local_file": ({"$ref": "file:///etc/passwd"}, "不能引用 file:///etc/passwd"),
    "nested": ({"type": "string", "pattern": "^(a+)+$"}, "含嵌套的量词"),
    "starred": ({"type": "string", "pattern": "(a*)*"}, "可以匹配空串"),
    "choice": ({"type": "string", "pattern": "^(a|aa)+$"}, "有多种匹配方式"),
    "long": ({"type": "string", "pattern": "a" * 201}, "正则表达式过长（201 个字符，上限 200）"),
}


def test_deploy_refuses_unsafe_form_schemas_naming_file_and_field(
    sessions: Sessions, error_schema: dict[str, Any]
) -> None:
    properties = {name: {"title": name, **schema} for name, (schema, _) in UNSAFE_FIELDS.items()}
    form = {"title": "不安全", "type": "object", "properties": {**properties, "ok": {"type": "string"}}}
    designer, headers = sessions.api("411300.designer")
    files = {"forms/unsafe.json": json.dumps(form)}
    refused = designer.post("/api/v1/definitions", json={"files": files}, headers=headers)
    problems = assert_api_error(refused, 422, "definition_invalid", error_schema)["problems"]
    by_field = {p["element"]: p for p in problems}
    assert set(by_field) == set(UNSAFE_FIELDS)
    for name, (_, fragment) in UNSAFE_FIELDS.items():
        problem = by_field[name]
        assert problem["file"] == "forms/unsafe.json" and fragment in problem["message"]
        assert problem["message"].startswith(f"字段 {name}（properties/{name}/")
    editor = poster(sessions, "web:411300.designer")(
        "/designer/forms/preview", json={"text": json.dumps(form)}
    )
    assert {p["element"] for p in editor.json["problems"]} == set(UNSAFE_FIELDS)  # the form editor too
