// The "治理 / Governance" group of the properties panel: lane role and scope, a user task's form, due date,
// article and role qualifier, a timer's expression, a sequence flow's condition, a start event's form and a
// process's starting roles. Everything else (name, id, documentation) stays with bpmn-js-properties-panel's
// standard groups. Labels are English templates through the `translate` service (zh: ../i18n/zh.js).

import { Group, SelectEntry, TextAreaEntry, TextFieldEntry } from '@bpmn-io/properties-panel';
import { useMemo } from '@bpmn-io/properties-panel/preact/hooks';
import { jsx } from '@bpmn-io/properties-panel/preact/jsx-runtime';
import { useService } from 'bpmn-js-properties-panel';
import { is } from 'bpmn-js/lib/util/ModelUtil';

import {
  ARTICLE_PROPERTY,
  DUE_PROPERTY,
  FORM_PROPERTY,
  ROLE_QUALIFIER_PROPERTY,
  STARTABLE_BY_PROPERTY,
  TIMER_KINDS,
  getCondition,
  getSpiffProperty,
  getTimerDefinition,
  getTimerExpression,
  getTimerKind,
  isDefaultFlow,
  processOf,
  laneError,
  parseLane,
  setCondition,
  setLaneName,
  setSpiffProperty,
  setTimerExpression,
  setTimerKind,
} from './model';

export const GROUP_ID = 'governance';
const LOW_PRIORITY = 500; // after the standard provider (1000), so its groups are there to arrange

// English templates; the page's language comes from `translate`.
const SCOPE_LABELS = {
  own: 'Own unit (own)',
  upper: 'The next unit up (upper)',
  city: 'The city (city)',
  body: 'The body (body)',
};
const TIMER_LABELS = {
  timeDate: 'Point in time (timeDate)',
  timeDuration: 'Duration (timeDuration)',
  timeCycle: 'Cycle (timeCycle)',
};

function normalise(items, labels = {}) {
  return (items || []).map((item) =>
    typeof item === 'string'
      ? { id: item, label: labels[item] || item }
      : { id: item.id, label: item.label ? `${item.label} (${item.id})` : item.id },
  );
}

/** Options for a select whose current value may be missing from the list: it is kept, flagged. */
function options(items, current, emptyLabel, translate, translateLabels = false) {
  const list = items.map(({ id, label }) => ({ value: id, label: translateLabels ? translate(label) : label }));
  if (current && !items.some((item) => item.id === current)) {
    list.unshift({ value: current, label: `⚠ ${translate('{value} (unknown)', { value: current })}` });
  }
  if (!current || emptyLabel) {
    list.unshift({ value: '', label: emptyLabel || '—' });
  }
  return list;
}

// lanes ----------------------------------------------------------------------------------------------

function LaneRole(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const config = useService('governanceConfig');
  const translate = useService('translate');
  const lane = parseLane(element.businessObject.name);
  return jsx(SelectEntry, {
    element,
    id,
    label: translate('Role'),
    getValue: () => lane.role,
    setValue: (role) => setLaneName(injector, element, role ? `${role}@${lane.scope || 'own'}` : ''),
    getOptions: () => options(config.roles, lane.role, undefined, translate),
  });
}

function LaneScope(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const config = useService('governanceConfig');
  const translate = useService('translate');
  const lane = parseLane(element.businessObject.name);
  return jsx(SelectEntry, {
    element,
    id,
    label: translate('Scope'),
    description: translate("Relative to the case's unit"),
    getValue: () => lane.scope || 'own',
    setValue: (scope) => setLaneName(injector, element, `${lane.role}@${scope}`),
    getOptions: () => options(config.scopes, lane.scope || 'own', undefined, translate, true),
    disabled: !lane.role,
  });
}

function LaneName(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const config = useService('governanceConfig');
  const debounce = useService('debounceInput');
  const translate = useService('translate');
  // Stable across renders: the entry re-validates the stored name whenever `validate` changes identity.
  const validate = useMemo(() => {
    const roleIds = config.roles.map((r) => r.id);
    const scopeIds = config.scopes.map((s) => s.id);
    return (name) => laneError(name, roleIds, scopeIds, translate);
  }, [config, translate]);
  return jsx(TextFieldEntry, {
    element,
    id,
    label: translate('Lane name (role@scope)'),
    debounce,
    getValue: () => element.businessObject.name || '',
    // The panel reports the validation error with the value; an invalid name is shown, never written.
    setValue: (name, error) => error || setLaneName(injector, element, name),
    validate,
  });
}

// user tasks -----------------------------------------------------------------------------------------

function formSelect(label) {
  function FormSelect(props) {
    const { element, id } = props;
    const injector = useService('injector');
    const config = useService('governanceConfig');
    const translate = useService('translate');
    const current = getSpiffProperty(element, FORM_PROPERTY);
    return jsx(SelectEntry, {
      element,
      id,
      label: translate(label),
      description: translate('A JSON Schema under forms/'),
      getValue: () => current,
      setValue: (value) => setSpiffProperty(injector, element, FORM_PROPERTY, value),
      getOptions: () => options(config.forms, current, translate('(no form)'), translate),
    });
  }
  return FormSelect;
}

const FormSelect = formSelect('Form');
const StartFormSelect = formSelect('Start form');

