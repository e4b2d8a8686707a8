// Modeller page: bpmn-js + the governance properties (bundle: /static/designer/dist/designer.js); deploy
// sends the edited file to the server, whose full validation answers with problems shown on the elements.
(async function () {
  const cfg = JSON.parse(document.getElementById('designer-data').textContent); // JSON, never run (CSP)
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  const designer = await window.GovernanceDesigner.create({
    container: document.getElementById('canvas'), panel: document.getElementById('panel'), xml: cfg.xml,
    forms: cfg.forms, roles: cfg.roles, scopes: cfg.scopes,
  });
  window.designer = designer;
  const list = document.getElementById('problems');
  const result = document.getElementById('deploy-result');
  document.getElementById('deploy').addEventListener('click', async () => {
    designer.clearProblems();
    list.innerHTML = '';
    result.textContent = '…';
    const xml = await designer.getXML();
    const response = await fetch(cfg.deployUrl, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify({ base: cfg.base, files: { [cfg.path]: xml }, comment: document.getElementById('deploy-comment').value }),
    });
    const body = await response.json();
    if (response.ok) {
      result.textContent = 'v' + body.version;
      result.dataset.version = body.version;
      cfg.base = body.version;
      return;
    }
    result.textContent = body.message ? body.message.split('\n')[0] : String(response.status);
    for (const p of body.problems || []) {
      const li = document.createElement('li');
      li.textContent = `${p.file}${p.line ? ':' + p.line : ''}${p.element ? ' [' + p.element + ']' : ''} ${p.message}`;
      li.dataset.element = p.element || '';
      list.appendChild(li);
    }
    designer.showProblems((body.problems || []).filter((p) => p.file === cfg.path));
  });
})();
