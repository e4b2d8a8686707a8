"""User-task forms: one JSON Schema file per form in ``forms/``, used to render and to validate.

The same file drives the browser form and the server-side check, so what a user is shown and what the
server accepts cannot drift apart. Only fields the form declares reach the task data: a user must not be
able to overwrite variables the process relies on (``unit_code``, decisions, deadlines) by posting extras.

A form file is untrusted input (a designer uploads it): its size and nesting are bounded, a ``$ref`` may only
point inside the file (jsonschema would otherwise fetch ``http(s)://`` and ``file://`` references when a
submission is checked), and every ``pattern`` must be short and unable to backtrack without end
(:mod:`workflows.engine.deploy.regex_safety`) — issue 16 point 3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from workflows.engine.deploy import jsonsafe
from workflows.engine.deploy.regex_safety import regex_problem
from workflows.engine.errors import FormInvalid, Problem
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.phrase import Phrase, either

# A date field marked ``"x-not-future": true`` records a past fact: a value after today is refused.
NOT_FUTURE = "x-not-future"

_FORMAT_CHECKER = FormatChecker()

MAX_FORM_BYTES = 256 * 1024  # the largest form here is ~10 KB
# Keywords whose value is data, not a schema (a "pattern" key inside a default is no pattern) …
DATA_KEYWORDS = frozenset({"const", "default", "enum", "examples"})
# … and those whose value maps names (of fields, definitions) to schemas: the names are not keywords.
NAMED_SCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
REFERENCES = ("$ref", "$dynamicRef")


def _schema_problem(filename: str, exc: Any) -> Problem:
    """One JSON-Schema error, named by the field it is in (``properties.a.type`` → 字段 a)."""
    where = list(exc.absolute_path)
    field = ".".join(str(where[i + 1]) for i, p in enumerate(where[:-1]) if p == "properties")
    pointer = "/".join(str(p) for p in where) or Phrase("（根）")
    prefix = (
        Phrase("字段 {field}（{pointer}）", field=field, pointer=pointer)
        if field
        else Phrase("位置 {pointer}", pointer=pointer)
    )
    message = Phrase("不是有效的 JSON Schema：{where}：{words}", where=prefix, words=_schema_words(exc))
    return Problem(filename, message, element=field or None)


_TYPES = {
    "string": Phrase("字符串"),
    "integer": Phrase("整数"),
    "number": Phrase("数字"),
    "boolean": Phrase("是/否"),
    "array": Phrase("数组"),
    "object": Phrase("对象"),
}


def _schema_words(exc: Any) -> str:  # a Phrase, or jsonschema's own English
    """The metaschema's complaint in Chinese for the usual keywords; jsonschema's own text otherwise."""
    value = json.dumps(exc.instance, ensure_ascii=False)[:80]
    expected = exc.validator_value
    if exc.validator == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        names = [_TYPES.get(k) or Phrase("{kind}", kind=str(k)) for k in kinds]
        return Phrase("{value} 应为{kinds}", value=value, kinds=either(names))
    if exc.validator in ("anyOf", "oneOf", "enum"):
        return Phrase("{value} 不是允许的取值", value=value)
    if exc.validator in ("minimum", "exclusiveMinimum"):
        return Phrase("{value} 不能小于 {minimum}", value=value, minimum=expected)
    if exc.validator == "minItems":
        return Phrase("至少需要 {count} 项", count=expected)
    if exc.validator == "uniqueItems":
        return Phrase("{value} 中有重复项", value=value)
    if exc.validator == "format":
        return Phrase("{value} 不符合 {format} 格式", value=value, format=expected)
    return str(exc.message)


def parse_form(filename: str, text: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Load and check one form file; return the schema (or None) and the problems found."""
    size = len(text.encode("utf-8"))
    if size > MAX_FORM_BYTES:
        return None, [
            Problem(
                filename,
                Phrase("表单文件过大（{size} 字节，上限 {limit} 字节）", size=size, limit=MAX_FORM_BYTES),
            )
        ]
    try:
        schema = jsonsafe.loads(text)
    except jsonsafe.JsonTooDeep as exc:
        return None, [Problem(filename, Phrase("JSON 嵌套超过 {depth} 层", depth=exc.depth))]
    except json.JSONDecodeError as exc:
        return None, [
            Problem(
                filename,
                Phrase(
                    "不是有效的 JSON（第 {line} 行第 {column} 列）：{error}",
                    line=exc.lineno,
                    column=exc.colno,
                    error=exc.msg,
                ),
                line=exc.lineno,
            )
        ]
    problems: list[Problem] = []
    if not isinstance(schema, dict):
        return None, [Problem(filename, Phrase("表单必须是一个 JSON 对象（type 为 object 的 JSON Schema）"))]
    # Every schema error, not only the first (check_schema raises on the best one): a designer fixes all
    # of them in one pass.
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA)
    for error in sorted(meta.iter_errors(schema), key=lambda e: [str(p) for p in e.absolute_path]):
        problems.append(_schema_problem(filename, error))
    problems += unsafe_parts(filename, schema)
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        problems.append(Problem(filename, Phrase('表单需要 "type": "object" 和一个 "properties" 对象')))
    if not schema.get("title"):
        problems.append(Problem(filename, Phrase('表单需要 "title"（显示给填写人的标题）')))
    for name in schema.get("required", []) if isinstance(schema.get("required"), list) else []:
        if name not in (schema.get("properties") or {}):
            problems.append(
                Problem(filename, Phrase("必填字段 {name} 没有在 properties 中定义", name=name), element=name)
            )
    return (None if problems else schema), problems


