// The project's own lint rules, checked while drawing (bpmnlint, via bpmn-js-bpmnlint): what deploy-time
// validation (workflows/engine/deploy/validation.py, workflows/regulation/roles.py) would refuse, said
// before the designer deploys. Each rule is a bpmnlint rule factory; its config carries the server's
// facts ({roles, scopes, forms, articles, functions}) and the modeller's `translate`, so messages come in
// the page's language and name the element. Deploy stays authoritative: it evaluates what this only reads.

import { checkExpression } from './expressions';

const FORM_PROPERTY = 'formJsonSchemaFilename';
const DUE_PROPERTY = 'dueDate';
const ARTICLE_PROPERTY = 'article';
const STARTABLE_BY_PROPERTY = 'startable_by';

// Most specific first: the first type an element is an instance of names it.
const TYPE_LABELS = [
  ['bpmn:UserTask', 'User task'],
  ['bpmn:ScriptTask', 'Script task'],
  ['bpmn:ServiceTask', 'Service task'],
  ['bpmn:ManualTask', 'Manual task'],
  ['bpmn:SendTask', 'Send task'],
  ['bpmn:ReceiveTask', 'Receive task'],
  ['bpmn:BusinessRuleTask', 'Business rule task'],
  ['bpmn:CallActivity', 'Call activity'],
  ['bpmn:Task', 'Task'],
  ['bpmn:SubProcess', 'Sub-process'],
  ['bpmn:Lane', 'Lane'],
  ['bpmn:Participant', 'Pool/participant'],
  ['bpmn:Process', 'Process'],
  ['bpmn:StartEvent', 'Start event'],
  ['bpmn:EndEvent', 'End event'],
  ['bpmn:BoundaryEvent', 'Boundary event'],
  ['bpmn:IntermediateCatchEvent', 'Intermediate catch event'],
  ['bpmn:IntermediateThrowEvent', 'Intermediate throw event'],
  ['bpmn:ExclusiveGateway', 'Exclusive gateway'],
  ['bpmn:ParallelGateway', 'Parallel gateway'],
  ['bpmn:InclusiveGateway', 'Inclusive gateway'],
  ['bpmn:EventBasedGateway', 'Event-based gateway'],
  ['bpmn:Gateway', 'Gateway'],
  ['bpmn:SequenceFlow', 'Sequence flow'],
  ['bpmn:MessageFlow', 'Message flow'],
  ['bpmn:DataStoreReference', 'Data store reference'],
  ['bpmn:DataObjectReference', 'Data object reference'],
];

function isA(node, type) {
  return !!node && typeof node.$instanceOf === 'function' && node.$instanceOf(type);
}

/**
 * 用户任务「核实情况」（verify_case） / User task "核实情况" (verify_case): how every message names its
 * element, as deploy-time validation does (workflows/engine/deploy/wording.py `label`).
 */
export function named(node, translate) {
  const found = TYPE_LABELS.find(([type]) => isA(node, type));
  const type = translate(found ? found[1] : 'Element');
  const name = (node.name || '').trim();
  return name
    ? translate('{type} "{name}" ({id})', { type, name, id: node.id })
    : translate('{type} ({id})', { type, id: node.id });
}

function spiffProperty(node, name) {
  const extensions = node.extensionElements ? node.extensionElements.values || [] : [];
  for (const container of extensions) {
    if (container.$type !== 'spiffworkflow:Properties') {
      continue;
    }
    const property = (container.properties || []).find((p) => p.name === name);
    if (property) {
      return property.value || '';
    }
  }
  return '';
}

function processOf(node) {
  let current = node;
  while (current && !isA(current, 'bpmn:Process')) {
    current = current.$parent;
  }
  return current || null;
}

function lanesOf(process) {
  const lanes = [];
  const walk = (laneSets) => {
    for (const laneSet of laneSets || []) {
      for (const lane of laneSet.lanes || []) {
        lanes.push(lane);
        walk(lane.childLaneSet ? [lane.childLaneSet] : []);
      }
    }
  };
  walk(process ? process.laneSets : []);
  return lanes;
}

/** The lane a flow node works in: its own, or its enclosing sub-process's (as SpiffWorkflow reads it). */
function laneOf(node, lanes) {
  for (let current = node; current && !isA(current, 'bpmn:Process'); current = current.$parent) {
    const lane = lanes.find((l) => (l.flowNodeRef || []).includes(current));
    if (lane) {
      // the innermost lane: a parent lane also lists the nodes of its child lanes
      const inner = lanes.filter((l) => (l.flowNodeRef || []).includes(current));
      return inner[inner.length - 1] || lane;
    }
  }
  return null;
}

function rule(check) {
  return (config) => ({ check: (node, reporter) => check(node, reporter, config || {}) });
}

function roleIds(facts) {
  return (facts.roles || []).map((role) => (typeof role === 'string' ? role : role.id));
}

