"""Scripts and expressions under a budget (issue 16): the environment the engine runs BPMN code in.

:class:`BudgetedEnvironment` is the sandbox (:class:`RestrictedEnvironment`) with one change: code runs in
a script worker (:mod:`.workers`), which is stopped when it passes the process's :class:`Budget` — except
expressions :func:`.cheap.is_cheap` accepts, which run in the calling thread as before (their cost is
bounded by the data they read). To the caller nothing else changes: the same task-data semantics, the
same refusals (compiled here first, so SyntaxError and SandboxViolation are raised exactly as in
process), the same exception classes with the script's line for SpiffWorkflow's error report, and a
helper's own exception object when it was a helper that failed. What is new is :class:`BudgetExceeded`
when the code overran; a script that overran or failed leaves the task data as it was.
"""

from __future__ import annotations

import builtins
import functools
import pickle
import signal
import types
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine

from workflows.engine.errors import BudgetExceeded
from workflows.engine.phrase import Phrase
from workflows.engine.sandboxing import wire, workers
from workflows.engine.sandboxing.cheap import is_cheap
from workflows.engine.sandboxing.limits import MIB, Budget, current
from workflows.engine.sandboxing.sandbox import RestrictedEnvironment, SandboxViolation, _compile
from workflows.engine.sandboxing.worker_main import CPU

_AMOUNTS = {
    "cpu": lambda a, b: Phrase(
        "CPU 时间已用 {used:.2f} 秒，超过 {limit:.0f} 毫秒", used=a, limit=b.cpu_seconds * 1000
    ),
    "memory": lambda a, b: Phrase("内存超过 {limit:.0f} MB", limit=b.memory_bytes / MIB),
    "output": lambda a, b: Phrase(
        "结果超过 {limit:.0f} KB（已达 {used:.0f} KB）", limit=b.output_bytes / 1024, used=a / 1024
    ),
    "wall": lambda a, b: Phrase(
        "运行（含辅助函数）已达 {used:.1f} 秒，超过 {limit:.1f} 秒", used=a, limit=b.wall_seconds
    ),
    "calls": lambda a, b: Phrase("调用辅助函数超过 {limit} 次", limit=b.helper_calls),
    "crash": lambda a, b: Phrase("运行它的工作进程异常退出（{code}）", code=a),
}


def over_budget(resource: str, amount: float, budget: Budget) -> BudgetExceeded:
    words = _AMOUNTS.get(resource, _AMOUNTS["crash"])(amount, budget)
    return BudgetExceeded(
        Phrase("脚本或表达式超出计算预算：{words}，已停止执行", words=words), resource, detail=words
    )


class ScriptError(Exception):
    """An exception raised in a script worker whose class the application does not have (its name is kept
    as the class name, which is what SpiffWorkflow reports)."""


_error_classes: dict[str, type[ScriptError]] = {}


def _script_error(name: str) -> type[ScriptError]:
    cls = _error_classes.get(name)
    if cls is None:
        if not name.isidentifier() or len(_error_classes) >= 256:
            return ScriptError
        cls = _error_classes[name] = type(name, (ScriptError,), {})
    return cls


