// Form editor: live preview rendered by the server from the JSON Schema (the same renderer users see),
// with validation messages; deploy creates a new version.
(function () {
  const cfg = JSON.parse(document.getElementById('form-editor-data').textContent); // JSON, never run (CSP)
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  const text = document.getElementById('form-text');
  const preview = document.getElementById('preview');
  const list = document.getElementById('problems');
  function problems(items) {
    list.innerHTML = '';
    for (const p of items) { const li = document.createElement('li'); li.textContent = `${p.line ? 'line ' + p.line + ': ' : ''}${p.message}`; list.appendChild(li); }
  }
  let timer = null;
  async function refresh() {
    const response = await fetch(cfg.previewUrl, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf }, body: JSON.stringify({ text: text.value }) });
    const body = await response.json();
    problems(body.problems);
    if (body.html) preview.innerHTML = body.html;
    preview.dataset.valid = body.problems.length ? 'no' : 'yes';
  }
  preview.addEventListener('submit', (event) => event.preventDefault()); // a preview never submits
  text.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(refresh, 300); });
  refresh();
  document.getElementById('deploy-form').addEventListener('click', async () => {
    const response = await fetch(cfg.deployUrl, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify({ base: cfg.base, files: { [cfg.path]: text.value }, comment: document.getElementById('deploy-comment').value }) });
    const body = await response.json();
    document.getElementById('deploy-result').textContent = response.ok ? 'v' + body.version : body.message.split('\n')[0];
    if (!response.ok) problems(body.problems || []);
  });
})();
