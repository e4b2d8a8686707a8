"""Properties a designer puts on a process element itself, and the regulation's check of them at deploy.

A task's or an event's ``<spiffworkflow:properties>`` reach the engine through SpiffWorkflow's parser
(``task_spec.extensions``); those of a ``<bpmn:process>`` do not: the parser keeps no extensions for a
process. Yet some facts belong to the process as a whole (e.g. who may start it), so they are read here from
the stored XML, once per deployed version (versions are immutable, so the cache never goes stale).

The engine gives them no meaning. A regulation that wants to refuse a bad value at deploy time hands a
``check_process`` callable in its ``EngineParts`` (raising ``ValueError`` with a message a designer can act
on, as the lane check does); :func:`process_problems` turns each refusal into a :class:`Problem` naming the
file, the line and the process.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.deploy.xmlsafe import UnsafeXml, parse_xml
from workflows.engine.errors import Problem
from workflows.engine.models import DefinitionFile, DefinitionVersion

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
_OWN_PROPERTIES = "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property"


@dataclass(frozen=True)
class ProcessDeclaration:
    """One ``<bpmn:process>`` as drawn: its id and name (the pool's name when the process has none), its own
    properties, every value each property takes on the elements inside it (in document order, without
    repeats), and where it is (for deploy messages)."""

    process_id: str
    name: str
    properties: Mapping[str, str]
    element_properties: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    path: str = ""
    line: int | None = None
    #: property name → every element carrying it, as (element id, name, tag, value), for messages that name
    #: the element (e.g. the task that cites an article the regulation does not have)
    carriers: Mapping[str, tuple[tuple[str, str, str, str], ...]] = field(default_factory=dict)


ProcessCheck = Callable[[ProcessDeclaration], None]


def _properties(el: etree._Element, xpath: str) -> list[tuple[str, str]]:
    return [(str(p.get("name")), str(p.get("value") or "")) for p in el.iterfind(xpath, _NS) if p.get("name")]


def declarations_in(path: str, tree: etree._ElementTree) -> list[ProcessDeclaration]:
    """The processes of one parsed BPMN file."""
    root = tree.getroot()
    pools = {
        str(p.get("processRef")): str(p.get("name") or "")
        for p in root.iterfind(".//bpmn:participant", _NS)
        if p.get("processRef")
    }
    found = []
    for process in root.iterfind("bpmn:process", _NS):
        process_id = str(process.get("id") or "")
        inner: dict[str, list[str]] = {}
        carriers: dict[str, list[tuple[str, str, str, str]]] = {}
        for element in process.iter():
            if element is process or not isinstance(element.tag, str):
                continue
            for name, value in _properties(element, _OWN_PROPERTIES):
                values = inner.setdefault(name, [])
                if value and value not in values:
                    values.append(value)
                carriers.setdefault(name, []).append(
                    (
                        str(element.get("id") or ""),
                        str(element.get("name") or ""),
                        etree.QName(element).localname,
                        value,
                    )
                )
        found.append(
            ProcessDeclaration(
                process_id=process_id,
                name=str(process.get("name") or pools.get(process_id) or ""),
                properties=dict(_properties(process, _OWN_PROPERTIES)),
                element_properties={k: tuple(v) for k, v in inner.items()},
                path=path,
                line=process.sourceline,
                carriers={k: tuple(v) for k, v in carriers.items()},
            )
        )
    return found


def declarations(files: Mapping[str, str]) -> dict[str, ProcessDeclaration]:
    """Every process of the ``bpmn/*.bpmn`` files of a set, by id; unreadable files are skipped (deploy-time
    validation reports them)."""
    result: dict[str, ProcessDeclaration] = {}
    for path, text in sorted(files.items()):
        if not path.endswith(".bpmn"):
            continue
        try:
            tree = parse_xml(text, path)
        except UnsafeXml:
            continue
        for declaration in declarations_in(path, tree):
            result.setdefault(declaration.process_id, declaration)
    return result


def process_problems(files: Mapping[str, str], check: ProcessCheck | None) -> list[Problem]:
    """The regulation's refusals of a file set's process properties, each naming file, line and process."""
    if check is None:
        return []
    problems = []
    for declaration in declarations(files).values():
        try:
            check(declaration)
        except ValueError as exc:
            problems.append(Problem(declaration.path, str(exc), declaration.line, declaration.process_id))
    return problems


#: By the version's content hash, not its id: two databases (tests, drills) may number different sets alike.
_cache: dict[str, dict[str, ProcessDeclaration]] = {}
_lock = threading.Lock()


def version_declarations(session: Session, version: DefinitionVersion) -> dict[str, ProcessDeclaration]:
    """The processes of a deployed version, read once per content and process."""
    cached = _cache.get(version.content_hash)
    if cached is not None:
        return cached
    rows = session.execute(
        select(DefinitionFile.path, DefinitionFile.content).where(
            DefinitionFile.version_id == version.id, DefinitionFile.kind == "bpmn"
        )
    )
    found = declarations({path: content for path, content in rows})
    with _lock:
        return _cache.setdefault(version.content_hash, found)