function propertyField(name, label, description) {
  function PropertyField(props) {
    const { element, id } = props;
    const injector = useService('injector');
    const debounce = useService('debounceInput');
    const translate = useService('translate');
    return jsx(TextFieldEntry, {
      element,
      id,
      label: translate(label),
      description: translate(description),
      debounce,
      getValue: () => getSpiffProperty(element, name),
      setValue: (value) => setSpiffProperty(injector, element, name, value),
    });
  }
  return PropertyField;
}

const DueDate = propertyField(DUE_PROPERTY, 'Due date', 'An expression, e.g. working_days_after(decided_at, 10)');
const Article = propertyField(ARTICLE_PROPERTY, 'Article', 'e.g. Art. 34 (O34.2)');
const RoleQualifier = propertyField(
  ROLE_QUALIFIER_PROPERTY,
  'Role qualifier',
  'An expression giving the sub-role, e.g. department',
);

// processes ------------------------------------------------------------------------------------------

/** Which roles may start the process (h1's server reads it): role ids, comma-separated. */
function StartableBy(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const translate = useService('translate');
  const config = useService('governanceConfig');
  const process = processOf(element);
  const roles = config.roles.map((role) => role.label).join('，');
  return jsx(TextFieldEntry, {
    element,
    id,
    label: translate('Startable by'),
    description: translate('Role ids, comma-separated: {roles}', { roles }),
    debounce,
    getValue: () => getSpiffProperty(process, STARTABLE_BY_PROPERTY),
    setValue: (value) => setSpiffProperty(injector, element, STARTABLE_BY_PROPERTY, value, process),
  });
}

// timers ---------------------------------------------------------------------------------------------

function TimerKind(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const translate = useService('translate');
  const definition = getTimerDefinition(element);
  return jsx(SelectEntry, {
    element,
    id,
    label: translate('Timer kind'),
    getValue: () => getTimerKind(definition),
    setValue: (kind) => setTimerKind(injector, element, definition, kind),
    getOptions: () => TIMER_KINDS.map((kind) => ({ value: kind, label: translate(TIMER_LABELS[kind]) })),
  });
}

function TimerExpression(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const translate = useService('translate');
  const definition = getTimerDefinition(element);
  return jsx(TextFieldEntry, {
    element,
    id,
    label: translate('Timer expression'),
    description: translate('An expression giving ISO 8601, e.g. rectify_due or "P10D"'),
    debounce,
    getValue: () => getTimerExpression(definition),
    setValue: (value) => setTimerExpression(injector, element, definition, value),
  });
}

// sequence flows -------------------------------------------------------------------------------------

function Condition(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const translate = useService('translate');
  return jsx(TextAreaEntry, {
    element,
    id,
    label: translate('Condition'),
    description: translate(
      isDefaultFlow(element)
        ? 'Default flow: its condition is not evaluated'
        : 'A Python expression, e.g. approved == True',
    ),
    debounce,
    monospace: true,
    rows: 2,
    getValue: () => getCondition(element),
    setValue: (value) => setCondition(injector, element, value),
  });
}

// the group ------------------------------------------------------------------------------------------

/** A process's own start event (not a sub-process's): where the start form is read. */
function isProcessStart(element) {
  return is(element, 'bpmn:StartEvent') && is(element.businessObject.$parent, 'bpmn:Process');
}

export function governanceEntries(element) {
  const entry = (id, component) => ({ id: `governance-${id}`, component, element });
  if (is(element, 'bpmn:Lane')) {
    return [entry('lane-role', LaneRole), entry('lane-scope', LaneScope), entry('lane-name', LaneName)];
  }
  if (is(element, 'bpmn:UserTask')) {
    return [
      entry('form', FormSelect),
      entry('dueDate', DueDate),
      entry('article', Article),
      entry('roleQualifier', RoleQualifier),
    ];
  }
  if (getTimerDefinition(element)) {
    const timer = [entry('timer-kind', TimerKind), entry('timer-expression', TimerExpression)];
    return isProcessStart(element) ? [entry('start-form', StartFormSelect), ...timer] : timer;
  }
  if (isProcessStart(element)) {
    return [entry('start-form', StartFormSelect)];
  }
  if (processOf(element)) {
    return [entry('startable-by', StartableBy)];
  }
  if (is(element, 'bpmn:SequenceFlow')) {
    return [entry('condition', Condition)];
  }
  return [];
}

export default class GovernancePropertiesProvider {
  constructor(propertiesPanel, translate) {
    propertiesPanel.registerProvider(LOW_PRIORITY, this);
    this._translate = translate;
  }

  getGroups(element) {
    return (groups) => {
      const entries = governanceEntries(element);
      if (!entries.length) {
        return groups;
      }
      const group = {
        id: GROUP_ID,
        label: this._translate('Governance'),
        component: Group,
        entries,
        shouldOpen: true,
      };
      // The standard "Timer" group edits the same expression as ISO 8601 text; ours says what it is here.
      const kept = groups.filter((g) => g.id !== 'timer');
      const general = kept.findIndex((g) => g.id === 'general');
      kept.splice(general + 1, 0, group);
      return kept;
    };
  }
}

GovernancePropertiesProvider.$inject = ['propertiesPanel', 'translate'];

/** Normalised config for the entries: `config.governance` = {forms, roles, scopes}. */
export function GovernanceConfig(config) {
  const given = config || {};
  return {
    forms: normalise(given.forms),
    roles: normalise(given.roles),
    scopes: normalise(given.scopes && given.scopes.length ? given.scopes : ['own', 'upper', 'city'], SCOPE_LABELS),
  };
}

GovernanceConfig.$inject = ['config.governance'];
