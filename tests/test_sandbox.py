"""Tests for the sandbox: BPMN scripts and expressions must not give code execution on the server.

The attack scripts are written so that, if they worked, they would create a marker file; several tests run
them with SpiffWorkflow's *default* engine first to prove they are real attacks, then show that the sandboxed
engine refuses them and that the marker does not appear.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from workflows.engine.sandboxing.sandbox import (
    SANDBOX_BUILTINS,
    RestrictedEnvironment,
    SandboxViolation,
    check_code,
    make_script_engine,
)

PROCESS_ID = "sandbox_test"

BPMN_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="Definitions_sandbox" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:outgoing>flow_start</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="compute" />
    <bpmn:scriptTask id="compute" name="Compute">
      <bpmn:incoming>flow_start</bpmn:incoming>
      <bpmn:outgoing>flow_gateway</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_gateway" sourceRef="compute" targetRef="decide" />
    <bpmn:exclusiveGateway id="decide" name="Large?" default="flow_small">
      <bpmn:incoming>flow_gateway</bpmn:incoming>
      <bpmn:outgoing>flow_large</bpmn:outgoing>
      <bpmn:outgoing>flow_small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="flow_large" sourceRef="decide" targetRef="end_large">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_small" sourceRef="decide" targetRef="end_small" />
    <bpmn:endEvent id="end_large">
      <bpmn:incoming>flow_large</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="end_small">
      <bpmn:incoming>flow_small</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def double(value: Any) -> Any:
    """Helper offered to BPMN authors; its module globals include ``os`` (an attack target)."""
    return value * 2


HELPERS = {"double": double}


def build_workflow(
    script: str,
    condition: str = "total > 10",
    engine: PythonScriptEngine | None = None,
    data: dict[str, Any] | None = None,
) -> BpmnWorkflow:
    """Parse the inline process with ``script`` in the script task and ``condition`` on the gateway."""
    parser = SpiffBpmnParser()
    xml = BPMN_TEMPLATE.format(process_id=PROCESS_ID, script=escape(script), condition=escape(condition))
    parser.add_bpmn_str(xml.encode("utf-8"))
    spec = parser.get_spec(PROCESS_ID)
    subprocess_specs = parser.get_subprocess_specs(PROCESS_ID)
    wf = BpmnWorkflow(spec, subprocess_specs, script_engine=engine or make_script_engine(HELPERS))
    if data:
        start = wf.get_next_task(spec_name="start")
        assert start is not None
        start.data.update(data)
    return wf


def task_data(wf: BpmnWorkflow, spec_name: str) -> dict[str, Any]:
    task = wf.get_next_task(spec_name=spec_name)
    assert task is not None
    return task.data


def completed_ends(wf: BpmnWorkflow) -> set[str]:
    names = {t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)}
    return {name for name in names if name.startswith("end_")}


# --- normal operation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "expected_end"), [(7, "end_large"), (3, "end_small")])
def test_script_writes_task_data_and_gateway_routes_on_it(amount: int, expected_end: str) -> None:
    wf = build_workflow("total = amount + 4\nlabel = 'n=' + str(total)", data={"amount": amount})
    wf.do_engine_steps()

    assert wf.is_completed()
    assert completed_ends(wf) == {expected_end}
    data = task_data(wf, "compute")
    assert data["total"] == amount + 4
    assert data["label"] == f"n={amount + 4}"


def test_helper_is_callable_from_script_and_expression() -> None:
    wf = build_workflow("total = double(amount)", condition="double(total) > 20", data={"amount": 6})
    wf.do_engine_steps()

    assert task_data(wf, "compute")["total"] == 12
    assert completed_ends(wf) == {"end_large"}  # double(12) = 24 > 20


def test_helpers_and_sandbox_names_do_not_leak_into_task_data() -> None:
    script = "total = double(amount)\nprint('debug', total)\nsquare = lambda v: v * v\nsq = square(3)"
    wf = build_workflow(script, data={"amount": 2})
    wf.do_engine_steps()

    data = task_data(wf, "compute")
    # Exactly what the script assigned (minus the lambda, which TaskDataEnvironment also removes).
    assert data == {"amount": 2, "total": 4, "sq": 9}
    assert wf.is_completed()


def test_dict_and_list_writes_work() -> None:
    script = "\n".join(
        [
            "case['status'] = 'closed'",
            "case['tags'].append('reviewed')",
            "del case['draft']",
            "counts = {}",
            "for tag in case['tags']:",
            "    counts[tag] = counts.get(tag, 0) + 1",
            "items = [1]",
            "items.extend([2, 3])",
            "items[0] = 10",
            "items += [4]",
            "total = sum(items)",
            "first, *rest = sorted(items)",
            "pairs = [k + '=' + str(v) for k, v in sorted(counts.items())]",
        ]
    )
    case = {"status": "open", "tags": ["new"], "draft": True}
    wf = build_workflow(script, data={"case": case})
    wf.do_engine_steps()

    data = task_data(wf, "compute")
    assert data["case"] == {"status": "closed", "tags": ["new", "reviewed"]}
    assert data["items"] == [10, 2, 3, 4]
    assert data["total"] == 19
    assert (data["first"], data["rest"]) == (2, [3, 4, 10])
    assert data["pairs"] == ["new=1", "reviewed=1"]
    assert completed_ends(wf) == {"end_large"}


def test_same_task_data_as_default_engine() -> None:
    """The sandbox must not change what ordinary scripts leave in task data."""
    script = "\n".join(
        [
            "total = amount * 3",
            "total -= 1",
            "names = sorted(set(people))",
            "longest = max(names, key=len)",
            "flags = {n: len(n) > 3 for n in names}",
            "ok = all(isinstance(n, str) for n in names) and any(flags.values())",
            "def fmt(n):",
            "    return n.upper()",
            "upper = [fmt(n) for n in names]",
            "ratio = round(total / len(names), 2)",
            "idx = list(enumerate(names))",
            "zipped = dict(zip(names, range(len(names))))",
            "note = 'ok' if ok else 'bad'",
        ]
    )
    start_data = {"amount": 5, "people": ["li", "wang", "li", "zhao"]}
    default_engine = PythonScriptEngine(environment=TaskDataEnvironment(dict(HELPERS)))
    expected = build_workflow(script, engine=default_engine, data=start_data)
    expected.do_engine_steps()
    sandboxed = build_workflow(script, data=start_data)
    sandboxed.do_engine_steps()

    assert task_data(sandboxed, "compute") == task_data(expected, "compute")
    assert completed_ends(sandboxed) == completed_ends(expected) == {"end_large"}


def test_expression_with_leading_spaces_is_accepted_like_builtin_eval() -> None:
    wf = build_workflow("total = 11", condition="  total > 10")
    wf.do_engine_steps()
    assert completed_ends(wf) == {"end_large"}


def test_runtime_error_surfaces_as_workflow_task_exception() -> None:
    wf = build_workflow("total = 1\nratio = total / zero", data={"zero": 0})
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()
    assert info.value.task.task_spec.name == "compute"
    assert isinstance(info.value.error_line, str) and "ratio" in info.value.error_line
    assert "ZeroDivisionError" in str(info.value)


def test_missing_attribute_raises_instead_of_returning_none() -> None:
    env = RestrictedEnvironment()
    with pytest.raises(AttributeError):
        env.evaluate("case.status", {"case": {"status": "open"}})


def test_task_data_shadowing_helper_is_refused_like_default_environment() -> None:
    wf = build_workflow("total = 1", data={"double": 3})
    with pytest.raises(WorkflowTaskException, match="overwrites a predefined"):
        wf.do_engine_steps()


def test_task_data_cannot_replace_guard_functions() -> None:
    env = RestrictedEnvironment()
    # A submitted form could contain such a key; in an expression the guard still wins ...
    assert env.evaluate("case['status']", {"case": {"status": "x"}, "_getitem_": "not a guard"}) == "x"
    # ... and a script refuses to run rather than silently dropping the key.
    with pytest.raises(ValueError, match="reserved by the script sandbox"):
        env.execute("y = 1", {"_write_": 1}, {})


def test_helpers_are_validated() -> None:
    with pytest.raises(TypeError, match="module"):
        RestrictedEnvironment({"os": os})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="identifier"):
        RestrictedEnvironment({"_getattr_": getattr})


def test_sandbox_builtins_have_no_escape_hatches() -> None:
    forbidden = ("__import__", "open", "eval", "exec", "compile", "getattr", "globals", "type")
    for name in (*forbidden, "__build_class__", "setattr", "delattr"):
        assert name not in SANDBOX_BUILTINS
    for name in ("len", "sorted", "zip", "tuple", "isinstance", "range", "enumerate", "dict"):
        assert name in SANDBOX_BUILTINS


# --- check_code ---------------------------------------------------------------------------------------------

REFUSED_SOURCES = [
    pytest.param("import os", "import os", id="import"),
    pytest.param("from os import path", "from os import", id="import-from"),
    pytest.param("__import__('os')", "__import__", id="dunder-import"),
    pytest.param("open('/etc/passwd').read()", "open", id="open"),
    pytest.param("().__class__.__base__.__subclasses__()", "__class__", id="subclasses"),
    pytest.param("getattr(x, '__class__')", "getattr", id="getattr"),
    pytest.param("double.__globals__", "__globals__", id="func-globals"),
    pytest.param("eval('1')", "Eval", id="eval"),
    pytest.param("exec('x=1')", "Exec", id="exec"),
    pytest.param("globals()", "globals", id="globals"),
    pytest.param("f = getattr", "getattr", id="getattr-alias"),
    pytest.param("g = (i for i in [1])\ng.gi_frame", "gi_frame", id="frame"),
]


@pytest.mark.parametrize(("source", "mentions"), REFUSED_SOURCES)
def test_check_code_refuses(source: str, mentions: str) -> None:
    errors = check_code(source, "exec")
    assert errors, source
    assert any(mentions in error for error in errors), errors


@pytest.mark.parametrize(
    "source",
    ["__import__('os')", "open('/etc/passwd').read()", "().__class__.__base__", "eval('1')", "globals()"],
)
def test_check_code_refuses_expressions(source: str) -> None:
    assert check_code(source, "eval")


def test_check_code_accepts_ordinary_code() -> None:
    assert check_code("total = sum(x['n'] for x in rows)\nrows.append({'n': 1})", "exec") == []
    assert check_code("total > 10 and status == 'open'", "eval") == []
    # Form fields are often called "type" or "open": reading them is fine, calling them is not.
    assert check_code("type == 'complaint' or open", "eval") == []


def test_check_code_reports_syntax_errors() -> None:
    errors = check_code("x = = 1", "exec")
    assert len(errors) == 1
    assert "SyntaxError" in errors[0]
    assert check_code("a >", "eval")
    # A statement is not an expression.
    assert check_code("x = 1", "eval")


def test_check_code_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        check_code("1", "single")  # type: ignore[arg-type]


# --- attacks at run time ------------------------------------------------------------------------------------


def attack_scripts(marker: Path, secret: Path) -> dict[str, str]:
    """Scripts that create ``marker`` (or copy ``secret`` into task data) when code execution is possible."""
    m, s = repr(str(marker)), repr(str(secret))
    attacks = {
        "import": f"import os\nos.mkdir({m})",
        "dunder-import": f"__import__('os').mkdir({m})",
        "open": f"with open({s}) as src, open({m}, 'w') as dst:\n    leak = src.read()\n    dst.write(leak)",
        "subclasses": (
            "wc = [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]\n"
            f"wc.__init__.__globals__['mkdir']({m})"
        ),
        "getattr": f"getattr(double, '__globals__')['os'].mkdir({m})",
        "func-globals": f"double.__globals__['os'].mkdir({m})",
        "eval": f"leak = eval(\"__import__('os').mkdir({m})\")",
        "exec": f'exec("import os; os.mkdir({m})")',
        "globals": (
            "b = globals()['__builtins__']\n"
            "imp = b['__import__'] if isinstance(b, dict) else b.__import__\n"
            f"imp('os').mkdir({m})"
        ),
    }
    # ``total`` lets the gateway pass when the default engine runs the script; under the sandbox the whole
    # script is refused, so not even this harmless line runs.
    return {name: "total = 0\n" + script for name, script in attacks.items()}


ATTACKS = list(attack_scripts(Path("m"), Path("s")))


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-42")
    return path


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_really_works_with_default_engine(attack: str, tmp_path: Path, secret: Path) -> None:
    """Control: without the sandbox each attack script does create the marker (so the test is meaningful)."""
    marker = tmp_path / "pwned"
    default_engine = PythonScriptEngine(environment=TaskDataEnvironment(dict(HELPERS)))
    wf = build_workflow(attack_scripts(marker, secret)[attack], engine=default_engine)
    wf.do_engine_steps()
    assert marker.exists()
    if attack == "open":
        assert marker.read_text() == "TOP-SECRET-42"


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_in_script_task_is_refused(attack: str, tmp_path: Path, secret: Path) -> None:
    marker = tmp_path / "pwned"
    script = attack_scripts(marker, secret)[attack]
    assert check_code(script, "exec")

    wf = build_workflow(script, data={"amount": 1})
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()

    assert info.value.error_type == "SandboxViolation"
    assert "Refused by the script sandbox" in str(info.value)
    assert info.value.task.task_spec.name == "compute"
    assert info.value.task.state == TaskState.ERROR
    assert not marker.exists()
    data = task_data(wf, "compute")
    assert data == {"amount": 1}  # nothing written, no helper or guard left behind
    assert not wf.is_completed()


@pytest.mark.parametrize(
    "condition",
    [
        "__import__('os').mkdir(MARKER) is None",
        "open(MARKER, 'w') is not None",
        "[c for c in ().__class__.__mro__[1].__subclasses__() if c.__name__ == '_wrap_close'][0]"
        ".__init__.__globals__['mkdir'](MARKER) is None",
        "double.__globals__['os'].mkdir(MARKER) is None",
        "eval(\"__import__('os').mkdir(MARKER)\") is None",
    ],
)
def test_attack_in_gateway_condition_is_refused(condition: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    condition = condition.replace("MARKER", repr(str(marker)))
    assert check_code(condition, "eval")

    wf = build_workflow("total = 11", condition=condition)
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()

    assert "Error evaluating expression" in str(info.value)
    assert info.value.error_type == "SandboxViolation"
    assert isinstance(info.value.__context__, SandboxViolation)
    assert info.value.task.task_spec.name == "decide"
    assert not marker.exists()


def test_restricted_environment_direct_calls_are_restricted(tmp_path: Path) -> None:
    """SpiffWorkflow calls ``environment.evaluate`` directly (message correlations, process conditions)."""
    marker = tmp_path / "pwned"
    env = RestrictedEnvironment(HELPERS)
    with pytest.raises(SandboxViolation, match="open"):
        env.evaluate(f"open({str(marker)!r}, 'w')", {})
    context: dict[str, Any] = {"a": 1}
    with pytest.raises(SandboxViolation, match="import"):
        env.execute(f"import os\nos.mkdir({str(marker)!r})", context, {})
    assert context == {"a": 1}
    assert not marker.exists()


def test_runtime_guards_hold_even_without_compile_time_refusal() -> None:
    """Aliases pass check_code but find nothing to call; str.format is blocked by the getattr guard."""
    env = RestrictedEnvironment()
    with pytest.raises(NameError):
        env.execute("f = open\nf('/etc/passwd')", {}, {})
    with pytest.raises(NotImplementedError, match="format"):
        env.evaluate("'{0.__class__}'.format(x)", {"x": 1})
    with pytest.raises(TypeError):  # objects other than plain dict/list refuse writes
        env.execute("s = 'abc'\ns[0] = 'x'", {}, {})


def test_syntax_error_at_run_time_is_reported_with_line() -> None:
    wf = build_workflow("total = 1\nx = = 2")
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()
    assert info.value.line_number == 2
    assert info.value.error_line == "x = = 2"
    assert info.value.error_type == "SyntaxError"
