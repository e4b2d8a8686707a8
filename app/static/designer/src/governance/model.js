// Reading and writing what the engine reads (workflows/validation.py), as undoable commands:
// spiffworkflow:properties/spiffworkflow:property[name=…], lane names `role@scope`, timer expressions,
// sequence-flow conditions.

import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';

export const FORM_PROPERTY = 'formJsonSchemaFilename';
export const DUE_PROPERTY = 'dueDate';
export const ARTICLE_PROPERTY = 'article';
export const ROLE_QUALIFIER_PROPERTY = 'roleQualifier';
/** On a process: the role ids (comma-separated) whose holders may start it. */
export const STARTABLE_BY_PROPERTY = 'startable_by';

export const TIMER_KINDS = ['timeDate', 'timeDuration', 'timeCycle'];

const MULTI = 'properties-panel.multi-command-executor';

function update(element, moddleElement, properties) {
  return { cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties } };
}

function isBlank(value) {
  return value === undefined || value === null || String(value) === '';
}

// spiffworkflow properties ---------------------------------------------------------------------------

/**
 * The process an element's process-level properties belong to: the process itself (a diagram without
 * pools shows it as the root) or a pool's process; null for anything else.
 */
export function processOf(element) {
  const bo = getBusinessObject(element);
  if (is(bo, 'bpmn:Process')) {
    return bo;
  }
  if (is(bo, 'bpmn:Participant') && bo.get('processRef')) {
    return bo.get('processRef');
  }
  return null;
}

/** `element` may be a diagram element or a business object (e.g. a pool's process). */
export function getPropertiesContainer(element) {
  const extensionElements = getBusinessObject(element).get('extensionElements');
  if (!extensionElements) {
    return null;
  }
  return extensionElements.get('values').find((value) => is(value, 'spiffworkflow:Properties')) || null;
}

function findProperty(container, name) {
  return container ? container.get('properties').find((p) => p.get('name') === name) || null : null;
}

export function getSpiffProperty(element, name) {
  const property = findProperty(getPropertiesContainer(element), name);
  return property ? property.get('value') || '' : '';
}

/**
 * Set (or, for an empty value, remove) one `spiffworkflow:property`, creating containers on the way.
 * `owner`: the business object that carries it when not the element's own (a pool's process).
 */
export function setSpiffProperty(injector, element, name, value, owner = getBusinessObject(element)) {
  const bpmnFactory = injector.get('bpmnFactory');
  const commandStack = injector.get('commandStack');
  const businessObject = owner;
  let extensionElements = businessObject.get('extensionElements');
  let container = getPropertiesContainer(businessObject);
  const property = findProperty(container, name);
  const commands = [];

  if (isBlank(value)) {
    if (!property) {
      return;
    }
    const remaining = container.get('properties').filter((p) => p !== property);
    if (remaining.length) {
      commands.push(update(element, container, { properties: remaining }));
    } else {
      const values = extensionElements.get('values').filter((v) => v !== container);
      commands.push(
        values.length
          ? update(element, extensionElements, { values })
          : update(element, businessObject, { extensionElements: undefined }),
      );
    }
  } else if (property) {
    commands.push(update(element, property, { value }));
  } else {
    if (!extensionElements) {
      extensionElements = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
      extensionElements.$parent = businessObject;
      commands.push(update(element, businessObject, { extensionElements }));
    }
    if (!container) {
      container = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
      container.$parent = extensionElements;
      commands.push(update(element, extensionElements, { values: [...extensionElements.get('values'), container] }));
    }
    const created = bpmnFactory.create('spiffworkflow:Property', { name, value });
    created.$parent = container;
    commands.push(update(element, container, { properties: [...container.get('properties'), created] }));
  }
  commandStack.execute(MULTI, commands);
}

// lanes ----------------------------------------------------------------------------------------------

/** Like workflows/roles.py parse_lane, without raising: `role@scope`, a missing scope meaning `own`. */
export function parseLane(name) {
  const text = (name || '').trim();
  const at = text.indexOf('@');
  if (at < 0) {
    return { role: text, scope: text ? 'own' : '' };
  }
  return { role: text.slice(0, at), scope: text.slice(at + 1) || 'own' };
}

