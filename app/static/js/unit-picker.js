// The unit picker of 登记书面反映 (issue 14): a text box above the grouped <select> of units that narrows them
// as one types — by Chinese name or code, and a group's name (宛城区综治办) lists the whole group — and shows
// the matches in their groups; choosing one sets the select, which stays the form's field. Without
// JavaScript the page keeps the plain grouped select. Options are read from that select (no inline script);
// the field is marked data-unit-picker, its texts come in data-placeholder and data-empty.
(function () {
  'use strict';

  function words(text) {
    return text.toLowerCase().split(/\s+/).filter(Boolean);
  }

  function labelText(label) {
    return Array.from(label.childNodes)
      .filter((node) => node.nodeType === Node.TEXT_NODE || node.nodeName === 'SPAN')
      .map((node) => node.textContent)
      .join('')
      .trim();
  }

  function setup(field, index) {
    const select = field.querySelector('select');
    if (!select) return;
    const groups = Array.from(select.querySelectorAll('optgroup')).map((group) => ({
      element: group,
      label: group.label,
      key: group.label.toLowerCase(),
      options: Array.from(group.querySelectorAll('option')).map((option) => ({
        element: option,
        text: option.textContent.trim(),
        key: `${option.textContent} ${option.value}`.toLowerCase(),
      })),
    }));

    const input = document.createElement('input');
    input.type = 'search';
    input.className = 'unit-picker-input';
    input.placeholder = field.dataset.placeholder || '';
    input.autocomplete = 'off';
    input.setAttribute('aria-label', input.placeholder);
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-expanded', 'false');
    const list = document.createElement('div');
    list.className = 'unit-picker-list';
    list.id = `unit-picker-${index}`;
    list.setAttribute('role', 'listbox');
    list.hidden = true;
    input.setAttribute('aria-controls', list.id);
    const label = select.closest('label');
    if (label) select.setAttribute('aria-label', labelText(label)); // the label now starts with the box
    select.before(input, list);

    let shown = [];
    let active = -1;

    function highlight(i) {
      shown.forEach((item, j) => item.classList.toggle('active', j === i));
      active = i;
      if (i >= 0) {
        input.setAttribute('aria-activedescendant', shown[i].id);
        shown[i].scrollIntoView({ block: 'nearest' });
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }

    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      highlight(-1);
    }

    function filterSelect(matching) {
      for (const group of groups) {
        let any = false;
        for (const option of group.options) {
          const hide = matching !== null && !matching.has(option);
          option.element.hidden = hide;
          any = any || !hide;
        }
        group.element.hidden = !any;
      }
    }

    function render() {
      const terms = words(input.value);
      list.replaceChildren();
      shown = [];
      if (!terms.length) {
        filterSelect(null);
        close();
        return;
      }
      const matching = new Set();
      for (const group of groups) {
        const found = group.options.filter((o) => terms.every((t) => o.key.includes(t) || group.key.includes(t)));
        if (!found.length) continue;
        const box = document.createElement('div');
        box.setAttribute('role', 'group');
        box.setAttribute('aria-label', group.label);
        const heading = document.createElement('div');
        heading.className = 'unit-picker-group';
        heading.setAttribute('aria-hidden', 'true');
        heading.textContent = group.label;
        box.append(heading);
        for (const option of found) {
          matching.add(option);
          const item = document.createElement('div');
          item.className = 'unit-picker-option';
          item.id = `${list.id}-${shown.length}`;
          item.setAttribute('role', 'option');
          item.dataset.value = option.element.value;
          item.textContent = option.text;
          box.append(item);
          shown.push(item);
        }
        list.append(box);
      }
      if (!shown.length) {
        const none = document.createElement('div');
        none.className = 'unit-picker-empty';
        none.textContent = field.dataset.empty || '';
        list.append(none);
      }
      filterSelect(matching);
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      highlight(shown.length ? 0 : -1);
    }

    function pick(item) {
      select.value = item.dataset.value;
      select.dispatchEvent(new Event('change', { bubbles: true }));
      input.value = item.textContent;
      filterSelect(null); // the select offers every unit again
      close();
    }

    input.addEventListener('input', render);
    input.addEventListener('keydown', (event) => {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        if (list.hidden) render();
        if (!shown.length) return;
        const step = event.key === 'ArrowDown' ? 1 : -1;
        highlight((active + step + shown.length) % shown.length);
      } else if (event.key === 'Enter') {
        if (list.hidden) return;
        event.preventDefault(); // choosing in the box never submits the report
        if (active >= 0) pick(shown[active]);
      } else if (event.key === 'Escape' && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener('blur', close);
    list.addEventListener('mousedown', (event) => event.preventDefault()); // keep the focus in the box
    list.addEventListener('click', (event) => {
      event.preventDefault(); // not the label's click on its first control
      const item = event.target.closest('.unit-picker-option');
      if (item) pick(item);
    });
  }

  document.querySelectorAll('[data-unit-picker]').forEach(setup);
})();
