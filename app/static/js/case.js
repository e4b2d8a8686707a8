// Case page: show the case's diagrams with bpmn-js (served from /static, never a CDN), red = waiting now,
// green = done; a click on a call activity opens the called procedure's diagram.
(function () {
  const diagrams = window.CASE_DIAGRAMS || [];
  const container = document.getElementById('diagram');
  if (!container || !diagrams.length) return;
  const viewer = new BpmnJS({ container });
  const tabs = Array.from(document.querySelectorAll('#diagram-tabs a'));

  async function show(path) {
    const entry = diagrams.find((d) => d.path === path);
    tabs.forEach((t) => t.classList.toggle('active', t.dataset.path === path));
    const xml = await (await fetch(window.CASE_DIAGRAM_URL + path, { credentials: 'same-origin' })).text();
    const result = await viewer.importXML(xml);
    container.dataset.warnings = String(result.warnings.length);
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    for (const id of entry.done) { if (registry.get(id)) canvas.addMarker(id, 'done'); }
    for (const id of entry.current) { if (registry.get(id)) canvas.addMarker(id, 'current'); }
    canvas.zoom('fit-viewport');
    container.dataset.loaded = path;
  }

  tabs.forEach((tab) => tab.addEventListener('click', (event) => { event.preventDefault(); show(tab.dataset.path); }));
  viewer.on('element.click', (event) => {
    const bo = event.element.businessObject;
    if (bo && bo.$type === 'bpmn:CallActivity' && bo.calledElement) {
      const target = diagrams.find((d) => d.processes.includes(bo.calledElement));
      if (target) show(target.path);
    }
  });
  const first = diagrams.find((d) => d.active && !d.main) || diagrams[0];
  show(first.path);
})();
