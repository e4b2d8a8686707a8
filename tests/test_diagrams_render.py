"""Every diagram in bpmn/ renders in bpmn-js's navigated viewer, loaded from the app's own /static.

The browser runs Debian's Chromium (tests/browser.py); bpmn-js comes from app/static/node_modules (npm ci,
done by scripts/test). One page is reused for all files, so the whole test takes about two seconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

pytest_plugins = ["tests.browser"]  # fixtures browser and live_server (harmless if conftest has it too)

ROOT = Path(__file__).resolve().parent.parent
DIAGRAMS = sorted((ROOT / "bpmn").glob("*.bpmn"))
USER_TASK = "{http://www.omg.org/spec/BPMN/20100524/MODEL}userTask"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="{base}/static/node_modules/bpmn-js/dist/assets/diagram-js.css">
<link rel="stylesheet" href="{base}/static/node_modules/bpmn-js/dist/assets/bpmn-js.css">
<script src="{base}/static/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js"></script>
</head><body><div id="canvas" style="width: 1600px; height: 900px"></div></body></html>"""

# Import one diagram into the page's single viewer; for each user task report the text drawn in its shape
# (absent when no visible SVG element carries its id). A collapsed subprocess draws its tasks on a plane of
# their own, so every plane is shown in turn.
RENDER = """async ({ xml, taskIds }) => {
  window.viewer = window.viewer || new BpmnJS({ container: '#canvas' });
  let warnings;
  try {
    ({ warnings } = await window.viewer.importXML(xml));
  } catch (err) {
    return { error: String(err.message || err), warnings: (err.warnings || []).map((w) => w.message) };
  }
  const canvas = window.viewer.get('canvas');
  const texts = {};
  for (const root of canvas.getRootElements()) {
    canvas.setRootElement(root);
    for (const id of taskIds) {
      const gfx = document.querySelector(`#canvas svg [data-element-id="${id}"]`);
      if (gfx && gfx.getBoundingClientRect().width > 0) {
        const text = gfx.querySelector('text');
        texts[id] = text ? text.textContent : '';
      }
    }
  }
  return { warnings: warnings.map((w) => w.message), texts };
}"""


def user_tasks(path: Path) -> dict[str, str]:
    return {el.get("id"): el.get("name") or "" for el in etree.parse(str(path)).iter(USER_TASK)}


def squash(text: str | None) -> str | None:
    return None if text is None else "".join(text.split())


def test_bpmn_js_is_served_from_static(live_app: Any) -> None:
    """No browser needed: the app's default static folder serves app/static/node_modules."""
    response = live_app.test_client().get(
        "/static/node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js"
    )
    try:
        assert response.status_code == 200, "no bpmn-js: run npm ci --prefix app/static (scripts/test does)"
        assert b"BpmnJS" in response.data
    finally:
        response.close()


def test_every_diagram_renders_from_static(browser: Any, live_server: str) -> None:
    assert DIAGRAMS, "no diagrams in bpmn/"
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.set_content(PAGE.format(base=live_server))
        page.wait_for_function("typeof BpmnJS === 'function'", timeout=5000)
        problems: dict[str, Any] = {}
        chinese_names = 0
        for path in DIAGRAMS:
            tasks = user_tasks(path)
            result = page.evaluate(RENDER, {"xml": path.read_text(encoding="utf-8"), "taskIds": list(tasks)})
            if result.get("error") or result["warnings"]:
                problems[path.name] = result.get("error") or result["warnings"]
                continue
            drawn = {task_id: squash(result["texts"].get(task_id)) for task_id in tasks}
            missing = [task_id for task_id, text in drawn.items() if text is None]
            wrong = {i: (drawn[i], squash(name)) for i, name in tasks.items() if i not in missing}
            wrong = {i: pair for i, pair in wrong.items() if pair[0] != pair[1]}
            if missing or wrong:
                problems[path.name] = {"no SVG element": missing, "label drawn ≠ name": wrong}
            chinese_names += sum(1 for name in tasks.values() if any("\u4e00" <= c <= "\u9fff" for c in name))
        assert not problems, problems
        assert chinese_names, "no user task with a Chinese name was drawn"
        assert not errors, errors
    finally:
        page.close()