/** Like workflows/regulation/roles.py parse_lane: `role@scope`, scope defaulting to `own`. */
export const laneRole = rule((node, reporter, facts) => {
  if (!isA(node, 'bpmn:Lane') || !(facts.roles || []).length) {
    return;
  }
  const t = facts.translate;
  const text = (node.name || '').trim();
  const lane = named(node, t);
  if (!text) {
    reporter.report(node.id, t('{lane} names no role; name it role@scope, e.g. office_director@upper', { lane }));
    return;
  }
  const [role, scope = 'own'] = text.split('@');
  if (!roleIds(facts).includes(role)) {
    const roles = [...roleIds(facts)].sort().join(t(', '));
    reporter.report(node.id, t('{lane}: role {role} does not exist; known roles: {roles}', { lane, role, roles }));
  } else if (!(facts.scopes || []).includes(scope || 'own')) {
    const scopes = (facts.scopes || []).join(t(', '));
    reporter.report(node.id, t('{lane}: scope {scope} does not exist; known scopes: {scopes}', { lane, scope, scopes }));
  }
});

export const userTaskLane = rule((node, reporter, facts) => {
  if (!isA(node, 'bpmn:UserTask') || !(facts.roles || []).length) {
    return;
  }
  if (!laneOf(node, lanesOf(processOf(node)))) {
    const task = named(node, facts.translate);
    reporter.report(node.id, facts.translate('{task}: not in a lane; put it in a lane named after a role, e.g. office_director@upper', { task }));
  }
});

export const formExists = rule((node, reporter, facts) => {
  if (!(isA(node, 'bpmn:UserTask') || isA(node, 'bpmn:StartEvent')) || !facts.forms) {
    return;
  }
  const form = spiffProperty(node, FORM_PROPERTY);
  if (form && !facts.forms.includes(form)) {
    const element = named(node, facts.translate);
    const template = isA(node, 'bpmn:StartEvent')
      ? '{element}: start form {form} is not in forms/'
      : '{element}: form {form} is not in forms/';
    reporter.report(node.id, facts.translate(template, { element, form }));
  }
});

const CITED = /Art\.\s*(\d+)/g;

export const articleExists = rule((node, reporter, facts) => {
  if (!isA(node, 'bpmn:UserTask') || !(facts.articles || []).length) {
    return;
  }
  const cited = spiffProperty(node, ARTICLE_PROPERTY).trim();
  if (!cited) {
    return;
  }
  const t = facts.translate;
  const task = named(node, t);
  const numbers = [...cited.matchAll(CITED)].map((m) => Number(m[1]));
  const first = Math.min(...facts.articles);
  const last = Math.max(...facts.articles);
  if (!numbers.length) {
    reporter.report(node.id, t('{task}: article "{cited}" names no article; write e.g. Art. 34', { task, cited }));
  }
  for (const number of new Set(numbers)) {
    if (!facts.articles.includes(number)) {
      reporter.report(node.id, t('{task} cites article {number}, which does not exist (articles {first}–{last})', {
        task, number, first, last,
      }));
    }
  }
});

export const startableBy = rule((node, reporter, facts) => {
  if (!isA(node, 'bpmn:Process') || !(facts.roles || []).length) {
    return;
  }
  // As workflows/regulation/startable.py role_ids reads it: split on ",", each trimmed.
  const known = roleIds(facts);
  const t = facts.translate;
  const unknown = spiffProperty(node, STARTABLE_BY_PROPERTY)
    .split(',')
    .map((part) => part.trim())
    .filter((role) => role && !known.includes(role));
  if (unknown.length) {
    const process = named(node, t);
    reporter.report(node.id, t('{process}: startable_by names roles that do not exist: {roles}', {
      process, roles: unknown.join(t(', ')),
    }));
  }
});

const TIMER_KINDS = [['timeDate', 'date'], ['timeDuration', 'duration'], ['timeCycle', 'cycle']];

function eventOf(definition) {
  return definition.$parent;
}

export const deadlinesParse = rule((node, reporter, facts) => {
  const t = facts.translate;
  if (isA(node, 'bpmn:TimerEventDefinition')) {
    const event = eventOf(node);
    if (!event || !event.id) {
      return;
    }
    const element = named(event, t);
    const kinds = TIMER_KINDS.filter(([kind]) => node[kind]);
    if (!kinds.length) {
      reporter.report(event.id, t('{element}: the timer has no time (timeDate, timeDuration or timeCycle)', { element }));
      return;
    }
    for (const [kind, what] of kinds) {
      const expression = (node[kind].body || '').trim();
      if (!expression) {
        reporter.report(event.id, t('{element}: the timer has no time (timeDate, timeDuration or timeCycle)', { element }));
        continue;
      }
      const problem = checkExpression(expression, what, facts.functions);
      if (problem) {
        reporter.report(event.id, t('{element}: timer expression {expression} cannot be read: {reason}', {
          element, expression, reason: t(problem.reason, problem.values),
        }));
      }
    }
    return;
  }
  if (isA(node, 'bpmn:UserTask')) {
    const due = spiffProperty(node, DUE_PROPERTY).trim();
    const problem = due ? checkExpression(due, 'datetime', facts.functions) : null;
    if (problem) {
      reporter.report(node.id, t('{element}: due date expression (dueDate) {expression} cannot be read: {reason}', {
        element: named(node, t), expression: due, reason: t(problem.reason, problem.values),
      }));
    }
  }
});

export const RULES = {
  'lane-role': laneRole,
  'user-task-lane': userTaskLane,
  'form-exists': formExists,
  'article-exists': articleExists,
  'startable-by': startableBy,
  'deadlines-parse': deadlinesParse,
};
