"""Render a task's JSON Schema form as HTML fields and read a posted form back into typed data.

The schema in ``forms/`` is the single source: the same file the server validates with decides the widget
(text, textarea, date, select, yes/no, checkboxes, one-per-line list, table of rows). What the user typed
is kept and re-shown with the messages next to the fields when validation fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from app.i18n import pick
from workflows.engine.deploy.forms import NOT_FUTURE
from workflows.engine.legaltime import clock as clockmod

EXTRA_ROWS = 2  # empty rows offered in tables (leaders, interviewees)


@dataclass
class Field:
    name: str
    label: str
    widget: str  # text | textarea | date | number | select | yesno | checkboxes | lines | rows | confirm
    required: bool
    value: Any = None
    options: list[tuple[str, str]] = field(default_factory=list)
    columns: list[Field] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    help: str = ""
    show_if: dict[str, Any] | None = None  # shown only while other fields hold these values (x-show-if)
    groups: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)  # unit: (county, units)
    max: str | None = None  # a date of a past fact: not after today (x-not-future)


def _options(schema: dict[str, Any]) -> list[tuple[str, str]]:
    values = schema.get("enum", [])
    zh = schema.get("x-enum-titles") or [str(v) for v in values]
    en = schema.get("x-enum-titles-en") or zh
    return [(str(v), pick(z, e)) for v, z, e in zip(values, zh, en, strict=False)]


def unit_groups(levels: list[str] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The units a ``x-widget: unit`` field offers, active ones, grouped by county (the city's own units
    first): a unit is picked by name, never typed as a code. ``x-unit-levels`` narrows the levels."""
    from app.runtime import engine
    from workflows.regulation.roles import org_of

    org = org_of(engine())
    groups: dict[str | None, list[tuple[str, str]]] = {}
    for node in sorted(org.nodes.values(), key=lambda n: n.code):
        if node.active and (not levels or node.level in levels):
            groups.setdefault(org.county_of(node.code), []).append((node.code, node.name))
    city = org.nodes[org.city_code].name if org.city_code else ""
    return [
        (org.nodes[c].name if c else city, units)
        for c, units in sorted(groups.items(), key=lambda kv: kv[0] or "")
    ]


