"""Deploy messages in the designers' language (Chinese), each naming the element by its name and id.

The engine is generic but its readers are Chinese officials; like the budget refusals of ``sampling.py``,
deploy problems are worded here in Chinese. SpiffWorkflow's own parser speaks English and sometimes leaks
Python internals (an lxml ``<Element … at 0x7f…>``, an exception's class name); :func:`spiff_message`
words the messages it is known to give and strips the internals from any other.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

from workflows.engine.deploy.xmlsafe import UnsafeXml, parse_xml
from workflows.engine.errors import Problem

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# SpiffWorkflow's and lxml's words for a BPMN element kind, in the designers' words.
KINDS = {
    "process": "流程",
    "participant": "泳池",
    "lane": "泳道",
    "task": "任务",
    "userTask": "用户任务",
    "manualTask": "人工任务",
    "scriptTask": "脚本任务",
    "serviceTask": "服务任务",
    "sendTask": "发送任务",
    "receiveTask": "接收任务",
    "businessRuleTask": "业务规则任务",
    "callActivity": "调用活动",
    "subProcess": "子流程",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "boundaryEvent": "边界事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关",
    "sequenceFlow": "顺序流",
    "messageFlow": "消息流",
    "dataStore": "数据存储",
    "dataStoreReference": "数据存储引用",
    "dataObject": "数据对象",
    "timerEventDefinition": "定时器",
}

_ADDRESS = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")
_CLASS_REPR = re.compile(r"^(\w+(?:Error|Exception))\((['\"])(.*)\2\)$", re.S)


def kind_name(tag: str | None) -> str:
    """``bpmn:serviceTask`` or ``{ns}serviceTask`` → 服务任务 (the local name if we have no word for it)."""
    local = (tag or "").rsplit("}", 1)[-1].rsplit(":", 1)[-1]
    return KINDS.get(local, local)


def label(element_id: str | None, name: str | None = None, tag: str | None = None) -> str:
    """How a message names an element: 服务任务「调用外部系统」（Service_e）."""
    kind = kind_name(tag) if tag else ""
    if name and element_id:
        return f"{kind}「{name}」（{element_id}）"
    if element_id:
        return f"{kind}（{element_id}）" if kind else f"元素 {element_id}"
    return f"{kind}「{name}」" if name else (kind or "元素（未知）")


def scrub(text: str) -> str:
    """Python internals out of a message: element reprs become the element's kind, ``KeyError('x')`` 'x'."""
    text = _ADDRESS.sub(lambda m: kind_name(m.group(1)), text.strip())
    match = _CLASS_REPR.match(text)
    return match.group(3) if match else text


# (pattern on SpiffWorkflow's English, the Chinese; groups are substituted by position)
_SPIFF = [
    (
        r"A Service Task must have an operator",
        "没有实现（未指定 operator），本系统不能执行服务任务；请改为用户任务或脚本任务",
    ),
    (
        r"Time Specification Error\. Unknown Time Specification",
        "定时器没有时间设置（timeDate、timeDuration 或 timeCycle 均未填写）",
    ),
    (r"Time Specification Error\. (.*)", "定时器的时间设置有误：{0}"),
    (r"No start event found", "没有开始事件"),
    (r"Process (\S+) is not executable", "流程 {0} 不是可执行流程（isExecutable 不为 true）"),
    (r"Data Store with name (.*) has no implementation", "数据存储「{0}」在本系统中没有实现，流程不能读写它"),
    (r"Data Store name is missing from bpmn xml", "数据存储没有名称"),
    (r"Duplicate process ID: (\S+)", "流程标识 {0} 重复（另一个文件已定义同名流程）"),
    (r"When looking for a task spec, we found two items.*\((.*)\)", "连线指向不存在或重复的元素 {0}"),
    (r"There is no support implemented for this task type", "本系统不支持这种任务类型"),
    (r"A SubWorkflow Must contain an End event", "子流程必须有结束事件"),
    (r"A SubWorkflow Must contain a Start event", "子流程必须有开始事件"),
    (r"The process '(\S+)' was not found.*", "找不到被调用的流程 {0}"),
    (
        r"Cannot resolve (dataInputAssociation|dataOutputAssociation) (.*)",
        "数据关联 {1} 指向的数据对象不存在",
    ),
    (r"Expected an? (\w+) node", "缺少引用的{0}定义"),
    (r"Conditional event definition with missing condition", "条件事件没有填写条件"),
    (
        r"Could not find messageRef from message event definition: (.*)",
        "消息事件定义 {0} 没有指定消息（messageRef）",
    ),
    (r"(Message|Signal|Error|Escalation|Correlation) identifier is missing from bpmn xml", "{0} 定义缺少 id"),
]


def spiff_message(message: str) -> str:
    """SpiffWorkflow's validation message in Chinese; an unknown one kept, without Python internals."""
    text = scrub(message).rstrip(". ").strip()
    for pattern, chinese in _SPIFF:
        match = re.match(pattern, text, re.S)
        if match:
            return chinese.format(*(scrub(g or "") for g in match.groups()))
    return f"流程引擎解析失败：{text}"


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


def not_bpmn(root: etree._Element | None, line: int | None, detail: str) -> str:
    """An XSD refusal named by the element it is in (the XSD gives only a line)."""
    el = _element_at(root, line)
    where = f"{label(el.get('id'), el.get('name'), el.tag)}附近" if el is not None else "文件中"
    return f"不符合 BPMN 2.0 规范（{where}）：{scrub(detail).rstrip('. ')}"


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
    who = label(element_id, name, tag) if element_id else ""
    return Problem(
        file, f"{who}：{spiff_message(message)}" if who else spiff_message(message), line or None, element_id
    )
