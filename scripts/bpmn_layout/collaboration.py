"""A collaboration on one plane: its pools stacked top to bottom, each laid out like a process, then the
message flows between them, routed out of one pool, across the gap and into the other."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from scripts.bpmn_layout.drawing import Ids, add_edge, add_plane, add_shape, draw_block
from scripts.bpmn_layout.graph import ref_id
from scripts.bpmn_layout.model import (
    PLANE_ORIGIN,
    POOL_GAP,
    POOL_LABEL,
    Block,
    Node,
    Point,
    Rect,
    bpmn_local,
    label_size,
)
from scripts.bpmn_layout.placement import plan
from scripts.bpmn_layout.routing import crosses, cuts, overlap, segments, simplify, tracks


@dataclass
class _End:
    """One end of a message flow: a flow node inside a pool, or a whole (possibly black-box) pool."""

    rect: Rect
    pool: Rect
    node: Node | None = None
    block: Block | None = None
    dx: int = 0
    dy: int = 0


def draw_collaboration(
    root: etree._Element, ids: Ids, collaboration: etree._Element, processes: dict[str, etree._Element]
) -> None:
    """One plane with the collaboration's pools stacked top to bottom, then its message flows."""
    plane = add_plane(root, ids, collaboration.get("id", ""))
    pools: list[tuple[etree._Element, Block | None]] = []
    for participant in collaboration:
        if bpmn_local(participant) != "participant" or not participant.get("id"):
            continue
        process = processes.get(ref_id(participant.get("processRef")))
        pools.append((participant, plan(process, use_lanes=True) if process is not None else None))
    width = max([POOL_LABEL + b.width for _p, b in pools if b is not None] + [600])

    x, y = PLANE_ORIGIN
    placed: list[tuple[etree._Element, Block | None, Rect]] = []
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
                lines.extend(segments([(px + dx, py + dy) for px, py in seq.points]))

    messages: list[tuple[str, list[Point], Rect | None]] = []
    for flow in collaboration:
        if bpmn_local(flow) != "messageFlow" or not flow.get("id"):
            continue
        source, target = where.get(ref_id(flow.get("sourceRef"))), where.get(ref_id(flow.get("targetRef")))
        if source is None or target is None:
            continue
        points = _message_route(source, target, obstacles, lines)
        lines.extend(segments(points))
        # A message arriving at or leaving an event's bottom would run through its label: lift the label.
        for end, point in ((source, points[0]), (target, points[-1])):
            node = end.node
            if node is not None and node.label is not None and point[1] == end.rect.y2:
                node.label = Rect(node.label.x, node.rect.y - 5 - node.label.h, node.label.w, node.label.h)
        label = None
        name = (flow.get("name") or "").strip()
        if name:
            lw, lh = label_size(name)
            (ax, ay), (_bx, by) = points[0], points[1]
            label = Rect(ax + 4, ay + 4 if by > ay else ay - 4 - lh, lw, lh)
        messages.append((flow.get("id", ""), points, label))

    for participant, block, pool in placed:
        add_shape(plane, ids, participant.get("id", ""), pool, isHorizontal="true")
        if block is not None:
            # Stretch lanes to the shared pool width so every pool lines up.
            extra = width - POOL_LABEL - block.width
            for lane in block.lanes:
                lane.rect = Rect(lane.rect.x, lane.rect.y, lane.rect.w + extra, lane.rect.h)
            draw_block(plane, ids, block, pool.x + POOL_LABEL, pool.y)
    for flow_id, points, label in messages:
        add_edge(plane, ids, flow_id, points, label)


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
        1 for a, b in segments(points) for owner, r in obstacles if owner not in exempt and cuts(a, b, r)
    )
    shared = sum(overlap(a, b, c, d) for a, b in segments(points) for c, d in lines)
    crossings = sum(crosses(a, b, c, d) for a, b in segments(points) for c, d in lines)
    length = sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in segments(points))
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
        return simplify([a, (a[0], mid), (b[0], mid), b])
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
            for variant, extra in tracks(simplify(points)):
                cost = _route_cost(variant, obstacles, exempt, lines) + extra
                if best is None or cost < best[0]:
                    best = (cost, variant)
    assert best is not None
    return best[1]
