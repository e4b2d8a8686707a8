"""Generated BPMNDI for hand-written diagrams: complete, inside the lanes, valid, and stable."""

from __future__ import annotations

import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from scripts.bpmn_layout import LayoutError, layout
from workflows.engine.deploy.xmlsafe import MAX_BYTES, UnsafeXml

ROOT = Path(__file__).resolve().parent.parent
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
BPMN_NS = NS["bpmn"].encode()
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "userTask",
    "scriptTask",
    "callActivity",
    "exclusiveGateway",
    "boundaryEvent",
)

SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="Definitions_responsibility" targetNamespace="http://nanyang.example/bpmn">
  <!-- 责任书签订流程：手写，无图形信息 -->
  <bpmn:process id="responsibility_letter" name="签订责任书" isExecutable="true">
    <bpmn:laneSet id="LaneSet_1">
      <bpmn:lane id="Lane_office" name="office_director@upper">
        <bpmn:flowNodeRef>StartEvent_1</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_draft</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_committee" name="committee_director@upper">
        <bpmn:flowNodeRef>Task_review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Gateway_approved</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="Lane_unit" name="unit_principal_leader@own">
        <bpmn:flowNodeRef>Task_sign</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Timer_overdue</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_overdue</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Task_record</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>Call_archive</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>End_done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="StartEvent_1" name="年度考核开始" />
    <bpmn:userTask id="Task_draft" name="起草责任书">
      <bpmn:documentation>由办公室主任起草《社会治安综合治理领导责任书》。</bpmn:documentation>
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="draft.json" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:userTask id="Task_review" name="审核责任书" />
    <bpmn:exclusiveGateway id="Gateway_approved" name="审核通过？" default="Flow_back" />
    <bpmn:userTask id="Task_sign" name="签收责任书" />
    <bpmn:boundaryEvent id="Timer_overdue" name="超过期限" attachedToRef="Task_sign" cancelActivity="true">
      <bpmn:timerEventDefinition id="TimerEventDefinition_1">
        <bpmn:timeDuration>"P5D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="End_overdue" name="逾期未签收" />
    <bpmn:scriptTask id="Task_record" name="记录签收时间">
      <bpmn:script><![CDATA[signed = approved and "已签收" or "未签收"]]></bpmn:script>
    </bpmn:scriptTask>
    <bpmn:callActivity id="Call_archive" name="归档备案" calledElement="archive_letter" />
    <bpmn:endEvent id="End_done" name="责任书生效" />
    <bpmn:sequenceFlow id="Flow_start" sourceRef="StartEvent_1" targetRef="Task_draft" />
    <bpmn:sequenceFlow id="Flow_submit" sourceRef="Task_draft" targetRef="Task_review" />
    <bpmn:sequenceFlow id="Flow_decide" sourceRef="Task_review" targetRef="Gateway_approved" />
    <bpmn:sequenceFlow id="Flow_approved" name="通过" sourceRef="Gateway_approved" targetRef="Task_sign">
      <bpmn:conditionExpression>approved == True</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="Flow_back" name="退回修改" sourceRef="Gateway_approved" targetRef="Task_draft" />
    <bpmn:sequenceFlow id="Flow_signed" sourceRef="Task_sign" targetRef="Task_record" />
    <bpmn:sequenceFlow id="Flow_recorded" sourceRef="Task_record" targetRef="Call_archive" />
    <bpmn:sequenceFlow id="Flow_archived" sourceRef="Call_archive" targetRef="End_done" />
    <bpmn:sequenceFlow id="Flow_overdue" sourceRef="Timer_overdue" targetRef="End_overdue" />
  </bpmn:process>
  <bpmn:process id="archive_letter" name="归档" isExecutable="true">
    <bpmn:startEvent id="Archive_start" />
    <bpmn:scriptTask id="Archive_store" name="存档">
      <bpmn:script>archived = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="Archive_end" />
    <bpmn:sequenceFlow id="Archive_flow_1" sourceRef="Archive_start" targetRef="Archive_store" />
    <bpmn:sequenceFlow id="Archive_flow_2" sourceRef="Archive_store" targetRef="Archive_end" />
  </bpmn:process>
