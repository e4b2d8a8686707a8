"""A form file is untrusted (issue 16 point 3): patterns that can backtrack without end, references out of the
file, and JSON too large or too deep are refused at deploy, each naming the form file and the field. The
regex check is tested on the textbook cases, on patterns forms really use, and by a seeded search: every
generated pattern it lets through matches hostile input quickly."""

from __future__ import annotations

import json
import random
import re
import time
from typing import Any

import pytest

from workflows.engine.deploy import jsonsafe
from workflows.engine.deploy.forms import MAX_FORM_BYTES, parse_form
from workflows.engine.deploy.regex_safety import AMBIGUOUS, EMPTY, MAX_LENGTH, NESTED, regex_problem

EXPONENTIAL = {
    r"^(a+)+$": NESTED,
    r"(\w+\s?)*$": NESTED,
    r"^(a{1,3})+$": NESTED,
    r"(.*a){20}": NESTED,
    r"^(\d+)*$": NESTED,
    r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@)[a-z0-9]+$": NESTED,  # OWASP's e-mail example
    r"(?=(a+)+)b": NESTED,  # inside a lookahead too
    r"(a*)*": EMPTY,
    r"(a?)*b": EMPTY,
    r"(|a)+": EMPTY,
    r"^(a|aa)+$": AMBIGUOUS,
    r"^(aa?)+$": AMBIGUOUS,
    r"^(\w|\d\d)+$": AMBIGUOUS,
    r"(?i)^(a|Ab)+$": AMBIGUOUS,
    r"^((b?)?\d)+$": AMBIGUOUS,  # found by the search below: two ways to match nothing
    r"^(a?|b?)+c$": EMPTY,
}
SAFE = [
    r"^[0-9]{9}$",  # forms/ today
    r"^\d{6}$",
    r"^1[3-9]\d{9}$",
    r"^\d{17}[\dXx]$",
    r"^[\u4e00-\u9fa5]{2,20}$",
    r"^(\d{3}-)?\d{4}$",
    r"^(?:[a-z]+,)*[a-z]+$",  # nested, but the comma decides
    r"^(\d{1,3}\.){3}\d{1,3}$",  # likewise the dot
    r"(ab|a)+$",
    r"(ab?)+",
    r"(省份|市区)+",
    r"(a|b)*c",
    r"^[^@\s]+@[^@\s]+$",
]


@pytest.mark.parametrize(("pattern", "reason"), EXPONENTIAL.items())
def test_exponential_patterns_are_refused(pattern: str, reason: str) -> None:
    assert regex_problem(pattern) == reason


@pytest.mark.parametrize("pattern", SAFE)
def test_usual_patterns_pass(pattern: str) -> None:
    assert regex_problem(pattern) is None


def test_the_refused_ones_really_are_slow() -> None:
    """What the check refuses is no theory: Python's re takes time doubling with each character."""
    timings = []
    for n in (14, 18):
        start = time.perf_counter()
        re.search(r"^(a+)+$", "a" * n + "!")
        timings.append(time.perf_counter() - start)
    assert timings[1] > 4 * timings[0]


def test_length_and_syntax() -> None:
    assert regex_problem("a" * MAX_LENGTH) is None
    assert (
        regex_problem("a" * (MAX_LENGTH + 1))
        == f"正则表达式过长（{MAX_LENGTH + 1} 个字符，上限 {MAX_LENGTH}）"
    )
    assert regex_problem("(abc") == "不是有效的正则表达式：missing ), unterminated subpattern"


ATOMS = ["a", "b", "ab", "[ab]", r"\w", r"\d", ".", "a?", "b?", "[^b]", "中"]
HOSTILE = ["a" * 24 + "!", "ab" * 12 + "!", "1" * 24 + "!", "aab" * 8 + "!", "ba" * 12 + "!", "中" * 24 + "!"]


