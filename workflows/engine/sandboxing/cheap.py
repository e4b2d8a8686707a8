"""Which expressions are cheap enough to evaluate in the request's own thread, and which code is refused at
deploy because it can only blow its budget (issue 16).

Sending an expression to a script worker costs a round trip through a pipe; gateway conditions and due
dates such as ``level == "veto"`` or ``working_days_after(decided_at, 10)`` are evaluated on every
completion. :func:`is_cheap` lets those run in process, so the classifier is deliberately *conservative*:
an expression is cheap only if every node is one whose cost is at most linear in the data it touches and
whose result is at most a few times that data:

* names, constants, attribute and subscript reads (slices included), comparisons, ``and``/``or``/``not``,
  unary ``-``/``+``/``~``, ``a if c else b``, list/tuple/set/dict displays, f-strings without a format
  spec (``f"{x:>999999999}"`` builds a gigabyte);
* ``+``, ``-``, ``/``, ``//`` and ``*`` by an integer literal of at most :data:`MAX_FACTOR`; the sizes
  these can multiply are summed over the expression and bounded by :data:`MAX_FACTOR` (``x + x + x``);
* calls of the helpers (trusted functions; they run in the application either way), of
  :data:`CHEAP_BUILTINS` with positional arguments only (``sum`` with one), and of :data:`CHEAP_METHODS`.

Everything else — ``**``, ``%`` (``'%0999999999d' % 1``), shifts, comprehensions, lambdas, ``round``,
``pow``, ``sorted``, ``range``, starred arguments, keyword arguments to builtins — goes to a worker. So does
any expression longer than :data:`MAX_SOURCE` characters or :data:`MAX_NODES` nodes.

:func:`static_refusals` is the other half: source that is refused at deploy because no data can make it
finish within a budget — constant arithmetic with huge results (``10**10**7``, ``'a' * 10**9``,
``[0] * 10**9``, ``1 << 10**9``) and ``while True:`` loops that nothing in their body can leave.
It complements the budgeted sampling of :mod:`.sampling`, it does not replace it.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

from workflows.engine.phrase import Phrase

MAX_SOURCE = 400
MAX_NODES = 80
MAX_FACTOR = 8

CHEAP_BUILTINS = frozenset({"len", "str", "int", "float", "bool", "abs", "min", "max", "any", "all", "sum"})
CHEAP_METHODS = frozenset(
    {
        "get",
        "keys",
        "values",
        "items",
        "startswith",
        "endswith",
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "isdigit",
        "isoformat",
        "count",
        "index",
    }
)

_LEAVES = (ast.Constant, ast.Name)
_PASS_THROUGH = (
    ast.Expression,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.IfExp,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.JoinedStr,
    ast.FormattedValue,
    ast.Call,
    ast.BinOp,
)
_CONTEXTS_AND_OPERATORS = (ast.expr_context, ast.boolop, ast.unaryop, ast.cmpop)
_GROWING_OPS = (ast.Add, ast.Sub, ast.Div, ast.FloorDiv)


class _NotCheap(Exception):
    pass


def _factor(node: ast.AST, helpers: frozenset[str]) -> int:
    """How many times the largest datum the result can be (0: a small constant), or ``_NotCheap``."""
    if isinstance(node, ast.Constant):
        return 0
    if isinstance(node, ast.Name | ast.Attribute | ast.Subscript):
        for child in ast.iter_child_nodes(node):
            _factor(child, helpers)
        return 1
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, _GROWING_OPS):
            return _factor(node.left, helpers) + _factor(node.right, helpers)
        if isinstance(node.op, ast.Mult):
            for literal, other in ((node.left, node.right), (node.right, node.left)):
                if (
                    isinstance(literal, ast.Constant)
                    and type(literal.value) is int
                    and abs(literal.value) <= MAX_FACTOR
                ):
                    return abs(literal.value) * _factor(other, helpers)
        raise _NotCheap
    if isinstance(node, ast.Call):
        _check_call(node, helpers)
        parts = [*node.args, *(kw.value for kw in node.keywords)]
        if isinstance(node.func, ast.Attribute):  # a method: its receiver is read too
            parts.append(node.func.value)
        return max(1, sum(_factor(part, helpers) for part in parts))
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        raise _NotCheap
    if isinstance(node, _PASS_THROUGH):
        return sum(_factor(child, helpers) for child in ast.iter_child_nodes(node))
    if isinstance(node, _CONTEXTS_AND_OPERATORS):
        return 0
    raise _NotCheap


def _check_call(node: ast.Call, helpers: frozenset[str]) -> None:
    func = node.func
    if isinstance(func, ast.Name) and func.id in helpers:
        if any(kw.arg is None for kw in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
            raise _NotCheap
        return
    if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
        raise _NotCheap
    if isinstance(func, ast.Name) and func.id in CHEAP_BUILTINS:
        if func.id == "sum" and len(node.args) != 1:  # sum(lists, []) is quadratic
            raise _NotCheap
        return
    if isinstance(func, ast.Attribute) and func.attr in CHEAP_METHODS:
        return
    raise _NotCheap


@functools.lru_cache(maxsize=4096)
def is_cheap(expression: str, helpers: frozenset[str] = frozenset()) -> bool:
    """Whether ``expression`` may be evaluated in process: its cost is bounded by the data it reads (see
    the module docstring). ``helpers`` are the names of the trusted helper functions it may call."""
    if len(expression) > MAX_SOURCE:
        return False
    try:
        tree = ast.parse(expression.lstrip(" \t"), mode="eval")
    except SyntaxError:
        return False  # reported by the sandbox's own compile step, wherever it runs
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        return False
    try:
        return _factor(tree, helpers) <= MAX_FACTOR
    except _NotCheap:
        return False


# -- deploy-time refusals ------------------------------------------------------------------------------------

MAX_DIGITS = 100_000  # 10**100000 is computed in about a millisecond; 10**10**7 takes seconds
MAX_LENGTH = 10_000_000  # characters or items of a literal repetition ('a' * 10**7 is 10 MB)


@dataclass(frozen=True)
class _Int:
    digits: float  # decimal digits of the magnitude
    value: int | None  # exact when small enough to compute


@dataclass(frozen=True)
class _Seq:
    length: float


def _digits(value: int) -> float:
    return math.log10(abs(value)) + 1 if value else 1.0


def _fold(node: ast.AST, found: list[tuple[int, str]]) -> _Int | _Seq | None:
    """Estimate constant values without computing big ones; note in ``found`` what is too big."""
    if isinstance(node, ast.Constant):
        if type(node.value) is int:
            return _Int(_digits(node.value), node.value)
        if isinstance(node.value, str | bytes):
            return _Seq(len(node.value))
        return None
    if isinstance(node, ast.List | ast.Tuple):
        return _Seq(len(node.elts))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _fold(node.operand, found)
        if isinstance(inner, _Int) and inner.value is not None:
            return _Int(inner.digits, -inner.value if isinstance(node.op, ast.USub) else inner.value)
        return inner if isinstance(inner, _Int) else None
    if isinstance(node, ast.BinOp):
        return _fold_binop(node, _fold(node.left, found), _fold(node.right, found), found)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "pow"
        and len(node.args) == 2
        and not node.keywords
    ):
        pow_node = ast.copy_location(ast.BinOp(node.args[0], ast.Pow(), node.args[1]), node)
        return _fold_binop(pow_node, _fold(node.args[0], found), _fold(node.args[1], found), found)
    return None


def _fold_binop(
    node: ast.BinOp, left: _Int | _Seq | None, right: _Int | _Seq | None, found: list[tuple[int, str]]
) -> _Int | _Seq | None:
    line = getattr(node, "lineno", 1)
    if isinstance(node.op, ast.Pow) and isinstance(left, _Int) and isinstance(right, _Int):
        if right.value is not None and right.value < 0:
            return None
        base = left.digits - 1 if left.value is None else math.log10(max(abs(left.value), 1))
        exponent = 10 ** min(right.digits, 300) if right.value is None else min(right.value, 10**300)
        digits = exponent * base + 1
        if digits > MAX_DIGITS:
            found.append((line, Phrase("幂运算的结果约有 {amount} 位数字", amount=_amount(digits))))
            return None
        small = digits <= 1000 and left.value is not None and right.value is not None
        return _Int(digits, left.value**right.value if small else None)  # type: ignore[operator]
    if isinstance(node.op, ast.LShift) and isinstance(right, _Int):
        shift = 10 ** min(right.digits, 300) if right.value is None else right.value
        if shift * 0.302 > MAX_DIGITS:
            found.append((line, Phrase("移位运算的结果约有 {amount} 位数字", amount=_amount(shift * 0.302))))
        return None
    if isinstance(node.op, ast.Mult):
        if isinstance(left, _Int) and isinstance(right, _Int):
            digits = left.digits + right.digits
            small = digits <= 1000 and left.value is not None and right.value is not None
            return _Int(digits, left.value * right.value if small else None)  # type: ignore[operator]
        seq, count = (left, right) if isinstance(left, _Seq) else (right, left)
        if isinstance(seq, _Seq) and isinstance(count, _Int):
            times = 10 ** min(count.digits, 300) if count.value is None else max(count.value, 0)
            length = seq.length * times
            if length > MAX_LENGTH:
                found.append(
                    (line, Phrase("重复运算的结果约有 {amount} 个字符或元素", amount=_amount(length)))
                )
                return None
            return _Seq(length)
    if isinstance(node.op, ast.Add) and isinstance(left, _Seq) and isinstance(right, _Seq):
        return _Seq(left.length + right.length)
    return None


def _amount(n: float) -> str | Phrase:
    if n < 1e15:
        return f"{n:,.0f}"
    return f"10^{math.log10(n):.0f}" if math.isfinite(n) else Phrase("无穷多")


def _exits(loop: ast.While) -> bool:
    """Whether anything in the loop's own body could leave it: break, return, raise, or any operation
    that may raise (a call, a subscript, an attribute read). Nested loops' breaks leave only those."""

    def walk(nodes: list[ast.stmt]) -> Iterator[ast.AST]:
        for stmt in nodes:
            if isinstance(stmt, ast.For | ast.While | ast.AsyncFor):
                yield from ast.walk(stmt.iter if isinstance(stmt, ast.For | ast.AsyncFor) else stmt.test)
                yield from (n for n in ast.walk(ast.Module(stmt.body, [])) if not isinstance(n, ast.Break))
                yield from walk(stmt.orelse)
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            else:
                yield from ast.walk(stmt)

    leaving = (ast.Break, ast.Return, ast.Raise, ast.Call, ast.Subscript, ast.Attribute)
    return any(isinstance(node, leaving) for node in walk(loop.body))


def _always_true(test: ast.expr) -> bool:
    return isinstance(test, ast.Constant) and bool(test.value)


@functools.lru_cache(maxsize=1024)
def static_refusals(source: str, mode: str) -> tuple[tuple[int, str], ...]:
    """``(line, reason)`` for each construct in ``source`` that no budget can afford, in Chinese for the
    deploy message; empty for code that parses badly (the sandbox's own check reports that)."""
    try:
        tree = ast.parse(source.lstrip(" \t") if mode == "eval" else source, mode=mode)
    except SyntaxError:
        return ()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp | ast.Call):
            _fold(node, found)  # inner operations are folded again on their own: duplicates dropped below
        if isinstance(node, ast.While) and _always_true(node.test) and not _exits(node):
            found.append((node.lineno, Phrase("循环 while 的条件恒为真，循环体内也没有任何可以结束它的语句")))
    return tuple(dict.fromkeys(found))
    return tuple(found)