</bpmn:definitions>
""".encode()

# A collaboration that already has a (stale) diagram, a black-box pool with message flows, nested lanes, a
# node outside every lane, a collapsed subprocess and two boundary events on one task.
COLLABORATION = b"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    id="Defs" targetNamespace="http://nanyang.example/bpmn">
  <collaboration id="Collab">
    <participant id="Part_case" name="case" processRef="case" />
    <participant id="Part_city" name="city" />
    <messageFlow id="Msg_out" sourceRef="Task_report" targetRef="Part_city" />
    <messageFlow id="Msg_in" sourceRef="Part_city" targetRef="Catch_reply" />
  </collaboration>
  <message id="Message_reply" name="reply" />
  <process id="case" isExecutable="true">
    <laneSet id="LS">
      <lane id="Lane_a" name="grid_member@own">
        <flowNodeRef>Start</flowNodeRef>
        <flowNodeRef>Split</flowNodeRef>
        <flowNodeRef>Join</flowNodeRef>
      </lane>
      <lane id="Lane_b" name="street_office@upper">
        <childLaneSet id="LS_b">
          <lane id="Lane_b1" name="b1"><flowNodeRef>Sub</flowNodeRef></lane>
          <lane id="Lane_b2" name="b2">
            <flowNodeRef>Task_report</flowNodeRef>
            <flowNodeRef>Catch_reply</flowNodeRef>
          </lane>
        </childLaneSet>
      </lane>
    </laneSet>
    <startEvent id="Start" />
    <parallelGateway id="Split" />
    <subProcess id="Sub" name="investigate">
      <startEvent id="Sub_start" />
      <endEvent id="Sub_end" />
      <sequenceFlow id="Sub_f" sourceRef="Sub_start" targetRef="Sub_end" />
    </subProcess>
    <boundaryEvent id="B1" attachedToRef="Sub" cancelActivity="false">
      <timerEventDefinition id="B1_def"><timeDuration>"P1D"</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <boundaryEvent id="B2" attachedToRef="Sub">
      <timerEventDefinition id="B2_def"><timeDuration>"P9D"</timeDuration></timerEventDefinition>
    </boundaryEvent>
    <task id="Task_report" name="report" />
    <intermediateCatchEvent id="Catch_reply" name="reply">
      <messageEventDefinition id="Catch_def" messageRef="Message_reply" />
    </intermediateCatchEvent>
    <parallelGateway id="Join" />
    <task id="Loose" name="not in a lane" />
    <endEvent id="End" />
    <endEvent id="End_b1" />
    <endEvent id="End_b2" />
    <sequenceFlow id="F1" sourceRef="Start" targetRef="Split" />
    <sequenceFlow id="F2" sourceRef="Split" targetRef="Sub" />
    <sequenceFlow id="F3" sourceRef="Split" targetRef="Task_report" />
    <sequenceFlow id="F4" sourceRef="Task_report" targetRef="Catch_reply" />
    <sequenceFlow id="F5" sourceRef="Sub" targetRef="Join" />
    <sequenceFlow id="F6" sourceRef="Catch_reply" targetRef="Join" />
    <sequenceFlow id="F7" sourceRef="Join" targetRef="Loose" />
    <sequenceFlow id="F8" sourceRef="Loose" targetRef="End" />
    <sequenceFlow id="F9" sourceRef="B1" targetRef="End_b1" />
    <sequenceFlow id="F10" sourceRef="B2" targetRef="End_b2" />
  </process>
  <bpmndi:BPMNDiagram id="Old_diagram">
    <bpmndi:BPMNPlane id="Old_plane" bpmnElement="Collab">
      <bpmndi:BPMNShape id="Old_shape" bpmnElement="Start"><dc:Bounds x="1" y="1" width="36" height="36" />
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</definitions>
"""


def _parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))


