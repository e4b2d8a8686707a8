"""Restricted execution of BPMN scripts and expressions.

Why this module exists: SpiffWorkflow's default ``PythonScriptEngine`` evaluates every script task,
gateway condition, timer expression, multi-instance cardinality, message correlation expression and DMN
cell with plain ``exec``/``eval`` and the full builtins. Whoever can deploy a BPMN file could therefore run
arbitrary code on the server (``import os``, ``open(...)``, or the classic
``().__class__.__base__.__subclasses__()`` escape that defeats an emptied ``__builtins__``). Deploying a
process definition must not be equivalent to shell access.

The defence has two layers, both provided here:

* **Compile time** – source text is compiled with RestrictedPython, whose AST transformer refuses names and
  attributes that start with ``_`` (so no dunder walk to ``object.__subclasses__``), ``exec``/``eval`` calls
  and frame/code introspection attributes. :class:`_SandboxPolicy` additionally refuses ``import`` statements,
  ``class`` statements and calls to namespace/reflection/I/O builtins, so that the deploy validator
  (:func:`check_code`) can reject a bad version before it is accepted, with a message saying what was refused.
* **Run time** – the compiled code runs with a small builtins dict (no ``__import__``, ``open``, ``getattr``,
  ``globals`` …) and RestrictedPython's guard functions, so even code that slipped past a check has nothing
  dangerous to call.

What this module does *not* do: limit CPU time or memory. ``while True: pass`` or ``10 ** 10 ** 9`` would
block the thread (and, holding the GIL, the whole server). ``budgeted.BudgetedEnvironment``, the subclass
the engine uses, runs such code in a worker process under a budget (issue 16).

Task-data semantics are those of SpiffWorkflow's ``TaskDataEnvironment`` (see :class:`RestrictedEnvironment`).
"""

from __future__ import annotations

import ast
import copy
import functools
import operator
import types
from collections.abc import Callable, Mapping
from typing import Any, Literal, NamedTuple, cast

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from RestrictedPython.PrintCollector import PrintCollector
from RestrictedPython.transformer import RestrictingNodeTransformer
from SpiffWorkflow.bpmn.script_engine.python_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

__all__ = [
    "SANDBOX_BUILTINS",
    "RestrictedEnvironment",
    "SandboxViolation",
    "check_code",
    "make_script_engine",
]

Mode = Literal["eval", "exec"]

# Same file name as SpiffWorkflow's own exec/eval: PythonScriptEngine.get_error_line_number_and_content looks
# for frames named '<string>' to report the failing line of a script.
_FILENAME = "<string>"

# Bounded: deployed definitions hold a finite set of expressions, but a long-running server sees many
# versions.
_CACHE_SIZE = 4096

# Escape primitives that no BPMN author needs and nobody names a variable after: refused wherever they appear,
# so ``f = getattr; f(x, '__class__')`` is refused as well as ``getattr(x, '__class__')``.
_REFUSED_NAMES: Mapping[str, str] = {
    "eval": "runs arbitrary code",
    "exec": "runs arbitrary code",
    "compile": "creates code objects",
    "globals": "exposes the execution namespace",
    "locals": "exposes the execution namespace",
    "getattr": "bypasses the attribute checks",
    "setattr": "bypasses the attribute checks",
    "delattr": "bypasses the attribute checks",
    "hasattr": "bypasses the attribute checks",
    "breakpoint": "opens a debugger",
    "memoryview": "gives raw memory access",
}

# Builtins that are dangerous only when *called*: task data may legitimately contain a field named ``open``,
# ``type`` or ``input`` (form fields often are), so reading such a variable stays allowed. At run time none of
# these exist in the sandbox builtins, so smuggling them through an alias only yields a NameError.
_REFUSED_CALLS: Mapping[str, str] = {
    "open": "accesses files on the server",
    "input": "reads the server console",
    "help": "reads the server console",
    "exit": "stops the server process",
    "quit": "stops the server process",
    "vars": "exposes object namespaces",
    "dir": "introspects objects",
    "type": "exposes and creates classes",
    "object": "exposes the root of the class hierarchy",
    "super": "exposes class internals",
}

