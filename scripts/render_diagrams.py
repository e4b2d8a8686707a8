#!/usr/bin/env python3
"""Render BPMN diagrams to PNG with bpmn-js in headless Chromium, and write docs/accountability.md.

Usage: scripts/render_diagrams.py [--out docs/img] [--markdown [docs/accountability.md]] [--no-images]
                                  [FILES...]

FILES default to every bpmn/*.bpmn. Each file is loaded in bpmn-js's navigated viewer (from
app/static/node_modules, served with the diagram on a local http server on 127.0.0.1) and written as
<out>/<name>.png; a collapsed subprocess drawn on its own plane goes to <out>/<name>.<subprocess id>.png.
An import with warnings is still drawn, but the run then exits 1; one that fails draws nothing.
--markdown regenerates the page describing the accountability procedures from the BPMN itself (lanes,
documentation, spiffworkflow properties `article` and `dueDate`, timers).

Needs /usr/bin/chromium with a CJK font (apt-get install chromium fonts-wqy-microhei), the `playwright`
package (the `test` extra) and `npm ci --prefix app/static` (scripts/test does it).
"""

from __future__ import annotations

import argparse
import csv
import http.server
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workflows.regulation.roles import ROLES  # noqa: E402  (after the path set-up, like scripts/layout_bpmn.py

NODE_MODULES = ROOT / "app" / "static" / "node_modules"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH = 1800  # CSS pixels; diagrams wider than this are scaled down to fit, narrower ones are not enlarged,
MIN_SCALE = 0.8  # but never below this: a very wide diagram gets a wider picture, not unreadable labels
MARGINS = (24, 24, 40, 24)  # CSS pixels of white around the drawing: top, right, bottom (bpmn.io logo), left
BREADCRUMBS = 44  # more room on top of a subprocess plane for the breadcrumbs naming its parent
DEVICE_SCALE = 1.5  # PNG pixels per CSS pixel: 12 px labels at MIN_SCALE still get ~14 px in the PNG

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
ACCOUNTABILITY_ORDER = [
    "accountability_case",
    "accountability_intake",
    "accountability_notification",
    "accountability_interview",
    "accountability_listing",
    "accountability_veto",
    "accountability_referral",
    "accountability_key_townships",
]
# docs/annual-cycle.md is written by hand except its diagrams section, which this script regenerates.
ANNUAL_ORDER = [
    "annual_cycle",
    "annual_assessment",
    "annual_letter",
    "annual_report_filing",
    "inspection",
    "meeting",
]
DIAGRAMS_START, DIAGRAMS_END = "<!-- diagrams:start -->", "<!-- diagrams:end -->"
SCOPE_LABELS = {"own": "本单位", "upper": "上一级", "city": "市级", "body": "办理机关"}
CLOCK_CALL = re.compile(r"\b(now|today|months_after|working_days_after)\s*\(")
ASSIGNMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)\s*(.+?)\s*$")
TIMER_WORDS = {"timeDate": "timer at", "timeDuration": "timer after", "timeCycle": "timer every"}
LEADING_ARTICLE = re.compile(r"^((?:Art\.|Ch\.)[^:]*?):\s*(.*)$", re.S)

