// The process designer: bpmn-js Modeler + properties panel + the "治理 / Governance" group, as one bundle
// exposing window.GovernanceDesigner (esbuild --format=iife --global-name=GovernanceDesigner; see
// scripts/lib/assets.sh). Styles come from the page: bpmn-js dist/assets/*.css and the properties panel's
// properties-panel.css; the page styles `.has-problem` and `.problem-overlay`.

import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import GovernanceModule from './governance';
import problemView from './problems';
import spiffworkflow from './spiffworkflow.json';

export { spiffworkflow as moddleDescriptor };
export { parseLane, laneError } from './governance/model';

function resolve(node) {
  return typeof node === 'string' ? document.querySelector(node) : node;
}

/**
 * Create a designer on `container` with its properties panel in `panel` and import `xml` (a new empty
 * diagram when none). Resolves once the diagram is shown; rejects when the XML cannot be imported.
 *
 * @param {{container: Element|string, panel: Element|string, xml?: string, forms?: string[],
 *          roles?: {id: string, label: string}[], scopes?: (string|{id: string, label: string})[]}} options
 */
export async function create(options) {
  const { container, panel, xml, forms = [], roles = [], scopes } = options || {};
  const modeler = new Modeler({
    container: resolve(container),
    keyboard: { bind: true },
    propertiesPanel: { parent: resolve(panel) },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, GovernanceModule],
    moddleExtensions: { spiffworkflow },
    governance: { forms, roles, scopes },
  });

  const loops = modeler.get('governanceLoopReferences');
  const canvas = modeler.get('canvas');
  const problems = problemView(modeler);

  const designer = {
    modeler,
    /** Import warnings of the last import (empty for a clean file). */
    warnings: [],
    /** Replace the diagram; resolves with the import warnings (also kept in `warnings`). */
    async importXML(text) {
      problems.clearProblems();
      const result = await modeler.importXML(text);
      designer.warnings = result.warnings.filter((w) => !loops.isRestored(w));
      canvas.zoom('fit-viewport', 'auto');
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
      canvas.zoom('fit-viewport', 'auto');
    }
  } catch (error) {
    modeler.destroy(); // leave the container as it was; the error carries the import warnings
    throw error;
  }
  return designer;
}
