"""Issue 16 point 1, the machinery: which expressions run in process (the classifier), and the script workers
they do not — same results as in process, helpers served by the caller, limits really set, several threads,
the timer scheduler's thread, and a forked server process (gunicorn)."""

from __future__ import annotations

import glob
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import wake_due
from tests.conftest import ROOT, WANCHENG_TOWN
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy
from workflows.engine.errors import BudgetExceeded
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.models import ProcessInstance
from workflows.engine.records import collecting
from workflows.engine.sandboxing import limits, workers
from workflows.engine.sandboxing.budgeted import BudgetedEnvironment, run_job
from workflows.engine.sandboxing.budgeted import make_script_engine as budgeted_engine
from workflows.engine.sandboxing.cheap import is_cheap, static_refusals
from workflows.engine.sandboxing.sandbox import RestrictedEnvironment
from workflows.engine.sandboxing.sandbox import make_script_engine as sandbox_engine
from workflows.engine.sandboxing.script_helpers import make_helpers

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
HELPERS = make_helpers(WorkingCalendar())
NAMES = frozenset(HELPERS)


def the_regulations_code() -> tuple[list[str], list[str]]:
    """Every expression (conditions, timers, due dates, qualifiers) and script of bpmn/*.bpmn."""
    expressions, scripts = [], []
    for path in sorted(glob.glob(str(ROOT / "bpmn" / "*.bpmn"))):
        tree = etree.parse(path)
        for xpath in (".//bpmn:conditionExpression", ".//bpmn:timeDate", ".//bpmn:loopCardinality"):
            expressions += [(el.text or "").strip() for el in tree.iterfind(xpath, NS)]
        props = tree.iterfind(".//spiffworkflow:property", NS)
        expressions += [p.get("value", "") for p in props if p.get("name") in ("dueDate", "roleQualifier")]
        for xpath in (".//bpmn:script", ".//spiffworkflow:preScript", ".//spiffworkflow:postScript"):
            scripts += [el.text or "" for el in tree.iterfind(xpath, NS)]
    return expressions, scripts


# -- the classifier and the static check -------------------------------------------------------------------


def test_the_regulations_expressions_run_in_process_and_its_scripts_pass_the_static_check() -> None:
    expressions, scripts = the_regulations_code()
    assert len(expressions) > 100 and len(scripts) > 100
    regulation_helpers = NAMES | {"subordinate_units", "sanctions_in_force", "draft_document"}
    assert [e for e in expressions if not is_cheap(e, regulation_helpers)] == []
    assert [s for s in scripts + expressions if static_refusals(s, "exec")] == []


@pytest.mark.parametrize(
    "expression",
    [
        "'x' if 10**10**7 else ''",
        "pow(10, n)",
        "'a' * 10**9",
        "[0] * n",
        "x * 100",  # only small literal factors
        "x + x + x + x + x + x + x + x + x",  # nine times the largest datum
        "'%0999999999d' % 1",
        "x % 2",  # x may be a format string from a form
        "f'{x:>999999999}'",
        "1 << n",
        "round(x, -10**9)",
        "sum(rows, [])",
        "sorted(rows)",
        "[r for r in rows]",
        "(lambda: 1)()",
        "max(rows, key=len)",
        "len(*rows)",
        "x.ljust(10**9)",
        "range(10**9)",
        "x" * 500,
    ],
)
def test_costly_or_unbounded_expressions_are_not_cheap(expression: str) -> None:
    assert not is_cheap(expression, NAMES)


@pytest.mark.parametrize(
    ("source", "mode", "found"),
    [
        ("y = pow(10, 10**8)", "exec", "位数字"),
        ("z = 1 << 10**10", "exec", "位数字"),
        ("a = ('ab' * 10**4) * 10**4", "exec", "字符或元素"),
        ("for i in range(3):\n    while 1:\n        x = i", "exec", "循环"),
    ],
)
def test_static_check_finds_unaffordable_constants_and_endless_loops(
    source: str, mode: str, found: str
) -> None:
    (refusal,) = static_refusals(source, mode)
    assert found in refusal[1]


def test_loops_that_can_end_are_not_refused_statically() -> None:
    for source in (
        "while True:\n    if x:\n        break",
        "while True:\n    x = next_item()",
        "y = 10**100",
    ):
        assert static_refusals(source, "exec") == ()


# -- workers give what the sandbox gives in process ----------------------------------------------------------

DATA: dict[str, Any] = {
    "level": "veto",
    "names": ["li", "wang", "zhao"],
    "amount": Decimal("12.50"),
    "day": date(2026, 3, 16),
    "at": datetime(2026, 3, 16, 9, 0),
    "pair": (1, 2),
    "tags": {"a", "b"},
    "counts": {1: "one", 2: "two"},
    "decided_at": "2026-03-16T09:00:00+08:00",
}