# Builtins BPMN authors need beyond RestrictedPython's ``safe_builtins``. RestrictedPython leaves out
# sorted/tuple/zip/list/... because they iterate in C and bypass ``_getiter_``; our ``_getiter_`` does not
# restrict anything, so nothing is bypassed.
_EXTRA_FUNCTIONS = (len, min, max, sum, sorted, any, all, round, abs, isinstance)
_EXTRA_TYPES = (str, int, float, bool, list, dict, set, tuple, enumerate, range, zip)
_EXTRA_BUILTINS: Mapping[str, Any] = {obj.__name__: obj for obj in _EXTRA_FUNCTIONS + _EXTRA_TYPES}

# ``safe_builtins`` also carries guarded ``setattr``/``delattr`` (safe, but not needed and refused at compile
# time anyway), ``__build_class__`` (class statements are refused; instances would not serialize into task
# data) and its own ``_getattr_`` (we install the raising variant below).
_DROPPED_SAFE_BUILTINS = frozenset({"setattr", "delattr", "__build_class__", "_getattr_"})

SANDBOX_BUILTINS: Mapping[str, Any] = types.MappingProxyType(
    {k: v for k, v in safe_builtins.items() if k not in _DROPPED_SAFE_BUILTINS} | dict(_EXTRA_BUILTINS)
)
"""Read-only view of the builtins available to sandboxed code (documentation and tests)."""


