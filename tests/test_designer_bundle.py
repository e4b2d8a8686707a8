"""The process designer bundle (app/static/designer/dist/designer.js, built from app/static/designer/src by
scripts/lib/assets.sh) in Chromium: bpmn-js modeller, properties panel and the "治理 / Governance" group.

The page is built here from the app's own /static assets, as the modeller page links them. It imports
bpmn/accountability_interview.bpmn, reads and edits the governance fields by clicking and typing as a
designer would, exports, and draws a server problem on the diagram. A second test round-trips every
diagram in bpmn/ through import and export unchanged (spiffworkflow extensions, loop references).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from playwright.sync_api import expect

from workflows.regulation.roles import ROLES, SCOPES

pytest_plugins = ["tests.browser"]  # fixtures browser and live_server (harmless if conftest has it too)

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "app/static/designer/dist/designer.js"
DIAGRAM = ROOT / "bpmn/accountability_interview.bpmn"
FORMS = sorted(p.name for p in (ROOT / "forms").glob("*.json"))
ROLE_OPTIONS = [{"id": role, "label": label} for role, label in sorted(ROLES.items())]

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
NEW_DUE = "working_days_after(decided_at, 15)"

# The styles the modeller page links (the bundle carries none).
STYLES = [
    "node_modules/bpmn-js/dist/assets/diagram-js.css",
    "node_modules/bpmn-js/dist/assets/bpmn-js.css",
    "node_modules/bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css",
    "node_modules/@bpmn-io/properties-panel/dist/assets/properties-panel.css",
]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
{links}
<style>
  body {{ margin: 0; }}
  #canvas {{ position: absolute; left: 0; top: 0; width: 1000px; height: 700px; }}
  #panel {{ position: absolute; left: 1000px; top: 0; width: 400px; height: 700px; overflow: auto; }}
  .has-problem:not(.djs-connection) .djs-visual > :nth-child(1) {{ stroke: #c62828 !important; }}
  .problem-overlay {{ background: #ffebee; color: #c62828; font-size: 12px; width: 200px; }}
</style>
<script src="{base}/static/designer/dist/designer.js"></script>
</head><body><div id="canvas"></div><div id="panel"></div></body></html>"""

CREATE = """async ({ xml, forms, roles, scopes }) => {
  window.changes = 0;
  window.designer = await GovernanceDesigner.create({
    container: '#canvas', panel: '#panel', xml, forms, roles, scopes,
  });
  window.designer.onChange(() => { window.changes += 1; });
  return window.designer.warnings.map((w) => w.message);
}"""

# For the round trip: one designer (created empty: a new diagram), each file imported into it and exported.
ROUND_TRIP = """async ({ xml, forms, roles, scopes }) => {
  window.designer = window.designer || await GovernanceDesigner.create({
    container: '#canvas', panel: '#panel', forms, roles, scopes,
  });
  const warnings = await window.designer.importXML(xml);
  return { warnings: warnings.map((w) => w.message), xml: await window.designer.getXML() };
}"""


