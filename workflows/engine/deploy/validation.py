"""Everything a set of BPMN files and forms must pass before it becomes a deployed version.

Order matters for the messages: unsafe or malformed XML first (nothing else can be read), then the BPMN 2.0
and spiffworkflow XSDs, then SpiffWorkflow's own parse (gateways, called processes), then our rules: each user
task in a lane naming a known role, each referenced form present and valid, each script, condition, timer
and due-date expression allowed by the sandbox and evaluable. Every problem names file, line and element.
"""

from __future__ import annotations

import ast
import re
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
from workflows.engine.deploy.wording import label, not_bpmn, scrub, spiff_problem, tree_or_none
from workflows.engine.deploy.xmlsafe import UnsafeXml, parse_xml
from workflows.engine.errors import BudgetExceeded, Problem
from workflows.engine.parts import DeployChecks
from workflows.engine.phrase import Phrase
from workflows.engine.sandboxing.budgeted import BudgetedEnvironment
from workflows.engine.sandboxing.sampling import KIND_NAMES, refusal, sampled_overrun, static_reasons
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


# An unquoted ISO 8601 date, duration or cycle (``PT5M``, ``R3/PT10M``, ``2026-03-16T09:00``): Python would
# read ``PT5M`` as a variable that never exists, which only fails when an instance reaches the timer.
ISO_LITERAL = re.compile(
    r"(R\d*/)?(P(?=\d|T\d)(\d+[YMWD])*(T(\d+(\.\d+)?[HMS])+)?|\d{4}-\d\d-\d\d(T[\d:.]+([+-][\d:]+|Z)?)?)"
)
ISO_KINDS = {"date": Phrase("日期时间"), "duration": Phrase("时长"), "cycle": Phrase("循环周期")}


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
) -> list[Phrase]:
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

    def problem(el: etree._Element, message: Phrase) -> None:  # the shape's id: the event, not its timer
        problems.append(Problem(path, message, el.sourceline, _named_owner(el)[0]))

    def owner(el: etree._Element) -> Phrase:
        element_id, name = _named_owner(el)
        node = tree.find(f".//*[@id='{element_id}']") if element_id else None
        return label(element_id, name, node.tag if node is not None else None)

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
                problem(
                    el,
                    Phrase(
                        "{owner}的{kind}不被允许：{error}", owner=owner(el), kind=KIND_NAMES[what], error=err
                    ),
                )
            if not errors:
                for message in _budget_problems(el, what, (el.text or "").strip(), mode, helpers, True):
                    problem(el, message)
    for tag, kind in (("timeDate", "date"), ("timeDuration", "duration"), ("timeCycle", "cycle")):
        for el in tree.iterfind(f".//bpmn:{tag}", NS):
            expr = (el.text or "").strip()
            if not expr:
                problem(el, Phrase("{owner}的定时器没有填写时间", owner=owner(el)))
                continue
            if ISO_LITERAL.fullmatch(expr):  # what other modellers write: text, not an expression
                problem(
                    el,
                    Phrase(
                        "{owner}的定时器写的是 ISO 8601 文字 {expr}；"
                        '本系统的定时器是表达式，请加引号写成 "{expr}"',
                        owner=owner(el),
                        expr=expr,
                    ),
                )
                continue
            errors = check_code(expr, "eval")
            if errors:
                for err in errors:
                    problem(el, Phrase("{owner}的定时器表达式不被允许：{error}", owner=owner(el), error=err))
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
                problem(
                    el,
                    refusal(
                        "timer", *_named_owner(el), Phrase("以示例数据求值时{detail}", detail=exc.detail)
                    ),
                )
            except Exception as exc:  # any failure here is the designer's to fix, reported, not raised
                problem(
                    el,
                    Phrase(
                        "{owner}的定时器表达式 {expr} 求值结果不是 ISO 8601 {kind}：{error}",
                        owner=owner(el),
                        expr=expr,
                        kind=ISO_KINDS[kind],
                        error=scrub(str(exc)),
                    ),
                )
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
                            path, Phrase("表单字段 {name} 会覆盖流程引擎自带的变量或函数，请改名", name=name)
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
            line = exc.line_number or None
            result.problems.append(Problem(path, not_bpmn(tree_or_none(content), line, str(exc)), line))
            continue
        trees[path] = tree
        result.problems.extend(_check_expressions(path, tree, env, helpers))
        for el in tree.iter():
            if isinstance(el.tag, str) and el.get("id") in RESERVED_IDS:
                result.problems.append(
                    Problem(
                        path,
                        Phrase(
                            "{element}的 id 是流程引擎的保留字，请改名",
                            element=label(el.get("id"), el.get("name"), el.tag),
                        ),
                        el.sourceline,
                        el.get("id"),
                    )
                )

    if not trees:
        if not any(p.endswith(".bpmn") for p in files):
            result.problems.append(Problem("(deploy)", Phrase("没有流程图文件（.bpmn）")))
        return result

    where = _locate(trees)
    parser = SpiffBpmnParser()
    for path, tree in trees.items():
        try:
            parser.add_bpmn_xml(tree.getroot(), path)
        except ValidationException as exc:
            result.problems.append(spiff_problem(exc, path, tree, where))
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
            path = where.get(exc.id or pid, ("(deploy)", 0))[0]
            result.problems.append(spiff_problem(exc, path, trees.get(path), where, pid))
    result.process_ids = list(process_ids)
    if not process_ids:
        result.problems.append(
            Problem("(deploy)", Phrase('没有可执行的流程（isExecutable="true"）：只能查看，不能部署运行'))
        )

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
    who = label(task_spec.bpmn_id, task_spec.bpmn_name, "startEvent")
    message = Phrase(
        "{who}的发起表单 {form} 不在 forms/ 中（或表单本身有误，见该表单的提示）", who=who, form=form
    )
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

    who = label(element, task_spec.bpmn_name, "userTask")

    def problem(message: Phrase) -> None:
        problems.append(Problem(path, message, line or None, element))

    try:
        checks.check_lane(task_spec.lane)
    except ValueError as exc:
        problem(Phrase("{who}：{error}", who=who, error=str(exc)))
    props = task_spec.extensions.get("properties", {})
    form = props.get(FORM_PROPERTY)
    if form and form not in forms:
        problem(
            Phrase("{who}的表单 {form} 不在 forms/ 中（或表单本身有误，见该表单的提示）", who=who, form=form)
        )
    qualifier = props.get(ROLE_QUALIFIER_PROPERTY)
    name = task_spec.bpmn_name
    if qualifier:
        errors = check_code(qualifier, "eval")
        for err in errors:
            problem(Phrase("{who}的角色限定表达式（roleQualifier）不被允许：{error}", who=who, error=err))
        for reason in [] if errors else static_reasons(qualifier, "eval"):
            problem(refusal("roleQualifier", element, name, reason))
    due = props.get(DUE_PROPERTY)
    if due:
        errors = check_code(due, "eval")
        for err in errors:
            problem(Phrase("{who}的期限表达式（dueDate）不被允许：{error}", who=who, error=err))
        reasons = [] if errors else static_reasons(due, "eval")
        for reason in reasons:
            problem(refusal("dueDate", element, name, reason))
        if not errors and not reasons:
            try:
                TimerEventDefinition.get_datetime(str(_sample_eval(env, due, helpers)))
            except BudgetExceeded as exc:  # issue 16: sampled under the budget
                problem(
                    refusal("dueDate", element, name, Phrase("以示例数据求值时{detail}", detail=exc.detail))
                )
            except Exception as exc:  # reported to the designer
                problem(
                    Phrase(
                        "{who}的期限表达式（dueDate）{due} 求值结果不是 ISO 8601 日期时间：{error}",
                        who=who,
                        due=due,
                        error=scrub(str(exc)),
                    )
                )
    return problems
