"""Deploy-time checks of a definition's code against the budget (issue 16).

A version whose code cannot finish within the budget is refused when it is uploaded, naming the element,
rather than failing in every instance that reaches it. Two checks, both meant for
``workflows/engine/deploy/validation.py``:

* :func:`static_reasons` — constructs no data can make affordable (``10**10**7``, ``'a' * 10**9``,
  ``while True: pass``), found in the syntax tree without running anything;
* :func:`sampled_overrun` — the code run once in a script worker under the budget, with every variable a
  :class:`~.wire.Sample` and every helper a stub answering one (so nothing is written and no helper runs).
  Sample data are not real data, so an ordinary error means nothing here; only an overrun is reported.

Timer and due-date expressions are also evaluated with the real helpers to check their value is an ISO
8601 date, duration or cycle; that evaluation runs under the budget too (``BudgetedEnvironment``).
"""

from __future__ import annotations

import ast
import threading

from workflows.engine.errors import BudgetExceeded
from workflows.engine.phrase import Phrase
from workflows.engine.sandboxing.budgeted import run_job
from workflows.engine.sandboxing.cheap import is_cheap, static_refusals
from workflows.engine.sandboxing.limits import Budget, current
from workflows.engine.sandboxing.sandbox import SANDBOX_BUILTINS
from workflows.engine.sandboxing.wire import Sample

# Chinese names of the places code sits in a BPMN file, for the deploy messages.
KIND_NAMES = {
    "script": Phrase("脚本"),
    "pre-script": Phrase("前置脚本"),
    "post-script": Phrase("后置脚本"),
    "condition": Phrase("条件表达式"),
    "multi-instance cardinality": Phrase("多实例数量表达式"),
    "completion condition": Phrase("完成条件表达式"),
    "message correlation": Phrase("消息关联表达式"),
    "timer": Phrase("定时器表达式"),
    "dueDate": Phrase("期限表达式（dueDate）"),
    "roleQualifier": Phrase("角色限定表达式（roleQualifier）"),
}

_passed: set[tuple[str, str, frozenset[str], str, Budget]] = set()  # sampled within budget before
_passed_lock = threading.Lock()
_MAX_PASSED = 4096


def refusal(kind: str, element_id: str | None, element_name: str | None, reason: str) -> Phrase:
    """The deploy message: which element's code, and why it cannot run within the budget."""
    where = (
        Phrase("元素 {id}（{name}）", id=element_id or "?", name=element_name)
        if element_name
        else Phrase("元素 {id}", id=element_id or "?")
    )
    return Phrase(
        "{where}的{kind}超出计算预算，不能部署：{reason}", where=where, kind=KIND_NAMES[kind], reason=reason
    )


def static_reasons(source: str, mode: str) -> list[Phrase]:
    """Why ``source`` can never run within a budget, one reason per construct ("第 1 行…")."""
    return [
        Phrase("第 {line} 行{reason}", line=line, reason=reason)
        for line, reason in static_refusals(source, mode)
    ]


def sampled_overrun(
    source: str, mode: str, helper_names: frozenset[str], sample: str, budget: Budget | None = None
) -> Phrase | None:
    """Run ``source`` once on sample data under the budget; the overrun in words, or ``None``.

    Cheap expressions (:func:`.cheap.is_cheap`) are not run: they cannot overrun. Code that stayed within
    the budget is remembered, so redeploying the same files does not run it again."""
    budget = budget or current()
    key = (source, mode, helper_names, sample, budget)
    if not budget.enabled or (mode == "eval" and is_cheap(source, helper_names)) or key in _passed:
        return None
    try:
        tree = ast.parse(source.lstrip(" \t") if mode == "eval" else source, mode=mode)
    except SyntaxError:
        return None  # the sandbox's own check reports it
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    context = {n: Sample(sample) for n in names - helper_names if n not in SANDBOX_BUILTINS}
    try:
        run_job(mode, source, context, None, {}, budget, sampled=sorted(helper_names), sample=sample)
    except BudgetExceeded as exc:
        return Phrase("以示例数据试运行时{detail}", detail=exc.detail)
    except Exception:  # sample data are not real data: only an overrun counts
        pass
    with _passed_lock:
        if len(_passed) >= _MAX_PASSED:
            _passed.clear()
        _passed.add(key)
    return None
