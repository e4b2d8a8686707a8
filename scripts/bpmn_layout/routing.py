"""Routing sequence flows: orthogonal waypoints, each route picked from a few candidates by how many shapes
and labels it would cut through and how it sits with the other flows, so back edges run in the free space
between rows instead of through tasks; then a place for each flow's name. The segment helpers here serve
message flows too (``collaboration``)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from scripts.bpmn_layout.model import (
    COL_GAP,
    CONTENT_PAD,
    ROW_PITCH,
    TRACK,
    Band,
    Block,
    Flow,
    Point,
    Rect,
    label_size,
)


def segments(points: list[Point]) -> Iterator[tuple[Point, Point]]:
    return pairwise(points)


def cuts(a: Point, b: Point, r: Rect) -> bool:
    """Whether an axis-parallel segment runs through the inside of a rectangle."""
    if a[1] == b[1]:
        lo, hi = sorted((a[0], b[0]))
        return r.y < a[1] < r.y2 and min(hi, r.x2) - max(lo, r.x) > 0
    lo, hi = sorted((a[1], b[1]))
    return r.x < a[0] < r.x2 and min(hi, r.y2) - max(lo, r.y) > 0


def overlap(a: Point, b: Point, c: Point, d: Point) -> int:
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


def crosses(a: Point, b: Point, c: Point, d: Point) -> bool:
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
            for a, b in segments(points)
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


def simplify(points: list[Point]) -> list[Point]:
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


def route(
    block: Block, bands: list[Band], col_x: list[int], widths: list[int], effective: dict[str, str]
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

    def static_cost(flow: Flow, points: list[Point], preferred_gap: int, gap: int | None) -> float:
        """What a route costs on its own: shapes and labels it cuts, bends, length, distance from the
        preferred turning gap."""
        exempt = {flow.source, flow.target}
        hits = sum(
            1
            for a, b in segments(points)
            for owner, rect in obstacles
            if owner not in exempt and cuts(a, b, rect)
        )
        length = sum(abs(a[0] - b[0]) + abs(a[1] - b[1]) for a, b in segments(points))
        detour = abs(gap - preferred_gap) * 5 if gap is not None else 0
        return hits * 1000 + (len(points) - 2) * 25 + length * 0.1 + detour

    def candidates_for(flow: Flow) -> list[tuple[list[Point], int | None]]:
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
        return [(simplify(p), g) for p, g in candidates]

    options: dict[str, list[tuple[float, list[Point]]]] = {}
    for flow in block.flows:
        cs, ct = by_id[effective[flow.source]].col, by_id[flow.target].col
        # A split fans out right after its source; anything else turns just before its target.
        prefer = cs + 1 if outgoing_count.get(flow.source, 0) > 1 else ct
        scored: list[tuple[float, list[Point]]] = []
        for points, gap in candidates_for(flow):
            for variant, extra in tracks(points):
                scored.append((static_cost(flow, variant, prefer, gap) + extra, variant))
        # Only near-best routes compete on how they sit with the other flows; this keeps routing fast.
        best = min(cost for cost, _p in scored)
        options[flow.id] = [(cost, p) for cost, p in scored if cost <= best + 300]

    def choose(flow: Flow, others: list[Flow]) -> None:
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
    routed: list[Flow] = []
    for flow in [f for f in block.flows if not f.back] + [f for f in block.flows if f.back]:
        choose(flow, routed)
        routed.append(flow)
    for _round in range(2):
        for flow in block.flows:
            choose(flow, [f for f in block.flows if f is not flow])

    for flow in block.flows:
        if flow.name:
            flow.label = _flow_label(flow, block.flows)


def tracks(points: list[Point]) -> Iterator[tuple[list[Point], int]]:
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


def _flow_label(flow: Flow, flows: list[Flow]) -> Rect:
    """Put a flow's name beside the first of its segments that no sibling flow shares."""
    w, h = label_size(flow.name)
    siblings = [f.points for f in flows if f is not flow and f.source == flow.source]
    segment = next(
        (
            (a, b)
            for a, b in segments(flow.points)
            if not any(overlap(a, b, c, d) for other in siblings for c, d in segments(other))
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
