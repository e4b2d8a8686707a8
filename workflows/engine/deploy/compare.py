"""What changed between two definition versions, for designers reviewing a deploy: per diagram, elements
added, removed, renamed (same id, new name) and changed (same id and name, different documentation, flow
ends, condition, script, timer or properties); forms added, removed and changed. A file new in the later
version lists every element it brings; a file gone lists every element it took away.

``marks`` per diagram (id → added | changed | removed) is what the page's diagram diff colours."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from workflows.engine.models import DefinitionVersion

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SKIP = {
    "definitions",
    "extensionElements",
    "properties",
    "property",
    "documentation",
    "incoming",
    "outgoing",
    "script",
    "conditionExpression",
    "timeDate",
    "timeDuration",
    "timeCycle",
    "flowNodeRef",
    "laneSet",
}
# What of an element counts as its content, in the designers' words (the "changed" entries say which).
ASPECTS = {
    "documentation": "说明文档",
    "flow": "连线起止",
    "condition": "条件",
    "script": "脚本",
    "timer": "定时器",
    "properties": "扩展属性",
    "lanes": "泳道成员",
    "attributes": "其他属性",
}


@dataclass(frozen=True)
class _Element:
    kind: str
    name: str
    content: dict[str, str]
    containers: tuple[str, ...] = ()  # the sub-processes it is drawn inside, innermost first


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _own_texts(el: etree._Element, names: set[str]) -> str:
    """Text of the element's own children named ``names`` (not those of nested elements with ids)."""
    parts = []
    for child in el.iter():
        if child is not el and isinstance(child.tag, str) and _local(child) in names:
            owner = child.getparent()
            while owner is not None and owner is not el and not owner.get("id"):
                owner = owner.getparent()
            if owner is el or (owner is not None and _local(owner).endswith("EventDefinition")):
                parts.append((child.text or "").strip())
    return "\n".join(parts)


def _content(el: etree._Element) -> dict[str, str]:
    props = [
        f"{p.get('name')}={p.get('value')}"
        for p in el.iter()
        if isinstance(p.tag, str) and _local(p) == "property" and p.get("name")
    ]
    attrs = {k: v for k, v in el.attrib.items() if k not in {"id", "name", "sourceRef", "targetRef"}}
    return {
        "documentation": _own_texts(el, {"documentation"}),
        "flow": f"{el.get('sourceRef', '')}→{el.get('targetRef', '')}" if el.get("sourceRef") else "",
        "condition": _own_texts(el, {"conditionExpression"}),
        "script": _own_texts(el, {"script", "preScript", "postScript"}),
        "timer": _own_texts(el, {"timeDate", "timeDuration", "timeCycle"}),
        "properties": "\n".join(sorted(props)),
        "lanes": "\n".join(sorted((r.text or "").strip() for r in el if _local(r) == "flowNodeRef"))
        if _local(el) == "lane"
        else "",
        "attributes": "\n".join(f"{k}={v}" for k, v in sorted(attrs.items())),
    }


def _elements(xml: str) -> dict[str, _Element]:
    """id → kind, name and content of the BPMN model elements (not diagram layout)."""
    root = etree.fromstring(xml.encode("utf-8"), _PARSER)
    out: dict[str, _Element] = {}
    for el in root.iter(f"{{{MODEL}}}*"):
        kind = _local(el)
        if kind in _SKIP or not el.get("id") or kind.endswith("EventDefinition"):
            continue
        containers = tuple(
            a.get("id") for a in el.iterancestors(f"{{{MODEL}}}subProcess", f"{{{MODEL}}}adHocSubProcess")
        )
        out[el.get("id")] = _Element(kind, el.get("name") or "", _content(el), containers)
    return out


@dataclass
class FileChanges:
    path: str
    status: str  # added | removed | changed | unchanged
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    renamed: list[dict[str, str]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    content_changed: bool = False
    marks: dict[str, str] = field(default_factory=dict)


def _entry(i: str, e: _Element) -> dict[str, str]:
    return {"id": i, "type": e.kind, "name": e.name}


def _diagram_changes(changes: FileChanges, before: str | None, after: str | None) -> None:
    try:
        a = _elements(before) if before else {}
        b = _elements(after) if after else {}
    except etree.XMLSyntaxError:
        return
    changes.added = [_entry(i, b[i]) for i in sorted(set(b) - set(a))]
    changes.removed = [_entry(i, a[i]) for i in sorted(set(a) - set(b))]
    both = sorted(set(a) & set(b))
    changes.renamed = [
        {"id": i, "type": b[i].kind, "old": a[i].name, "new": b[i].name}
        for i in both
        if a[i].name != b[i].name
    ]
    for i in both:
        aspects = [k for k in ASPECTS if a[i].content.get(k) != b[i].content.get(k)]
        if aspects:
            changes.changed.append(
                {
                    **_entry(i, b[i]),
                    "aspects": [ASPECTS[k] for k in aspects],
                    "details": {ASPECTS[k]: [a[i].content[k], b[i].content[k]] for k in aspects},
                }
            )
    # A change inside a collapsed sub-process is not visible on the main diagram: its container is marked
    # changed too (what it contains is listed above the diagram).
    inside = {
        c: "changed"
        for e in [*changes.added, *changes.renamed, *changes.changed]
        for c in b[e["id"]].containers
    }
    inside.update({c: "changed" for e in changes.removed for c in a[e["id"]].containers if c in b})
    changes.marks = {
        **inside,
        **{e["id"]: "removed" for e in changes.removed},
        **{e["id"]: "changed" for e in [*changes.renamed, *changes.changed]},
        **{e["id"]: "added" for e in changes.added},
    }


def compare(old: DefinitionVersion, new: DefinitionVersion) -> list[dict[str, Any]]:
    before = {f.path: f.content for f in old.files}
    after = {f.path: f.content for f in new.files}
    result: list[FileChanges] = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            changes = FileChanges(path, "removed", content_changed=True)
        elif path not in before:
            changes = FileChanges(path, "added", content_changed=True)
        else:
            changed = before[path] != after[path]
            changes = FileChanges(path, "changed" if changed else "unchanged", content_changed=changed)
        if path.endswith(".bpmn") and changes.content_changed:
            _diagram_changes(changes, before.get(path), after.get(path))
        result.append(changes)
    return [c.__dict__ for c in result]