class SandboxViolation(Exception):
    """Code was refused by the sandbox before running.

    Raised (and so reported by SpiffWorkflow as the cause of a ``WorkflowTaskException``) when a script or
    expression uses a construct that could escape the sandbox. ``errors`` lists every refusal with its line,
    so a BPMN author can fix all of them at once.
    """

    def __init__(self, source: str, errors: tuple[str, ...] | list[str]) -> None:
        self.source = source
        self.errors = tuple(errors)
        super().__init__("Refused by the script sandbox: " + "; ".join(self.errors))


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus refusals that make deploy-time checking meaningful.

    RestrictedPython lets ``import os`` and ``open(...)`` compile and relies on them failing at run time
    because ``__import__``/``open`` are missing from the builtins. That is safe, but a deploy validator would
    accept the definition and the instance would fail months later in production; refusing them here reports
    the problem when the version is uploaded.
    """

    def __init__(self, errors: list[str], warnings: list[str], used_names: dict[str, bool]) -> None:
        super().__init__(errors, warnings, used_names)
        self._reported_names: set[int] = set()

    def visit_Import(self, node: ast.Import) -> ast.AST:
        names = ", ".join(alias.name for alias in node.names)
        self.error(node, f'"import {names}" is not allowed: BPMN scripts cannot import modules.')
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        module = node.module or "."
        self.error(node, f'"from {module} import ..." is not allowed: BPMN scripts cannot import modules.')
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, f'class definition "{node.name}" is not allowed in BPMN scripts.')
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func
        if isinstance(func, ast.Name) and (func.id in _REFUSED_NAMES or func.id in _REFUSED_CALLS):
            self._reported_names.add(id(func))
            # RestrictingNodeTransformer reports exec/eval calls itself; avoid a duplicate message.
            if func.id not in ("exec", "eval"):
                reason = _REFUSED_NAMES.get(func.id) or _REFUSED_CALLS[func.id]
                self.error(node, f'calling "{func.id}" is not allowed: it {reason}.')
        return cast(ast.AST, super().visit_Call(node))  # a call stays a call

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if (
            isinstance(node.ctx, ast.Load)
            and node.id in _REFUSED_NAMES
            and id(node) not in self._reported_names
        ):
            self.error(node, f'using "{node.id}" is not allowed: it {_REFUSED_NAMES[node.id]}.')
        return cast(ast.AST, super().visit_Name(node))  # a name stays a name


class _Compiled(NamedTuple):
    code: types.CodeType | None
    errors: tuple[str, ...]
    # ``SyntaxError.args`` when the text does not parse, so run time can raise a real SyntaxError
    # (SpiffWorkflow reports its line number) instead of a sandbox refusal for what is only a typo.
    syntax_error: tuple[Any, ...] | None


def _normalise(source: str, mode: Mode) -> str:
    """Strip what the builtin ``eval`` strips: it ignores leading spaces and tabs, ``compile`` does not.

    Without this an expression such as ``<conditionExpression> x &gt; 1</conditionExpression>`` would work
    with the default engine and fail in the sandbox.
    """
    return source.lstrip(" \t") if mode == "eval" else source


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile_cached(source: str, mode: Mode) -> _Compiled:
    """Compile once per (source, mode): gateway conditions and timers are evaluated very often.

    Code objects are immutable, so sharing them between threads and environments is safe. Refused code is
    cached too (as its error list) so a broken definition does not cost a recompilation on every evaluation.
    """
    text = _normalise(source, mode)
    syntax_error: tuple[Any, ...] | None = None
    try:
        ast.parse(text, _FILENAME, mode)
    except SyntaxError as err:
        syntax_error = err.args
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    result = compiler(text, filename=_FILENAME, policy=_SandboxPolicy)
    return _Compiled(result.code, tuple(result.errors), syntax_error)


def check_code(source: str, mode: Literal["eval", "exec"]) -> list[str]:
    """Return why ``source`` would be refused by the sandbox (an empty list when it is acceptable).

    Meant for the deploy validator: every script (``exec``) and expression (``eval``) of a definition should
    be checked before the version is accepted, so authors learn about refused constructs and syntax errors
    at upload time rather than when an instance reaches the task.
    """
    if mode not in ("eval", "exec"):
        raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
    if not isinstance(source, str):
        return [f"script or expression must be a string, not {type(source).__name__}"]
    return list(_compile_cached(source, mode).errors)


def _compile(source: str, mode: Mode) -> types.CodeType:
    """Return cached restricted code, or raise SyntaxError / SandboxViolation for refused source."""
    if not isinstance(source, str):
        raise TypeError(f"script or expression must be a string, not {type(source).__name__}")
    compiled = _compile_cached(source, mode)
    if compiled.syntax_error is not None:
        raise SyntaxError(*compiled.syntax_error)
    if compiled.errors or compiled.code is None:
        raise SandboxViolation(source, compiled.errors or ("the code could not be compiled",))
    return compiled.code


_INPLACE_OPERATORS: Mapping[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "^=": operator.ixor,
    "|=": operator.ior,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    """Implement ``x += y`` (RestrictedPython rewrites it to ``x = _inplacevar_('+=', x, y)``).

    The ``operator.i*`` functions keep Python's semantics, e.g. ``lst += [1]`` extends the list in place.
    """
    try:
        func = _INPLACE_OPERATORS[op]
    except KeyError:
        raise SandboxViolation(op, [f'in-place operator "{op}" is not allowed']) from None
    return func(target, value)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call for ``f(*args, **kwargs)``, which RestrictedPython routes through ``_apply_``."""
    return func(*args, **kwargs)


# Guard functions RestrictedPython's rewritten code calls by name. They are put into the globals of every run
# *after* task data, so a task-data key of the same name (e.g. from a submitted form) cannot replace a guard.
_GUARDS: Mapping[str, Any] = types.MappingProxyType(
    {
        "_getattr_": safer_getattr_raise,  # like safer_getattr, but a missing attribute raises AttributeError
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_write_": full_write_guard,  # plain dict/list pass through; other objects refuse item/attr writes
        "_unpack_sequence_": guarded_unpack_sequence,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_inplacevar_": _inplacevar,
        "_apply_": _apply,
        # print() output is collected per run and discarded (scripts must not write to the server's stdout);
        # the default engine would print to stdout.
        "_print_": PrintCollector,
    }
)

# Names the sandbox puts into the execution namespace (``_print`` is the collector RestrictedPython's code
# assigns at module level when a script uses print()). None of them may be left in task data.
_RESERVED_NAMES = frozenset(_GUARDS) | {"__builtins__", "_print"}


