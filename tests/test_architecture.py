"""The layering rules of docs/architecture.md, checked on the source so that breaking one fails the suite.

* ``workflows/`` imports neither Flask nor ``app``;
* ``workflows.engine`` never imports ``workflows.regulation`` (the regulation hands the engine its parts);
* no import circle between modules of ``workflows/``, counting imports under ``TYPE_CHECKING`` and inside
  functions;
* ``app/`` and ``workflows/`` never import ``scripts`` (the layout tool, benchmarks);
* no module of ``app/`` or ``workflows/`` over 400 lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module name an ``import``/``from`` anywhere in the file names (top level, functions, and
    ``if TYPE_CHECKING`` blocks alike)."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _graph(top: str) -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in (ROOT / top).rglob("*.py")}
    return {name: {imp for imp in _imports(path) if imp in modules} for name, path in modules.items()}


def _all_imports(top: str) -> dict[str, set[str]]:
    return {_module_name(p): set(_imports(p)) for p in (ROOT / top).rglob("*.py")}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_workflows_imports_neither_flask_nor_app() -> None:
    offenders = {
        module: sorted(i for i in imports if i.split(".")[0] in ("flask", "app") or i.startswith("flask_"))
        for module, imports in _all_imports("workflows").items()
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_engine_never_imports_the_regulation() -> None:
    offenders = {
        module: sorted(i for i in imports if i.startswith("workflows.regulation"))
        for module, imports in _all_imports("workflows").items()
        if module.startswith("workflows.engine")
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_runtime_never_imports_the_scripts() -> None:
    """The layout tool and the benchmarks are developer tools: the served application does not load them."""
    offenders = {
        module: sorted(i for i in imports if i.split(".")[0] == "scripts")
        for top in ("app", "workflows")
        for module, imports in _all_imports(top).items()
    }
    assert {m: i for m, i in offenders.items() if i} == {}


def test_no_import_circles_in_workflows() -> None:
    assert _cycles(_graph("workflows")) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    """The rule above is only worth something if the finder sees a circle when there is one."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("top", ["app", "workflows"])
def test_no_module_over_400_lines(top: str) -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / top).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
