"""What changed between two definition versions, for designers reviewing a deploy: per diagram, elements
added, removed and renamed (same id, new name); forms added, removed and changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from workflows.engine.models import DefinitionVersion

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
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


def _elements(xml: str) -> dict[str, tuple[str, str]]:
    """id → (type, name) of the BPMN model elements (not diagram layout)."""
    root = etree.fromstring(xml.encode("utf-8"), _PARSER)
    out: dict[str, tuple[str, str]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or "/BPMN/20100524/MODEL" not in el.tag:
            continue
        kind = etree.QName(el).localname
        if kind in _SKIP or not el.get("id"):
            continue
        out[el.get("id")] = (kind, el.get("name") or "")
    return out


@dataclass
class FileChanges:
    path: str
    status: str  # added | removed | changed | unchanged
    added: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    renamed: list[dict[str, str]] = field(default_factory=list)
    content_changed: bool = False


def compare(old: DefinitionVersion, new: DefinitionVersion) -> list[dict[str, Any]]:
    before = {f.path: f.content for f in old.files}
    after = {f.path: f.content for f in new.files}
    result: list[FileChanges] = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            result.append(FileChanges(path, "removed"))
            continue
        if path not in before:
            result.append(FileChanges(path, "added"))
            continue
        changes = FileChanges(path, "unchanged", content_changed=before[path] != after[path])
        if path.endswith(".bpmn") and changes.content_changed:
            a, b = _elements(before[path]), _elements(after[path])
            changes.added = [{"id": i, "type": b[i][0], "name": b[i][1]} for i in sorted(set(b) - set(a))]
            changes.removed = [{"id": i, "type": a[i][0], "name": a[i][1]} for i in sorted(set(a) - set(b))]
            changes.renamed = [
                {"id": i, "type": b[i][0], "old": a[i][1], "new": b[i][1]}
                for i in sorted(set(a) & set(b))
                if a[i][1] != b[i][1]
            ]
        if changes.content_changed:
            changes.status = "changed"
        result.append(changes)
    return [c.__dict__ for c in result]