@pytest.fixture(scope="module")
def bundle() -> Path:
    """Build the bundle when it is missing or stale, exactly as scripts/run and scripts/test do."""
    step = subprocess.run(
        ["bash", "-c", "source scripts/lib/assets.sh && ensure_designer_bundle"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert step.returncode == 0, f"designer bundle build failed:\n{step.stdout}{step.stderr}"
    assert BUNDLE.exists()
    return BUNDLE


@pytest.fixture
def page(browser: Any, live_server: str, bundle: Path) -> Iterator[Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 760})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    links = "\n".join(f'<link rel="stylesheet" href="{live_server}/static/{css}">' for css in STYLES)
    page.set_content(PAGE.format(base=live_server, links=links))
    page.wait_for_function("typeof GovernanceDesigner === 'object'", timeout=5000)
    yield page
    page.close()
    assert not errors, errors


def args(xml: str) -> dict[str, Any]:
    return {"xml": xml, "forms": FORMS, "roles": ROLE_OPTIONS, "scopes": list(SCOPES)}


def canonical(xml: bytes | str) -> tuple[list[Any], dict[str, Any]]:
    """What an export must keep: the process model in document order (elements, attributes, trimmed text),
    and the layout per diagram element. bpmn-js writes the plane's shapes in its drawing order (lanes move)
    and spells out exclusive gateways' default ``isMarkerVisible="true"``; renaming a lane or task adds an
    empty ``<bpmndi:BPMNLabel/>`` (as any rename in bpmn-js does). None of these changes the diagram."""
    data = xml.encode() if isinstance(xml, str) else xml
    root = etree.fromstring(data, etree.XMLParser(remove_blank_text=True))

    def flat(node: Any) -> list[Any]:
        return [
            (
                el.tag,
                sorted((k, v) for k, v in el.attrib.items() if k != "isMarkerVisible"),
                (el.text or "").strip(),
            )
            for el in node.iter()
            if isinstance(el.tag, str) and not (el.tag == f"{BPMNDI}BPMNLabel" and len(el) == 0)
        ]

    model: list[Any] = [(root.tag, sorted(root.attrib.items()), "")]
    layout: dict[str, Any] = {}
    for child in root:
        if child.tag == f"{BPMNDI}BPMNDiagram":
            for plane in child:
                layout[plane.get("id")] = (child.get("id"), plane.get("bpmnElement"))
                for shape in plane:
                    layout[shape.get("id")] = flat(shape)
        elif isinstance(child.tag, str):
            model.extend(flat(child))
    return model, layout


def entry(page: Any, entry_id: str, control: str = "input") -> Any:
    return page.locator(f'#panel [data-entry-id="{entry_id}"] {control}')


def test_governance_group_edits_and_problems(page: Any) -> None:
    original = DIAGRAM.read_text(encoding="utf-8")
    assert page.evaluate(CREATE, args(original)) == []

    # The lane: click its header band (its middle is covered by the shapes in it).
    lane = page.locator('[data-element-id="Lane_interview_unit"]')
    box = lane.bounding_box()
    lane.click(position={"x": 5, "y": box["height"] / 2})
    group = page.locator('#panel [data-group-id="group-governance"]')
    assert group.locator(".bio-properties-panel-group-header-title").inner_text().strip() == "治理"
    assert entry(page, "governance-lane-role", "select").input_value() == "unit_principal_leader"
    assert entry(page, "governance-lane-scope", "select").input_value() == "own"
    # The scope select rewrites the name; an unknown role typed into the name is refused, not written.
    entry(page, "governance-lane-scope", "select").select_option("upper")
    expect(entry(page, "governance-lane-name")).to_have_value("unit_principal_leader@upper")
    entry(page, "governance-lane-scope", "select").select_option("own")
    expect(entry(page, "governance-lane-name")).to_have_value("unit_principal_leader@own")
    entry(page, "governance-lane-name").fill("nobody@own")
    entry(page, "governance-lane-name").press("Tab")  # leaving a field commits it (else after 600 ms)
    error = page.locator('#panel [data-entry-id="governance-lane-name"] .bio-properties-panel-error')
    expect(error).to_contain_text("nobody")
    lane_name = "designer.modeler.get('elementRegistry').get('Lane_interview_unit').businessObject.name"
    assert page.evaluate(lane_name) == "unit_principal_leader@own"

    # The timer on the subprocess: its expression, as the engine evaluates it.
    page.locator('[data-element-id="Timer_interview_period_end"]').click()
    expect(entry(page, "governance-timer-expression")).to_have_value("rectify_due")
    assert entry(page, "governance-timer-kind", "select").input_value() == "timeDate"

    # The user task sits in the collapsed subprocess: open it as a user would, then click the task.
    page.locator('[data-container-id="rectification_interview"] .bjs-drilldown').click()
    page.locator('[data-element-id="report_measures_interview"]').click()
    expect(entry(page, "governance-form", "select")).to_have_value("measures_report.json")
    assert entry(page, "governance-dueDate").input_value() == "measures_due"
    assert entry(page, "governance-article").input_value() == "Art. 34 (O34.2)"
    assert entry(page, "governance-roleQualifier").input_value() == ""

    changes = page.evaluate("window.changes")
    entry(page, "governance-dueDate").fill(NEW_DUE)
    entry(page, "governance-dueDate").press("Tab")
    page.wait_for_function(f"window.changes > {changes}", timeout=3000)
    exported = page.evaluate("designer.getXML()")

    # Exactly one value changed; everything else (spiffworkflow properties, scripts, DI) as read.
    tree = etree.fromstring(exported.encode())
    task = tree.find(f".//{BPMN}userTask[@id='report_measures_interview']")
    props = {p.get("name"): p.get("value") for p in task.iter(f"{SPIFF}property")}
    assert props == {
        "formJsonSchemaFilename": "measures_report.json",
        "article": "Art. 34 (O34.2)",
        "dueDate": NEW_DUE,
    }
    expected = etree.fromstring(original.encode())
    due = f".//{BPMN}userTask[@id='report_measures_interview']//{SPIFF}property[@name='dueDate']"
    expected.find(due).set("value", NEW_DUE)
    assert canonical(exported) == canonical(etree.tostring(expected))

    # Server problems: on the task; on the timer's definition (validation names the nearest id, which has
    # no shape: drawn on its event); on an id not in the diagram (skipped). Marker, overlay, first selected.
    file = "bpmn/accountability_interview.bpmn"
    shown = page.evaluate(
        "(problems) => designer.showProblems(problems)",
        [
            {
                "file": file,
                "line": 173,
                "element": "report_measures_interview",
                "message": "due date refused",
            },
            {
                "file": file,
                "line": 245,
                "element": "TimerDef_Timer_interview_period_end",
                "message": "timer refused",
            },
            {"file": file, "line": 1, "element": "Nope", "message": "not in this diagram"},
        ],
    )
    assert shown == 2
    # The task's subprocess plane is now shown (the timer's plane is detached, its marker kept).
    marked = page.locator('[data-element-id="report_measures_interview"].has-problem')
    assert marked.count() == 1
    has_marker = "(id) => designer.modeler.get('canvas').hasMarker(id, 'has-problem')"
    assert page.evaluate(has_marker, "Timer_interview_period_end")
    overlay = page.locator(
        '.djs-overlays[data-container-id="report_measures_interview"] .djs-overlay-governance-problem'
    )
    assert overlay.inner_text() == "due date refused"
    assert overlay.is_visible()
    selected = "designer.modeler.get('selection').get().map((e) => e.id)"
    assert page.evaluate(selected) == ["report_measures_interview"]
    page.evaluate("designer.clearProblems()")
    assert marked.count() == 0
    assert not page.evaluate(has_marker, "Timer_interview_period_end")
    assert page.locator(".djs-overlay-governance-problem").count() == 0


def test_every_diagram_round_trips_unchanged(page: Any) -> None:
    diagrams = sorted((ROOT / "bpmn").glob("*.bpmn"))
    assert diagrams
    changed = {}
    for path in diagrams:
        original = path.read_text(encoding="utf-8")
        result = page.evaluate(ROUND_TRIP, args(original))
        if result["warnings"] or canonical(result["xml"]) != canonical(original):
            changed[path.name] = result["warnings"] or "export differs from the file"
    assert not changed, changed
