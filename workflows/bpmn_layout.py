"""Write diagram interchange (BPMNDI) for BPMN files written by hand, lanes included.

Our process definitions are written as XML, but bpmn-js refuses a file without BPMNDI ("no diagram to
display"), and ``bpmn-auto-layout`` draws neither pools nor lanes. Lanes are the point of these diagrams
(each names a role), so this module lays a file out itself: small, deterministic and pure lxml, so that it
can run in tests, at deploy time or from ``scripts/layout_bpmn.py`` without a browser or node.

The layout is layered, left to right, the way people draw approval chains:

* column = longest path from the start events over the sequence flows, after DFS has marked the flows that
  close a cycle ("send back for amendment") as back edges, so loops do not stretch the diagram;
* one horizontal band per lane, in laneSet order; a band is as high as its busiest column needs, and nodes
  without a lane get a band of their own;
* boundary events sit on the bottom edge of their host task and their flows leave downwards;
* flows are orthogonal; each route is picked from a few candidates by how many shapes and labels it would
  cut through, so back edges run in the free space between rows instead of through tasks.

Only the drawing changes; everything else (ids, names, extension elements, CDATA scripts, comments, the
author's indentation) is kept. Two model additions are made because tools need them: ``incoming``/``outgoing``
references on flow nodes, and, for a process with lanes but no pool, a collaboration with one participant so
that bpmn-js shows the lanes. Beware one side effect that no drawing can avoid: SpiffWorkflow orders a
gateway's outgoing flows by the y coordinate of their targets (flows without DI keep document order), so an
exclusive gateway whose conditions overlap may pick a different branch once drawn. Within a lane the layout
keeps document order; across lanes the lane order decides.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
_PREFERRED_PREFIXES = {BPMNDI_NS: "bpmndi", DC_NS: "dc", DI_NS: "di"}

TASK_SIZE = (100, 80)
EVENT_SIZE = (36, 36)
GATEWAY_SIZE = (50, 50)

POOL_LABEL = 30  # the band on the left of a horizontal pool that holds its name
LANE_LABEL = 30  # the same for a lane (one per nesting level)
CONTENT_PAD = 40  # between a lane's label band and the first column, and after the last column
COL_GAP = 60  # between columns: room for a vertical edge segment and a short flow label
ROW_PITCH = 140  # per row of a band: an 80 px task slot and 30 px of routing space above and below
BOUNDARY_INSET = 22  # centre of a boundary event from its host's corner
BOUNDARY_PITCH = 46  # centre distance of boundary events sharing a host
TRACK = 10  # sideways step between flows that share a gap or a channel
POOL_GAP = 60  # between pools, for message flows
PLANE_ORIGIN = (160, 80)  # where the first pool (or bare process) starts, as the modeller does
LABEL_LINE = 14  # line height of an external label (bpmn-js draws them at 11 px)
LABEL_MAX = 90  # bpmn-js wraps external labels at 90 px

_TASKS = frozenset(
    {
        "task",
        "userTask",
        "scriptTask",
        "serviceTask",
        "manualTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
_SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
_EVENTS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "implicitThrowEvent",
        "boundaryEvent",
    }
)
_GATEWAYS = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
)
# tFlowNode's references follow the children of tBaseElement and tFlowElement (BPMN20 Semantic.xsd).
_BEFORE_FLOW_REFS = frozenset(
    {"documentation", "extensionElements", "auditing", "monitoring", "categoryValueRef"}
)


class LayoutError(ValueError):
    """The input is not a BPMN 2.0 definitions document this module can lay out."""


def _q(tag: str) -> str:
    return f"{{{BPMN_NS}}}{tag}"


def _local(el: etree._Element) -> str | None:
    """The BPMN local name of an element, or None for comments, PIs and foreign elements."""
    if not isinstance(el.tag, str):
        return None
    qname = etree.QName(el)
    return qname.localname if qname.namespace == BPMN_NS else None


def _text_width(text: str, size: float) -> float:
    """A rough rendered width: CJK and full-width characters are square, Latin ones about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def _label_size(text: str) -> tuple[int, int]:
    """Bounds for an external label the way bpmn-js wraps it (11 px font, 90 px wide)."""
    width = _text_width(text, 11)
    lines = max(1, math.ceil(width / LABEL_MAX))
    return min(LABEL_MAX, max(20, math.ceil(width) + 4)), lines * LABEL_LINE


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    @property
    def x2(self) -> int:
        return self.x + self.w

    @property
    def y2(self) -> int:
        return self.y + self.h

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2

    def moved(self, dx: int, dy: int) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)

    def grown(self, d: int) -> Rect:
        return Rect(self.x - d, self.y - d, self.w + 2 * d, self.h + 2 * d)


Point = tuple[int, int]


@dataclass
class _Node:
    id: str
    el: etree._Element
    kind: str  # "task", "event" or "gateway"
    order: int  # document position, the tie-breaker that keeps the layout deterministic
    band: int = 0
    col: int = 0
    row: int = 0
    host: str | None = None  # for a boundary event, the activity it is attached to
    rect: Rect = field(default_factory=lambda: Rect(0, 0, 0, 0))
    label: Rect | None = None

    @property
    def size(self) -> tuple[int, int]:
        return {"task": TASK_SIZE, "event": EVENT_SIZE, "gateway": GATEWAY_SIZE}[self.kind]

    @property
    def name(self) -> str:
        return (self.el.get("name") or "").strip()


@dataclass
class _Flow:
    id: str
    source: str
    target: str
    name: str
    back: bool = False
    points: list[Point] = field(default_factory=list)
    label: Rect | None = None


@dataclass
class _Lane:
    el: etree._Element
    depth: int
    leaves: list[int] = field(default_factory=list)  # band indexes this lane covers
    rect: Rect = field(default_factory=lambda: Rect(0, 0, 0, 0))


@dataclass
class _Band:
    rows: int = 1
    y: int = 0
    h: int = 0
    top_pad: int = 0
    min_h: int = 0