function english(template, values) {
  return template.replace(/{([^}]+)}/g, (all, key) => (values && key in values ? values[key] : all));
}

/** Why a lane name is not `role@scope` with a known role and scope (null when it is); `translate`: the
 * modeller's, for the page's language. */
export function laneError(name, roleIds, scopeIds, translate = english) {
  const text = (name || '').trim();
  if (!text) {
    return translate('Name the lane role@scope, e.g. office_director@upper');
  }
  const { role, scope } = parseLane(text);
  if (!roleIds.includes(role)) {
    return translate('Unknown role "{role}"', { role });
  }
  if (!scopeIds.includes(scope)) {
    return translate('Unknown scope "{scope}"; use {scopes}', { scope, scopes: scopeIds.join(', ') });
  }
  return null;
}

export function setLaneName(injector, element, name) {
  injector.get('modeling').updateProperties(element, { name });
}

// timers ---------------------------------------------------------------------------------------------

export function getTimerDefinition(element) {
  const bo = getBusinessObject(element);
  if (!is(bo, 'bpmn:Event')) {
    return null;
  }
  return (bo.get('eventDefinitions') || []).find((d) => is(d, 'bpmn:TimerEventDefinition')) || null;
}

export function getTimerKind(definition) {
  return TIMER_KINDS.find((kind) => definition.get(kind)) || 'timeDate';
}

export function getTimerExpression(definition) {
  const expression = definition.get(getTimerKind(definition));
  return expression ? expression.get('body') || '' : '';
}

function formalExpression(bpmnFactory, parent, body) {
  const expression = bpmnFactory.create('bpmn:FormalExpression', { body });
  expression.$parent = parent;
  return expression;
}

export function setTimerExpression(injector, element, definition, body) {
  const kind = getTimerKind(definition);
  const expression = definition.get(kind);
  const commandStack = injector.get('commandStack');
  if (expression) {
    commandStack.execute('element.updateModdleProperties', {
      element,
      moddleElement: expression,
      properties: { body: isBlank(body) ? undefined : body },
    });
  } else if (!isBlank(body)) {
    commandStack.execute('element.updateModdleProperties', {
      element,
      moddleElement: definition,
      properties: { [kind]: formalExpression(injector.get('bpmnFactory'), definition, body) },
    });
  }
}

export function setTimerKind(injector, element, definition, kind) {
  const current = getTimerKind(definition);
  if (kind === current && definition.get(kind)) {
    return;
  }
  const properties = {};
  for (const other of TIMER_KINDS) {
    if (other !== kind && definition.get(other)) {
      properties[other] = undefined;
    }
  }
  const expression =
    definition.get(current) || formalExpression(injector.get('bpmnFactory'), definition, undefined);
  properties[kind] = expression;
  injector.get('commandStack').execute('element.updateModdleProperties', {
    element,
    moddleElement: definition,
    properties,
  });
}

// sequence-flow conditions ---------------------------------------------------------------------------

export function getCondition(element) {
  const expression = getBusinessObject(element).get('conditionExpression');
  return expression ? expression.get('body') || '' : '';
}

export function isDefaultFlow(element) {
  const bo = getBusinessObject(element);
  const source = bo.get('sourceRef');
  return !!source && source.get('default') === bo;
}

export function setCondition(injector, element, body) {
  const bo = getBusinessObject(element);
  const expression = bo.get('conditionExpression');
  const commandStack = injector.get('commandStack');
  if (isBlank(body)) {
    if (expression) {
      commandStack.execute('element.updateModdleProperties', {
        element,
        moddleElement: bo,
        properties: { conditionExpression: undefined },
      });
    }
  } else if (expression) {
    commandStack.execute('element.updateModdleProperties', {
      element,
      moddleElement: expression,
      properties: { body },
    });
  } else {
    commandStack.execute('element.updateModdleProperties', {
      element,
      moddleElement: bo,
      properties: { conditionExpression: formalExpression(injector.get('bpmnFactory'), bo, body) },
    });
  }
}
