"""The diagrams' names in the English catalogue: a Babel extractor for ``bpmn/*.bpmn``, and their lookup.

The diagrams are drawn in Chinese (the officials' language) and carry one name per element. English pages
show the English from ``translations/en`` with the Chinese name as the message id, the way every other string
of the product is translated, so ``pybabel extract`` collects the names with the rest and
``tests/test_translations.py`` names any element that lacks its English. A diagram a designer deploys later
shows its own names until the catalogue has them (the Chinese name is the fallback, never an id).

Lanes are not extracted: their names are role keys (``office_staff@upper``), labelled by ``role_label``;
signals and messages are not drawn (their names are keys the engine matches).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

from flask_babel import gettext
from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Elements whose name a reader sees: the diagram's shapes and flows, the process (a procedure's title).
NAMED = {
    "process", "participant", "userTask", "scriptTask", "serviceTask", "manualTask", "task",
    "callActivity", "subProcess", "startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent",
    "intermediateThrowEvent", "exclusiveGateway", "parallelGateway", "inclusiveGateway",
    "eventBasedGateway", "sequenceFlow", "textAnnotation",
}  # fmt: skip


def names_in(content: bytes) -> Iterator[tuple[int, str]]:
    """(line, name) of every named element a reader sees, in document order."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    root = etree.fromstring(content, parser)
    for el in root.iter(f"{{{BPMN}}}*"):
        if etree.QName(el).localname in NAMED and (name := (el.get("name") or "").strip()):
            yield el.sourceline or 0, name


def extract_bpmn(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extractor interface (``[extractors] bpmn = app.bpmn_messages:extract_bpmn`` in babel.cfg)."""
    for line, name in names_in(fileobj.read()):
        yield line, "gettext", name, ["BPMN element name"]


def element_name(name: str | None) -> str:
    """A diagram's element name in the reader's language (the Chinese name when there is no English)."""
    return gettext(name) if name else ""


def english_names(names: Iterable[str]) -> dict[str, str]:
    """{Chinese name: the reader's name} for the names that read differently (the diagram viewer's map)."""
    return {n: t for n in set(names) if n and (t := element_name(n)) != n}
