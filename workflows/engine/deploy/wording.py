"""Deploy messages in the designers' language (Chinese), each naming the element by its name and id.

The engine is generic but its readers are Chinese officials; like the budget refusals of ``sampling.py``,
deploy problems are worded here in Chinese. SpiffWorkflow's own parser speaks English and sometimes leaks
Python internals (an lxml ``<Element … at 0x7f…>``, an exception's class name); :func:`spiff_message`
words the messages it is known to give and strips the internals from any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from workflows.engine.deploy.xmlsafe import UnsafeXml, parse_xml
from workflows.engine.errors import Problem
from workflows.engine.phrase import Phrase

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# SpiffWorkflow's and lxml's words for a BPMN element kind, in the designers' words.
KINDS = {
    "process": Phrase("流程"),
    "participant": Phrase("泳池"),
    "lane": Phrase("泳道"),
    "task": Phrase("任务"),
    "userTask": Phrase("用户任务"),
    "manualTask": Phrase("人工任务"),
    "scriptTask": Phrase("脚本任务"),
    "serviceTask": Phrase("服务任务"),
    "sendTask": Phrase("发送任务"),
    "receiveTask": Phrase("接收任务"),
    "businessRuleTask": Phrase("业务规则任务"),
    "callActivity": Phrase("调用活动"),
    "subProcess": Phrase("子流程"),
    "startEvent": Phrase("开始事件"),
    "endEvent": Phrase("结束事件"),
    "boundaryEvent": Phrase("边界事件"),
    "intermediateCatchEvent": Phrase("中间捕获事件"),
    "intermediateThrowEvent": Phrase("中间抛出事件"),
    "exclusiveGateway": Phrase("排他网关"),
    "parallelGateway": Phrase("并行网关"),
    "inclusiveGateway": Phrase("包容网关"),
    "eventBasedGateway": Phrase("事件网关"),
    "sequenceFlow": Phrase("顺序流"),
    "messageFlow": Phrase("消息流"),
    "dataStore": Phrase("数据存储"),
    "dataStoreReference": Phrase("数据存储引用"),
    "dataObject": Phrase("数据对象"),
    "timerEventDefinition": Phrase("定时器"),
}

_ADDRESS = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")
_CLASS_REPR = re.compile(r"^(\w+(?:Error|Exception))\((['\"])(.*)\2\)$", re.S)


def kind_name(tag: str | None) -> str:
    """``bpmn:serviceTask`` or ``{ns}serviceTask`` → 服务任务 (the local name if we have no word for it)."""
    local = (tag or "").rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    return KINDS.get(local, local)


def label(element_id: str | None, name: str | None = None, tag: str | None = None) -> Phrase:
    """How a message names an element: 服务任务「调用外部系统」（Service_e）."""
    kind = kind_name(tag) if tag else ""
    if name and element_id:
        return Phrase("{kind}「{name}」（{id}）", kind=kind, name=name, id=element_id)
    if element_id:
        return (
            Phrase("{kind}（{id}）", kind=kind, id=element_id) if kind else Phrase("元素 {id}", id=element_id)
        )
    if name:
        return Phrase("{kind}「{name}」", kind=kind, name=name)
    return Phrase("{kind}", kind=kind) if kind else Phrase("元素（未知）")


def scrub(text: str) -> str:
    """Python internals out of a message: element reprs become the element's kind, ``KeyError('x')`` 'x'."""
    text = _ADDRESS.sub(lambda m: kind_name(m.group(1)), text.strip())
    match = _CLASS_REPR.match(text)
    return match.group(3) if match else text


