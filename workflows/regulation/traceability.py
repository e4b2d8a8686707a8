"""Traceability: obligation → BPMN element → test.

Three sources, read from a project root (no database, no Flask):

* ``workflows/regulation/obligations.csv`` — the regulation's obligations with their ids (O34.2 = Art. 34);
* ``bpmn/*.bpmn`` — every flow element whose ``spiffworkflow:property name="article"`` cites ids, e.g.
  ``Art. 35, 34 (O34.1, O35.4)`` (parsed with the hardened parser of :mod:`workflows.engine.deploy.xmlsafe`);
* ``tests/*.py`` — read statically with :mod:`ast` for the pytest marker ``obligation("O34.2", …)`` on test
  functions, classes and a module's ``pytestmark``.

:func:`build_report` joins them per obligation and names the problems CI refuses: an element or a test citing
an id that is not in the list, and an obligation an element carries that no test exercises.
"""

from __future__ import annotations

import ast
import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from workflows.engine.actors import Actor
from workflows.engine.deploy.xmlsafe import parse_xml

OBLIGATIONS_CSV = Path(__file__).with_name("obligations.csv")
OBLIGATION_ID = re.compile(r"O\d+\.\d+")
ARTICLE_PROPERTY = "article"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
MARKER = "obligation"
#: Who may read the coverage page (the API is open to every logged-in user, like the other read endpoints).
COVERAGE_ROLES = frozenset({"supervisor", "designer"})
#: Problem kinds: an element / a test cites an unknown id; an obligation an element carries is untested.
UNKNOWN_IN_ELEMENT, UNKNOWN_IN_TEST, UNTESTED = "unknown_in_element", "unknown_in_test", "untested"


@dataclass(frozen=True)
class Obligation:
    id: str
    article: str  # as the list writes it: "34", "7(1)", "31(8)"
    actor: str
    text: str
    timing: str
    carried_by: str  # the list's note on where it should live

    @property
    def article_zh(self) -> str:
        return article_zh(self.article)


@dataclass(frozen=True)
class Element:
    file: str  # "bpmn/annual_cycle.bpmn"
    id: str
    name: str
    process: str
    kind: str  # BPMN element type: userTask, boundaryEvent, …
    article: str  # the property as written
    cites: tuple[str, ...]


@dataclass(frozen=True)
class MarkedTest:
    node_id: str  # "tests/test_x.py::TestC::test_m"
    cites: tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    kind: str
    obligation_id: str
    where: str

    def __str__(self) -> str:
        if self.kind == UNKNOWN_IN_ELEMENT:
            return f"{self.where} cites {self.obligation_id}, which is not in the obligation list"
        if self.kind == UNKNOWN_IN_TEST:
            return f"{self.where} is marked obligation({self.obligation_id!r}), which is not in the list"
        return f"{self.obligation_id} is carried by {self.where} but no test is marked with it"


@dataclass(frozen=True)
class Coverage:
    obligation: Obligation
    elements: tuple[Element, ...]
    tests: tuple[str, ...]

    @property
    def carried(self) -> bool:
        return bool(self.elements)

    @property
    def tested(self) -> bool:
        return bool(self.tests)


@dataclass
class Report:
    coverage: list[Coverage]
    problems: list[Problem] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {
            "obligations": len(self.coverage),
            "carried": sum(c.carried for c in self.coverage),
            "tested": sum(c.tested for c in self.coverage),
            "both": sum(c.carried and c.tested for c in self.coverage),
            "untested_carried": sum(c.carried and not c.tested for c in self.coverage),
        }


# -- sources ------------------------------------------------------------------------------------------------
def load_obligations(path: Path = OBLIGATIONS_CSV) -> list[Obligation]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Obligation(
                id=row["id"].strip(),
                article=row["article"].strip(),
                actor=row["actor"].strip(),
                text=row["obligation"].strip(),
                timing=row["timing"].strip(),
                carried_by=row["carried_by"].strip(),
            )
            for row in csv.DictReader(handle)
            if row.get("id")
        ]


def _local(node: etree._Element) -> str:
    return etree.QName(node).localname


def _owner(prop: etree._Element) -> etree._Element | None:
    """The BPMN element a ``spiffworkflow:property`` belongs to (through properties / extensionElements)."""
    node = prop.getparent()
    while node is not None and (
        etree.QName(node).namespace != BPMN_NS or _local(node) == "extensionElements"
    ):
        node = node.getparent()
    return node