@pytest.mark.parametrize(
    "expression",
    [
        "level == 'veto' and len(names) == 3",
        "sum([len(n) for n in names]) + max(len(n) for n in names) - min([1, 2])",
        "str(amount * 2)",
        "amount * 2",
        "day + timedelta_days",
        "(day, at, pair, tags, counts)",
        "months_after(decided_at, 2)",
        "working_days_after(decided_at, 10)",
        "before(now(), months_after(decided_at, 2 ** 1))",
        "date_of(working_days_after(decided_at, len(names)))",
    ],
)
def test_worker_and_in_process_agree(expression: str) -> None:
    data = {**DATA, "timedelta_days": timedelta(days=3)}
    in_process = RestrictedEnvironment(HELPERS).evaluate(expression, dict(data))
    in_worker = run_job("eval", expression, data, None, HELPERS, limits.current())
    assert in_worker == in_process and type(in_worker) is type(in_process)


def test_a_script_leaves_the_same_task_data() -> None:
    script = (
        "names.append('qian')\ncounts[3] = 'three'\ntotal = sum([len(n) for n in names])\n"
        "due = months_after(decided_at, 2)"
    )
    expected, data = dict(DATA, names=["li", "wang"]), dict(DATA, names=["li", "wang"])
    RestrictedEnvironment(HELPERS).execute(script, expected, {})
    BudgetedEnvironment(HELPERS).execute(script, data, {})
    assert data == expected


def test_workflows_run_the_same_with_the_budgeted_engine() -> None:
    """test_sandbox.py's workflow through SpiffWorkflow: task data, routing and error reports (the failing
    line of a script, found by SpiffWorkflow in the traceback) are the same when the script runs in a
    worker."""
    from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException

    from tests.test_sandbox import HELPERS as SANDBOX_HELPERS
    from tests.test_sandbox import build_workflow, completed_ends, task_data

    script = "names = sorted(set(people))\nflags = {n: len(n) > 3 for n in names}\ntotal = len(names) * 6"
    results = []
    for make in (sandbox_engine, budgeted_engine):
        wf = build_workflow(script, engine=make(SANDBOX_HELPERS), data={"people": ["li", "wang", "li"]})
        wf.do_engine_steps()
        results.append((task_data(wf, "compute"), completed_ends(wf)))
    assert results[0] == results[1] and results[1][1] == {"end_large"}
    wf = build_workflow("total = 1\nratio = total / zero", engine=budgeted_engine(SANDBOX_HELPERS))
    wf.get_next_task(spec_name="start").data["zero"] = 0
    with pytest.raises(WorkflowTaskException) as info:
        wf.do_engine_steps()
    assert info.value.line_number == 2 and info.value.error_line == "ratio = total / zero"
    assert info.value.error_type == "ZeroDivisionError"


def test_helpers_run_in_the_callers_thread_with_its_context() -> None:
    def check_scores(scores: list[int]) -> bool:
        if max(scores) > 100:
            raise ProblemInData("score above 100")
        return True

    env = BudgetedEnvironment({**HELPERS, "check_scores": check_scores})
    with collecting() as records:
        script = "for s in scores:\n    record('scored', score=s)\nok = check_scores(scores)"
        env.execute(script, {"scores": [7, 8]}, {})
    assert [(r.kind, r.detail) for r in records] == [("scored", {"score": 7}), ("scored", {"score": 8})]
    with pytest.raises(ProblemInData, match="above 100") as info:
        env.execute("ok = check_scores([1, 101])", {}, {})
    assert isinstance(info.value, ProblemInData)  # the helper's own exception, not a copy
    data: dict[str, Any] = {}
    env.execute("try:\n    check_scores([101])\nexcept Exception:\n    caught = True", data, {})
    assert data == {"caught": True}


class ProblemInData(Exception):
    pass


def test_what_task_data_cannot_hold_is_refused() -> None:
    env = BudgetedEnvironment(HELPERS)
    with pytest.raises(TypeError, match="generator"):
        env.execute("g = (n for n in [1])", {}, {})
    with pytest.raises(ValueError, match="cyclic"):
        env.execute("a = []\na.append(a)", {}, {})
    with pytest.raises(BudgetExceeded) as info:
        env.execute("for i in range(5000):\n    now()", {}, {})
    assert info.value.resource == "calls"


# -- the pool ------------------------------------------------------------------------------------------------


def worker_pids() -> set[int]:
    return {w.proc.pid for w in workers.pool().workers}


def proc_limits(pid: int) -> dict[str, str]:
    """``/proc/<pid>/limits`` as {"Max address space": "94371840", ...} (the soft limit)."""
    lines = Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]
    return {line[:26].strip(): line[26:].split()[0] for line in lines}


