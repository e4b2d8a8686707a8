"""Everything a set of BPMN files and forms must pass before it becomes a deployed version.

Order matters for the messages: unsafe or malformed XML first (nothing else can be read), then the BPMN 2.0
and spiffworkflow XSDs, then SpiffWorkflow's own parse (gateways, called processes), then our rules: each user
task in a lane naming a known role, each referenced form present and valid, each script, condition, timer
and due-date expression allowed by the sandbox and evaluable. Every problem names file, line and element.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask

from workflows.engine.deploy.forms import parse_form
from workflows.engine.deploy.xmlsafe import UnsafeXml, parse_xml
from workflows.engine.errors import BudgetExceeded, Problem
from workflows.engine.parts import DeployChecks
from workflows.engine.sandboxing.budgeted import BudgetedEnvironment
from workflows.engine.sandboxing.sampling import refusal, sampled_overrun, static_reasons
from workflows.engine.sandboxing.sandbox import SANDBOX_BUILTINS, RestrictedEnvironment, check_code
from workflows.engine.sandboxing.wire import Sample as _Sample  # the worker must import it: not here

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}

FORM_PROPERTY = "formJsonSchemaFilename"
DUE_PROPERTY = "dueDate"
ARTICLE_PROPERTY = "article"
# An expression naming a sub-role, e.g. ``department`` in the joint meeting's per-department opinions:
# the task then needs ``joint_meeting_member/discipline`` rather than any ``joint_meeting_member``.
ROLE_QUALIFIER_PROPERTY = "roleQualifier"

# SpiffWorkflow gives its internal task specs these names; an element with such an id breaks the graph.
RESERVED_IDS = frozenset({"Start", "End", "Root"})

# Variables the engine sets at start; a form must not let a user overwrite them.
ENGINE_OWNED = frozenset({"unit_code", "unit_name", "unit_level", "business_key"})

# Stand-in for any process variable when a timer or due-date expression is evaluated at deploy time.
SAMPLE_INSTANT = "2026-03-16T09:00:00+08:00"


@dataclass
class ValidatedSet:
    """The outcome of validating one file set: parsed specs and forms, or problems."""

    specs: dict[str, BpmnProcessSpec] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    process_ids: list[str] = field(default_factory=list)


def _form_key(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _locate(trees: Mapping[str, etree._ElementTree]) -> dict[str, tuple[str, int]]:
    index: dict[str, tuple[str, int]] = {}
    for path, tree in trees.items():
        for el in tree.iter():
            el_id = el.get("id") if isinstance(el.tag, str) else None
            if el_id:
                index.setdefault(el_id, (path, el.sourceline or 0))
    return index


def _owner_id(el: etree._Element) -> str | None:
    node: etree._Element | None = el
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def _named_owner(el: etree._Element) -> tuple[str | None, str | None]:
    """Id and name of the element a piece of code belongs to: the event, not its timer definition."""
    node: etree._Element | None = el
    while node is not None:
        tag = etree.QName(node).localname if isinstance(node.tag, str) else ""
        if node.get("id") and not tag.endswith(("EventDefinition", "LoopCharacteristics")):
            return node.get("id"), node.get("name")
        node = node.getparent()
    return _owner_id(el), None


def _budget_problems(
    el: etree._Element, kind: str, source: str, mode: str, helpers: Mapping[str, object], sample: bool
) -> list[str]:
    """Issue 16: code that cannot run within the script budget, as deploy messages (Chinese) naming the
    element. ``sample``: also run it once on sample data (timers and due dates are run anyway)."""
    reasons = static_reasons(source, mode)
    if not reasons and sample:
        names = frozenset(n for n, v in helpers.items() if callable(v))
        overrun = sampled_overrun(source, mode, names, SAMPLE_INSTANT)
        reasons = [overrun] if overrun else []
    element_id, name = _named_owner(el)
    return [refusal(kind, element_id, name, reason) for reason in reasons]


def _sample_eval(env: RestrictedEnvironment, expression: str, helpers: Mapping[str, object]) -> object:
    names = {n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)}
    # Builtins stay builtins: a sample in place of ``len`` or ``max`` would make ``len(x)`` fail to deploy.
    context = {n: _Sample(SAMPLE_INSTANT) for n in names if n not in helpers and n not in SANDBOX_BUILTINS}
    return env.evaluate(expression, context)


def _check_expressions(
    path: str, tree: etree._ElementTree, env: RestrictedEnvironment, helpers: Mapping[str, object]
) -> list[Problem]:
    problems: list[Problem] = []

    def problem(el: etree._Element, message: str) -> None:
        problems.append(Problem(path, message, el.sourceline, _owner_id(el)))

    # Every place SpiffWorkflow evaluates or executes text: scripts (incl. Spiff pre/post scripts), gateway
    # and process conditions, multi-instance cardinality and completion conditions, message correlations.
    for xpath, mode, what in (
        (".//bpmn:script", "exec", "script"),
        (".//spiffworkflow:preScript", "exec", "pre-script"),
        (".//spiffworkflow:postScript", "exec", "post-script"),
        (".//bpmn:conditionExpression", "eval", "condition"),
        (".//bpmn:loopCardinality", "eval", "multi-instance cardinality"),
        (".//bpmn:completionCondition", "eval", "completion condition"),
        (".//bpmn:messagePath", "eval", "message correlation"),
    ):
        for el in tree.iterfind(xpath, NS):
            errors = check_code((el.text or "").strip(), mode)  # type: ignore[arg-type]
            for err in errors:
                problem(el, f"{what} refused: {err}")
            if not errors:
                for message in _budget_problems(el, what, (el.text or "").strip(), mode, helpers, True):
                    problem(el, message)
    for tag, kind in (("timeDate", "date"), ("timeDuration", "duration"), ("timeCycle", "cycle")):
        for el in tree.iterfind(f".//bpmn:{tag}", NS):
            expr = (el.text or "").strip()
            errors = check_code(expr, "eval")
            if errors:
                for err in errors:
                    problem(el, f"timer expression refused: {err}")
                continue
            overruns = _budget_problems(el, "timer", expr, "eval", helpers, False)
            for message in overruns:
                problem(el, message)
            if overruns:
                continue
            try:
                value = _sample_eval(env, expr, helpers)
                if kind == "cycle":
                    TimerEventDefinition.parse_iso_recurring_interval(str(value))
                else:
                    TimerEventDefinition.parse_time_or_duration(str(value))
            except BudgetExceeded as exc:
                problem(el, refusal("timer", *_named_owner(el), f"以示例数据求值时{exc.detail}"))
            except Exception as exc:  # any failure here is the designer's to fix, reported, not raised
                problem(el, f"timer expression {expr!r} does not evaluate to an ISO 8601 {kind}: {exc}")
    return problems


def validate_files(
    files: Mapping[str, str | bytes],
    checks: DeployChecks,
) -> ValidatedSet:
    """Validate a set of ``bpmn/*.bpmn`` and ``forms/*.json`` files (paths relative to the project)."""
    helpers = checks.helpers
    result = ValidatedSet()
    env = BudgetedEnvironment(helpers)  # sampled timers and due dates run under the budget (issue 16)

    for path, content in files.items():
        if path.endswith(".json"):
            text = content.decode("utf-8") if isinstance(content, bytes) else content
            schema, problems = parse_form(path, text)
            result.problems.extend(problems)
            for name in (schema or {}).get("properties", {}):
                if name in helpers or name in ENGINE_OWNED or name.startswith("_"):
                    result.problems.append(
                        Problem(
                            path,
                            f"field {name!r} would overwrite a helper or engine-owned variable; rename it",
                        )
                    )
            if schema is not None:
                result.forms[_form_key(path)] = schema

    trees: dict[str, etree._ElementTree] = {}
    for path, content in files.items():
        if not path.endswith(".bpmn"):
            continue
        try:
            tree = parse_xml(content, path)
            VALIDATOR.validate(tree.getroot(), path)
        except UnsafeXml as exc:
            result.problems.append(exc.problem)
            continue
        except ValidationException as exc:
            result.problems.append(Problem(path, f"not valid BPMN 2.0: {exc}", exc.line_number or None))
            continue
        trees[path] = tree
        result.problems.extend(_check_expressions(path, tree, env, helpers))
        for el in tree.iter():
            if isinstance(el.tag, str) and el.get("id") in RESERVED_IDS:
                result.problems.append(
                    Problem(
                        path,
                        f"id {el.get('id')!r} is reserved by the engine; rename the element",
                        el.sourceline,
                        el.get("id"),
                    )
                )

    if not trees:
        if not any(p.endswith(".bpmn") for p in files):
            result.problems.append(Problem("(deploy)", "no .bpmn file in the set"))
        return result

    where = _locate(trees)
    parser = SpiffBpmnParser()
    for path, tree in trees.items():
        try:
            parser.add_bpmn_xml(tree.getroot(), path)
        except ValidationException as exc:
            line = where.get(exc.id, (path, None))[1] if exc.id else exc.line_number
            result.problems.append(Problem(exc.file_name or path, str(exc), line or None, exc.id or None))
    if result.problems:
        return result

    process_ids = parser.get_process_ids()
    for pid in process_ids:
        try:
            result.specs[pid] = parser.get_spec(pid)
            # Called processes and embedded sub-processes: Spiff keeps both as separate specs by id.
            for name, spec in parser.get_subprocess_specs(pid).items():
                result.specs.setdefault(name, spec)
        except ValidationException as exc:
            path, line = where.get(exc.id or pid, ("(deploy)", 0))
            result.problems.append(Problem(exc.file_name or path, str(exc), line or None, exc.id or pid))
    result.process_ids = list(process_ids)
    if not process_ids:
        result.problems.append(Problem("(deploy)", 'no executable process (isExecutable="true") in the set'))

    for spec in result.specs.values():
        for task_spec in spec.task_specs.values():
            if isinstance(task_spec, UserTask):
                result.problems.extend(_check_user_task(task_spec, where, result.forms, env, checks))
            elif isinstance(task_spec, StartEvent):
                result.problems.extend(_check_start_form(task_spec, where, result.forms))
    if result.problems:
        result.specs.clear()
    return result


def _check_start_form(
    task_spec: StartEvent, where: Mapping[str, tuple[str, int]], forms: Mapping[str, dict[str, Any]]
) -> list[Problem]:
    """A start event may name the form its process is started with (e.g. the written report of a case)."""
    form = getattr(task_spec, "extensions", {}).get("properties", {}).get(FORM_PROPERTY)
    if not form or form in forms:
        return []
    path, line = where.get(task_spec.bpmn_id or "", ("(deploy)", 0))
    message = f"start form {form!r} is not in forms/ (or is invalid: see its own messages)"
    return [Problem(path, message, line or None, task_spec.bpmn_id)]


def _check_user_task(
    task_spec: UserTask,
    where: Mapping[str, tuple[str, int]],
    forms: Mapping[str, dict[str, Any]],
    env: RestrictedEnvironment,
    checks: DeployChecks,
) -> list[Problem]:
    helpers = checks.helpers
    element = task_spec.bpmn_id
    path, line = where.get(element, ("(deploy)", 0))
    problems: list[Problem] = []

    def problem(message: str) -> None:
        problems.append(Problem(path, message, line or None, element))

    try:
        checks.check_lane(task_spec.lane)
    except ValueError as exc:
        problem(str(exc))
    props = task_spec.extensions.get("properties", {})
    form = props.get(FORM_PROPERTY)
    if form and form not in forms:
        problem(f"form {form!r} is not in forms/ (or is invalid: see its own messages)")
    qualifier = props.get(ROLE_QUALIFIER_PROPERTY)
    name = task_spec.bpmn_name
    if qualifier:
        errors = check_code(qualifier, "eval")
        for err in errors:
            problem(f"roleQualifier expression refused: {err}")
        for reason in [] if errors else static_reasons(qualifier, "eval"):
            problem(refusal("roleQualifier", element, name, reason))
    due = props.get(DUE_PROPERTY)
    if due:
        errors = check_code(due, "eval")
        for err in errors:
            problem(f"dueDate expression refused: {err}")
        reasons = [] if errors else static_reasons(due, "eval")
        for reason in reasons:
            problem(refusal("dueDate", element, name, reason))
        if not errors and not reasons:
            try:
                TimerEventDefinition.get_datetime(str(_sample_eval(env, due, helpers)))
            except BudgetExceeded as exc:  # issue 16: sampled under the budget
                problem(refusal("dueDate", element, name, f"以示例数据求值时{exc.detail}"))
            except Exception as exc:  # reported to the designer
                problem(f"dueDate {due!r} does not evaluate to an ISO 8601 datetime: {exc}")
    return problems