@dataclass
class _Block:
    """One process (or subprocess) laid out in its own coordinates, origin at the top left of its bands."""

    container: etree._Element
    nodes: dict[str, _Node]
    boundaries: list[_Node]
    flows: list[_Flow]
    lanes: list[_Lane]
    width: int = 0
    height: int = 0
    label_cols: int = 0
    channels: list[int] = field(default_factory=list)  # free horizontal lines between rows
    gaps: list[int] = field(default_factory=list)  # free vertical lines between columns


# ---------------------------------------------------------------------------------------------------------
# Reading the model


def _ref(value: str | None) -> str:
    """An id from a QName-typed reference (processRef, attachedToRef, message flow ends): drop any prefix."""
    return (value or "").strip().rpartition(":")[2]


def _kind(local: str) -> str | None:
    if local in _TASKS:
        return "task"
    if local in _EVENTS:
        return "event"
    if local in _GATEWAYS:
        return "gateway"
    return None


def _flow_nodes(container: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    for child in container:
        local = _local(child)
        kind = _kind(local) if local else None
        if kind and child.get("id"):
            yield child, kind


def _sequence_flows(container: etree._Element) -> list[etree._Element]:
    return [c for c in container if _local(c) == "sequenceFlow" and c.get("id")]


def _read_lanes(container: etree._Element) -> list[_Lane]:
    """Lanes in document order, parents before their children (a laneSet may nest via childLaneSet)."""
    lanes: list[_Lane] = []

    def walk(lane_set: etree._Element, depth: int) -> None:
        for lane in lane_set:
            if _local(lane) != "lane" or not lane.get("id"):
                continue
            lanes.append(_Lane(lane, depth))
            for child in lane:
                if _local(child) == "childLaneSet":
                    walk(child, depth + 1)

    for lane_set in container:
        if _local(lane_set) == "laneSet":
            walk(lane_set, 0)
    return lanes


# ---------------------------------------------------------------------------------------------------------
# Layering


def _mark_back_edges(nodes: dict[str, _Node], flows: list[_Flow], effective: dict[str, str]) -> None:
    """Iterative DFS from the start events; a flow into a node still on the stack closes a cycle."""
    succ: dict[str, list[_Flow]] = {n: [] for n in nodes}
    indegree: dict[str, int] = dict.fromkeys(nodes, 0)
    for flow in flows:
        succ[effective[flow.source]].append(flow)
        indegree[flow.target] += 1
    starts = [n.id for n in nodes.values() if _local(n.el) == "startEvent"]
    roots = starts + [n for n in nodes if indegree[n] == 0 and n not in starts] + list(nodes)
    state: dict[str, int] = dict.fromkeys(nodes, 0)  # 0 new, 1 on stack, 2 done
    for root in roots:
        if state[root]:
            continue
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack[-1]
            if i < len(succ[node]):
                stack[-1] = (node, i + 1)
                flow = succ[node][i]
                if state[flow.target] == 1:
                    flow.back = True
                elif state[flow.target] == 0:
                    state[flow.target] = 1
                    stack.append((flow.target, 0))
            else:
                state[node] = 2
                stack.pop()


def _assign_columns(nodes: dict[str, _Node], flows: list[_Flow], effective: dict[str, str]) -> None:
    """Longest path over the forward flows (Kahn's algorithm in document order)."""
    forward = [f for f in flows if not f.back and effective[f.source] != f.target]
    indegree: dict[str, int] = dict.fromkeys(nodes, 0)
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for flow in forward:
        succ[effective[flow.source]].append(flow.target)
        indegree[flow.target] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    while ready:
        node = ready.pop(0)
        for target in succ[node]:
            nodes[target].col = max(nodes[target].col, nodes[node].col + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)


def _assign_rows(block: _Block, effective: dict[str, str], band_count: int) -> list[_Band]:
    """Order the nodes sharing a column within a band, keeping each main path on one row.

    A node wants the (mean) row of its predecessors in the same band, one lower when it is reached from a
    boundary event (those flows leave downwards). Ties keep the order of the predecessor's outgoing flows,
    which is also the order SpiffWorkflow evaluates a gateway's conditions in when targets share a band.
    """
    nodes = block.nodes
    preds: dict[str, list[tuple[str, int, int]]] = {n: [] for n in nodes}  # (pred, row offset, flow rank)
    rank: dict[str, int] = {}
    for flow in block.flows:
        if flow.back:
            continue
        src = effective[flow.source]
        rank[src] = rank.get(src, -1) + 1
        preds[flow.target].append((src, 1 if src != flow.source else 0, rank[src]))

    groups: dict[tuple[int, int], list[_Node]] = {}
    for node in nodes.values():
        groups.setdefault((node.band, node.col), []).append(node)
    bands = [_Band() for _ in range(band_count)]
    for (band, _col), members in groups.items():
        bands[band].rows = max(bands[band].rows, len(members))

    for key in sorted(groups, key=lambda k: (k[1], k[0])):
        band, col = key
        rows = bands[band].rows
        wanted: dict[str, float] = {}
        sort_key: dict[str, tuple[float, int, int]] = {}
        for node in groups[key]:
            placed = [(nodes[p], off, r) for p, off, r in preds[node.id] if nodes[p].col < col]
            same = [p.row + off for p, off, _r in placed if p.band == band]
            wanted[node.id] = sum(same) / len(same) if same else 0.0
            position = [p.band * 1000 + p.row + off * 0.5 for p, off, _r in placed]
            bary = sum(position) / len(position) if position else -1.0
            sort_key[node.id] = (bary, min((r for *_x, r in placed), default=0), node.order)
        members = sorted(groups[key], key=lambda n: sort_key[n.id])
        assigned: list[int] = []
        for node in members:
            desired = min(rows - 1, max(0, math.ceil(wanted[node.id] - 0.5)))
            assigned.append(max(desired, assigned[-1] + 1) if assigned else desired)
        limit = rows - 1
        for i in range(len(assigned) - 1, -1, -1):
            assigned[i] = min(assigned[i], limit)
            limit = assigned[i] - 1
        for node, row in zip(members, assigned, strict=True):
            node.row = row
    return bands


# ---------------------------------------------------------------------------------------------------------
# Geometry


def _plan(container: etree._Element, use_lanes: bool) -> _Block:
    """Lay out one container's flow nodes and flows, in coordinates relative to its band area."""
    nodes: dict[str, _Node] = {}
    boundaries: list[_Node] = []
    for order, (el, kind) in enumerate(_flow_nodes(container)):
        node = _Node(el.get("id", ""), el, kind, order)
        if _local(el) == "boundaryEvent" and el.get("attachedToRef"):
            node.host = _ref(el.get("attachedToRef"))
            boundaries.append(node)
        else:
            nodes[node.id] = node
    # A boundary event on an unknown host is drawn as an ordinary node rather than lost.
    for node in [b for b in boundaries if b.host not in nodes]:
        boundaries.remove(node)
        node.host = None
        nodes[node.id] = node
    hosts = {b.id: b.host or "" for b in boundaries}
    effective = {n: n for n in nodes} | hosts
    flows = [
        _Flow(
            el.get("id", ""), el.get("sourceRef", ""), el.get("targetRef", ""), (el.get("name") or "").strip()
        )
        for el in _sequence_flows(container)
    ]
    flows = [f for f in flows if f.source in effective and f.target in nodes]

    lanes = _read_lanes(container) if use_lanes else []
    block = _Block(container, nodes, boundaries, flows, lanes)

    # Bands: one per leaf lane, in document order, plus one for nodes no lane claims.
    band_of_lane: dict[int, int] = {}
    leaf_indexes = [i for i in range(len(lanes)) if _is_leaf(lanes, i)]
    for band, i in enumerate(leaf_indexes):
        band_of_lane[i] = band
    band_count = max(1, len(leaf_indexes))
    lane_band: dict[str, int] = {}
    for i in leaf_indexes:
        for ref in lanes[i].el:
            if _local(ref) == "flowNodeRef" and ref.text and ref.text.strip() not in lane_band:
                lane_band[ref.text.strip()] = band_of_lane[i]
    loose = [n for n in nodes.values() if n.id not in lane_band]
    if leaf_indexes and loose:
        band_count += 1
    for node in nodes.values():
        node.band = lane_band.get(node.id, band_count - 1)

    _mark_back_edges(nodes, flows, effective)
    _assign_columns(nodes, flows, effective)
    bands = _assign_rows(block, effective, band_count)

    # Lane label text is drawn vertically in the label band, so a lane must be at least that tall.
    block.label_cols = (max(lane.depth for lane in lanes) + 1) if lanes else 0
    for i, lane in enumerate(lanes):
        needed = math.ceil(_text_width(lane.el.get("name") or "", 12)) + 24
        leaves = [band_of_lane[j] for j in _lane_leaves(lanes, i)]
        lane.leaves = leaves
        if leaves:
            per_band = math.ceil(needed / len(leaves))
            for band in leaves:
                bands[band].min_h = max(bands[band].min_h, per_band)
    # Lanes of equal rank look drawn on purpose: every lane gets the height the tallest label asks for.
    uniform = max((band.min_h for band in bands), default=0)
    for band in bands:
        band.min_h = uniform
    y = 0
    for band in bands:
        natural = band.rows * ROW_PITCH
        band.h = max(natural, band.min_h)
        band.top_pad = (band.h - natural) // 2
        band.y = y
        y += band.h
    block.height = y

    # Columns are as wide as their widest shape or event label, so short columns stay short.
    cols = (max(n.col for n in nodes.values()) + 1) if nodes else 1
    widths = [0] * cols
    for node in nodes.values():
        w = node.size[0]
        if node.kind != "task" and node.name:
            w = max(w, _label_size(node.name)[0])
        widths[node.col] = max(widths[node.col], w + w % 2)
    left = block.label_cols * LANE_LABEL + (CONTENT_PAD if lanes else CONTENT_PAD // 2)
    col_x: list[int] = []
    for width in widths:
        col_x.append(left)
        left += width + COL_GAP
    block.width = left - COL_GAP + (CONTENT_PAD if lanes else CONTENT_PAD // 2)

    for node in nodes.values():
        band = bands[node.band]
        cx = col_x[node.col] + widths[node.col] // 2
        cy = band.y + band.top_pad + node.row * ROW_PITCH + ROW_PITCH // 2
        w, h = node.size
        node.rect = Rect(cx - w // 2, cy - h // 2, w, h)
        if node.kind != "task" and node.name:
            lw, lh = _label_size(node.name)
            node.label = Rect(cx - lw // 2, node.rect.y2 + 5, lw, lh)
    _place_boundaries(block)

    for i, lane in enumerate(lanes):
        if lane.leaves:
            top = bands[min(lane.leaves)].y
            bottom = bands[max(lane.leaves)].y + bands[max(lane.leaves)].h
        else:
            top = bottom = 0
        x = lane.depth * LANE_LABEL
        lanes[i].rect = Rect(x, top, block.width - x, bottom - top)

    _route(block, bands, col_x, widths, effective)
    return block


def _lane_leaves(lanes: list[_Lane], index: int) -> list[int]:
    """Indexes of the leaf lanes under lanes[index] (itself if it has no children)."""
    depth = lanes[index].depth
    out: list[int] = []
    for j in range(index, len(lanes)):
        if j > index and lanes[j].depth <= depth:
            break
        if _is_leaf(lanes, j):
            out.append(j)
    return out


def _is_leaf(lanes: list[_Lane], index: int) -> bool:
    return index + 1 >= len(lanes) or lanes[index + 1].depth <= lanes[index].depth


def _place_boundaries(block: _Block) -> None:
    """Put each host's boundary events side by side on its bottom edge, centres on the edge.

    One or two go near the corners, since bpmn-js draws the collapsed / call / multi-instance marker at the
    bottom centre. Their flows leave straight down, so the event whose target lies lowest goes leftmost:
    the L-shaped flows then nest instead of crossing. A label goes beside its event, on the outer side.
    """
    targets: dict[str, list[int]] = {}
    for flow in block.flows:
        if flow.target in block.nodes:
            targets.setdefault(flow.source, []).append(block.nodes[flow.target].rect.cy)
    by_host: dict[str, list[_Node]] = {}
    for node in block.boundaries:
        by_host.setdefault(node.host or "", []).append(node)
    for host_id, attached in by_host.items():
        host = block.nodes[host_id]
        attached.sort(key=lambda b: (0, -max(targets[b.id]), b.order) if b.id in targets else (1, 0, b.order))
        count = len(attached)
        for i, node in enumerate(attached):
            if count <= 2:
                # Off centre, clear of the markers bpmn-js draws there (collapsed, call, multi-instance).
                cx = host.rect.x2 - BOUNDARY_INSET if i == count - 1 else host.rect.x + BOUNDARY_INSET
            else:
                cx = host.rect.cx + (2 * i - (count - 1)) * BOUNDARY_PITCH // 2
            w, h = node.size
            node.rect = Rect(cx - w // 2, host.rect.y2 - h // 2, w, h)
            node.band, node.col, node.row = host.band, host.col, host.row
            if node.name:
                lw, lh = _label_size(node.name)
                if 0 < i < count - 1:  # between two neighbours: only below is free
                    node.label = Rect(cx - lw // 2, node.rect.y2 + 2, lw, lh)
                    continue
                x = node.rect.x - 2 - lw if count > 1 and i == 0 else node.rect.x2 + 2
                node.label = Rect(x, host.rect.y2 + 2, lw, lh)


# ---------------------------------------------------------------------------------------------------------
# Routing


def _segments(points: list[Point]) -> Iterator[tuple[Point, Point]]:
    return pairwise(points)


def _cuts(a: Point, b: Point, r: Rect) -> bool:
    """Whether an axis-parallel segment runs through the inside of a rectangle."""
    if a[1] == b[1]:
        lo, hi = sorted((a[0], b[0]))
        return r.y < a[1] < r.y2 and min(hi, r.x2) - max(lo, r.x) > 0
    lo, hi = sorted((a[1], b[1]))
    return r.x < a[0] < r.x2 and min(hi, r.y2) - max(lo, r.y) > 0


def _overlap(a: Point, b: Point, c: Point, d: Point) -> int:
    """Length over which two axis-parallel segments lie on top of each other."""
    if a[1] == b[1] == c[1] == d[1]:
        lo1, hi1 = sorted((a[0], b[0]))
        lo2, hi2 = sorted((c[0], d[0]))
        return max(0, min(hi1, hi2) - max(lo1, lo2))
    if a[0] == b[0] == c[0] == d[0]:
        lo1, hi1 = sorted((a[1], b[1]))
        lo2, hi2 = sorted((c[1], d[1]))
        return max(0, min(hi1, hi2) - max(lo1, lo2))
    return 0


def _crosses(a: Point, b: Point, c: Point, d: Point) -> bool:
    if (a[1] == b[1]) == (c[1] == d[1]):
        return False
    h1, h2, v1, v2 = (a, b, c, d) if a[1] == b[1] else (c, d, a, b)
    xlo, xhi = sorted((h1[0], h2[0]))
    ylo, yhi = sorted((v1[1], v2[1]))
    return xlo < v1[0] < xhi and ylo < h1[1] < yhi


class _Lines:
    """A route's segments prepared for fast comparison: (horizontal?, fixed coordinate, low, high)."""

    def __init__(self, points: list[Point]) -> None:
        self.segments = [
            (True, a[1], min(a[0], b[0]), max(a[0], b[0]))
            if a[1] == b[1]
            else (False, a[0], min(a[1], b[1]), max(a[1], b[1]))
            for a, b in _segments(points)
        ]
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        self.box = (min(xs), min(ys), max(xs), max(ys))

    def meets(self, other: _Lines) -> tuple[int, int]:
        """Length run on top of ``other`` and number of crossings with it."""
        a, b = self.box, other.box
        if a[0] > b[2] or b[0] > a[2] or a[1] > b[3] or b[1] > a[3]:
            return 0, 0
        shared = crossings = 0
        for h1, f1, lo1, hi1 in self.segments:
            for h2, f2, lo2, hi2 in other.segments:
                if h1 == h2:
                    if f1 == f2:
                        shared += max(0, min(hi1, hi2) - max(lo1, lo2))
                elif lo1 < f2 < hi1 and lo2 < f1 < hi2:
                    crossings += 1
        return shared, crossings


def _simplify(points: list[Point]) -> list[Point]:
    """Drop repeated points and the middle of three collinear points."""
    out: list[Point] = []
    for p in points:
        if out and out[-1] == p:
            continue
        if len(out) >= 2 and (out[-2][0] == out[-1][0] == p[0] or out[-2][1] == out[-1][1] == p[1]):
            out[-1] = p
            continue
        out.append(p)
    return out


def _route(
    block: _Block, bands: list[_Band], col_x: list[int], widths: list[int], effective: dict[str, str]
) -> None:
    """Give every flow orthogonal waypoints, choosing per flow the candidate that cuts fewest shapes."""
    every = list(block.nodes.values()) + block.boundaries
    by_id = {n.id: n for n in every}
    obstacles: list[tuple[str, Rect]] = []
    for node in every:
        obstacles.append((node.id, node.rect.grown(4)))
        if node.label:
            obstacles.append((node.id + "#label", node.label.grown(2)))

    def gap_x(col: int) -> int:
        """Middle of the gap left of column ``col`` (``len(col_x)`` is right of the last column)."""
        if col <= 0:
            return col_x[0] - CONTENT_PAD // 2 if col_x else 0
        if col >= len(col_x):
            return col_x[-1] + widths[-1] + COL_GAP // 2
        return col_x[col] - COL_GAP // 2

    channels: list[int] = []
    for band in bands:
        for r in range(band.rows + 1):
            y = band.y + band.top_pad + r * ROW_PITCH
            channels.append(min(max(y, band.y + 12), band.y + band.h - 12))
    channels = sorted(set(channels))
    block.channels = channels
    block.gaps = [gap_x(c) for c in range(len(col_x) + 1)]

    outgoing_count: dict[str, int] = {}
    for flow in block.flows:
        outgoing_count[flow.source] = outgoing_count.get(flow.source, 0) + 1

    def static_cost(flow: _Flow, points: list[Point], preferred_gap: int, gap: int | None) -> float:
        """What a route costs on its own: shapes and labels it cuts, bends, length, distance from the
        preferred turning gap."""
        exempt = {flow.source, flow.target}
        hits = sum(
            1
            for a, b in _segments(points)
            for owner, rect in obstacles
            if owner not in exempt and _cuts(a, b, rect)
        )
        length = sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in _segments(points))
        detour = abs(gap - preferred_gap) * 5 if gap is not None else 0
        return hits * 1000 + (len(points) - 2) * 25 + length * 0.1 + detour

    def candidates_for(flow: _Flow) -> list[tuple[list[Point], int | None]]:
        src, tgt = by_id[flow.source], by_id[flow.target]
        s, t = src.rect, tgt.rect
        cs, ct = by_id[effective[flow.source]].col, tgt.col
        boundary = src.host is not None
        start: Point = (s.cx, s.y2) if boundary else (s.x2, s.cy)
        end: Point = (t.x, t.cy)
        candidates: list[tuple[list[Point], int | None]] = []
        if ct > cs and not flow.back:
            if boundary:
                if end[1] > start[1] + 10 and end[0] > start[0]:
                    candidates.append(([start, (start[0], end[1]), end], None))
                for hy in channels:
                    if hy > start[1] + 5:
                        for g in range(cs + 1, ct + 1):
                            gx = gap_x(g)
                            candidates.append(([start, (start[0], hy), (gx, hy), (gx, end[1]), end], g))
            else:
                if start[1] == end[1]:
                    candidates.append(([start, end], None))
                for g in range(cs + 1, ct + 1):
                    gx = gap_x(g)
                    candidates.append(([start, (gx, start[1]), (gx, end[1]), end], g))
                g1, g2 = gap_x(cs + 1), gap_x(ct)
                for hy in channels:
                    candidates.append(([start, (g1, start[1]), (g1, hy), (g2, hy), (g2, end[1]), end], None))
        else:
            g2 = gap_x(ct)
            for hy in channels:
                if hy >= t.y2 + 5:
                    into: Point = (t.cx, t.y2)
                elif hy <= t.y - 5:
                    into = (t.cx, t.y)
                else:
                    into = (-1, -1)
                if boundary:
                    if hy <= start[1] + 5:
                        continue
                    if into[0] >= 0:
                        candidates.append(([start, (start[0], hy), (t.cx, hy), into], None))
                    candidates.append(([start, (start[0], hy), (g2, hy), (g2, end[1]), end], None))
                    continue
                if hy >= s.y2 + 5:
                    out: Point = (s.cx, s.y2)
                elif hy <= s.y - 5:
                    out = (s.cx, s.y)
                else:
                    out = (-1, -1)
                if out[0] >= 0 and into[0] >= 0 and src is not tgt:  # a self-loop needs the way round
                    candidates.append(([out, (s.cx, hy), (t.cx, hy), into], None))
                g1 = gap_x(cs + 1)
                candidates.append(([start, (g1, start[1]), (g1, hy), (g2, hy), (g2, end[1]), end], None))
        if not candidates:  # cannot happen with at least one channel, but never emit an edge without points
            candidates.append(([start, end], None))
        return [(_simplify(p), g) for p, g in candidates]

    options: dict[str, list[tuple[float, list[Point]]]] = {}
    for flow in block.flows:
        cs, ct = by_id[effective[flow.source]].col, by_id[flow.target].col
        # A split fans out right after its source; anything else turns just before its target.
        prefer = cs + 1 if outgoing_count.get(flow.source, 0) > 1 else ct
        scored: list[tuple[float, list[Point]]] = []
        for points, gap in candidates_for(flow):
            for variant, extra in _tracks(points):
                scored.append((static_cost(flow, variant, prefer, gap) + extra, variant))
        # Only near-best routes compete on how they sit with the other flows; this keeps routing fast.
        best = min(cost for cost, _p in scored)
        options[flow.id] = [(cost, p) for cost, p in scored if cost <= best + 300]

    def choose(flow: _Flow, others: list[_Flow]) -> None:
        """Pick the route that, on top of its own cost, runs along and crosses the other flows least."""
        # Flows that share an end share the segment at that end; two flows between the same pair must not.
        placed = [
            ((other.source == flow.source) != (other.target == flow.target), _Lines(other.points))
            for other in others
        ]
        totals = []
        for i, (cost, points) in enumerate(options[flow.id]):
            mine = _Lines(points)
            for related, lines in placed:
                shared, crossings = mine.meets(lines)
                cost += (0 if related else shared * 3) + crossings * 40
            totals.append((cost, i))
        flow.points = options[flow.id][min(totals)[1]][1]

    # Forward flows first (they carry the reading direction), back edges fit around them; then each flow
    # is re-chosen twice knowing all the others, which removes most crossings an early choice caused.
    routed: list[_Flow] = []
    for flow in [f for f in block.flows if not f.back] + [f for f in block.flows if f.back]:
        choose(flow, routed)
        routed.append(flow)
    for _round in range(2):
        for flow in block.flows:
            choose(flow, [f for f in block.flows if f is not flow])

    for flow in block.flows:
        if flow.name:
            flow.label = _flow_label(flow, block.flows)


def _tracks(points: list[Point]) -> Iterator[tuple[list[Point], int]]:
    """A route and its neighbours with one inner segment moved aside by TRACK px (at a small cost), so that
    flows sharing a gap or a channel can run side by side instead of on top of each other."""
    yield points, 0
    for i in range(1, len(points) - 2):
        (ax, ay), (bx, by) = points[i], points[i + 1]
        for offset in (-TRACK, TRACK):
            moved = list(points)
            if ax == bx:
                moved[i], moved[i + 1] = (ax + offset, ay), (bx + offset, by)
            else:
                moved[i], moved[i + 1] = (ax, ay + offset), (bx, by + offset)
            yield moved, 4


def _flow_label(flow: _Flow, flows: list[_Flow]) -> Rect:
    """Put a flow's name beside the first of its segments that no sibling flow shares."""
    w, h = _label_size(flow.name)
    siblings = [f.points for f in flows if f is not flow and f.source == flow.source]
    segment = next(
        (
            (a, b)
            for a, b in _segments(flow.points)
            if not any(_overlap(a, b, c, d) for other in siblings for c, d in _segments(other))
        ),
        (flow.points[0], flow.points[1]),
    )
    (ax, ay), (bx, by) = segment
    if ay == by:
        x = ax + 4 if bx >= ax else ax - 4 - w
        return Rect(x, ay - 4 - h, w, h)
    if by > ay:
        return Rect(ax + 4, ay + 4, w, h)
    return Rect(ax + 4, ay - 4 - h, w, h)


# ---------------------------------------------------------------------------------------------------------
# Writing BPMNDI


class _Ids:
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


def _shape(plane: etree._Element, ids: _Ids, element_id: str, rect: Rect, **attrs: str) -> etree._Element:
    shape = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNShape", id=ids.make(f"{element_id}_di"))
    shape.set("bpmnElement", element_id)
    for key, value in attrs.items():
        shape.set(key, value)
    _bounds(shape, rect)
    return shape


def _label(shape: etree._Element, rect: Rect) -> None:
    _bounds(etree.SubElement(shape, f"{{{BPMNDI_NS}}}BPMNLabel"), rect)


def _edge(
    plane: etree._Element, ids: _Ids, element_id: str, points: Iterable[Point], label: Rect | None
) -> None:
    edge = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNEdge", id=ids.make(f"{element_id}_di"))
    edge.set("bpmnElement", element_id)
    for x, y in points:
        etree.SubElement(edge, f"{{{DI_NS}}}waypoint", x=str(x), y=str(y))
    if label is not None:
        _label(edge, label)


def _draw_block(plane: etree._Element, ids: _Ids, block: _Block, dx: int, dy: int) -> None:
    """Emit lanes, nodes (boundary events after their hosts) and flows of a block moved by (dx, dy)."""
    for lane in block.lanes:
        if lane.rect.h > 0:
            _shape(plane, ids, lane.el.get("id", ""), lane.rect.moved(dx, dy), isHorizontal="true")
    for node in sorted(
        list(block.nodes.values()) + block.boundaries, key=lambda n: (n.host is not None, n.order)
    ):
        attrs = {"isExpanded": "false"} if _local(node.el) in _SUBPROCESSES else {}
        rect = node.rect.moved(dx, dy)
        shape = _shape(plane, ids, node.id, rect, **attrs)
        if node.kind != "task":
            label = node.label or Rect(rect.cx - 10, rect.y2 + 5, 20, LABEL_LINE)
            _label(shape, label.moved(dx, dy) if node.label else label)
    for flow in block.flows:
        points = [(x + dx, y + dy) for x, y in flow.points]
        _edge(plane, ids, flow.id, points, flow.label.moved(dx, dy) if flow.label else None)


def _new_plane(root: etree._Element, ids: _Ids, element_id: str) -> etree._Element:
    diagram = etree.SubElement(root, f"{{{BPMNDI_NS}}}BPMNDiagram", id=ids.make(f"BPMNDiagram_{element_id}"))
    plane = etree.SubElement(diagram, f"{{{BPMNDI_NS}}}BPMNPlane", id=ids.make(f"BPMNPlane_{element_id}"))
    plane.set("bpmnElement", element_id)
    return plane


@dataclass
class _End:
    """One end of a message flow: a flow node inside a pool, or a whole (possibly black-box) pool."""

    rect: Rect
    pool: Rect
    node: _Node | None = None
    block: _Block | None = None
    dx: int = 0
    dy: int = 0


def _draw_collaboration(
    root: etree._Element, ids: _Ids, collaboration: etree._Element, processes: dict[str, etree._Element]
) -> None:
    """One plane with the collaboration's pools stacked top to bottom, then its message flows."""
    plane = _new_plane(root, ids, collaboration.get("id", ""))
    pools: list[tuple[etree._Element, _Block | None]] = []
    for participant in collaboration:
        if _local(participant) != "participant" or not participant.get("id"):
            continue
        process = processes.get(_ref(participant.get("processRef")))
        pools.append((participant, _plan(process, use_lanes=True) if process is not None else None))
    width = max([POOL_LABEL + b.width for _p, b in pools if b is not None] + [600])

    x, y = PLANE_ORIGIN
    placed: list[tuple[etree._Element, _Block | None, Rect]] = []
    where: dict[str, _End] = {}
    obstacles: list[tuple[str, Rect]] = []
    for participant, block in pools:
        pool = Rect(x, y, width, block.height if block is not None else 100)
        placed.append((participant, block, pool))
        where[participant.get("id", "")] = _End(pool, pool)
        if block is not None:
            dx, dy = x + POOL_LABEL, y
            for node in list(block.nodes.values()) + block.boundaries:
                where[node.id] = _End(node.rect.moved(dx, dy), pool, node, block, dx, dy)
                obstacles.append((node.id, node.rect.moved(dx, dy).grown(4)))
                if node.label:
                    obstacles.append((node.id, node.label.moved(dx, dy).grown(2)))
        y += pool.h + POOL_GAP

    # Sequence flows already drawn, so that message flows run beside them rather than on top of them.
    lines: list[tuple[Point, Point]] = []
    for _participant, block, pool in placed:
        if block is not None:
            dx, dy = pool.x + POOL_LABEL, pool.y
            for seq in block.flows:
                lines.extend(_segments([(px + dx, py + dy) for px, py in seq.points]))

    messages: list[tuple[str, list[Point], Rect | None]] = []
    for flow in collaboration:
        if _local(flow) != "messageFlow" or not flow.get("id"):
            continue
        source, target = where.get(_ref(flow.get("sourceRef"))), where.get(_ref(flow.get("targetRef")))
        if source is None or target is None:
            continue
        points = _message_route(source, target, obstacles, lines)
        lines.extend(_segments(points))
        # A message arriving at or leaving an event's bottom would run through its label: lift the label.
        for end, point in ((source, points[0]), (target, points[-1])):
            node = end.node
            if node is not None and node.label is not None and point[1] == end.rect.y2:
                node.label = Rect(node.label.x, node.rect.y - 5 - node.label.h, node.label.w, node.label.h)
        label = None
        name = (flow.get("name") or "").strip()
        if name:
            lw, lh = _label_size(name)
            (ax, ay), (_bx, by) = points[0], points[1]
            label = Rect(ax + 4, ay + 4 if by > ay else ay - 4 - lh, lw, lh)
        messages.append((flow.get("id", ""), points, label))

    for participant, block, pool in placed:
        _shape(plane, ids, participant.get("id", ""), pool, isHorizontal="true")
        if block is not None:
            # Stretch lanes to the shared pool width so every pool lines up.
            extra = width - POOL_LABEL - block.width
            for lane in block.lanes:
                lane.rect = Rect(lane.rect.x, lane.rect.y, lane.rect.w + extra, lane.rect.h)
            _draw_block(plane, ids, block, pool.x + POOL_LABEL, pool.y)
    for flow_id, points, label in messages:
        _edge(plane, ids, flow_id, points, label)


def _escapes(
    end: _End, down: bool, obstacles: list[tuple[str, Rect]], lines: list[tuple[Point, Point]]
) -> list[list[Point]]:
    """The cheapest few ways from a node to its pool's top or bottom edge: straight, or through a channel
    between rows and a gap between columns when shapes are in the way."""
    node, block, rect = end.node, end.block, end.rect
    if node is None or block is None:
        return [[]]
    edge = rect.y2 if down else rect.y
    border = end.pool.y2 if down else end.pool.y
    paths = [[(rect.cx, edge), (rect.cx, border)]]
    for hy in block.channels:
        hy += end.dy
        if (down and hy > edge + 5) or (not down and hy < edge - 5):
            paths.extend(
                [(rect.cx, edge), (rect.cx, hy), (gx + end.dx, hy), (gx + end.dx, border)]
                for gx in block.gaps
            )
    scored = sorted((_route_cost(p, obstacles, {node.id}, lines), i) for i, p in enumerate(paths))
    return [paths[i] for _cost, i in scored[:3]]


def _route_cost(
    points: list[Point], obstacles: list[tuple[str, Rect]], exempt: set[str], lines: list[tuple[Point, Point]]
) -> float:
    """The same weights as for sequence flows: shapes cut, lines run along or crossed, bends, length."""
    hits = sum(
        1 for a, b in _segments(points) for owner, r in obstacles if owner not in exempt and _cuts(a, b, r)
    )
    shared = sum(_overlap(a, b, c, d) for a, b in _segments(points) for c, d in lines)
    crossings = sum(_crosses(a, b, c, d) for a, b in _segments(points) for c, d in lines)
    length = sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in _segments(points))
    return hits * 1000 + shared * 3 + crossings * 40 + max(0, len(points) - 2) * 25 + length * 0.1


def _message_route(
    source: _End, target: _End, obstacles: list[tuple[str, Rect]], lines: list[tuple[Point, Point]]
) -> list[Point]:
    """Leave the source's pool, cross the gap between the pools, enter the target's pool.

    A whole pool is met straight above or below the node at the other end; two nodes at different x get
    one horizontal jog in the gap just outside the source's pool.
    """
    s, t = source.rect, target.rect
    down = s.cy <= t.cy
    if source.pool == target.pool:  # not allowed by BPMN, but draw it rather than drop it
        a: Point = (s.cx, s.y2) if down else (s.cx, s.y)
        b: Point = (t.cx, t.y) if down else (t.cx, t.y2)
        mid = (a[1] + b[1]) // 2
        return _simplify([a, (a[0], mid), (b[0], mid), b])
    s_border = source.pool.y2 if down else source.pool.y
    t_border = target.pool.y if down else target.pool.y2
    mid = s_border + (POOL_GAP // 2 if down else -POOL_GAP // 2)
    exempt = {n.id for n in (source.node, target.node) if n is not None}
    best: tuple[float, list[Point]] | None = None
    for out in _escapes(source, down, obstacles, lines):
        for back in _escapes(target, not down, obstacles, lines):
            into = back[::-1]
            if out and into:
                points = [*out, (out[-1][0], mid), (into[0][0], mid), *into]
            elif out:
                points = [*out, (out[-1][0], t_border)]
            elif into:
                points = [(into[0][0], s_border), *into]
            else:
                lo, hi = max(s.x, t.x) + POOL_LABEL, min(s.x2, t.x2)
                cx = (lo + hi) // 2 if lo < hi else s.cx
                points = [(cx, s_border), (cx, t_border)]
            for variant, extra in _tracks(_simplify(points)):
                cost = _route_cost(variant, obstacles, exempt, lines) + extra
                if best is None or cost < best[0]:
                    best = (cost, variant)
    assert best is not None
    return best[1]


def _draw_process(root: etree._Element, ids: _Ids, container: etree._Element) -> None:
    """A process without a pool, or the inside of a collapsed subprocess, on a plane of its own."""
    plane = _new_plane(root, ids, container.get("id", ""))
    block = _plan(container, use_lanes=False)
    _draw_block(plane, ids, block, PLANE_ORIGIN[0], PLANE_ORIGIN[1])


def _subprocesses(container: etree._Element) -> Iterator[etree._Element]:
    for child in container:
        if _local(child) in _SUBPROCESSES and child.get("id"):
            yield child
            yield from _subprocesses(child)


# ---------------------------------------------------------------------------------------------------------
# Editing the model without disturbing its formatting


def _indent_unit(root: etree._Element) -> str | None:
    """The author's indentation step, or None for a file written without line breaks."""
    match = re.fullmatch(r"\r?\n([ \t]+)", root.text or "")
    return match.group(1) if match else None


def _depth(el: etree._Element) -> int:
    return sum(1 for _ in el.iterancestors())


def _insert(parent: etree._Element, index: int, new: etree._Element, unit: str | None) -> None:
    """Insert ``new`` at ``index`` with the same indentation as its new siblings."""
    children = len(parent)
    parent.insert(index, new)
    if unit is None:
        return
    inner = "\n" + unit * (_depth(parent) + 1)
    if children and parent.text and not parent.text.strip() and "\n" in parent.text:
        inner = parent.text  # the indentation the siblings already have
    if len(new):
        etree.indent(new, space=unit, level=_depth(parent) + 1)
    if children == 0:
        new.tail = parent.text if parent.text and not parent.text.strip() else "\n" + unit * _depth(parent)
        parent.text = inner
    elif index >= children:
        previous = parent[index - 1]
        new.tail = previous.tail
        previous.tail = inner
    else:
        new.tail = inner


def _remove(el: etree._Element) -> None:
    """Remove an element; the whitespace after it takes the place of the whitespace before it."""
    parent = el.getparent()
    if parent is None:
        return
    previous = el.getprevious()
    if previous is not None:
        previous.tail = el.tail
    else:
        parent.text = el.tail
    parent.remove(el)


def _add_flow_refs(container: etree._Element, unit: str | None) -> None:
    """Give each flow node ``incoming``/``outgoing`` children matching the sequence flows, in XSD order."""
    flows = _sequence_flows(container)
    for node, _kind_name in _flow_nodes(container):
        node_id = node.get("id")
        wanted = [("incoming", f.get("id", "")) for f in flows if f.get("targetRef") == node_id]
        wanted += [("outgoing", f.get("id", "")) for f in flows if f.get("sourceRef") == node_id]
        existing = [c for c in node if _local(c) in ("incoming", "outgoing")]
        have = [(_local(c), (c.text or "").strip()) for c in existing]
        if sorted(have) == sorted(wanted) and have == sorted(have, key=lambda kv: kv[0] == "outgoing"):
            continue
        for child in existing:
            _remove(child)
        index = 0
        for i, child in enumerate(node):
            if _local(child) in _BEFORE_FLOW_REFS:
                index = i + 1
        for tag, flow_id in wanted:
            ref = etree.Element(_q(tag))
            ref.text = flow_id
            _insert(node, index, ref, unit)
            index += 1
    for sub in container:
        if _local(sub) in _SUBPROCESSES:
            _add_flow_refs(sub, unit)


def _with_namespaces(root: etree._Element) -> etree._Element:
    """Return a root that declares the DI namespaces (lxml cannot add declarations to an existing element)."""
    declared = {uri: prefix for prefix, uri in root.nsmap.items()}
    missing = {}
    taken = set(root.nsmap)
    for uri, preferred in _PREFERRED_PREFIXES.items():
        if uri in declared and declared[uri] is not None:
            continue
        prefix, n = preferred, 1
        while prefix in taken:
            n += 1
            prefix = f"{preferred}{n}"
        missing[prefix] = uri
        taken.add(prefix)
    if not missing:
        return root
    new_root = etree.Element(root.tag, nsmap={**root.nsmap, **missing})
    for key, value in root.attrib.items():
        new_root.set(key, value)
    new_root.text = root.text
    before = list(root.itersiblings(preceding=True))[::-1]
    after = list(root.itersiblings())
    for child in list(root):
        new_root.append(child)
    etree.ElementTree(new_root)
    for sibling in before:
        new_root.addprevious(sibling)
    for sibling in reversed(after):
        new_root.addnext(sibling)
    return new_root


# ---------------------------------------------------------------------------------------------------------
# Entry point


def _parse(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        strip_cdata=False,
        remove_blank_text=False,
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise LayoutError(f"malformed XML: {exc}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise LayoutError("DOCTYPE declarations are not allowed in BPMN files")
    if root.tag != _q("definitions"):
        raise LayoutError("the root element is not bpmn:definitions")
    return root


def _has_lanes(process: etree._Element) -> bool:
    return any(_local(ls) == "laneSet" and any(_local(la) == "lane" for la in ls) for ls in process)


def layout(xml: bytes) -> bytes:
    """Return ``xml`` with freshly generated BPMNDI (any existing diagram is replaced).

    Deterministic: the same input always gives the same bytes, so re-running it on a checked-in file is a
    no-op and diffs only show real changes.
    """
    root = _with_namespaces(_parse(xml))
    unit = _indent_unit(root)
    for diagram in [c for c in root if c.tag == f"{{{BPMNDI_NS}}}BPMNDiagram"]:
        _remove(diagram)
    ids = _Ids(root)

    processes = {p.get("id", ""): p for p in root if _local(p) == "process" and p.get("id")}
    collaborations = [c for c in root if _local(c) == "collaboration" and c.get("id")]
    in_pool = {
        _ref(p.get("processRef"))
        for c in collaborations
        for p in c
        if _local(p) == "participant" and _ref(p.get("processRef")) in processes
    }

    # A process with lanes shows them only inside a pool: give it a collaboration of its own (not a shared
    # one, which would tell SpiffWorkflow the processes run together). New collaborations go after existing
    # ones, because SpiffWorkflow registers only the first collaboration of a file.
    for pid, process in processes.items():
        if pid in in_pool or not _has_lanes(process):
            continue
        collaboration = etree.Element(_q("collaboration"), id=ids.make(f"Collaboration_{pid}"))
        participant = etree.SubElement(collaboration, _q("participant"), id=ids.make(f"Participant_{pid}"))
        participant.set("name", process.get("name") or pid)
        participant.set("processRef", pid)
        anchor = collaborations[-1] if collaborations else process
        index = root.index(anchor) + (1 if collaborations else 0)
        _insert(root, index, collaboration, unit)
        collaborations.append(collaboration)
        in_pool.add(pid)

    for container in processes.values():
        _add_flow_refs(container, unit)

    planes: list[etree._Element] = [
        c for c in root if c in collaborations or (_local(c) == "process" and c.get("id") not in in_pool)
    ]
    first_relationship = next((c for c in root if _local(c) == "relationship"), None)
    for element in planes:
        if element in collaborations:
            _draw_collaboration(root, ids, element, processes)
        else:
            _draw_process(root, ids, element)
    for process in processes.values():
        for sub in _subprocesses(process):
            _draw_process(root, ids, sub)

    diagrams = [c for c in root if c.tag == f"{{{BPMNDI_NS}}}BPMNDiagram"]
    for diagram in diagrams:
        root.remove(diagram)
    for diagram in diagrams:
        index = root.index(first_relationship) if first_relationship is not None else len(root)
        _insert(root, index, diagram, unit)

    # lxml drops the line breaks between top-level nodes (a leading comment, say); put them back.
    top = [*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()]
    body = b"\n".join(etree.tostring(node, encoding="UTF-8", with_tail=False) for node in top)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body + b"\n"
