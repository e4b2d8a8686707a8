// Task forms: a field marked x-show-if in its form ({"approved": true}) is shown only while the fields it
// names hold those values (a list: any of them, {"finding_kind": ["aggravating", "mitigating"]}), so an
// approver sees the interview fields only when approving (no inline script).
(function () {
  const form = document.getElementById('task-form');
  if (!form) return;
  const dependents = Array.from(form.querySelectorAll('.formfield[data-show-if]'));
  if (!dependents.length) return;

  function current(name) {
    const inputs = Array.from(form.querySelectorAll(`[name="${name}"]`));
    if (!inputs.length) return undefined;
    const input = inputs[0];
    if (input.type === 'radio') {
      const checked = inputs.find((i) => i.checked);
      return checked ? checked.value : undefined;
    }
    if (input.type === 'checkbox') return inputs.filter((i) => i.checked).map((i) => i.value);
    return input.value;
  }

  function matches(condition) {
    return Object.entries(condition).every(([name, wanted]) =>
      (Array.isArray(wanted) ? wanted : [wanted]).map(String).includes(current(name)));
  }

  function update() {
    for (const field of dependents) {
      const shown = matches(JSON.parse(field.dataset.showIf));
      field.hidden = !shown;
      field.querySelectorAll('input, select, textarea').forEach((el) => { el.disabled = !shown; });
    }
  }

  form.addEventListener('change', update);
  update();
})();
