"""Geometry of one process: a band per lane, columns as wide as they need, nodes in their cells, boundary
events on their hosts, lanes around their bands; then the flows are routed (``routing``)."""

from __future__ import annotations

import math

from lxml import etree

from scripts.bpmn_layout.graph import (
    assign_columns,
    assign_rows,
    flow_nodes,
    is_leaf,
    lane_leaves,
    mark_back_edges,
    read_lanes,
    ref_id,
    sequence_flows,
)
from scripts.bpmn_layout.model import (
    BOUNDARY_INSET,
    BOUNDARY_PITCH,
    COL_GAP,
    CONTENT_PAD,
    LANE_LABEL,
    ROW_PITCH,
    Block,
    Flow,
    Node,
    Rect,
    bpmn_local,
    label_size,
    text_width,
)
from scripts.bpmn_layout.routing import route


def plan(container: etree._Element, use_lanes: bool) -> Block:
    """Lay out one container's flow nodes and flows, in coordinates relative to its band area."""
    nodes: dict[str, Node] = {}
    boundaries: list[Node] = []
    for order, (el, kind) in enumerate(flow_nodes(container)):
        node = Node(el.get("id", ""), el, kind, order)
        if bpmn_local(el) == "boundaryEvent" and el.get("attachedToRef"):
            node.host = ref_id(el.get("attachedToRef"))
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
        Flow(
            el.get("id", ""), el.get("sourceRef", ""), el.get("targetRef", ""), (el.get("name") or "").strip()
        )
        for el in sequence_flows(container)
    ]
    flows = [f for f in flows if f.source in effective and f.target in nodes]

    lanes = read_lanes(container) if use_lanes else []
    block = Block(container, nodes, boundaries, flows, lanes)

    # Bands: one per leaf lane, in document order, plus one for nodes no lane claims.
    band_of_lane: dict[int, int] = {}
    leaf_indexes = [i for i in range(len(lanes)) if is_leaf(lanes, i)]
    for band, i in enumerate(leaf_indexes):
        band_of_lane[i] = band
    band_count = max(1, len(leaf_indexes))
    lane_band: dict[str, int] = {}
    for i in leaf_indexes:
        for ref in lanes[i].el:
            if bpmn_local(ref) == "flowNodeRef" and ref.text and ref.text.strip() not in lane_band:
                lane_band[ref.text.strip()] = band_of_lane[i]
    loose = [n for n in nodes.values() if n.id not in lane_band]
    if leaf_indexes and loose:
        band_count += 1
    for node in nodes.values():
        node.band = lane_band.get(node.id, band_count - 1)

    mark_back_edges(nodes, flows, effective)
    assign_columns(nodes, flows, effective)
    bands = assign_rows(block, effective, band_count)

    # Lane label text is drawn vertically in the label band, so a lane must be at least that tall.
    block.label_cols = (max(lane.depth for lane in lanes) + 1) if lanes else 0
    for i, lane in enumerate(lanes):
        needed = math.ceil(text_width(lane.el.get("name") or "", 12)) + 24
        leaves = [band_of_lane[j] for j in lane_leaves(lanes, i)]
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
            w = max(w, label_size(node.name)[0])
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
            lw, lh = label_size(node.name)
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

    route(block, bands, col_x, widths, effective)
    return block


def _place_boundaries(block: Block) -> None:
    """Put each host's boundary events side by side on its bottom edge, centres on the edge.

    One or two go near the corners, since bpmn-js draws the collapsed / call / multi-instance marker at the
    bottom centre. Their flows leave straight down, so the event whose target lies lowest goes leftmost:
    the L-shaped flows then nest instead of crossing. A label goes beside its event, on the outer side.
    """
    targets: dict[str, list[int]] = {}
    for flow in block.flows:
        if flow.target in block.nodes:
            targets.setdefault(flow.source, []).append(block.nodes[flow.target].rect.cy)
    by_host: dict[str, list[Node]] = {}
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
                lw, lh = label_size(node.name)
                if 0 < i < count - 1:  # between two neighbours: only below is free
                    node.label = Rect(cx - lw // 2, node.rect.y2 + 2, lw, lh)
                    continue
                x = node.rect.x - 2 - lw if count > 1 and i == 0 else node.rect.x2 + 2
                node.label = Rect(x, host.rect.y2 + 2, lw, lh)
