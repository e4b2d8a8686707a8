"""A county's own three-step procedure (Art. 42: counties make supporting rules), as a designer draws it:
started by the office's clerk (``startable_by``) with a start form; the clerk verifies, the office director reviews,
the clerk files it. Shared by tests/test_start_any_procedure.py and its Chromium twin."""

# ruff: noqa: E501  (BPMN XML lines, as a modeller writes them)
from __future__ import annotations

import json

PROCESS = "county_mediation"
NAME = "矛盾纠纷排查化解"

START_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "发起矛盾纠纷排查",
    "type": "object",
    "required": ["subject", "facts"],
    "properties": {
        "subject": {"type": "string", "title": "事由", "minLength": 2, "maxLength": 200},
        "facts": {"type": "string", "title": "基本情况", "minLength": 5, "maxLength": 4000},
    },
}
VERIFY_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "核实情况",
    "type": "object",
    "required": ["findings"],
    "properties": {"findings": {"type": "string", "title": "核实结果", "minLength": 2, "maxLength": 4000}},
}
REVIEW_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "审核",
    "type": "object",
    "required": ["decision"],
    "properties": {
        "decision": {
            "type": "string",
            "title": "审核意见",
            "enum": ["agree", "disagree"],
            "x-enum-titles": ["同意", "不同意"],
        }
    },
}
FILE_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "归档",
    "type": "object",
    "required": ["note"],
    "properties": {"note": {"type": "string", "title": "归档说明", "minLength": 2, "maxLength": 2000}},
}
FORMS = {
    "forms/mediation_start.json": START_FORM,
    "forms/mediation_verify.json": VERIFY_FORM,
    "forms/mediation_review.json": REVIEW_FORM,
    "forms/mediation_file.json": FILE_FORM,
}


DUE = '\n          <spiffworkflow:property name="dueDate" value="working_days_after(now(), 5)"/>'


def _task(element: str, name: str, form: str, due: bool = False) -> str:
    due_property = DUE if due else ""
    return f"""
    <bpmn:userTask id="{element}" name="{name}">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>
          <spiffworkflow:property name="article" value="Art. 42"/>{due_property}
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>"""


def bpmn(startable_by: str = "office_staff", name: str = NAME) -> str:
    """The diagram, with its pool, two lanes and layout (the modeller shows it as drawn)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs_{
        PROCESS
    }" targetNamespace="http://nanyang.gov.cn/governance/{PROCESS}">
  <bpmn:collaboration id="Collaboration_{PROCESS}">
    <bpmn:participant id="Participant_{PROCESS}" name="{name}" processRef="{PROCESS}"/>
  </bpmn:collaboration>
  <bpmn:process id="{PROCESS}" name="{name}" isExecutable="true">
    <bpmn:documentation>Art. 42: a county's supporting rule.</bpmn:documentation>
    <bpmn:extensionElements>
      <spiffworkflow:properties>
        <spiffworkflow:property name="startable_by" value="{startable_by}"/>
      </spiffworkflow:properties>
    </bpmn:extensionElements>
    <bpmn:laneSet id="LaneSet_{PROCESS}">
      <bpmn:lane id="Lane_staff" name="office_staff@own">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>verify</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>file</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_director" name="office_director@own">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start" name="发起">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="mediation_start.json"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:startEvent>{_task("verify", "核实情况", "mediation_verify.json", due=True)}{
        _task("review", "审核", "mediation_review.json")
    }{_task("file", "归档", "mediation_file.json")}
    <bpmn:endEvent id="done" name="办结"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="verify"/>
    <bpmn:sequenceFlow id="f2" sourceRef="verify" targetRef="review"/>
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="file"/>
    <bpmn:sequenceFlow id="f4" sourceRef="file" targetRef="done"/>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="Diagram_{PROCESS}">
    <bpmndi:BPMNPlane id="Plane_{PROCESS}" bpmnElement="Collaboration_{PROCESS}">
      <bpmndi:BPMNShape id="Participant_di" bpmnElement="Participant_{PROCESS}" isHorizontal="true">
        <dc:Bounds x="100" y="60" width="800" height="300"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_staff_di" bpmnElement="Lane_staff" isHorizontal="true">
        <dc:Bounds x="130" y="60" width="770" height="150"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Lane_director_di" bpmnElement="Lane_director" isHorizontal="true">
        <dc:Bounds x="130" y="210" width="770" height="150"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="180" y="117" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="verify_di" bpmnElement="verify"><dc:Bounds x="260" y="95" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="review_di" bpmnElement="review"><dc:Bounds x="420" y="245" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="file_di" bpmnElement="file"><dc:Bounds x="580" y="95" width="100" height="80"/></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="done_di" bpmnElement="done"><dc:Bounds x="740" y="117" width="36" height="36"/></bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="f1_di" bpmnElement="f1"><di:waypoint x="216" y="135"/><di:waypoint x="260" y="135"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f2_di" bpmnElement="f2"><di:waypoint x="360" y="135"/><di:waypoint x="390" y="135"/><di:waypoint x="390" y="285"/><di:waypoint x="420" y="285"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f3_di" bpmnElement="f3"><di:waypoint x="520" y="285"/><di:waypoint x="550" y="285"/><di:waypoint x="550" y="135"/><di:waypoint x="580" y="135"/></bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="f4_di" bpmnElement="f4"><di:waypoint x="680" y="135"/><di:waypoint x="740" y="135"/></bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def files(startable_by: str = "office_staff", name: str = NAME) -> dict[str, str]:
    """The procedure's diagram and forms, as a designer deploys them."""
    return {
        f"bpmn/{PROCESS}.bpmn": bpmn(startable_by, name),
        **{path: json.dumps(form, ensure_ascii=False, indent=2) for path, form in FORMS.items()},
    }
