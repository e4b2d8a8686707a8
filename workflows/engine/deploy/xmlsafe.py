"""Parse untrusted XML (uploaded BPMN) without giving it the server.

Designers upload BPMN from browsers and desktop modellers; the parser must not resolve external entities
(file or network reads), expand entity bombs, or load DTDs, and a file has a size bound. lxml's defaults
resolve internal entities and accept huge trees, so every switch is set explicitly. Any DOCTYPE is refused:
BPMN never needs one, and refusing it closes the whole family of entity tricks.
"""

from __future__ import annotations

from lxml import etree

from workflows.engine.errors import Problem
from workflows.engine.phrase import Phrase

MAX_BYTES = 2 * 1024 * 1024  # the largest real diagram here is ~60 KB


class UnsafeXml(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_xml(data: bytes | str, filename: str) -> etree._ElementTree:
    """Parse ``data`` safely; raise :class:`UnsafeXml` naming the file and line for anything refused."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        raise UnsafeXml(
            Problem(
                filename, Phrase("文件有 {size} 字节，超过上限 {limit} 字节", size=len(raw), limit=MAX_BYTES)
            )
        )
    try:
        tree = etree.ElementTree(etree.fromstring(raw, _parser()))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        message = Phrase("XML 格式错误（第 {line} 行）：{error}", line=line or "?", error=exc.msg)
        raise UnsafeXml(Problem(filename, message, line=line)) from None
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXml(Problem(filename, Phrase("BPMN 文件中不允许 DOCTYPE 或实体（entity）声明"), line=1))
    for el in tree.iter():
        if isinstance(el, etree._Entity):
            raise UnsafeXml(Problem(filename, Phrase("不允许实体引用 &{name};", name=el.name), el.sourceline))
    return tree
