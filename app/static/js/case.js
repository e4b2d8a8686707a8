// Case page: show the case's diagrams with bpmn-js (served from /static, never a CDN), red = waiting now,
// green = done; a click on a call activity opens the called procedure's diagram.
// Readable by default: lanes named `role@scope` show the role's name in the reader's language (the XML keeps
// the machine key, shown as the lane's tooltip), and a large diagram opens at a zoom where 12 px labels stay
// at least 11 px on screen, scrolled to the current step; zoom in / out / fit buttons, wheel zoom, drag pan.
(function () {
  const dataBlock = document.getElementById('case-diagram-data');
  const container = document.getElementById('diagram');
  if (!container || !dataBlock) return;
  const data = JSON.parse(dataBlock.textContent);
  const diagrams = data.diagrams || [];
  const names = data.names || {}; // {Chinese element name: the reader's}, empty on Chinese pages
  if (!diagrams.length) return;
  const viewer = new BpmnJS({ container });
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  const tabs = Array.from(document.querySelectorAll('#diagram-tabs a'));

  const LABEL_PX = 12; // bpmn-js draws task and lane labels at 12 px
  const MIN_LABEL_PX = 11; // smallest label size on screen we accept
  const READABLE_ZOOM = 0.95; // zoom used when fitting the whole diagram would go below that
  const MARGIN = 40; // diagram units kept free around the current step when scrolling to it
  const printing = window.matchMedia('print');

  // `office_staff/qualifier@upper` → 综治办工作人员 (qualifier)（上一级）; other names are left as they are.
  function laneLabel(name) {
    const match = /^\s*([a-z_]+)(?:\/([^@]+))?(?:@([a-z_]+))?\s*$/.exec(name || '');
    if (!match || !(match[1] in data.roles)) return null;
    const [, role, qualifier, scope] = match;
    let label = data.roles[role] + (qualifier ? ` (${qualifier})` : '');
    if (scope) {
      if (!(scope in data.scopes)) return null;
      label = data.scope_format.replace('{role}', label).replace('{scope}', data.scopes[scope]);
    }
    return label;
  }

  // Rename lanes in the parsed model before it is drawn (only the in-memory copy; the XML is untouched).
  const laneKeys = new Map();
  viewer.on('import.parse.complete', (event) => {
    laneKeys.clear();
    if (!event.elementsById) return;
    for (const element of Object.values(event.elementsById)) {
      if (element.$type !== 'bpmn:Lane') {
        if (element.name && element.name in names) element.name = names[element.name]; // English pages
        continue;
      }
      const label = laneLabel(element.name);
      if (label === null) continue;
      laneKeys.set(element.id, element.name);
      element.name = label;
    }
  });

  function markLanes() {
    for (const [id, key] of laneKeys) {
      const gfx = registry.getGraphics(id);
      if (!gfx) continue;
      canvas.addMarker(id, 'role-lane');
      gfx.dataset.laneKey = key;
      const title = document.createElementNS('http://www.w3.org/2000/svg', 'title');
      title.textContent = key;
      gfx.prepend(title);
    }
  }

  function recordZoom() {
    container.dataset.zoom = canvas.zoom().toFixed(3);
  }
  viewer.on('canvas.viewbox.changed', recordZoom);

  // The whole diagram if its labels stay readable; otherwise READABLE_ZOOM from the top left corner (where
  // the lane names are), scrolled only as far as needed to show the current step(s).
  function openingView(entry) {
    canvas.zoom('fit-viewport');
    if (printing.matches || canvas.zoom() * LABEL_PX >= MIN_LABEL_PX) return 'fit';
    canvas.zoom(READABLE_ZOOM);
    const box = canvas.viewbox();
    const root = canvas.getRootElement();
    const current = entry.current
      .map((id) => registry.get(id))
      .filter((el) => el && el.width !== undefined && canvas.findRoot(el) === root);
    let x = box.inner.x - 10;
    let y = box.inner.y - 10;
    if (current.length) {
      const left = Math.min(...current.map((el) => el.x));
      const top = Math.min(...current.map((el) => el.y));
      const right = Math.max(...current.map((el) => el.x + el.width));
      const bottom = Math.max(...current.map((el) => el.y + el.height));
      if (right + MARGIN > x + box.width) x = Math.max(x, (left + right) / 2 - box.width / 2);
      if (bottom + MARGIN > y + box.height) y = Math.max(y, (top + bottom) / 2 - box.height / 2);
    }
    canvas.viewbox({ x, y, width: box.width, height: box.height });
    return 'readable';
  }

  async function show(path) {
    const entry = diagrams.find((d) => d.path === path);
    tabs.forEach((t) => t.classList.toggle('active', t.dataset.path === path));
    delete container.dataset.loaded;
    const xml = await (await fetch(data.url + path, { credentials: 'same-origin' })).text();
    const result = await viewer.importXML(xml);
    container.dataset.warnings = String(result.warnings.length);
    markLanes();
    for (const id of entry.done) { if (registry.get(id)) canvas.addMarker(id, 'done'); }
    for (const id of entry.current) { if (registry.get(id)) canvas.addMarker(id, 'current'); }
    container.dataset.view = openingView(entry);
    recordZoom();
    container.dataset.loaded = path;
  }

  // On paper the whole diagram (the page's print style hides the buttons); back to the reader's view after.
  let screenView = null;
  window.addEventListener('beforeprint', () => {
    screenView = canvas.viewbox();
    canvas.resized();
    canvas.zoom('fit-viewport', 'auto');
  });
  window.addEventListener('afterprint', () => {
    canvas.resized();
    if (screenView) canvas.viewbox({ x: screenView.x, y: screenView.y, width: screenView.width, height: screenView.height });
    screenView = null;
  });

  document.querySelectorAll('#diagram-zoom [data-zoom]').forEach((button) => {
    button.addEventListener('click', () => {
      const action = button.dataset.zoom;
      if (action === 'fit') canvas.zoom('fit-viewport', 'auto');
      else viewer.get('zoomScroll').stepZoom(action === 'in' ? 1 : -1);
      recordZoom();
    });
  });
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