def test_workers_are_limited_and_replaced_after_an_overrun() -> None:
    env = BudgetedEnvironment(HELPERS)
    assert env.evaluate("2 ** 10", {}) == 1024
    for pid in worker_pids():
        found = proc_limits(pid)
        assert found["Max address space"] != "unlimited" and found["Max file size"] == "0"
        assert Path(f"/proc/{pid}/environ").read_bytes() == b"LANG=C.UTF-8\x00"  # no database URL, no key
    before = worker_pids()
    with pytest.raises(BudgetExceeded):
        env.evaluate("10 ** 10 ** 8", {})
    assert before - worker_pids()  # the worker that overran is gone ...
    assert env.evaluate("2 ** 10", {}) == 1024  # ... and another does the work


def test_a_worker_lost_while_idle_or_mid_job_is_replaced() -> None:
    env = BudgetedEnvironment(HELPERS)
    assert env.evaluate("2 ** 3", {}) == 8
    for pid in worker_pids():  # killed from outside while idle: the next job goes to a live worker
        os.kill(pid, signal.SIGKILL)
    assert env.evaluate("2 ** 4", {}) == 16

    called = threading.Event()

    def started() -> bool:
        called.set()
        return True

    budget = limits.Budget(cpu_seconds=5, wall_seconds=10)
    patient = BudgetedEnvironment({**HELPERS, "started": started}, budget=budget)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            patient.evaluate("started() and sum(range(10 ** 9))", {})  # a helper ran: no second try
        except BaseException as exc:  # the test inspects it
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    assert called.wait(timeout=10)
    os.kill(busy_pids().pop(), signal.SIGSEGV)  # a crash mid-job
    thread.join(timeout=10)
    (error,) = outcome
    assert isinstance(error, BudgetExceeded) and error.resource == "crash"
    assert env.evaluate("2 ** 5", {}) == 32


def busy_pids() -> set[int]:
    pool = workers.pool()
    with pool.cond:
        return {w.proc.pid for w in pool.workers if w not in pool.idle}


def test_threads_share_a_bounded_pool() -> None:
    env = BudgetedEnvironment(HELPERS)
    results: dict[int, list[int]] = {}

    def run(k: int) -> None:
        results[k] = [env.evaluate("k ** 2 + i", {"k": k, "i": i}) for i in range(10)]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    peak = 0
    while any(t.is_alive() for t in threads):
        peak = max(peak, len(workers.pool().workers))
        time.sleep(0.001)
    assert results == {k: [k**2 + i for i in range(10)] for k in range(12)}
    assert peak <= limits.current().workers


def test_a_forked_process_starts_its_own_workers() -> None:
    env = BudgetedEnvironment(HELPERS)
    assert env.evaluate("3 ** 3", {}) == 27
    parent_workers = worker_pids()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: what a gunicorn worker forked from a preloaded app does
        try:
            os.close(read_end)
            ok = env.evaluate("3 ** 4", {}) == 81 and not worker_pids() & parent_workers
            os.write(write_end, b"ok" if ok else b"no")
        finally:
            os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    assert os.read(read_end, 2) == b"ok" and status == 0
    os.close(read_end)
    assert env.evaluate("3 ** 5", {}) == 243 and parent_workers <= worker_pids()


# -- the timer scheduler's thread ----------------------------------------------------------------------------

TIMED = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="budget_timed" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="等待">
      <bpmn:timerEventDefinition id="td"><bpmn:timeDate>working_days_after(now(), 5 ** 1)</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="compute"/>
    <bpmn:scriptTask id="compute" name="计算"><bpmn:script>x = 10 ** (10 ** n)</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="compute" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize(("n", "finished"), [(1, True), (7, False)])
def test_the_scheduler_thread_runs_code_in_workers(
    session: Session,
    engine: Engine,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    n: int,
    finished: bool,
) -> None:
    deploy(session, {"bpmn/budget_timed.bpmn": TIMED}, engine.checks, created_by="test")
    inst = engine.start("budget_timed", business_key=f"T-{n}", unit_code=WANCHENG_TOWN, data={"n": n})
    session.commit()
    state = inst.state_json
    clock.set(clock.now() + timedelta(days=14))

    def scheduler() -> None:
        with session_factory() as s:
            wake_due(s, make_engine)

    thread = threading.Thread(target=scheduler)
    started = time.perf_counter()
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and time.perf_counter() - started < 10
    with session_factory() as s:
        row = s.get(ProcessInstance, inst.id)
        assert row is not None
        assert (row.status == "complete") is finished
        assert finished or row.state_json == state  # the overrun changed nothing