def _process_of(node: etree._Element) -> str:
    for ancestor in node.iterancestors():
        if etree.QName(ancestor).namespace == BPMN_NS and _local(ancestor) == "process":
            return ancestor.get("id", "")
    return ""


def scan_bpmn(root: Path) -> list[Element]:
    """Every element under ``root/bpmn/*.bpmn`` whose ``article`` property cites obligation ids."""
    found: list[Element] = []
    for path in sorted((root / "bpmn").glob("*.bpmn")):
        rel = path.relative_to(root).as_posix()
        tree = parse_xml(path.read_bytes(), rel)
        for prop in tree.iter("{*}property"):
            if prop.get("name") != ARTICLE_PROPERTY or _local(prop.getparent()) != "properties":
                continue
            value = prop.get("value", "")
            cites = tuple(dict.fromkeys(OBLIGATION_ID.findall(value)))
            owner = _owner(prop)
            if not cites or owner is None:
                continue
            found.append(
                Element(
                    file=rel,
                    id=owner.get("id", ""),
                    name=owner.get("name", ""),
                    process=_process_of(owner),
                    kind=_local(owner),
                    article=value,
                    cites=cites,
                )
            )
    return found


def _marker_ids(node: ast.expr) -> Iterator[str]:
    """Ids of ``pytest.mark.obligation("O1.1", …)`` / ``mark.obligation(…)``, also inside a list/tuple."""
    if isinstance(node, (ast.List, ast.Tuple)):
        for item in node.elts:
            yield from _marker_ids(item)
        return
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return
    func = node.func
    owner = func.value
    is_mark = (isinstance(owner, ast.Attribute) and owner.attr == "mark") or (
        isinstance(owner, ast.Name) and owner.id == "mark"
    )
    if func.attr == MARKER and is_mark:
        for arg in node.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield arg.value


