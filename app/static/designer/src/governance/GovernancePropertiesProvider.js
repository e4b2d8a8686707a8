// The "治理 / Governance" group of the properties panel: lane role and scope, a user task's form, due date,
// article and role qualifier, a timer's expression, a sequence flow's condition. Everything else (name, id,
// documentation) stays with bpmn-js-properties-panel's standard groups.

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
  TIMER_KINDS,
  getCondition,
  getSpiffProperty,
  getTimerDefinition,
  getTimerExpression,
  getTimerKind,
  isDefaultFlow,
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

const SCOPE_LABELS = { own: '本单位 own', upper: '相应的上一级 upper', city: '市级 city' };
const TIMER_LABELS = { timeDate: '时间点 timeDate', timeDuration: '时长 timeDuration', timeCycle: '周期 timeCycle' };

function normalise(items, labels = {}) {
  return (items || []).map((item) =>
    typeof item === 'string'
      ? { id: item, label: labels[item] || item }
      : { id: item.id, label: item.label ? `${item.label} (${item.id})` : item.id },
  );
}

/** Options for a select whose current value may be missing from the list: it is kept, flagged. */
function options(items, current, emptyLabel) {
  const list = items.map(({ id, label }) => ({ value: id, label }));
  if (current && !items.some((item) => item.id === current)) {
    list.unshift({ value: current, label: `⚠ ${current}（未知 / unknown）` });
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
  const lane = parseLane(element.businessObject.name);
  return jsx(SelectEntry, {
    element,
    id,
    label: '角色 Role',
    getValue: () => lane.role,
    setValue: (role) => setLaneName(injector, element, role ? `${role}@${lane.scope || 'own'}` : ''),
    getOptions: () => options(config.roles, lane.role),
  });
}

function LaneScope(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const config = useService('governanceConfig');
  const lane = parseLane(element.businessObject.name);
  return jsx(SelectEntry, {
    element,
    id,
    label: '范围 Scope',
    description: '相对于案件所在单位 / relative to the case’s unit',
    getValue: () => lane.scope || 'own',
    setValue: (scope) => setLaneName(injector, element, `${lane.role}@${scope}`),
    getOptions: () => options(config.scopes, lane.scope || 'own'),
    disabled: !lane.role,
  });
}

function LaneName(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const config = useService('governanceConfig');
  const debounce = useService('debounceInput');
  // Stable across renders: the entry re-validates the stored name whenever `validate` changes identity.
  const validate = useMemo(() => {
    const roleIds = config.roles.map((r) => r.id);
    const scopeIds = config.scopes.map((s) => s.id);
    return (name) => laneError(name, roleIds, scopeIds);
  }, [config]);
  return jsx(TextFieldEntry, {
    element,
    id,
    label: '泳道名称 Lane name (role@scope)',
    debounce,
    getValue: () => element.businessObject.name || '',
    // The panel reports the validation error with the value; an invalid name is shown, never written.
    setValue: (name, error) => error || setLaneName(injector, element, name),
    validate,
  });
}

// user tasks -----------------------------------------------------------------------------------------

function FormSelect(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const config = useService('governanceConfig');
  const current = getSpiffProperty(element, FORM_PROPERTY);
  return jsx(SelectEntry, {
    element,
    id,
    label: '表单 Form',
    description: 'forms/ 下的 JSON Schema',
    getValue: () => current,
    setValue: (value) => setSpiffProperty(injector, element, FORM_PROPERTY, value),
    getOptions: () => options(config.forms, current, '（无表单 / no form）'),
  });
}

function propertyField(name, label, description) {
  function PropertyField(props) {
    const { element, id } = props;
    const injector = useService('injector');
    const debounce = useService('debounceInput');
    return jsx(TextFieldEntry, {
      element,
      id,
      label,
      description,
      debounce,
      getValue: () => getSpiffProperty(element, name),
      setValue: (value) => setSpiffProperty(injector, element, name, value),
    });
  }
  return PropertyField;
}

const DueDate = propertyField(
  DUE_PROPERTY,
  '期限 Due date',
  '表达式，例如 working_days_after(decided_at, 10)',
);
const Article = propertyField(ARTICLE_PROPERTY, '条款 Article', '例如 Art. 34 (O34.2)');
const RoleQualifier = propertyField(
  ROLE_QUALIFIER_PROPERTY,
  '角色限定 Role qualifier',
  '表达式，给出子角色，例如 department',
);

// timers ---------------------------------------------------------------------------------------------

function TimerKind(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const definition = getTimerDefinition(element);
  return jsx(SelectEntry, {
    element,
    id,
    label: '定时类型 Timer kind',
    getValue: () => getTimerKind(definition),
    setValue: (kind) => setTimerKind(injector, element, definition, kind),
    getOptions: () => TIMER_KINDS.map((kind) => ({ value: kind, label: TIMER_LABELS[kind] })),
  });
}

function TimerExpression(props) {
  const { element, id } = props;
  const injector = useService('injector');
  const debounce = useService('debounceInput');
  const definition = getTimerDefinition(element);
  return jsx(TextFieldEntry, {
    element,
    id,
    label: '定时表达式 Timer expression',
    description: '求值为 ISO 8601 的表达式，例如 rectify_due 或 "P10D"',
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
  return jsx(TextAreaEntry, {
    element,
    id,
    label: '条件 Condition',
    description: isDefaultFlow(element)
      ? '默认流向：不求值 / default flow: its condition is not evaluated'
      : 'Python 表达式，例如 approved == True',
    debounce,
    monospace: true,
    rows: 2,
    getValue: () => getCondition(element),
    setValue: (value) => setCondition(injector, element, value),
  });
}

// the group ------------------------------------------------------------------------------------------

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
    return [entry('timer-kind', TimerKind), entry('timer-expression', TimerExpression)];
  }
  if (is(element, 'bpmn:SequenceFlow')) {
    return [entry('condition', Condition)];
  }
  return [];
}

export default class GovernancePropertiesProvider {
  constructor(propertiesPanel) {
    propertiesPanel.registerProvider(LOW_PRIORITY, this);
  }

  getGroups(element) {
    return (groups) => {
      const entries = governanceEntries(element);
      if (!entries.length) {
        return groups;
      }
      const group = {
        id: GROUP_ID,
        label: '治理 / Governance',
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

GovernancePropertiesProvider.$inject = ['propertiesPanel'];

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
