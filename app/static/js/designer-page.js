// Modeller page: bpmn-js + the governance properties (bundle: /static/designer/dist/designer.js); deploy
// sends the edited file to the server, whose full validation answers with problems shown on the elements.
// While drawing, the lint rules check the diagram against the server's facts (roles, articles, functions:
// /designer/lint-facts; forms: this page's data) and list what they find. Leaving with undeployed edits
// asks first. Texts come from the page (translated by the server, never written here).
(async function () {
  const cfg = JSON.parse(document.getElementById('designer-data').textContent); // JSON, never run (CSP)
  const texts = cfg.texts || {};
  const fill = (text, values) => String(text || '').replace(/{(\w+)}/g, (all, key) => (key in values ? values[key] : all));
  const csrf = document.querySelector('meta[name=csrf-token]').content;

  let facts = { roles: cfg.roles, scopes: cfg.scopes, articles: [], functions: [] };
  try {
    const answer = await fetch(cfg.factsUrl, { credentials: 'same-origin' });
    if (answer.ok) {
      facts = { ...facts, ...(await answer.json()) };
    }
  } catch (error) {
    // Lint without them: the role and form rules still run on the page's own data; deploy checks all.
  }

  const designer = await window.GovernanceDesigner.create({
    container: document.getElementById('canvas'), panel: document.getElementById('panel'), xml: cfg.xml,
    forms: cfg.forms, roles: facts.roles, scopes: facts.scopes, articles: facts.articles,
    functions: facts.functions, locale: cfg.locale,
  });
  window.designer = designer;

  // lint while drawing ---------------------------------------------------------------------------------
  const lintList = document.getElementById('lint');
  const lintCount = document.getElementById('lint-count');
  function showLint(issues) {
    lintList.innerHTML = '';
    let errors = 0;
    for (const issue of issues) {
      errors += issue.category === 'error' ? 1 : 0;
      const li = document.createElement('li');
      li.className = issue.category === 'error' ? 'lint-error' : 'lint-warn';
      li.dataset.element = issue.id;
      // Our rules name the element in the message; bpmnlint's own ones get it in front.
      const own = String(issue.rule || '').startsWith('governance/');
      li.textContent = own ? issue.message : designer.translate('{label}: {message}', issue);
      li.addEventListener('click', () => {
        const element = designer.modeler.get('elementRegistry').get(issue.id);
        if (element) {
          designer.modeler.get('canvas').scrollToElement(element);
          designer.modeler.get('selection').select(element);
        }
      });
      lintList.appendChild(li);
    }
    lintCount.textContent = issues.length
      ? fill(texts.issues, { errors, warnings: issues.length - errors })
      : texts.noIssues || '';
  }
  designer.onLint(showLint);
  showLint(designer.lintIssues());

  // leaving with undeployed edits ------------------------------------------------------------------------
  let leaving = false;
  window.addEventListener('beforeunload', (event) => {
    if (!leaving && designer.isDirty()) {
      event.preventDefault();
      event.returnValue = texts.leave || ''; // older browsers show nothing without it
    }
  });
  document.addEventListener('click', (event) => {
    const link = event.target.closest && event.target.closest('a[href]');
    if (!link || event.defaultPrevented || link.target === '_blank' || link.getAttribute('href').startsWith('#')) {
      return;
    }
    if (designer.isDirty()) {
      if (!window.confirm(texts.leave)) {
        event.preventDefault();
        return;
      }
      leaving = true; // asked once: no second question from beforeunload
    }
  }, true);

  // deploy -----------------------------------------------------------------------------------------------
  const list = document.getElementById('problems');
  const result = document.getElementById('deploy-result');
  const baseTag = document.getElementById('base-version');
  function say(text, className, link) {
    result.textContent = text;
    result.className = `hint ${className || ''}`.trim();
    if (link) {
      const a = document.createElement('a');
      a.href = link;
      a.textContent = texts.versions;
      result.append(' ', a);
    }
  }
  document.getElementById('deploy').addEventListener('click', async () => {
    designer.clearProblems();
    list.innerHTML = '';
    say('…');
    delete result.dataset.version;
    delete result.dataset.unchanged;
    const xml = await designer.getXML();
    let response;
    let body = {};
    try {
      response = await fetch(cfg.deployUrl, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf },
        body: JSON.stringify({ base: cfg.base, files: { [cfg.path]: xml }, comment: document.getElementById('deploy-comment').value }),
      });
      body = await response.json().catch(() => ({}));
    } catch (error) {
      say(fill(texts.failed, { status: error.message }), 'error');
      return;
    }
    if (response.ok) {
      const n = body.version;
      result.dataset.version = n;
      cfg.base = n;
      designer.markSaved(); // the server has this diagram (as a new version or as the same one)
      if (baseTag) {
        baseTag.textContent = `${texts.base} v${n}`;
      }
      if (body.unchanged) {
        result.dataset.unchanged = 'true';
        say(fill(texts.unchanged, { n }), 'deploy-unchanged', body.url);
      } else {
        say(fill(texts.deployed, { n }), 'deploy-done', body.url);
      }
      return;
    }
    const problems = body.problems || [];
    say(problems.length ? fill(texts.refused, { n: problems.length }) : (body.message ? body.message.split('\n')[0] : fill(texts.failed, { status: response.status })), 'error');
    for (const p of problems) {
      const li = document.createElement('li');
      li.textContent = `${p.file}${p.line ? ':' + p.line : ''}${p.element ? ' [' + p.element + ']' : ''} ${p.message}`;
      li.dataset.element = p.element || '';
      list.appendChild(li);
    }
    designer.showProblems(problems.filter((p) => p.file === cfg.path));
  });
})();
