"""What the designer pages and the deploy JSON say about a deploy: done, unchanged, or refused per file
(with every uploaded diagram shown read-only, refused ones included, so a designer can look at a file the
product will not run)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from lxml import etree

from app.designer.services import Deployed
from workflows.engine.errors import DefinitionInvalid, Problem

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def deployed_text(done: Deployed) -> str:
    if done.unchanged:
        return _("没有变化：与已部署的版本 v%(n)s 相同，未创建新版本", n=done.version.number)
    return _(
        "已部署为新版本 v%(n)s（流程：%(p)s）。新发起的实例使用此版本，"
        "运行中的实例仍按原版本办理，可在“实例迁移”中迁移。",
        n=done.version.number,
        p="、".join(done.version.process_ids),
    )


def refused_text(exc: DefinitionInvalid) -> str:
    return _("部署被拒绝，未保存任何内容：共 %(n)s 个问题", n=len(exc.problems))


def _text(content: str | bytes) -> str:
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else content


def _shapes_for(xml: str, ids: set[str]) -> dict[str, str]:
    """Problem element ids → the ids drawn for them: a data store is drawn as its references, a process
    as its pool; an element drawn itself stays itself."""
    marks = {i: "has-problem" for i in ids}
    try:
        root = etree.fromstring(xml.encode("utf-8"), _PARSER)
    except etree.XMLSyntaxError:
        return marks
    for el in root.iter():
        if isinstance(el.tag, str) and (el.get("dataStoreRef") in ids or el.get("processRef") in ids):
            marks[el.get("id") or ""] = "has-problem"
    return marks


def refused_context(changes: Mapping[str, str | bytes], problems: list[Problem]) -> dict[str, Any]:
    """Per uploaded file: accepted or refused with its problems, and each diagram's XML for the read-only
    viewer with the refused elements marked. Problems not tied to an uploaded file (e.g. "no executable
    process") are listed on their own."""
    files = []
    for path, content in sorted(changes.items()):
        own = [p for p in problems if p.file == path]
        files.append(
            {
                "path": path,
                "problems": own,
                "refused": bool(own),
                "xml": _text(content) if path.endswith(".bpmn") else None,
                "marks": _shapes_for(_text(content), {p.element for p in own if p.element})
                if path.endswith(".bpmn")
                else {},
            }
        )
    general = [p for p in problems if p.file not in changes]
    return {"files": files, "general": general, "problems": problems}
