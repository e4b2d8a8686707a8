"""Reading a process as a graph, and layering it: back edges, columns, and rows within a lane's band.

* column = longest path from the start events over the sequence flows, after DFS has marked the flows that
  close a cycle ("send back for amendment") as back edges, so loops do not stretch the diagram;
* row = the position among the nodes sharing a band and a column, keeping each main path on one row.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from lxml import etree

from scripts.bpmn_layout.model import Band, Block, Flow, Lane, Node, bpmn_local

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
SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
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


# ---------------------------------------------------------------------------------------------------------
# Reading the model


def ref_id(value: str | None) -> str:
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


def flow_nodes(container: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    """The container's flow nodes with their kind ("task", "event" or "gateway"), in document order."""
    for child in container:
        local = bpmn_local(child)
        kind = _kind(local) if local else None
        if kind and child.get("id"):
            yield child, kind


def sequence_flows(container: etree._Element) -> list[etree._Element]:
    return [c for c in container if bpmn_local(c) == "sequenceFlow" and c.get("id")]


def subprocesses(container: etree._Element) -> Iterator[etree._Element]:
    """Every subprocess in the container, nested ones after their parent."""
    for child in container:
        if bpmn_local(child) in SUBPROCESSES and child.get("id"):
            yield child
            yield from subprocesses(child)


def read_lanes(container: etree._Element) -> list[Lane]:
    """Lanes in document order, parents before their children (a laneSet may nest via childLaneSet)."""
    lanes: list[Lane] = []

    def walk(lane_set: etree._Element, depth: int) -> None:
        for lane in lane_set:
            if bpmn_local(lane) != "lane" or not lane.get("id"):
                continue
            lanes.append(Lane(lane, depth))
            for child in lane:
                if bpmn_local(child) == "childLaneSet":
                    walk(child, depth + 1)

    for lane_set in container:
        if bpmn_local(lane_set) == "laneSet":
            walk(lane_set, 0)
    return lanes


def lane_leaves(lanes: list[Lane], index: int) -> list[int]:
    """Indexes of the leaf lanes under lanes[index] (itself if it has no children)."""
    depth = lanes[index].depth
    out: list[int] = []
    for j in range(index, len(lanes)):
        if j > index and lanes[j].depth <= depth:
            break
        if is_leaf(lanes, j):
            out.append(j)
    return out


def is_leaf(lanes: list[Lane], index: int) -> bool:
    return index + 1 >= len(lanes) or lanes[index + 1].depth <= lanes[index].depth


# ---------------------------------------------------------------------------------------------------------
# Layering


def mark_back_edges(nodes: dict[str, Node], flows: list[Flow], effective: dict[str, str]) -> None:
    """Iterative DFS from the start events; a flow into a node still on the stack closes a cycle."""
    succ: dict[str, list[Flow]] = {n: [] for n in nodes}
    indegree: dict[str, int] = dict.fromkeys(nodes, 0)
    for flow in flows:
        succ[effective[flow.source]].append(flow)
        indegree[flow.target] += 1
    starts = [n.id for n in nodes.values() if bpmn_local(n.el) == "startEvent"]
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


def assign_columns(nodes: dict[str, Node], flows: list[Flow], effective: dict[str, str]) -> None:
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


def assign_rows(block: Block, effective: dict[str, str], band_count: int) -> list[Band]:
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

    groups: dict[tuple[int, int], list[Node]] = {}
    for node in nodes.values():
        groups.setdefault((node.band, node.col), []).append(node)
    bands = [Band() for _ in range(band_count)]
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