def _bounds(el: etree._Element) -> tuple[float, float, float, float]:
    b = el.find("dc:Bounds", NS)
    assert b is not None
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _shapes(root: etree._Element) -> dict[str, list[tuple[float, float, float, float]]]:
    shapes: dict[str, list[tuple[float, float, float, float]]] = {}
    for shape in root.iterfind(".//bpmndi:BPMNShape", NS):
        shapes.setdefault(shape.get("bpmnElement"), []).append(_bounds(shape))
    return shapes


def _edges(root: etree._Element) -> dict[str, list[list[tuple[float, float]]]]:
    edges: dict[str, list[list[tuple[float, float]]]] = {}
    for edge in root.iterfind(".//bpmndi:BPMNEdge", NS):
        points = [(float(w.get("x")), float(w.get("y"))) for w in edge.iterfind("di:waypoint", NS)]
        edges.setdefault(edge.get("bpmnElement"), []).append(points)
    return edges


def _inside(inner: tuple[float, ...], outer: tuple[float, ...]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _cuts(p: tuple[float, float], q: tuple[float, float], r: tuple[float, ...]) -> bool:
    x, y, w, h = r
    if p[1] == q[1]:
        lo, hi = sorted((p[0], q[0]))
        return y < p[1] < y + h and min(hi, x + w) > max(lo, x)
    lo, hi = sorted((p[1], q[1]))
    return x < p[0] < x + w and min(hi, y + h) > max(lo, y)


def _spiff_parse(root: etree._Element, process_id: str) -> SpiffBpmnParser:
    VALIDATOR.validate(root, "sample.bpmn")
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(root, "sample.bpmn")
    assert parser.get_spec(process_id) is not None
    return parser


@pytest.fixture(scope="module")
def laid_out() -> bytes:
    return layout(SAMPLE)


def test_every_element_has_exactly_one_shape_or_edge(laid_out: bytes) -> None:
    root = _parse(laid_out)
    shapes, edges = _shapes(root), _edges(root)
    process = root.find("bpmn:process[@id='responsibility_letter']", NS)
    node_ids = [el.get("id") for tag in FLOW_NODES for el in process.iterfind(f"bpmn:{tag}", NS)]
    lane_ids = [el.get("id") for el in process.iterfind(".//bpmn:lane", NS)]
    participants = root.findall("bpmn:collaboration/bpmn:participant", NS)
    assert [p.get("processRef") for p in participants] == ["responsibility_letter"]
    for element_id in [*node_ids, *lane_ids, participants[0].get("id")]:
        assert len(shapes.get(element_id, [])) == 1, element_id
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        assert len(edges.get(flow.get("id"), [])) == 1, flow.get("id")
        points = edges[flow.get("id")][0]
        assert len(points) >= 2
        for a, b in pairwise(points):
            assert a[0] == b[0] or a[1] == b[1], f"{flow.get('id')} is not orthogonal"
    pool = shapes[participants[0].get("id")][0]
    for lane_id in lane_ids:
        assert _inside(shapes[lane_id][0], pool)


def test_nodes_sit_in_their_lanes_without_overlapping(laid_out: bytes) -> None:
    root = _parse(laid_out)
    shapes = _shapes(root)
    for lane in root.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert _inside(shapes[ref.text][0], shapes[lane.get("id")][0]), (ref.text, lane.get("id"))
    process = root.find("bpmn:process[@id='responsibility_letter']", NS)
    hosts = {b.get("id"): b.get("attachedToRef") for b in process.iterfind("bpmn:boundaryEvent", NS)}
    nodes = [el.get("id") for tag in FLOW_NODES for el in process.iterfind(f"bpmn:{tag}", NS)]
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            if hosts.get(a) == b or hosts.get(b) == a:
                continue
            assert not _overlap(shapes[a][0], shapes[b][0]), (a, b)


def test_boundary_event_sits_on_the_bottom_edge_of_its_host(laid_out: bytes) -> None:
    shapes = _shapes(_parse(laid_out))
    x, y, w, h = shapes["Timer_overdue"][0]
    hx, hy, hw, hh = shapes["Task_sign"][0]
    assert y + h / 2 == hy + hh
    assert hx < x + w / 2 < hx + hw
    assert (w, h) == (36, 36) and (hw, hh) == (100, 80)


def test_edges_do_not_cut_through_other_shapes(laid_out: bytes) -> None:
    root = _parse(laid_out)
    shapes = _shapes(root)
    process = root.find("bpmn:process[@id='responsibility_letter']", NS)
    nodes = [el.get("id") for tag in FLOW_NODES for el in process.iterfind(f"bpmn:{tag}", NS)]
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        ends = {flow.get("sourceRef"), flow.get("targetRef")}
        for a, b in pairwise(_edges(root)[flow.get("id")][0]):
            for node in nodes:
                if node not in ends:
                    assert not _cuts(a, b, shapes[node][0]), (flow.get("id"), node)


def test_back_edge_loops_back_to_the_draft(laid_out: bytes) -> None:
    shapes = _shapes(_parse(laid_out))
    points = _edges(_parse(laid_out))["Flow_back"][0]
    draft = shapes["Task_draft"][0]
    gateway = shapes["Gateway_approved"][0]
    assert draft[0] < gateway[0]  # the loop target stays left: the back edge did not push it right
    end = points[-1]
    assert draft[0] <= end[0] <= draft[0] + draft[2] and end[1] in (draft[1], draft[1] + draft[3])


def test_validates_and_parses_with_spiffworkflow(laid_out: bytes) -> None:
    root = _parse(laid_out)
    parser = _spiff_parse(root, "responsibility_letter")
    spec = parser.get_spec("responsibility_letter")
    assert {"Task_draft", "Timer_overdue", "Call_archive", "Gateway_approved"} <= set(spec.task_specs)
    assert spec.task_specs["Task_sign"].lane == "unit_principal_leader@own"
    assert "archive_letter" in parser.get_subprocess_specs("responsibility_letter")


def test_layout_is_deterministic_and_idempotent(laid_out: bytes) -> None:
    assert layout(SAMPLE) == laid_out
    assert layout(laid_out) == laid_out


def test_model_is_kept_apart_from_the_additions(laid_out: bytes) -> None:
    """Remove what layout adds (DI, flow references, the new pool): what is left equals the input."""
    added = {"incoming", "outgoing", "collaboration", "BPMNDiagram"}

    def strip(el: etree._Element) -> tuple:
        children = [c for c in el if not (isinstance(c.tag, str) and etree.QName(c).localname in added)]
        return (
            el.tag,
            dict(el.attrib),
            (el.text or "").strip(),
            [strip(c) for c in children],
        )

    assert strip(_parse(laid_out)) == strip(_parse(SAMPLE))
    assert laid_out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert "《社会治安综合治理领导责任书》".encode() in laid_out
    assert b'<![CDATA[signed = approved and "' in laid_out
    assert "<!-- 责任书签订流程".encode() in laid_out


def test_flow_references_follow_documentation_and_extensions(laid_out: bytes) -> None:
    root = _parse(laid_out)
    draft = root.find(".//bpmn:userTask[@id='Task_draft']", NS)
    assert [etree.QName(c).localname for c in draft] == [
        "documentation",
        "extensionElements",
        "incoming",
        "incoming",
        "outgoing",
    ]
    assert [c.text for c in draft.iterfind("bpmn:incoming", NS)] == ["Flow_start", "Flow_back"]
    timer = root.find(".//bpmn:boundaryEvent[@id='Timer_overdue']", NS)
    assert [etree.QName(c).localname for c in timer] == ["outgoing", "timerEventDefinition"]


def test_lane_less_process_gets_its_own_plane(laid_out: bytes) -> None:
    root = _parse(laid_out)
    planes = [p.get("bpmnElement") for p in root.iterfind(".//bpmndi:BPMNPlane", NS)]
    assert planes == ["Collaboration_responsibility_letter", "archive_letter"]
    shapes = _shapes(root)
    for node in ("Archive_start", "Archive_store", "Archive_end"):
        assert len(shapes[node]) == 1


def test_collaboration_with_existing_diagram_and_message_flows() -> None:
    out = layout(COLLABORATION)
    root = _parse(out)
    _spiff_parse(root, "case")
    assert b"Old_" not in out
    shapes, edges = _shapes(root), _edges(root)
    for element in ("Part_case", "Part_city", "Lane_a", "Lane_b", "Lane_b1", "Lane_b2", "Loose", "B1", "B2"):
        assert len(shapes[element]) == 1, element
    for lane, node in (("Lane_b1", "Sub"), ("Lane_b2", "Catch_reply"), ("Lane_b", "Task_report")):
        assert _inside(shapes[node][0], shapes[lane][0])
    assert _inside(shapes["Lane_b1"][0], shapes["Lane_b"][0])
    assert not _overlap(shapes["Loose"][0], shapes["Lane_a"][0])
    assert not _overlap(shapes["Loose"][0], shapes["Lane_b"][0])
    assert _inside(shapes["Loose"][0], shapes["Part_case"][0])
    assert not _overlap(shapes["B1"][0], shapes["B2"][0])
    assert {"Msg_out", "Msg_in", "F9", "F10", "Sub_f"} <= set(edges)
    planes = [p.get("bpmnElement") for p in root.iterfind(".//bpmndi:BPMNPlane", NS)]
    assert planes == ["Collab", "Sub"]  # the collapsed subprocess can be opened (drill-down)
    sub = root.find(".//bpmn:subProcess", NS)
    assert root.find(".//bpmndi:BPMNShape[@bpmnElement='Sub']", NS).get("isExpanded") == "false"
    refs = [etree.QName(c).localname for c in sub if etree.QName(c).localname in ("incoming", "outgoing")]
    assert refs == ["incoming", "outgoing"]
    assert layout(out) == out


@pytest.mark.parametrize(
    "data",
    [
        b"<not-bpmn/>",
        b"<definitions",
        b'<!DOCTYPE d [<!ENTITY e "x">]><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"/>',
    ],
)
def test_refuses_what_is_not_a_bpmn_file(data: bytes) -> None:
    with pytest.raises(LayoutError):
        layout(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'<!DOCTYPE d [<!ENTITY e "x">]><definitions xmlns="' + BPMN_NS + b'">&e;</definitions>', "DOCTYPE"),
        (b'<definitions xmlns="' + BPMN_NS + b'">' + b" " * MAX_BYTES + b"</definitions>", "超过上限"),
    ],
)
def test_input_goes_through_the_hardened_parser(data: bytes, message: str) -> None:
    with pytest.raises(LayoutError, match=message) as refused:
        layout(data)
    assert isinstance(refused.value.__cause__, UnsafeXml)


def test_designer_template_is_laid_out() -> None:
    """The process designer's starting diagram is checked in with its DI, the one this tool draws."""
    template = (ROOT / "app" / "designer" / "new_process.bpmn").read_bytes()
    assert layout(template) == template
    root = _parse(template)
    pid = "__PROCESS_ID__"
    assert set(_shapes(root)) == {
        f"Participant_{pid}",
        f"Lane_{pid}_office",
        f"Start_{pid}",
        f"handle_{pid}",
        f"End_{pid}",
    }
    assert set(_edges(root)) == {f"Flow_{pid}_1", f"Flow_{pid}_2"}


def test_script_rewrites_files_in_place(tmp_path: Path) -> None:
    path = tmp_path / "sample.bpmn"
    path.write_bytes(SAMPLE)
    run = [sys.executable, str(ROOT / "scripts" / "layout_bpmn.py"), str(path)]
    done = subprocess.run(run, capture_output=True, text=True, check=True)
    assert "laid out" in done.stdout
    assert path.read_bytes() == layout(SAMPLE)
    again = subprocess.run(run, capture_output=True, text=True, check=True)
    assert "unchanged" in again.stdout