def unsafe_parts(filename: str, schema: dict[str, Any]) -> list[Problem]:
    """References out of the file and dangerous patterns, each naming the field it belongs to."""
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[str | int, ...], bool]] = [(schema, (), False)]
    while stack:
        node, path, names = stack.pop()
        if isinstance(node, list):
            stack.extend((item, (*path, i), False) for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            where = (*path, key)
            if names:  # a field's or a definition's name; a patternProperties name is a pattern
                if path and path[-1] == "patternProperties":
                    problems += _pattern_problem(filename, where, key)
                stack.append((value, where, False))
                continue
            if key in REFERENCES and isinstance(value, str) and not value.startswith("#"):
                problems.append(
                    _field_problem(
                        filename,
                        where,
                        Phrase(
                            "{key} 只能引用本文件内的定义（以 # 开头），不能引用 {value}",
                            key=key,
                            value=value,
                        ),
                    )
                )
            elif key == "pattern" and isinstance(value, str):
                problems += _pattern_problem(filename, where, value)
            if key not in DATA_KEYWORDS and not key.startswith("x-"):
                stack.append((value, where, key in NAMED_SCHEMAS))
    return sorted(problems, key=lambda p: (p.element or "", p.message))


def _pattern_problem(filename: str, where: tuple[str | int, ...], pattern: str) -> list[Problem]:
    reason = regex_problem(pattern)
    if not reason:
        return []
    return [
        _field_problem(
            filename,
            where,
            Phrase("正则表达式 {pattern} {reason}", pattern=repr(pattern[:60]), reason=reason),
        )
    ]


def _field_problem(filename: str, where: tuple[str | int, ...], message: Phrase) -> Problem:
    """A problem naming the form field (``leaders.name``: the names under ``properties``) and its path."""
    field = ".".join(str(where[i + 1]) for i, p in enumerate(where[:-1]) if p == "properties")
    pointer = "/".join(str(p) for p in where)
    if not field:  # outside every field, e.g. the form's own patternProperties
        return Problem(filename, Phrase("{pointer}：{message}", pointer=pointer, message=message))
    said = Phrase("字段 {field}（{pointer}）：{message}", field=field, pointer=pointer, message=message)
    return Problem(filename, said, element=field)


def validate_submission(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``data`` against the task's form and return only the declared fields.

    Raises :class:`FormInvalid` with every problem at once, keyed by field, so a form can show each
    message next to its field and keep what the user typed.
    """
    if not isinstance(data, Mapping):
        raise FormInvalid({"": ["form data must be an object"]})
    if schema is None:
        if data:
            raise FormInvalid({"": ["this task has no form and takes no data"]})
        return {}
    declared = schema.get("properties", {})
    errors: dict[str, list[str]] = {}
    codes: dict[str, list[tuple[str, object]]] = {}

    def add(path: str, message: str, code: str, value: object = None) -> None:
        errors.setdefault(path, []).append(message)
        codes.setdefault(path, []).append((code, value))

    for key in data:
        if key not in declared:
            add(key, "field is not part of this form", "undeclared")
    validator = Draft202012Validator(schema, format_checker=_FORMAT_CHECKER)
    for err in validator.iter_errors(dict(data)):
        path = "/".join(str(p) for p in err.absolute_path)
        if err.validator == "additionalProperties" and not path:
            continue  # already reported above, field by field
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            add(f"{path}/{missing}" if path else missing, "required", "required")
            continue
        add(path, err.message, str(err.validator), err.validator_value)
    today = clockmod.now().date()
    for key, prop, value in _values(declared, data):  # dates of past facts (反映日期, 印发日期…)
        if prop.get(NOT_FUTURE) and isinstance(value, str) and _after(value, today):
            add(key, f"不能晚于今天（{today.isoformat()}）", "not_future", today.isoformat())
    if errors:
        raise FormInvalid(errors, codes)
    return {k: v for k, v in data.items() if k in declared}


def _values(declared: Mapping[str, Any], data: Mapping[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    """Each field's (path, schema, value), and each cell of a table of rows as ``name/0/column``: a date of a
    past fact can be a row's (the date an authority decided one measure, Art. 39)."""
    for key, prop in declared.items():
        value = data.get(key)
        yield key, prop, value
        columns = (prop.get("items") or {}).get("properties") if prop.get("type") == "array" else None
        if isinstance(columns, Mapping) and isinstance(value, list):
            for i, row in enumerate(value):
                for column, sub in columns.items() if isinstance(row, Mapping) else ():
                    yield f"{key}/{i}/{column}", sub, row.get(column)


def _after(value: str, today: date) -> bool:
    try:
        return date.fromisoformat(value[:10]) > today
    except ValueError:
        return False  # the format check reports it