def _widget(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if schema.get("x-widget") == "unit":
        return "unit"
    if kind == "boolean":
        return "confirm" if schema.get("const") is True else "yesno"
    if kind in ("integer", "number"):
        return "select" if "enum" in schema else "number"
    if kind == "array":
        items = schema.get("items", {})
        if "enum" in items:
            return "checkboxes"
        if items.get("x-widget") == "unit":
            return "units"
        if items.get("type") == "object":
            return "rows"
        return "lines"
    if "enum" in schema:
        return "select"
    if schema.get("format") == "date":
        return "date"
    if schema.get("x-widget") == "textarea" or schema.get("maxLength", 0) > 200:
        return "textarea"
    return "text"


def required_when_shown(form: dict[str, Any]) -> set[str]:
    """Fields shown only on a condition (``x-show-if``) that an ``allOf`` ``if``/``then`` requires under that
    condition: whenever the page shows them they are required, so they carry the mark (issue 14)."""
    fields = form.get("properties", {})
    return {
        name
        for rule in form.get("allOf", [])
        for name in rule.get("then", {}).get("required", [])
        if fields.get(name, {}).get("x-show-if")
    }


def build_fields(
    form: dict[str, Any], values: dict[str, Any], errors: dict[str, list[str]] | None = None
) -> list[Field]:
    errors = errors or {}
    required = set(form.get("required", [])) | required_when_shown(form)
    fields: list[Field] = []
    for name, schema in form.get("properties", {}).items():
        widget = _widget(schema)
        f = Field(
            name=name,
            label=pick(schema.get("title"), schema.get("x-title-en")),
            widget=widget,
            required=name in required,
            value=values.get(name),
            help=pick(schema.get("description"), schema.get("x-description-en")),
            show_if=schema.get("x-show-if"),
            max=clockmod.now().date().isoformat() if schema.get(NOT_FUTURE) else None,
        )
        if widget in ("select",):
            f.options = _options(schema)
        if widget == "unit":
            f.groups = unit_groups(schema.get("x-unit-levels"))
        if widget == "units":
            f.groups = unit_groups(schema["items"].get("x-unit-levels"))
            f.value = [str(v) for v in (values.get(name) or [])]
        if widget == "checkboxes":
            f.options = _options(schema["items"])
            f.value = [str(v) for v in (values.get(name) or [])]
        if widget == "lines":
            f.value = "\n".join(str(v) for v in (values.get(name) or []))
        if widget == "rows":
            item = schema["items"]
            item_required = set(item.get("required", []))
            f.columns = [
                Field(
                    name=col,
                    label=pick(sub.get("title"), sub.get("x-title-en")),
                    widget=_widget(sub),
                    required=col in item_required,
                    options=_options(sub["items"] if _widget(sub) == "checkboxes" else sub)
                    if "enum" in sub or _widget(sub) == "checkboxes"
                    else [("true", _("是")), ("false", _("否"))]  # a choice, not the typed word "true"
                    if _widget(sub) == "yesno"
                    else [],
                    groups=unit_groups(sub.get("x-unit-levels")) if _widget(sub) == "unit" else [],
                )
                for col, sub in item.get("properties", {}).items()
            ]
            existing = list(values.get(name) or [])
            f.rows = existing + [{} for _ in range(EXTRA_ROWS)]
        f.errors = [msg for key, msgs in errors.items() if key.split("/")[0] == name for msg in msgs]
        fields.append(f)
    return fields


def _typed(schema: dict[str, Any], raw: str) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def parse_submission(form: dict[str, Any], posted: MultiDict[str, str]) -> dict[str, Any]:
    """Typed data from a posted HTML form; blank fields are left out so "required" speaks for them."""
    data: dict[str, Any] = {}
    for name, schema in form.get("properties", {}).items():
        widget = _widget(schema)
        if widget in ("checkboxes", "units"):
            if name in posted or f"{name}__present" in posted:
                data[name] = [_typed(schema["items"], v) for v in posted.getlist(name)]
        elif widget == "lines":
            text = posted.get(name, "")
            if text.strip() or f"{name}__present" in posted:
                data[name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif widget == "rows":
            item = schema["items"]
            rows: list[dict[str, Any]] = []
            index = 0
            while any(k.startswith(f"{name}-{index}-") for k in posted):
                row = {}
                for col, sub in item.get("properties", {}).items():
                    key = f"{name}-{index}-{col}"
                    if _widget(sub) == "checkboxes":  # several choices per row, e.g. a leader's measures
                        picked = [_typed(sub["items"], v) for v in posted.getlist(key) if v.strip()]
                        if picked:
                            row[col] = picked
                    elif posted.get(key, "").strip():
                        row[col] = _typed(sub, posted.get(key, "").strip())
                if row:
                    rows.append(row)
                index += 1
            if rows or f"{name}__present" in posted:
                data[name] = rows
        elif widget == "confirm":
            if posted.get(name):
                data[name] = True
        else:
            raw = posted.get(name, "").strip()
            if raw != "":
                data[name] = _typed(schema, raw)
    return data


def describe(code: str, value: Any) -> str:
    """A validation problem in the reader's language."""
    messages = {
        "required": _("必填"),
        "undeclared": _("不是本表单的字段"),
        "minLength": _("至少 %(n)s 个字", n=value),
        "maxLength": _("最多 %(n)s 个字", n=value),
        "minItems": _("至少填写 %(n)s 项", n=value),
        "maxItems": _("最多 %(n)s 项", n=value),
        "enum": _("请选择列表中的选项"),
        "const": _("请确认"),
        "format": _("日期格式应为 年-月-日") if value == "date" else _("格式不正确"),
        "type": _("类型不正确"),
        "minimum": _("不能小于 %(n)s", n=value),
        "maximum": _("不能大于 %(n)s", n=value),
        "uniqueItems": _("不能重复"),
        "unit": _("请选择单位"),
        "not_future": _("不能晚于今天（%(d)s）", d=value),
    }
    return messages.get(code, _("输入不正确"))


KNOWN_CODES = frozenset(
    [
        "required",
        "undeclared",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "enum",
        "const",
        "format",
        "type",
        "minimum",
        "maximum",
        "uniqueItems",
        "unit",
        "not_future",
    ]
)


def localized_errors(
    codes: dict[str, list[tuple[str, Any]]], errors: dict[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """Each problem in the reader's language; a rule's own message (already Chinese, e.g. a document that
    cannot be issued, a sanction in force) is kept rather than replaced by a generic one."""
    out: dict[str, list[str]] = {}
    for path, items in codes.items():
        said = (errors or {}).get(path, [])
        out[path] = [
            describe(code, value) if code in KNOWN_CODES or i >= len(said) else said[i]
            for i, (code, value) in enumerate(items)
        ]
    return out