# (pattern on SpiffWorkflow's English, its Chinese from the pattern's named groups)
_SPIFF: list[tuple[str, Callable[[dict[str, str]], Phrase]]] = [
    (
        r"A Service Task must have an operator",
        lambda g: Phrase("没有实现（未指定 operator），本系统不能执行服务任务；请改为用户任务或脚本任务"),
    ),
    (
        r"Time Specification Error\. Unknown Time Specification",
        lambda g: Phrase("定时器没有时间设置（timeDate、timeDuration 或 timeCycle 均未填写）"),
    ),
    (r"Time Specification Error\. (?P<detail>.*)", lambda g: Phrase("定时器的时间设置有误：{detail}", **g)),
    (r"No start event found", lambda g: Phrase("没有开始事件")),
    (
        r"Process (?P<process>\S+) is not executable",
        lambda g: Phrase("流程 {process} 不是可执行流程（isExecutable 不为 true）", **g),
    ),
    (
        r"Data Store with name (?P<store>.*) has no implementation",
        lambda g: Phrase("数据存储「{store}」在本系统中没有实现，流程不能读写它", **g),
    ),
    (r"Data Store name is missing from bpmn xml", lambda g: Phrase("数据存储没有名称")),
    (
        r"Duplicate process ID: (?P<process>\S+)",
        lambda g: Phrase("流程标识 {process} 重复（另一个文件已定义同名流程）", **g),
    ),
    (
        r"When looking for a task spec, we found two items.*\((?P<element>.*)\)",
        lambda g: Phrase("连线指向不存在或重复的元素 {element}", **g),
    ),
    (r"There is no support implemented for this task type", lambda g: Phrase("本系统不支持这种任务类型")),
    (r"A SubWorkflow Must contain an End event", lambda g: Phrase("子流程必须有结束事件")),
    (r"A SubWorkflow Must contain a Start event", lambda g: Phrase("子流程必须有开始事件")),
    (
        r"The process '(?P<process>\S+)' was not found.*",
        lambda g: Phrase("找不到被调用的流程 {process}", **g),
    ),
    (
        r"Cannot resolve (dataInputAssociation|dataOutputAssociation) (?P<association>.*)",
        lambda g: Phrase("数据关联 {association} 指向的数据对象不存在", **g),
    ),
    (r"Expected an? (?P<node>\w+) node", lambda g: Phrase("缺少引用的{node}定义", **g)),
    (r"Conditional event definition with missing condition", lambda g: Phrase("条件事件没有填写条件")),
    (
        r"Could not find messageRef from message event definition: (?P<definition>.*)",
        lambda g: Phrase("消息事件定义 {definition} 没有指定消息（messageRef）", **g),
    ),
    (
        r"(?P<kind>Message|Signal|Error|Escalation|Correlation) identifier is missing from bpmn xml",
        lambda g: Phrase("{kind} 定义缺少 id", **g),
    ),
]


def spiff_message(message: str) -> Phrase:
    """SpiffWorkflow's validation message in Chinese; an unknown one kept, without Python internals."""
    text = scrub(message).rstrip(". ").strip()
    for pattern, chinese in _SPIFF:
        match = re.match(pattern, text, re.S)
        if match:
            return chinese({k: scrub(v or "") for k, v in match.groupdict().items()})
    return Phrase("流程引擎解析失败：{text}", text=text)


def tree_or_none(content: str | bytes) -> etree._Element | None:
    """The file's root for locating a schema error's element; ``None`` when it cannot be read safely."""
    try:
        return parse_xml(content, "").getroot()
    except UnsafeXml:
        return None


def _element_at(root: etree._Element | None, line: int | None) -> etree._Element | None:
    """The innermost element with an id that starts on ``line`` (or the nearest one before it)."""
    if root is None or not line:
        return None
    best = None
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") and (el.sourceline or 0) <= line:
            best = el
    return best


def not_bpmn(root: etree._Element | None, line: int | None, detail: str) -> Phrase:
    """An XSD refusal named by the element it is in (the XSD gives only a line)."""
    el = _element_at(root, line)
    where = (
        Phrase("{element}附近", element=label(el.get("id"), el.get("name"), el.tag))
        if el is not None
        else Phrase("文件中")
    )
    return Phrase("不符合 BPMN 2.0 规范（{where}）：{detail}", where=where, detail=scrub(detail).rstrip(". "))


def spiff_problem(
    exc: ValidationException,
    path: str,
    root: Any,
    where: Mapping[str, tuple[str, int]],
    pid: str | None = None,
) -> Problem:
    """SpiffWorkflow's refusal located and named: Spiff gives no element for a data store it cannot run,
    so the store is found by its name in the file."""
    element_id, name, tag = exc.id or None, exc.name or None, exc.tag or None
    message = str(exc.args[0]) if exc.args else str(exc)
    if not element_id and root is not None and message.startswith("Data Store with name"):
        store_name = message.removeprefix("Data Store with name ").removesuffix(" has no implementation")
        for el in root.iter(f"{{{BPMN_NS}}}dataStore"):
            if el.get("name") == store_name:
                element_id, name, tag = el.get("id"), store_name, el.tag
    element_id = element_id or pid
    file, line = where.get(element_id or "", (exc.file_name or path, 0))
    who = label(element_id, name, tag) if element_id else None
    said = Phrase("{who}：{what}", who=who, what=spiff_message(message)) if who else spiff_message(message)
    return Problem(file, said, line or None, element_id)