def _generate(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 3 or roll < 0.3:
        return rng.choice(ATOMS)
    if roll < 0.5:
        return _generate(rng, depth + 1) + _generate(rng, depth + 1)
    if roll < 0.65:
        return f"({_generate(rng, depth + 1)}|{_generate(rng, depth + 1)})"
    return f"({_generate(rng, depth + 1)}){rng.choice(['+', '*', '{1,3}', '{2}', '?', '+?'])}"


def test_what_passes_matches_hostile_input_quickly() -> None:
    """2,000 random patterns of repeats, choices and classes: none that passes takes 0.2 s on 25 hostile
    characters (an exponential one takes minutes), and the check refuses a good share of them."""
    rng = random.Random(16)
    passed, slow = 0, []
    for _ in range(2000):
        pattern = f"^{_generate(rng)}$"
        if regex_problem(pattern):
            continue
        passed += 1
        compiled = re.compile(pattern)
        for text in HOSTILE:
            start = time.perf_counter()
            compiled.search(text)
            if time.perf_counter() - start > 0.2:
                slow.append((pattern, text))
    assert not slow
    assert 800 < passed < 1800  # the check is neither a rubber stamp nor a wall


# --- JSON bounds --------------------------------------------------------------------------------------


def test_jsonsafe_bounds_depth_without_recursion() -> None:
    assert jsonsafe.loads("[" * 64 + "]" * 64) is not None
    with pytest.raises(jsonsafe.JsonTooDeep):
        jsonsafe.loads("[" * 65 + "]" * 65)
    with pytest.raises(jsonsafe.JsonTooDeep):
        jsonsafe.loads("[" * 100_000 + "]" * 100_000)  # RecursionError inside the parser
    with pytest.raises(json.JSONDecodeError):
        jsonsafe.loads("[1,")
    assert jsonsafe.loads('{"a": [1, {"b": 2}]}', max_depth=3) == {"a": [1, {"b": 2}]}
    with pytest.raises(jsonsafe.JsonTooDeep):
        jsonsafe.loads('{"a": [1, {"b": 2}]}', max_depth=2)


# --- the form file -------------------------------------------------------------------------------------


def _form(**fields: dict[str, Any]) -> str:
    return json.dumps({"title": "测试", "type": "object", "properties": fields}, ensure_ascii=False)


def test_remote_and_file_references_are_refused_naming_the_field() -> None:
    text = _form(
        leaders={
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"$ref": "http://evil.example/s.json"}}},
        },
        basis={"$ref": "file:///etc/passwd"},
        local={"$ref": "#/$defs/text"},
    )
    schema, problems = parse_form("forms/refs.json", text)
    assert schema is None
    assert [(p.file, p.element, p.message) for p in problems] == [
        (
            "forms/refs.json",
            "basis",
            "字段 basis（properties/basis/$ref）：$ref 只能引用本文件内的定义（以 # 开头），不能引用 "
            "file:///etc/passwd",
        ),
        (
            "forms/refs.json",
            "leaders.name",
            "字段 leaders.name（properties/leaders/items/properties/name/$ref）：$ref 只能引用本文件内的定义"
            "（以 # 开头），不能引用 http://evil.example/s.json",
        ),
    ]


def test_patterns_are_checked_wherever_a_schema_has_them() -> None:
    text = _form(
        code={"type": "string", "pattern": "^(a+)+$"},
        default={"type": "string", "pattern": "(a|aa)+"},  # a field named like a keyword is still a field
        note={"type": "string", "default": "x", "examples": [{"pattern": "(a+)+"}]},  # data, not a schema
        tags={"type": "object", "patternProperties": {"(a*)*": {"type": "string"}}},
    )
    _, problems = parse_form("forms/patterns.json", text)
    assert [(p.element, p.message.split("：", 1)[0]) for p in problems] == [
        ("code", "字段 code（properties/code/pattern）"),
        ("default", "字段 default（properties/default/pattern）"),
        ("tags", "字段 tags（properties/tags/patternProperties/(a*)*）"),
    ]
    assert NESTED in problems[0].message and "'^(a+)+$'" in problems[0].message


def test_size_and_depth_of_the_file() -> None:
    _, problems = parse_form("forms/big.json", " " * (MAX_FORM_BYTES + 1))
    assert [p.message for p in problems] == [
        f"表单文件过大（{MAX_FORM_BYTES + 1} 字节，上限 {MAX_FORM_BYTES} 字节）"
    ]
    _, problems = parse_form("forms/deep.json", "[" * 100_000 + "]" * 100_000)
    assert [(p.file, p.message) for p in problems] == [("forms/deep.json", "JSON 嵌套超过 64 层")]


def test_the_project_forms_pass() -> None:
    from tests.test_forms import FORM_FILES

    for path in FORM_FILES:
        schema, problems = parse_form(f"forms/{path.name}", path.read_text(encoding="utf-8"))
        assert schema is not None and not problems, (path.name, problems)
