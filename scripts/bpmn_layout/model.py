"""The layout's vocabulary: namespaces, the sizes and spacings of the drawing, rectangles, and the nodes,
flows, lanes and bands one process is planned with."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"

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


class LayoutError(ValueError):
    """The input is not a BPMN 2.0 definitions document this module can lay out."""


def bpmn_tag(tag: str) -> str:
    """The qualified name of a BPMN model element."""
    return f"{{{BPMN_NS}}}{tag}"


def bpmn_local(el: etree._Element) -> str | None:
    """The BPMN local name of an element, or None for comments, PIs and foreign elements."""
    if not isinstance(el.tag, str):
        return None
    qname = etree.QName(el)
    return qname.localname if qname.namespace == BPMN_NS else None


def text_width(text: str, size: float) -> float:
    """A rough rendered width: CJK and full-width characters are square, Latin ones about 0.6 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.6 for ch in text)


def label_size(text: str) -> tuple[int, int]:
    """Bounds for an external label the way bpmn-js wraps it (11 px font, 90 px wide)."""
    width = text_width(text, 11)
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
class Node:
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
class Flow:
    id: str
    source: str
    target: str
    name: str
    back: bool = False
    points: list[Point] = field(default_factory=list)
    label: Rect | None = None


@dataclass
class Lane:
    el: etree._Element
    depth: int
    leaves: list[int] = field(default_factory=list)  # band indexes this lane covers
    rect: Rect = field(default_factory=lambda: Rect(0, 0, 0, 0))


@dataclass
class Band:
    rows: int = 1
    y: int = 0
    h: int = 0
    top_pad: int = 0
    min_h: int = 0


@dataclass
class Block:
    """One process (or subprocess) laid out in its own coordinates, origin at the top left of its bands."""

    container: etree._Element
    nodes: dict[str, Node]
    boundaries: list[Node]
    flows: list[Flow]
    lanes: list[Lane]
    width: int = 0
    height: int = 0
    label_cols: int = 0
    channels: list[int] = field(default_factory=list)  # free horizontal lines between rows
    gaps: list[int] = field(default_factory=list)  # free vertical lines between columns