VIEWER_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>render</title>
<link rel="stylesheet" href="/node_modules/bpmn-js/dist/assets/diagram-js.css">
<link rel="stylesheet" href="/node_modules/bpmn-js/dist/assets/bpmn-js.css">
<style>html, body { margin: 0; background: #fff; } #canvas { width: 100vw; height: 100vh; }</style>
<script src="/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js"></script>
</head><body><div id="canvas"></div></body></html>
"""

# Import one diagram (fetched from the local server) into a fresh viewer; list its drawing planes.
IMPORT_JS = """async (url) => {
  if (window.viewer) { window.viewer.destroy(); }
  window.viewer = new BpmnJS({ container: '#canvas' });
  const xml = await (await fetch(url)).text();
  try {
    const { warnings } = await window.viewer.importXML(xml);
    const canvas = window.viewer.get('canvas');
    return {
      warnings: warnings.map((w) => w.message),
      main: canvas.getRootElement().id,
      roots: canvas.getRootElements().map((r) => ({ id: r.id, element: r.businessObject.id })),
    };
  } catch (err) {
    return { error: String(err.message || err), warnings: (err.warnings || []).map((w) => w.message) };
  }
}"""

# Show one plane and return the bounding box of its drawing (diagram coordinates).
SHOW_ROOT_JS = """(rootId) => {
  const canvas = window.viewer.get('canvas');
  canvas.setRootElement(window.viewer.get('elementRegistry').get(rootId));
  const inner = canvas.viewbox().inner;
  return { width: inner.width, height: inner.height };
}"""

# Fit the plane into the viewport, then widen the view box to leave margins (screen pixels: top, right,
# bottom, left) for the breadcrumbs of a subprocess plane and the bpmn.io logo in the bottom right corner.
FIT_JS = """([top, right, bottom, left]) => {
  const canvas = window.viewer.get('canvas');
  canvas.resized();
  canvas.zoom('fit-viewport', 'auto');
  const { inner, outer } = canvas.viewbox();
  const scale = Math.min(
    1, (outer.width - left - right) / inner.width, (outer.height - top - bottom) / inner.height);
  const spareX = outer.width / scale - inner.width - (left + right) / scale;
  const spareY = outer.height / scale - inner.height - (top + bottom) / scale;
  canvas.viewbox({
    x: inner.x - left / scale - spareX / 2,
    y: inner.y - top / scale - spareY / 2,
    width: outer.width / scale,
    height: outer.height / scale,
  });
  return canvas.zoom();
}"""


# ---------------------------------------------------------------------------------------------------------
# Rendering


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves /viewer.html, /node_modules/… from app/static/node_modules and /diagram/<n> (the n-th FILE)."""

    diagrams: ClassVar[list[Path]] = []

    def do_GET(self) -> None:
        path = unquote(urlsplit(self.path).path)
        if path == "/viewer.html":
            return self._send(VIEWER_HTML.encode(), "text/html; charset=utf-8")
        if path == "/favicon.ico":
            return self._send(b"", "image/x-icon")
        if path.startswith("/diagram/") and path[len("/diagram/") :].isdigit():
            index = int(path[len("/diagram/") :])
            if index < len(self.diagrams):
                return self._send(self.diagrams[index].read_bytes(), "application/xml; charset=utf-8")
        if path.startswith("/node_modules/"):
            return super().do_GET()
        self.send_error(404)
        return None

    def translate_path(self, path: str) -> str:
        rel = unquote(urlsplit(path).path)[len("/node_modules/") :]
        target = (NODE_MODULES / rel).resolve()
        return str(target) if target.is_relative_to(NODE_MODULES.resolve()) else str(NODE_MODULES / "..404")

    def _send(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextmanager
def serve(diagrams: list[Path]) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"diagrams": diagrams})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return True  # cannot tell; Chromium's fontconfig may still find one
    listing = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listing.stdout.strip())


