"""Writing diagram interchange (BPMNDI): planes, shapes with their bounds and labels, edges with their
waypoints, each with an id that clashes with none in the document."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree

from scripts.bpmn_layout.graph import SUBPROCESSES
from scripts.bpmn_layout.model import (
    BPMNDI_NS,
    DC_NS,
    DI_NS,
    LABEL_LINE,
    PLANE_ORIGIN,
    Block,
    Point,
    Rect,
    bpmn_local,
)
from scripts.bpmn_layout.placement import plan


class Ids:
    """Fresh ids that cannot clash with any id already in the document."""

    def __init__(self, root: etree._Element) -> None:
        self.used = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}

    def make(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self.used:
            n += 1
            candidate = f"{wanted}_{n}"
        self.used.add(candidate)
        return candidate


def _bounds(parent: etree._Element, rect: Rect) -> None:
    etree.SubElement(
        parent,
        f"{{{DC_NS}}}Bounds",
        x=str(rect.x),
        y=str(rect.y),
        width=str(rect.w),
        height=str(rect.h),
    )


def add_shape(plane: etree._Element, ids: Ids, element_id: str, rect: Rect, **attrs: str) -> etree._Element:
    shape = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNShape", id=ids.make(f"{element_id}_di"))
    shape.set("bpmnElement", element_id)
    for key, value in attrs.items():
        shape.set(key, value)
    _bounds(shape, rect)
    return shape


def _label(shape: etree._Element, rect: Rect) -> None:
    _bounds(etree.SubElement(shape, f"{{{BPMNDI_NS}}}BPMNLabel"), rect)


def add_edge(
    plane: etree._Element, ids: Ids, element_id: str, points: Iterable[Point], label: Rect | None
) -> None:
    edge = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNEdge", id=ids.make(f"{element_id}_di"))
    edge.set("bpmnElement", element_id)
    for x, y in points:
        etree.SubElement(edge, f"{{{DI_NS}}}waypoint", x=str(x), y=str(y))
    if label is not None:
        _label(edge, label)


def draw_block(plane: etree._Element, ids: Ids, block: Block, dx: int, dy: int) -> None:
    """Emit lanes, nodes (boundary events after their hosts) and flows of a block moved by (dx, dy)."""
    for lane in block.lanes:
        if lane.rect.h > 0:
            add_shape(plane, ids, lane.el.get("id", ""), lane.rect.moved(dx, dy), isHorizontal="true")
    for node in sorted(
        list(block.nodes.values()) + block.boundaries, key=lambda n: (n.host is not None, n.order)
    ):
        attrs = {"isExpanded": "false"} if bpmn_local(node.el) in SUBPROCESSES else {}
        rect = node.rect.moved(dx, dy)
        shape = add_shape(plane, ids, node.id, rect, **attrs)
        if node.kind != "task":
            label = node.label or Rect(rect.cx - 10, rect.y2 + 5, 20, LABEL_LINE)
            _label(shape, label.moved(dx, dy) if node.label else label)
    for flow in block.flows:
        points = [(x + dx, y + dy) for x, y in flow.points]
        add_edge(plane, ids, flow.id, points, flow.label.moved(dx, dy) if flow.label else None)


def add_plane(root: etree._Element, ids: Ids, element_id: str) -> etree._Element:
    diagram = etree.SubElement(root, f"{{{BPMNDI_NS}}}BPMNDiagram", id=ids.make(f"BPMNDiagram_{element_id}"))
    plane = etree.SubElement(diagram, f"{{{BPMNDI_NS}}}BPMNPlane", id=ids.make(f"BPMNPlane_{element_id}"))
    plane.set("bpmnElement", element_id)
    return plane


def draw_process(root: etree._Element, ids: Ids, container: etree._Element) -> None:
    """A process without a pool, or the inside of a collapsed subprocess, on a plane of its own."""
    plane = add_plane(root, ids, container.get("id", ""))
    block = plan(container, use_lanes=False)
    draw_block(plane, ids, block, PLANE_ORIGIN[0], PLANE_ORIGIN[1])
