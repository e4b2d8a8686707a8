"""Editing the model without disturbing its formatting: new elements take their siblings' indentation,
removed ones leave it behind; flow nodes get ``incoming``/``outgoing`` references; the root declares the
DI namespaces."""

from __future__ import annotations

import re

from lxml import etree

from scripts.bpmn_layout.graph import SUBPROCESSES, flow_nodes, sequence_flows
from scripts.bpmn_layout.model import BPMNDI_NS, DC_NS, DI_NS, bpmn_local, bpmn_tag

_PREFERRED_PREFIXES = {BPMNDI_NS: "bpmndi", DC_NS: "dc", DI_NS: "di"}
# tFlowNode's references follow the children of tBaseElement and tFlowElement (BPMN20 Semantic.xsd).
_BEFORE_FLOW_REFS = frozenset(
    {"documentation", "extensionElements", "auditing", "monitoring", "categoryValueRef"}
)


def indent_unit(root: etree._Element) -> str | None:
    """The author's indentation step, or None for a file written without line breaks."""
    match = re.fullmatch(r"\r?\n([ \t]+)", root.text or "")
    return match.group(1) if match else None


def _depth(el: etree._Element) -> int:
    return sum(1 for _ in el.iterancestors())


def insert_indented(parent: etree._Element, index: int, new: etree._Element, unit: str | None) -> None:
    """Insert ``new`` at ``index`` with the same indentation as its new siblings."""
    children = len(parent)
    parent.insert(index, new)
    if unit is None:
        return
    inner = "\n" + unit * (_depth(parent) + 1)
    if children and parent.text and not parent.text.strip() and "\n" in parent.text:
        inner = parent.text  # the indentation the siblings already have
    if len(new):
        etree.indent(new, space=unit, level=_depth(parent) + 1)
    if children == 0:
        new.tail = parent.text if parent.text and not parent.text.strip() else "\n" + unit * _depth(parent)
        parent.text = inner
    elif index >= children:
        previous = parent[index - 1]
        new.tail = previous.tail
        previous.tail = inner
    else:
        new.tail = inner


def remove_element(el: etree._Element) -> None:
    """Remove an element; the whitespace after it takes the place of the whitespace before it."""
    parent = el.getparent()
    if parent is None:
        return
    previous = el.getprevious()
    if previous is not None:
        previous.tail = el.tail
    else:
        parent.text = el.tail
    parent.remove(el)


def add_flow_refs(container: etree._Element, unit: str | None) -> None:
    """Give each flow node ``incoming``/``outgoing`` children matching the sequence flows, in XSD order."""
    flows = sequence_flows(container)
    for node, _kind_name in flow_nodes(container):
        node_id = node.get("id")
        wanted = [("incoming", f.get("id", "")) for f in flows if f.get("targetRef") == node_id]
        wanted += [("outgoing", f.get("id", "")) for f in flows if f.get("sourceRef") == node_id]
        existing = [c for c in node if bpmn_local(c) in ("incoming", "outgoing")]
        have = [(bpmn_local(c), (c.text or "").strip()) for c in existing]
        if sorted(have) == sorted(wanted) and have == sorted(have, key=lambda kv: kv[0] == "outgoing"):
            continue
        for child in existing:
            remove_element(child)
        index = 0
        for i, child in enumerate(node):
            if bpmn_local(child) in _BEFORE_FLOW_REFS:
                index = i + 1
        for tag, flow_id in wanted:
            ref = etree.Element(bpmn_tag(tag))
            ref.text = flow_id
            insert_indented(node, index, ref, unit)
            index += 1
    for sub in container:
        if bpmn_local(sub) in SUBPROCESSES:
            add_flow_refs(sub, unit)


def with_namespaces(root: etree._Element) -> etree._Element:
    """Return a root that declares the DI namespaces (lxml cannot add declarations to an existing element)."""
    declared = {uri: prefix for prefix, uri in root.nsmap.items()}
    missing = {}
    taken = set(root.nsmap)
    for uri, preferred in _PREFERRED_PREFIXES.items():
        if uri in declared and declared[uri] is not None:
            continue
        prefix, n = preferred, 1
        while prefix in taken:
            n += 1
            prefix = f"{preferred}{n}"
        missing[prefix] = uri
        taken.add(prefix)
    if not missing:
        return root
    new_root = etree.Element(root.tag, nsmap={**root.nsmap, **missing})
    for key, value in root.attrib.items():
        new_root.set(key, value)
    new_root.text = root.text
    before = list(root.itersiblings(preceding=True))[::-1]
    after = list(root.itersiblings())
    for child in list(root):
        new_root.append(child)
    etree.ElementTree(new_root)
    for sibling in before:
        new_root.addprevious(sibling)
    for sibling in reversed(after):
        new_root.addnext(sibling)
    return new_root