def _rebuild(type_name: str, args: tuple[Any, ...], message: str, source: str) -> BaseException:
    """The worker's exception as an exception of the same class here (builtin classes only)."""
    if type_name == "SandboxViolation":  # e.g. a refused in-place operator, found at run time
        return SandboxViolation(source, message.removeprefix("Refused by the script sandbox: ").split("; "))
    cls = getattr(builtins, type_name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            return cls(*args)
        except Exception:  # a class with other constructor arguments (e.g. UnicodeDecodeError)
            pass
    return _script_error(type_name)(message)


@functools.lru_cache(maxsize=256)
def _raiser(line: int) -> types.CodeType:
    return compile("\n" * (line - 1) + "raise _error_", "<string>", "exec")


def _raise_at(error: BaseException, line: int) -> NoReturn:
    """Raise ``error`` from a frame named ``<string>`` at ``line``: SpiffWorkflow finds a script's failing
    line by looking for such a frame in the traceback (``get_error_line_number_and_content``), which the
    worker's own frames cannot be."""
    if line > 0:
        exec(_raiser(line), {"_error_": error})  # a fixed one-line raise statement
    raise error


def _raise_reported(
    report: Sequence[Any], source: str, failures: list[BaseException], budget: Budget
) -> NoReturn:
    if report[0] == "budget":
        raise over_budget(str(report[1]), float(report[2]), budget)
    _, type_name, args, message, line, index = report
    if isinstance(index, int) and 0 <= index < len(failures):
        error = failures[index]  # the helper's own exception object, e.g. FormInvalid from check_scores
    else:
        error = _rebuild(str(type_name), tuple(args), str(message), source)
    _raise_at(error, int(line))


def run_job(
    mode: str,
    source: str,
    context: Mapping[str, Any],
    external_context: Mapping[str, Any] | None,
    helpers: Mapping[str, Any],
    budget: Budget,
    *,
    sampled: Sequence[str] = (),
    sample: str | None = None,
) -> Any:
    """Run ``source`` in a worker and return the expression's value, or the task data the script left.

    ``helpers`` run here when the code calls them; ``sampled`` names helpers that the worker replaces by a
    stub answering ``wire.Sample(sample)`` (deploy-time sampling: no helper runs, nothing is written).
    """
    served = {name: value for name, value in helpers.items() if callable(value)}
    external = dict(external_context or {})
    served.update({name: external.pop(name) for name in list(external) if callable(external[name])})
    job = {
        "mode": mode,
        "source": source,
        "context": context,
        "external": external,
        "constants": {name: value for name, value in helpers.items() if not callable(value)},
        "served": tuple(served),
        "sampled": tuple(sampled),
        "sample": sample,
        "cpu": budget.cpu_seconds,
        "output": budget.output_bytes,
    }
    try:
        data = wire.dumps(job)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise TypeError(f"task data cannot be sent to the script worker: {exc}") from None
    failures: list[BaseException] = []
    try:
        tag, outcome = _attempt(data, source, served, budget, failures)
    except workers.WorkerLost:  # before any helper ran for it: once more, on a live worker
        try:
            tag, outcome = _attempt(data, source, served, budget, failures)
        except workers.WorkerLost as lost:
            raise over_budget("crash", lost.returncode or 0, budget) from None
    if tag == wire.DONE:
        return outcome
    _raise_reported(outcome, source, failures, budget)


def _attempt(
    data: bytes,
    source: str,
    served: Mapping[str, Any],
    budget: Budget,
    failures: list[BaseException],
) -> tuple[bytes, Any]:
    """One job on one worker: the final frame's tag and its decoded content."""
    pool = workers.pool()
    try:
        worker = pool.acquire(budget)
    except workers.Overrun as exc:
        raise over_budget(exc.resource, exc.amount, budget) from None
    try:
        tag, payload = workers.exchange(worker, data, served, budget, failures)
        (worker.cpu_idle,) = CPU.unpack_from(payload)
        outcome = wire.loads_task_data(payload[CPU.size :])
        if tag not in (wire.DONE, wire.ERROR):
            raise pickle.UnpicklingError(f"unexpected frame {tag!r}")
        if tag == wire.ERROR and outcome[0] == "budget" and outcome[1] == "memory":
            worker.kill()  # MemoryError leaves a process in doubt: start afresh
    except workers.Overrun as exc:
        raise over_budget(exc.resource, exc.amount, budget) from None
    except workers.WorkerLost as exc:
        if exc.retryable and not failures:
            raise  # run_job tries another worker
        resource = "cpu" if exc.returncode == -signal.SIGXCPU else "crash"
        raise over_budget(resource, exc.returncode or 0, budget) from None
    except Exception as exc:  # undecodable or refused classes: only a worker whose sandbox was escaped
        worker.kill()
        raise SandboxViolation(source, [f"the script worker sent something refused: {exc}"]) from None
    except BaseException:
        worker.kill()  # interrupted mid-job (KeyboardInterrupt, a helper's BaseException …)
        raise
    finally:
        pool.release(worker, budget)
    return tag, outcome


class BudgetedEnvironment(RestrictedEnvironment):
    """The sandbox under a budget; see the module docstring. ``budget`` fixes one for this environment,
    otherwise the process's current one applies at each evaluation (so configuration changes apply)."""

    def __init__(
        self, helpers: Mapping[str, Any] | None = None, *, budget: Budget | None = None, **kwargs: Any
    ) -> None:
        super().__init__(helpers, **kwargs)
        self.fixed_budget = budget
        self.helper_names = frozenset(name for name, value in self.globals.items() if callable(value))

    @property
    def budget(self) -> Budget:
        return self.fixed_budget or current()

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        budget = self.budget
        if not budget.enabled or not isinstance(expression, str) or is_cheap(expression, self.helper_names):
            return super().evaluate(expression, context, external_context)
        _compile(expression, "eval")  # refusals and syntax errors exactly as in process
        self._prepare_context(context)
        return run_job("eval", expression, context, external_context, self.globals, budget)

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        budget = self.budget
        if not budget.enabled or not isinstance(script, str):
            return super().execute(script, context, external_context)
        _compile(script, "exec")
        self.check_for_overwrite(context, external_context or {})
        self._prepare_context(context)
        result = run_job("exec", script, context, external_context, self.globals, budget)
        context.clear()  # only now: a script that failed or overran leaves the task data untouched
        context.update(result)
        return True


def make_script_engine(helpers: Mapping[str, Any] | None = None) -> PythonScriptEngine:
    """SpiffWorkflow's ``PythonScriptEngine`` in a :class:`BudgetedEnvironment` (see
    ``sandbox.make_script_engine`` for why it must be set again after every deserialization)."""
    return PythonScriptEngine(environment=BudgetedEnvironment(helpers))