class RestrictedEnvironment(TaskDataEnvironment):
    """SpiffWorkflow script environment that runs scripts and expressions through RestrictedPython.

    ``TaskDataEnvironment`` (SpiffWorkflow 3.2) works like this, and so does this class:

    * ``evaluate``: a *copy* of the globals (helpers) is updated with the external context and then with the
      task data, and the expression is evaluated in it. Task data wins over helpers; nothing is written back.
    * ``execute``: the task-data dict itself is the globals of ``exec``. Helpers and the external context are
      first copied into it, so an assignment ``x = a + 1`` lands in ``task.data['x']`` directly; afterwards
      ``__builtins__``, every callable value, every helper name and every external-context name are removed
      from the task data. A task-data key that shadows a helper is refused with ``ValueError`` beforehand.

    Only the compile step and the builtins differ: source is compiled with RestrictedPython (cached), and the
    namespace gets :data:`SANDBOX_BUILTINS` plus the guard functions instead of the real builtins. The guards
    are removed again after ``execute`` like the helpers, so they never leak into task data.

    Helpers are functions (or constants) offered to BPMN authors. They run with full privileges, so they must
    not return modules, engine objects or anything else whose public attributes lead to dangerous objects.
    Modules are refused outright (``datetime.sys`` is one attribute away from ``sys.modules``).
    """

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.globals: dict[str, Any] = {**self.globals, **(helpers or {})}
        for name, value in self.globals.items():
            if not name.isidentifier() or name.startswith("_"):
                # Sandboxed code cannot name such a helper, and it could replace a guard function.
                raise ValueError(f"helper name {name!r} must be an identifier not starting with '_'")
            if isinstance(value, types.ModuleType):
                raise TypeError(f"helper {name!r} is a module; expose the needed functions instead")

    def _namespace_extras(self) -> dict[str, Any]:
        """Builtins and guards for one run; a fresh builtins dict so nothing can leak between runs."""
        return {"__builtins__": dict(SANDBOX_BUILTINS), **_GUARDS}

    def evaluate(
        self,
        expression: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Evaluate an expression (gateway condition, timer, cardinality, …) against task data, read-only."""
        code = _compile(expression, "eval")
        my_globals = copy.copy(self.globals)  # as in TaskDataEnvironment: never pollute later evaluations
        self._prepare_context(context)
        my_globals.update(external_context or {})
        my_globals.update(context)
        my_globals.update(self._namespace_extras())
        return eval(code, my_globals)  # code was compiled by RestrictedPython and runs with sandbox builtins

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run a script with the task data as its namespace, so assignments become task data."""
        code = _compile(script, "exec")  # refuse before touching the task data
        self.check_for_overwrite(context, external_context or {})
        my_globals = copy.copy(self.globals)
        self._prepare_context(context)
        my_globals.update(external_context or {})
        context.update(my_globals)
        context.update(self._namespace_extras())
        try:
            exec(code, context)  # code was compiled by RestrictedPython and runs with sandbox builtins
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True

    def check_for_overwrite(self, context: Mapping[str, Any], external_context: Mapping[str, Any]) -> None:
        """Also refuse task data that would be clobbered by (and removed with) the sandbox's guard names."""
        super().check_for_overwrite(context, external_context)
        clash = (_RESERVED_NAMES - {"__builtins__"}).intersection(context)
        if clash:
            raise ValueError(f"task data uses names reserved by the script sandbox: {sorted(clash)}")

    def _remove_globals_and_functions_from_context(
        self, context: dict[str, Any], external_context: Mapping[str, Any] | None = None
    ) -> None:
        """Base cleanup (callables, helpers, external context, ``__builtins__``) plus the sandbox's names."""
        super()._remove_globals_and_functions_from_context(context, external_context)
        for name in _RESERVED_NAMES:
            context.pop(name, None)


def make_script_engine(helpers: Mapping[str, Callable[..., Any]] | None = None) -> PythonScriptEngine:
    """Return SpiffWorkflow's ``PythonScriptEngine`` running everything in a :class:`RestrictedEnvironment`
    (in process, no budget: ``budgeted.make_script_engine`` adds one).

    The engine is not serialized with a workflow: assign ``wf.script_engine = make_script_engine(...)``
    again after every deserialization, otherwise SpiffWorkflow silently falls back to its unrestricted
    default engine.
    """
    return PythonScriptEngine(environment=RestrictedEnvironment(helpers))
