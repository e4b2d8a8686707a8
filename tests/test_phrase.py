"""The engine's messages worded again in English (``workflows/engine/phrase.py``): a Phrase is its Chinese
text wherever a string is read, and keeps its template and arguments through nesting and through pickling
(the script workers send budget refusals back pickled)."""

from __future__ import annotations

import pickle

from workflows.engine.deploy.wording import label
from workflows.engine.phrase import Phrase, either, reword
from workflows.engine.sandboxing.budgeted import over_budget
from workflows.engine.sandboxing.limits import Budget

ENGLISH = {
    "{kind}「{name}」（{id}）": "{kind} “{name}” ({id})",
    "用户任务": "user task",
    "{who}的表单 {form} 不在 forms/ 中": "The form {form} of {who} is not in forms/",
    "{a}或{b}": "{a} or {b}",
    "字符串": "a string",
    "整数": "an integer",
    "CPU 时间已用 {used:.2f} 秒，超过 {limit:.0f} 毫秒": "{used:.2f} s of CPU, over {limit:.0f} ms",
    "脚本或表达式超出计算预算：{words}，已停止执行": "Over budget: {words}; stopped",
}


def english(template: str) -> str:
    return ENGLISH.get(template, template)


def test_a_phrase_reads_as_its_chinese_and_rewords_nested() -> None:
    who = label("Task_1", "登记", "bpmn:userTask")
    message = Phrase("{who}的表单 {form} 不在 forms/ 中", who=who, form="a.json")
    assert message == "用户任务「登记」（Task_1）的表单 a.json 不在 forms/ 中"
    assert isinstance(message, str) and message.startswith("用户任务")
    assert reword(message, english) == "The form a.json of user task “登记” (Task_1) is not in forms/"
    assert reword(either([Phrase("字符串"), Phrase("整数")]), english) == "a string or an integer"
    assert reword("plain text", english) == "plain text"  # not a phrase: as it is


def test_numbers_keep_their_format_and_a_broken_entry_falls_back_to_chinese() -> None:
    exc = over_budget("cpu", 0.25, Budget())
    said = exc.args[0]
    assert isinstance(said, Phrase) and "CPU 时间已用 0.25 秒" in said
    assert reword(said, english).startswith("Over budget: 0.25 s of CPU, over ")
    broken = {**ENGLISH, "{kind}「{name}」（{id}）": "{kind} {oops}"}  # a placeholder the Chinese has not
    assert reword(label("T", "登记", "userTask"), lambda t: broken.get(t, t)) == "用户任务「登记」（T）"


def test_a_phrase_survives_pickling() -> None:
    message = Phrase("{kind}「{name}」（{id}）", kind=Phrase("用户任务"), name="登记", id="T")
    back = pickle.loads(pickle.dumps(message))
    assert back == message and isinstance(back, Phrase) and back.template == message.template
    assert reword(back, english) == "user task “登记” (T)"


def test_a_sentence_starts_with_a_capital_where_a_word_starts_it() -> None:
    who = label("Service_e", "调用外部系统", "serviceTask")
    said = Phrase("{who}：{what}", who=who, what=Phrase("没有开始事件"))
    words = {"{who}：{what}": "{who}: {what}", "服务任务": "service task", "没有开始事件": "no start event"}
    words["{kind}「{name}」（{id}）"] = "{kind} “{name}” ({id})"
    assert reword(said, lambda t: words.get(t, t), sentence=True).startswith("Service task “调用外部系统”")
    assert reword(said, lambda t: words.get(t, t)).startswith("service task")  # nested: as written
    path = Phrase("{pointer}：{message}", pointer="properties/a", message=Phrase("没有开始事件"))
    assert reword(
        path, lambda t: {"{pointer}：{message}": "{pointer}: {message}"}.get(t, t), sentence=True
    ) == (
        "properties/a: 没有开始事件"  # a quoted path keeps its case
    )
