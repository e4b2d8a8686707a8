// Read-only view of a deployed diagram (法规条款对照): bpmn-js served from /static (never a CDN). The element
// named by ?element= gets the "highlight" marker and is scrolled into view.
(function () {
  const container = document.getElementById('diagram');
  if (!container) return;
  const viewer = new BpmnJS({ container });
  const elementId = container.dataset.element;

  async function show() {
    const response = await fetch(container.dataset.url, { credentials: 'same-origin' });
    const result = await viewer.importXML(await response.text());
    container.dataset.warnings = String(result.warnings.length);
    const canvas = viewer.get('canvas');
    const element = elementId ? viewer.get('elementRegistry').get(elementId) : null;
    canvas.zoom('fit-viewport');
    if (element) {
      canvas.addMarker(element, 'highlight');
      canvas.zoom(Math.max(canvas.zoom(), 1));
      canvas.scrollToElement(element); // switches to the element's plane (a collapsed subprocess) if needed
      const box = canvas.viewbox();
      canvas.viewbox({
        x: element.x + element.width / 2 - box.width / 2,
        y: element.y + element.height / 2 - box.height / 2,
        width: box.width,
        height: box.height,
      });
      container.dataset.highlighted = elementId;
    } else if (elementId) {
      document.getElementById('diagram-missing').hidden = false;
    }
    container.dataset.loaded = 'true';
  }

  show();
})();

// Read-only views of diagrams the page carries itself (data-xml): an upload refused at deploy, or the two
// sides of a version comparison. data-marks maps element ids to a marker class (has-problem, diff-added,
// diff-removed, diff-changed); data-loaded / data-marked tell tests the view is ready.
(function () {
  document.querySelectorAll('.diagram.view-only[data-xml]').forEach(async (container) => {
    const viewer = new BpmnJS({ container });
    try {
      await viewer.importXML(container.dataset.xml);
    } catch (err) {
      container.dataset.error = String(err && err.message ? err.message : err);
      container.classList.add('unreadable');
      container.textContent = container.dataset.unreadable || '无法显示此流程图';
      return;
    }
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    canvas.zoom('fit-viewport');
    const marks = JSON.parse(container.dataset.marks || '{}');
    let marked = 0;
    Object.entries(marks).forEach(([id, marker]) => {
      if (registry.get(id)) {
        canvas.addMarker(id, marker);
        marked += 1;
      }
    });
    container.dataset.marked = String(marked);
    container.dataset.loaded = 'true';
  });
})();
