// Form editor: live preview rendered by the server from the JSON Schema (the same renderer users see),
// with every validation message (in the designers' Chinese, naming the field); deploy creates a new version.
// While the text has problems the last good preview stays, marked stale, so nobody takes it for the text.
(function () {
  const cfg = JSON.parse(document.getElementById('form-editor-data').textContent); // JSON, never run (CSP)
  const csrf = document.querySelector('meta[name=csrf-token]').content;
  const text = document.getElementById('form-text');
  const preview = document.getElementById('preview');
  const staleNote = document.getElementById('preview-stale');
  const baseTag = document.getElementById('base-version');
  const result = document.getElementById('deploy-result');
  const list = document.getElementById('problems');
  function problems(items) {
    list.innerHTML = '';
    for (const p of items) {
      const li = document.createElement('li');
      li.textContent = `${p.line ? '第 ' + p.line + ' 行：' : ''}${p.message}`;
      list.appendChild(li);
    }
    list.dataset.count = String(items.length);
  }
  function markStale(stale) {
    preview.classList.toggle('stale', stale);
    preview.dataset.stale = stale ? 'yes' : 'no';
    if (staleNote) staleNote.hidden = !stale;
  }
  let timer = null;
  async function refresh() {
    const response = await fetch(cfg.previewUrl, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf }, body: JSON.stringify({ text: text.value }) });
    const body = await response.json();
    problems(body.problems);
    if (body.html) preview.innerHTML = body.html;
    markStale(body.problems.length > 0 && preview.childElementCount > 0);
    preview.dataset.valid = body.problems.length ? 'no' : 'yes';
  }
  preview.addEventListener('submit', (event) => event.preventDefault()); // a preview never submits
  text.addEventListener('input', () => {
    markStale(preview.childElementCount > 0); // stale until the server has rendered the new text
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  refresh();
  document.getElementById('deploy-form').addEventListener('click', async () => {
    const response = await fetch(cfg.deployUrl, { method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
      body: JSON.stringify({ base: cfg.base, files: { [cfg.path]: text.value }, comment: document.getElementById('deploy-comment').value }) });
    const body = await response.json();
    result.textContent = body.message || '';
    if (!response.ok) { problems(body.problems || []); return; }
    result.dataset.version = String(body.version);
    result.dataset.unchanged = body.unchanged ? 'true' : 'false';
    cfg.base = body.version; // the next deploy builds on what is now deployed
    if (baseTag) baseTag.textContent = `${baseTag.dataset.label} v${body.version}`;
  });
})();