def _decorated(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> list[str]:
    return [i for d in node.decorator_list for i in _marker_ids(d)]


def _tests_in(body: Iterable[ast.stmt], prefix: str, inherited: list[str]) -> Iterator[tuple[str, list[str]]]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            yield f"{prefix}::{node.name}", inherited + _decorated(node)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            yield from _tests_in(node.body, f"{prefix}::{node.name}", inherited + _decorated(node))


def scan_tests(root: Path) -> list[MarkedTest]:
    """Every test under ``root/tests/*.py`` that carries the ``obligation`` marker, with its node id."""
    found: list[MarkedTest] = []
    for path in sorted((root / "tests").glob("*.py")):
        rel = path.relative_to(root).as_posix()
        module = ast.parse(path.read_text(encoding="utf-8"), rel)
        module_marks = [
            i
            for node in module.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
            for i in _marker_ids(node.value)
        ]
        for node_id, ids in _tests_in(module.body, rel, module_marks):
            if ids:
                found.append(MarkedTest(node_id, tuple(dict.fromkeys(ids))))
    return found


# -- the report ---------------------------------------------------------------------------------------------
def build_report(root: Path, obligations_csv: Path = OBLIGATIONS_CSV) -> Report:
    obligations = load_obligations(obligations_csv)
    known = {o.id for o in obligations}
    elements, tests = scan_bpmn(root), scan_tests(root)
    problems = [
        Problem(UNKNOWN_IN_ELEMENT, oid, f"{e.file}#{e.id}")
        for e in elements
        for oid in e.cites
        if oid not in known
    ]
    problems += [
        Problem(UNKNOWN_IN_TEST, oid, t.node_id) for t in tests for oid in t.cites if oid not in known
    ]
    coverage = [
        Coverage(
            obligation=o,
            elements=tuple(e for e in elements if o.id in e.cites),
            tests=tuple(t.node_id for t in tests if o.id in t.cites),
        )
        for o in obligations
    ]
    problems += [
        Problem(UNTESTED, c.obligation.id, ", ".join(f"{e.file}#{e.id}" for e in c.elements))
        for c in coverage
        if c.carried and not c.tested
    ]
    return Report(coverage, problems)


def can_read_coverage(actor: Actor) -> bool:
    return any(role.split("/")[0] in COVERAGE_ROLES for role, _org in actor.grants)


# -- presentation -------------------------------------------------------------------------------------------
_DIGITS = "零一二三四五六七八九"
_ARTICLE = re.compile(r"^(\d+)(?:\((\d+)\))?$")


def chinese_number(n: int) -> str:
    """1–99 as written in article numbers: 7 → 七, 10 → 十, 13 → 十三, 34 → 三十四."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return head + (_DIGITS[ones] if ones else "")


def article_zh(article: str) -> str:
    """ "34" → 第三十四条, "7(1)" → 第七条第（一）项; anything else unchanged."""
    m = _ARTICLE.match(article.strip())
    if m is None:
        return article
    text = f"第{chinese_number(int(m[1]))}条"
    return text + (f"第（{chinese_number(int(m[2]))}）项" if m[2] else "")


def coverage_json(report: Report) -> list[dict[str, object]]:
    """The API's answer: one entry per obligation, in the list's order."""
    return [
        {
            "id": c.obligation.id,
            "article": f"Art. {c.obligation.article}",
            "article_zh": c.obligation.article_zh,
            "obligation": c.obligation.text,
            "actor": c.obligation.actor,
            "timing": c.obligation.timing,
            "elements": [
                {"file": e.file, "id": e.id, "name": e.name, "process": e.process, "kind": e.kind}
                for e in c.elements
            ],
            "tests": list(c.tests),
            "carried": c.carried,
            "tested": c.tested,
        }
        for c in report.coverage
    ]


def _mark(c: Coverage) -> str:
    return "✓" if c.carried and c.tested else ("untested" if c.carried else "not carried")


def summary_lines(report: Report) -> list[str]:
    """What ``flask regulation coverage`` prints: totals, then one line per obligation."""
    t = report.totals
    lines = [
        f"{t['obligations']} obligations: {t['carried']} carried by an element, {t['tested']} tested, "
        f"{t['both']} both; {t['untested_carried']} carried but untested; {len(report.problems)} problem(s)",
        "",
    ]
    for c in report.coverage:
        o = c.obligation
        lines.append(
            f"{o.id:<6} {_mark(c):<11} elements {len(c.elements):>2}  tests {len(c.tests):>2}  "
            f"Art. {o.article} {o.article_zh}: {o.text}"
        )
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    """``docs/traceability.md``: totals, a table per obligation, what is still uncovered, the problems."""
    t = report.totals
    out = [
        "# 法规条款对照 — obligation → element → test",
        "",
        "Generated by `flask regulation coverage` from `workflows/regulation/obligations.csv`, the",
        "`article` property of the elements in `bpmn/*.bpmn` and the `@pytest.mark.obligation(...)` markers",
        "in `tests/*.py` (see `workflows/regulation/traceability.py`). Do not edit by hand: run the command.",
        "",
        "| | count |",
        "|---|---|",
        f"| obligations (义务) | {t['obligations']} |",
        f"| carried by a BPMN element | {t['carried']} |",
        f"| exercised by a test | {t['tested']} |",
        f"| carried and tested | {t['both']} |",
        f"| carried but untested | {t['untested_carried']} |",
        f"| problems (`--check` fails) | {len(report.problems)} |",
        "",
        "## Obligations",
    ]
    for c in report.coverage:
        o = c.obligation
        out += [
            "",
            f"### {o.id} · {o.article_zh} (Art. {o.article}) — {_mark(c)}",
            "",
            f"{_cell(o.actor)}: {_cell(o.text)} ({_cell(o.timing)})",
            "",
            "| | file / id | name |",
            "|---|---|---|",
        ]
        out += [
            f"| element | `{e.file}` / `{e.id}` | {_cell(e.name) or '—'} ({e.kind}, {e.process}) |"
            for e in c.elements
        ] or ["| element | — | carried by no element |"]
        out += [f"| test | `{test}` | |" for test in c.tests] or ["| test | — | tested by no test |"]
    out += ["", "## Still uncovered", ""]
    cov = report.coverage
    for label, rows in (
        ("Carried by an element, tested by no test", [c for c in cov if c.carried and not c.tested]),
        ("Tested, carried by no element", [c for c in cov if c.tested and not c.carried]),
        ("Neither carried nor tested", [c for c in cov if not c.carried and not c.tested]),
    ):
        out += [f"**{label}** ({len(rows)}):", ""]
        out += [f"- {c.obligation.id} {c.obligation.article_zh}: {_cell(c.obligation.text)}" for c in rows]
        out += ["- none"] if not rows else []
        out.append("")
    out += ["## Problems", ""]
    out += [f"- {p}" for p in report.problems] or ["- none"]
    return "\n".join(out) + "\n"