def render(files: list[Path], out: Path) -> list[str]:
    """Render every file; return the problems found (an empty list means every PNG was written)."""
    from playwright.sync_api import sync_playwright

    if not (NODE_MODULES / "bpmn-js" / "dist").is_dir():
        return [f"{NODE_MODULES} has no bpmn-js: run npm ci --prefix app/static (or scripts/test)"]
    if not Path(CHROMIUM).exists():
        return ["Chromium not installed: apt-get install chromium fonts-wqy-microhei"]
    if not _has_cjk_font():
        return ["no Chinese font: labels would be drawn as empty boxes; apt-get install fonts-wqy-microhei"]
    out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with serve(files) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": WIDTH, "height": 800}, device_scale_factor=DEVICE_SCALE)
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        page.on("console", lambda msg: page_errors.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{base}/viewer.html")
        page.wait_for_function("typeof BpmnJS === 'function'")
        for index, path in enumerate(files):
            result = page.evaluate(IMPORT_JS, f"{base}/diagram/{index}")
            if result.get("error"):
                problems.append(f"{path}: import failed: {'; '.join([result['error'], *result['warnings']])}")
                continue
            if result["warnings"]:  # still drawn (the PNG is written), but the run fails
                problems.append(f"{path}: import warnings: {'; '.join(result['warnings'])}")
            for root in result["roots"]:
                name = path.stem if root["id"] == result["main"] else f"{path.stem}.{root['element']}"
                box = page.evaluate(SHOW_ROOT_JS, root["id"])
                if not box["width"]:
                    continue  # a plane with nothing drawn on it
                top, right, bottom, left = MARGINS
                if root["id"] != result["main"]:
                    top += BREADCRUMBS
                scale = max(MIN_SCALE, min(1.0, (WIDTH - left - right) / box["width"]))
                width = round(box["width"] * scale + left + right)
                height = round(box["height"] * scale + top + bottom)
                page.set_viewport_size({"width": width, "height": height})
                page.evaluate(FIT_JS, [top, right, bottom, left])
                target = out / f"{name}.png"
                page.screenshot(path=str(target))
                print(f"{_shown(target)}: {width}x{height}")
            if page_errors:
                problems.append(f"{path}: errors in the page: {'; '.join(page_errors)}")
                page_errors.clear()
        browser.close()
    return problems


# ---------------------------------------------------------------------------------------------------------
# Markdown, read from the BPMN itself


@dataclass
class Step:
    element_id: str
    name: str
    kind: str
    lane: str
    article: str
    obligation: str
    deadline: str


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _doc(el: etree._Element) -> str:
    node = el.find("bpmn:documentation", NS)
    return " ".join((node.text or "").split()) if node is not None else ""


def _props(el: etree._Element) -> dict[str, str]:
    path = "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"
    return {p.get("name"): p.get("value") or "" for p in el.iterfind(path, NS)}


def clock_assignments(tree: etree._ElementTree) -> dict[str, list[tuple[str, str]]]:
    """element id → [(variable, expression)] for script lines that start a clock or compute a deadline."""
    found: dict[str, list[tuple[str, str]]] = {}
    for task in tree.iterfind(".//bpmn:scriptTask", NS):
        script = task.findtext("bpmn:script", default="", namespaces=NS)
        for line in script.splitlines():
            match = ASSIGNMENT.match(line)
            if match and CLOCK_CALL.search(match.group(2)):
                found.setdefault(task.get("id"), []).append((match.group(1), match.group(2)))
    return found


def _lanes(tree: etree._ElementTree) -> dict[str, str]:
    lanes: dict[str, str] = {}
    for lane in tree.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = lane.get("name") or ""
    return lanes


def _lane_of(el: etree._Element, lanes: dict[str, str]) -> str:
    """An element inside a subprocess is in no lane of its own: it works in its subprocess's lane."""
    node: etree._Element | None = el
    while node is not None:
        if node.get("id") in lanes:
            return lanes[node.get("id")]
        node = node.getparent()
    return ""


def _lane_cell(lane: str) -> str:
    if not lane:
        return "— (engine)"
    role, _, scope = lane.partition("@")
    scope = scope or "own"
    label = ROLES.get(role, "?")
    return f"`{lane}`<br>{label}·{SCOPE_LABELS.get(scope, scope)}"


def _code(expr: str) -> str:
    return f"`{expr}`"


def steps_of(tree: etree._ElementTree, variables: dict[str, str]) -> list[Step]:
    """The rows of a diagram's table, in the order the file lists them (which follows the flow)."""
    lanes = _lanes(tree)
    clocks = clock_assignments(tree)
    steps: list[Step] = []
    for el in tree.iter(f"{{{NS['bpmn']}}}*"):
        kind = _local(el)
        timer = el.find("bpmn:timerEventDefinition", NS)
        doc = _doc(el)
        if not _is_step(kind, doc, timer is not None, el.get("id") in clocks):
            continue
        props = _props(el)
        article = props.get("article", "")
        obligation = doc
        match = LEADING_ARTICLE.match(doc)
        if match:
            article = article or match.group(1)
            obligation = match.group(2)
        deadline: list[str] = []
        if props.get("dueDate"):
            deadline.append(_explain(props["dueDate"], variables))
        if timer is not None:
            for child in timer:
                if isinstance(child.tag, str) and (child.text or "").strip():
                    what = TIMER_WORDS.get(_local(child), _local(child))
                    deadline.append(f"{what} {_explain(child.text, variables)}")
        for var, expr in clocks.get(el.get("id"), []):
            deadline.append(f"sets {_code(f'{var} = {expr}')}")
        label = {
            "userTask": "",
            "manualTask": "manual",
            "scriptTask": "script",
            "subProcess": "subprocess",
            "callActivity": f"call {el.get('calledElement')}",
            "boundaryEvent": "boundary timer",
            "startEvent": "start",
        }.get(kind, kind)
        steps.append(
            Step(
                element_id=el.get("id") or "",
                name=el.get("name") or "",
                kind=label,
                lane=_lane_cell(_lane_of(el, lanes)),
                article=article,
                obligation=obligation,
                deadline="<br>".join(deadline) or "—",
            )
        )
    return steps


def _is_step(kind: str, doc: str, has_timer: bool, sets_clock: bool) -> bool:
    """Rows: work done by people or subprocesses, scripts that cite an article or start a clock, timers."""
    if kind in ("userTask", "manualTask", "callActivity", "subProcess"):
        return True
    if kind == "scriptTask":
        return bool(doc) or sets_clock
    return kind.endswith("Event") and (has_timer or (kind == "startEvent" and bool(doc)))


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def _explain(expr: str, variables: dict[str, str]) -> str:
    """A deadline expression; a bare variable is followed by what computes it."""
    expr = expr.strip()
    if expr in variables:
        return f"{_code(expr)} = {_code(variables[expr])}"
    return _code(expr)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(steps: list[Step]) -> list[str]:
    lines = [
        "| step (element id / name) | lane (role@scope) | article / obligation | deadline |",
        "|---|---|---|---|",
    ]
    for s in steps:
        step = f"`{s.element_id}`<br>{s.name}" + (f" *({s.kind})*" if s.kind else "")
        article = s.obligation
        if s.article:
            article = f"**{s.article}** {s.obligation}".rstrip()
        lines.append(f"| {_cell(step)} | {_cell(s.lane)} | {_cell(article) or '—'} | {_cell(s.deadline)} |")
    return lines


def _obligations(path: Path) -> dict[str, tuple[str, str, str]]:
    if not path.is_file():
        print(f"note: {path} not found; the page is written without the obligation list", file=sys.stderr)
        return {}
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader(handle)
        return {row["id"]: (row["article"], row["actor"], row["obligation"]) for row in rows}


INTRO = """# Accountability procedures (Ch. 5): the diagrams

<!-- Generated by `scripts/render_diagrams.py --markdown` from bpmn/*.bpmn: do not edit by hand. -->

> **Generated** from the BPMN files by `scripts/render_diagrams.py --markdown` (images by the same script,
> rendered with bpmn-js in headless Chromium). Edit the diagrams, then run
> `.venv/bin/python scripts/render_diagrams.py --markdown` to regenerate this page and `docs/img/`.

Chapter 5 of the regulation (责任督导和追究, Art. 31–41) holds leaders to account when one of the nine
circumstances of Art. 31 occurs. The system runs one **case** per unit and matter. A case opens from a
written report (Art. 38; a report about a unit another office is competent for is forwarded there), an
unqualified annual assessment (Art. 31(8)), an inspection finding, or the city office's yearly choice of key
townships to list (Art. 35 para 2); the office one level above the unit verifies it and picks the level to
start at: **notification** 通报 (Art. 33, two months) → **interview** 约谈 (Art. 34, three months from the
interview) → **listing** 挂牌督办 (Art. 35, 36, six months) → **veto** 一票否决 (Art. 37).

**Escalation is a finding, never a clock tick.** When a period ends the check opens: the unit applies in
writing (整改期满后书面申请), the body that imposed the level inspects (the office for a notification or an
interview, the committee that listed for a listing — after the county's own check when the city listed a
township, Art. 36). Only a failed inspection after the period, or no application within the window the
office sets (10 PRC working days unless it sets another) and the office's finding, ends the level as not
rectified; the next level then starts with the office's verification and proposal and the committee's
approval. An inspection that fails before the period is over sends the unit back to rectifying. Every ending
is a recorded decision with its reason and says what is left of the unit's obligations (`case_concluded`:
`fulfilled`, `none`, `rectification_incomplete`, `vetoed`); refusing a veto leaves a listed unit listed,
with a new period, as only acceptance delists (Art. 35).

**At any stage** the office records new findings (the standing task 记录办理中发现的情况): aggravating
circumstances (Art. 40) or mitigating ones (Art. 41) go to the committee, whose recorded decision raises or
lowers the case's level (a signal interrupts the level in progress); leaders are referred one by one for
personal measures (引咎辞职, 责令辞职, 免职, 党纪处分, 政务处分, 移送司法机关; Art. 32, 39), each to the
organisation-personnel and/or discipline departments with cadre authority, with the outcome per leader.
Every decision, with who took it, when and on which facts, goes into the case's **working file** (工作档案,
Art. 32, O32.1): the `record(...)` calls in the diagrams' scripts.

**Lanes: `role@scope`.** A lane names who works the tasks in it: a role from
`workflows/regulation/roles.py` and, after `@`, a scope relative to the case's unit. `own` is the
unit itself, `upper` the level above it (相应的上一级, Art. 34, 35: a township's county, a county's or a
city-direct unit's city) and `city` the city, whatever the unit; `body` is the committee handling
the case's level — the upper level's, or the city's when the city lists a key township (the case's
`body_code`). The diagram is the same for every case; the lane `office_director@upper` lands in the
宛城区 office's inbox for a township of 宛城区 and in the city office's inbox for 宛城区 itself. Steps inside
a subprocess are worked by the subprocess's lane.

**Deadlines.** A user task's `dueDate` and a timer are sandboxed Python expressions over instants (ISO 8601,
`+08:00`), and every deadline is the end of its day (23:59:59). `months_after(t, n)` counts calendar months
from the day of `t` (15 March + 2 = 15 May; a day the target month lacks becomes its last day, 31 December + 2
= 28/29 February): the rectification periods of Art. 33–35. `working_days_after(t, n)` is the end of the
`n`-th PRC working day after the day of `t`, skipping weekends and public holidays and counting make-up
working days (调休): the 10 working days of Art. 34, 35. A year whose official schedule is not published yet
is computed from the statutory holidays, flagged provisional, and recomputed when `flask calendar load`
brings the State Council's notice. A `dueDate` is computed when its task opens (so `now()` there means that
moment); the inbox reminds from 3 working days before it (`GOVERNANCE_REMINDER_WORKING_DAYS`) and flags it
overdue after. The clocks the expressions start from are set by script tasks:
"""


def markdown(files: list[Path], obligations_csv: Path, img_dir: str = "img") -> str:
    trees = {path: etree.parse(str(path)) for path in files}
    order = {name: i for i, name in enumerate(ACCOUNTABILITY_ORDER)}
    files = sorted(files, key=lambda p: (order.get(p.stem, len(order)), p.stem))

    # Clock variables across all files (level_started_at is set by the case, used by the levels).
    clock_rows: list[str] = []
    for path in files:
        tree = trees[path]
        for element_id, assignments in clock_assignments(tree).items():
            el = tree.find(f".//*[@id='{element_id}']")
            name = el.get("name") if el is not None else ""
            for var, expr in assignments:
                clock_rows.append(f"| `{var}` | `{expr}` | `{path.stem}` / `{element_id}` {name} |")

    lines = [INTRO.rstrip(), "", "| variable | set to | where |", "|---|---|---|", *clock_rows, ""]
    lines.append("Diagrams: " + ", ".join(f"[{p.stem}](#{p.stem})" for p in files) + ".")
    cited: set[str] = set()
    lines += diagram_sections(files, trees, img_dir, cited)
    return _with_obligations(lines, cited, obligations_csv)


def diagram_sections(
    files: list[Path], trees: dict[Path, etree._ElementTree], img_dir: str, cited: set[str], level: str = "##"
) -> list[str]:
    """One section per diagram: its documentation, its images (and its collapsed subprocesses'), its steps."""
    lines: list[str] = []
    for path in files:
        tree = trees[path]
        process = tree.find(".//bpmn:process", NS)
        if process is None:
            continue
        local_vars = {var: expr for pairs in clock_assignments(tree).values() for var, expr in pairs}
        doc = _doc(process)
        cited.update(re.findall(r"O\d+\.\d+", etree.tostring(tree, encoding="unicode")))
        lines += ["", f"{level} {path.stem}", "", f"**{process.get('name')}** — `bpmn/{path.name}`", ""]
        if doc:
            lines += [doc, ""]
        lines.append(f"![{process.get('name')}]({img_dir}/{path.stem}.png)")
        for sub in tree.iterfind(".//bpmn:subProcess", NS):
            if any(plane.get("bpmnElement") == sub.get("id") for plane in tree.iter("{*}BPMNPlane")):
                lines += [
                    "",
                    f"Inside `{sub.get('id')}` {sub.get('name')} (collapsed subprocess, its own plane):",
                    "",
                    f"![{sub.get('name')}]({img_dir}/{path.stem}.{sub.get('id')}.png)",
                ]
        lines += ["", *_table(steps_of(tree, local_vars))]
    return lines


def _with_obligations(lines: list[str], cited: set[str], obligations_csv: Path) -> str:
    known = _obligations(obligations_csv)
    listed = [o for o in sorted(cited, key=lambda o: tuple(int(n) for n in o[1:].split("."))) if o in known]
    if listed:
        lines += [
            "",
            "## Obligations cited",
            "",
            "From `shared/obligations.csv` (DOMAIN.md): the obligation ids the diagrams above cite.",
            "",
            "| id | article | who | obligation |",
            "|---|---|---|---|",
        ]
        lines += [f"| {o} | Art. {known[o][0]} | {known[o][1]} | {_cell(known[o][2])} |" for o in listed]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="BPMN files (default: bpmn/*.bpmn)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="PNG folder (docs/img)")
    parser.add_argument(
        "--markdown",
        nargs="?",
        type=Path,
        const=ROOT / "docs" / "accountability.md",
        help="also write the procedures page (default docs/accountability.md)",
    )
    parser.add_argument("--no-images", action="store_true", help="only write the markdown page")
    parser.add_argument(
        "--obligations",
        type=Path,
        default=ROOT / "workflows" / "regulation" / "obligations.csv",
        help=argparse.SUPPRESS,
    )
    args = parser.parse_args(argv)
    if args.markdown and args.markdown.suffix == ".bpmn":  # `--markdown a.bpmn` took a diagram as the page
        parser.error(f"--markdown would overwrite {args.markdown}: give the page's path, or put files first")
    files = [p.resolve() for p in args.files] or sorted((ROOT / "bpmn").glob("*.bpmn"))
    if not files:
        print("no BPMN files", file=sys.stderr)
        return 2
    problems: list[str] = []
    if not args.no_images:
        problems = render(files, args.out.resolve())
    if args.markdown:
        target = args.markdown.resolve()
        try:
            img_dir = args.out.resolve().relative_to(target.parent).as_posix()
        except ValueError:
            img_dir = args.out.resolve().as_posix()
        # The procedures page covers Ch. 5 only; the annual cycle has its own page (docs/annual-cycle.md).
        chapter5 = [f for f in files if f.name.startswith("accountability_")]
        target.write_text(markdown(chapter5, args.obligations, img_dir), encoding="utf-8")
        print(f"{_shown(target)}: written")
        annual_page = target.parent / "annual-cycle.md"
        annual = [f for f in files if f.stem in ANNUAL_ORDER]
        if annual and annual_page.exists():
            annual.sort(key=lambda p: ANNUAL_ORDER.index(p.stem))
            trees = {path: etree.parse(str(path)) for path in annual}
            body = "\n".join(diagram_sections(annual, trees, img_dir, set(), level="###")).strip("\n")
            page = annual_page.read_text(encoding="utf-8")
            start, end = page.index(DIAGRAMS_START) + len(DIAGRAMS_START), page.index(DIAGRAMS_END)
            annual_page.write_text(page[:start] + "\n" + body + "\n" + page[end:], encoding="utf-8")
            print(f"{_shown(annual_page)}: diagrams section written")
    for problem in problems:
        print(f"!! {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
