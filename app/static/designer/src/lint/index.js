// Lint as you draw: bpmn-js-bpmnlint with bpmnlint's recommended rules and the project's own (./rules.js),
// bundled by esbuild. bpmnlint-loader normally compiles a .bpmnlintrc for webpack; here the rule modules
// are imported directly and the resolver that bpmn-js-bpmnlint's `linting.bpmnlint` expects
// ({config, resolver}) is built by hand. Rule names `governance/<rule>` resolve to package
// `bpmnlint-plugin-governance`, as bpmnlint spells plugin rules.

import adHocSubProcess from 'bpmnlint/rules/ad-hoc-sub-process';
import conditionalFlows from 'bpmnlint/rules/conditional-flows';
import endEventRequired from 'bpmnlint/rules/end-event-required';
import eventBasedGateway from 'bpmnlint/rules/event-based-gateway';
import eventSubProcessTypedStartEvent from 'bpmnlint/rules/event-sub-process-typed-start-event';
import fakeJoin from 'bpmnlint/rules/fake-join';
import global from 'bpmnlint/rules/global';
import labelRequired from 'bpmnlint/rules/label-required';
import linkEvent from 'bpmnlint/rules/link-event';
import noBpmndi from 'bpmnlint/rules/no-bpmndi';
import noComplexGateway from 'bpmnlint/rules/no-complex-gateway';
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import noGatewayJoinFork from 'bpmnlint/rules/no-gateway-join-fork';
import noImplicitEnd from 'bpmnlint/rules/no-implicit-end';
import noImplicitSplit from 'bpmnlint/rules/no-implicit-split';
import noImplicitStart from 'bpmnlint/rules/no-implicit-start';
import noInclusiveGateway from 'bpmnlint/rules/no-inclusive-gateway';
import noOverlappingElements from 'bpmnlint/rules/no-overlapping-elements';
import singleBlankStartEvent from 'bpmnlint/rules/single-blank-start-event';
import singleEventDefinition from 'bpmnlint/rules/single-event-definition';
import startEventRequired from 'bpmnlint/rules/start-event-required';
import subProcessBlankStartEvent from 'bpmnlint/rules/sub-process-blank-start-event';
import superfluousGateway from 'bpmnlint/rules/superfluous-gateway';
import superfluousLabel from 'bpmnlint/rules/superfluous-label';
import superfluousTermination from 'bpmnlint/rules/superfluous-termination';
import recommended from 'bpmnlint/config/recommended';

import { RULES } from './rules';

const BUILT_IN = {
  'ad-hoc-sub-process': adHocSubProcess,
  'conditional-flows': conditionalFlows,
  'end-event-required': endEventRequired,
  'event-based-gateway': eventBasedGateway,
  'event-sub-process-typed-start-event': eventSubProcessTypedStartEvent,
  'fake-join': fakeJoin,
  global,
  'label-required': labelRequired,
  'link-event': linkEvent,
  'no-bpmndi': noBpmndi,
  'no-complex-gateway': noComplexGateway,
  'no-disconnected': noDisconnected,
  'no-duplicate-sequence-flows': noDuplicateSequenceFlows,
  'no-gateway-join-fork': noGatewayJoinFork,
  'no-implicit-end': noImplicitEnd,
  'no-implicit-split': noImplicitSplit,
  'no-implicit-start': noImplicitStart,
  'no-inclusive-gateway': noInclusiveGateway,
  'no-overlapping-elements': noOverlappingElements,
  'single-blank-start-event': singleBlankStartEvent,
  'single-event-definition': singleEventDefinition,
  'start-event-required': startEventRequired,
  'sub-process-blank-start-event': subProcessBlankStartEvent,
  'superfluous-gateway': superfluousGateway,
  'superfluous-label': superfluousLabel,
  'superfluous-termination': superfluousTermination,
};

const PLUGIN = 'bpmnlint-plugin-governance';

/**
 * `linting.bpmnlint` for bpmn-js-bpmnlint: the recommended rules plus the governance rules, which read
 * `facts` ({roles, scopes, forms, articles, functions}) and word their messages with `translate`.
 */
export function lintConfig(facts, translate) {
  const ruleConfig = { ...facts, translate };
  // Deploy accepts unnamed start/end events, unnamed conditional flows and a gateway that joins and forks,
  // and the shipped diagrams have them: warnings here, not errors.
  const rules = { ...recommended.rules, 'label-required': 'warn', 'no-gateway-join-fork': 'warn' };
  for (const name of Object.keys(RULES)) {
    rules[`governance/${name}`] = ['error', ruleConfig];
  }
  return {
    config: { rules },
    resolver: {
      resolveRule(pkg, ruleName) {
        const found = pkg === 'bpmnlint' ? BUILT_IN[ruleName] : pkg === PLUGIN ? RULES[ruleName] : null;
        if (!found) {
          throw new Error(`unknown lint rule ${pkg}/${ruleName}`);
        }
        return found;
      },
      resolveConfig() {
        return null;
      },
    },
  };
}
