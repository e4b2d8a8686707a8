// The process designer: bpmn-js Modeler + properties panel + the "治理 / Governance" group, as one bundle
// exposing window.GovernanceDesigner (esbuild --format=iife --global-name=GovernanceDesigner; see
// scripts/lib/assets.sh). Styles come from the page: bpmn-js dist/assets/*.css and the properties panel's
// properties-panel.css; the page styles `.has-problem` and `.problem-overlay`.

import Modeler from 'bpmn-js/lib/Modeler';
import lintModule from 'bpmn-js-bpmnlint';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import GovernanceModule from './governance';
import { makeTranslate } from './i18n';
import { lintConfig } from './lint';
import { named } from './lint/rules';
import problemView from './problems';
import spiffworkflow from './spiffworkflow.json';

export { spiffworkflow as moddleDescriptor };
export { parseLane, laneError } from './governance/model';
export { checkExpression } from './lint/expressions';

function resolve(node) {
  return typeof node === 'string' ? document.querySelector(node) : node;
}

/**
 * Fit the diagram into the canvas beside the palette, not under it: bpmn-js's `fit-viewport` uses the whole
 * container, over whose left edge the palette floats. Never zooms in beyond 100 %.
 */
export function fitBesidePalette(modeler) {
  const canvas = modeler.get('canvas');
  canvas.zoom('fit-viewport', 'auto');
  const container = canvas.getContainer();
  const palette = container.querySelector('.djs-palette');
  const box = container.getBoundingClientRect();
  const { inner } = canvas.viewbox();
  if (!box.width || !box.height || !inner.width || !inner.height) {
    return;
  }
  const margin = 16;
  const left = palette ? palette.getBoundingClientRect().right - box.left + margin : margin;
  const scale = Math.min((box.width - left - margin) / inner.width, (box.height - 2 * margin) / inner.height, 1);
  if (scale <= 0) {
    return;
  }
  canvas.viewbox({
    x: inner.x - left / scale,
    y: inner.y - margin / scale,
    width: box.width / scale,
    height: box.height / scale,
  });
}

/**
 * Create a designer on `container` with its properties panel in `panel` and import `xml` (a new empty
 * diagram when none). Resolves once the diagram is shown; rejects when the XML cannot be imported.
 *
 * `locale`: the page's (`zh_CN` → Chinese, `en` → English). `articles` (numbers of the regulation's
 * articles) and `functions` (what a script may call) feed the lint rules; `lint: false` turns linting off.
 *
 * @param {{container: Element|string, panel: Element|string, xml?: string, forms?: string[],
 *          roles?: {id: string, label: string}[], scopes?: (string|{id: string, label: string})[],
 *          locale?: string, articles?: number[], functions?: string[], lint?: boolean}} options
 */
export async function create(options) {
  const { container, panel, xml, forms = [], roles = [], scopes, locale = 'zh_CN' } = options || {};
  const { articles = [], functions = [], lint = true } = options || {};
  const translate = makeTranslate(locale);
  const scopeIds = (scopes && scopes.length ? scopes : ['own', 'upper', 'city']).map((s) => (typeof s === 'string' ? s : s.id));
  const modeler = new Modeler({
    container: resolve(container),
    keyboard: { bind: true },
    propertiesPanel: { parent: resolve(panel) },
    additionalModules: [
      { translate: ['value', translate] },
      BpmnPropertiesPanelModule,
      BpmnPropertiesProviderModule,
      GovernanceModule,
      ...(lint ? [lintModule] : []),
    ],
    moddleExtensions: { spiffworkflow },
    governance: { forms, roles, scopes },
    linting: lint
      ? { active: true, bpmnlint: lintConfig({ roles, scopes: scopeIds, forms, articles, functions }, translate) }
      : undefined,
  });
  const commandStack = modeler.get('commandStack');
  let saved = 0; // the command stack position of the last import or deploy
  let issues = {};
  modeler.on('linting.completed', (event) => {
    issues = event.issues || {};
  });

  const loops = modeler.get('governanceLoopReferences');
  const canvas = modeler.get('canvas');
  const problems = problemView(modeler);

  const designer = {
    modeler,
    translate,
    /** Import warnings of the last import (empty for a clean file). */
    warnings: [],
    /** Whether the diagram differs from what was imported or last marked saved (undo back counts as clean). */
    isDirty() {
      return commandStack._stackIdx !== saved;
    },
    /** Call after a deploy: the current diagram is what the server has. */
    markSaved() {
      saved = commandStack._stackIdx;
    },
    /** The last lint result as a flat list: {id, name, label, category, message, rule}, errors first. */
    lintIssues() {
      const registry = modeler.get('elementRegistry');
      const list = [];
      for (const [id, entries] of Object.entries(issues)) {
        const element = registry.get(id);
        const bo = element && element.businessObject;
        const name = (bo && bo.name) || id;
        const label = bo ? named(bo, translate) : id; // 用户任务「登记」（register）, as deploy names it
        for (const entry of entries) {
          const message = translate(entry.message);
          list.push({ id, name, label, category: entry.category, rule: entry.rule, message });
        }
      }
      return list.sort((a, b) => (a.category === b.category ? 0 : a.category === 'error' ? -1 : 1));
    },
    /** Call `callback(issues)` after every lint run; returns a function that unsubscribes. */
    onLint(callback) {
      const listener = () => callback(designer.lintIssues());
      modeler.on('linting.completed', 100, listener);
      return () => modeler.off('linting.completed', listener);
    },
    /** Replace the diagram; resolves with the import warnings (also kept in `warnings`). */
    async importXML(text) {
      problems.clearProblems();
      const result = await modeler.importXML(text);
      saved = commandStack._stackIdx;
      designer.warnings = result.warnings.filter((w) => !loops.isRestored(w));
      fitBesidePalette(modeler);
      return designer.warnings;
    },
    async getXML() {
      const { xml: out } = await modeler.saveXML({ format: true });
      return out;
    },
    showProblems: problems.showProblems,
    clearProblems: problems.clearProblems,
    /** Call `callback` after every change (edit, undo, redo); returns a function that unsubscribes. */
    onChange(callback) {
      const listener = () => callback();
      modeler.on('commandStack.changed', listener);
      return () => modeler.off('commandStack.changed', listener);
    },
  };

  try {
    if (xml) {
      await designer.importXML(xml);
    } else {
      await modeler.createDiagram();
      saved = commandStack._stackIdx;
      fitBesidePalette(modeler);
    }
  } catch (error) {
    modeler.destroy(); // leave the container as it was; the error carries the import warnings
    throw error;
  }
  return designer;
}
