"""Whether two file sets say the same thing, so that deploying what is already deployed creates nothing.

A modeller re-serialises a diagram it merely opened: attribute order, quoting, ``<a/>`` versus ``<a />``,
indentation, the order of the shapes in the diagram plane and a gateway's ``isMarkerVisible`` all change while
the diagram does not. Comparing bytes would make every unedited deploy a new version (it did: v2), so diagrams
are compared as trees with those differences removed; forms are compared as JSON values. Anything else that
differs - a name, a flow, a property, a shape moved by a pixel - is a change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lxml import etree

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True, remove_comments=True
)
# Presentation attributes a modeller adds on export without the designer changing anything.
_IGNORED_ATTRIBUTES = frozenset({"isMarkerVisible"})
# Containers whose children's order carries no meaning (the shapes of a diagram plane).
_UNORDERED = frozenset({"{http://www.omg.org/spec/BPMN/20100524/DI}BPMNPlane"})


def _number(value: str) -> str:
    try:
        return repr(round(float(value), 3))
    except ValueError:
        return value


def _tree(el: etree._Element) -> tuple[Any, ...]:
    kids = [_tree(child) for child in el if isinstance(child.tag, str)]
    attrs = tuple(sorted((k, _number(v)) for k, v in el.attrib.items() if k not in _IGNORED_ATTRIBUTES))
    ordered = tuple(sorted(kids, key=repr)) if el.tag in _UNORDERED else tuple(kids)
    return (el.tag, attrs, (el.text or "").strip(), ordered)


def canonical(path: str, text: str) -> object:
    """A value equal for two texts of ``path`` that differ only in form; the text itself if unreadable."""
    try:
        if path.endswith(".bpmn"):
            return _tree(etree.fromstring(text.encode("utf-8"), _PARSER))
        if path.endswith(".json"):
            return json.dumps(json.loads(text), sort_keys=True, ensure_ascii=False)
    except (etree.XMLSyntaxError, ValueError):
        pass
    return text


def same_files(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """True when both sets hold the same paths and every file says the same thing."""
    if set(a) != set(b):
        return False
    return all(a[p] == b[p] or canonical(p, a[p]) == canonical(p, b[p]) for p in a)
