"""The set's edit page as an HTML form: one table row per indicator (with its own 不合格 / 优秀 limits) and
the set-wide limits; posted fields ↔ the ``{"indicators": [...], "thresholds": {...}}`` that
``workflows.regulation.indicators.save_set`` takes, and its error paths back onto the rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BLANK_ROWS = 2
MAX_ROWS = 60
ROW_FIELDS = ("code", "name", "description", "weight", "max_score", "order", "source", "below", "min")
SET_FIELDS = {
    "below_total": ("unqualified", "below_total"),
    "min_total": ("excellent", "min_total"),
    "min_each": ("excellent", "min_each"),
}


@dataclass
class Row:
    index: int
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class EditForm:
    rows: list[Row]
    limits: dict[str, str]  # below_total, min_total, min_each as typed
    limit_errors: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def form_of(data: Mapping[str, Any]) -> EditForm:
    """The page's fields for a set (as ``set_as_dict`` gives it), with blank rows to add indicators."""
    thresholds = data.get("thresholds") or {}
    below = (thresholds.get("unqualified") or {}).get("below") or {}
    minimum = (thresholds.get("excellent") or {}).get("min") or {}
    rows = [
        Row(
            n,
            {
                **{k: _text(i.get(k)) for k in ROW_FIELDS if k not in ("below", "min")},
                "below": _text(below.get(i["code"])),
                "min": _text(minimum.get(i["code"])),
            },
        )
        for n, i in enumerate(data.get("indicators") or [])
    ]
    rows += [Row(len(rows) + k, {k2: "" for k2 in ROW_FIELDS}) for k in range(BLANK_ROWS)]
    limits = {name: _text((thresholds.get(g) or {}).get(key)) for name, (g, key) in SET_FIELDS.items()}
    return EditForm(rows, limits)


def _number(text: str) -> Any:
    """A typed number, or the text itself so that the validator names the field."""
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() else value


def parse(posted: Mapping[str, str]) -> tuple[dict[str, Any], EditForm, list[int]]:
    """The edit as ``save_set`` takes it, the form as typed, and which page row each indicator came from.

    A row with neither code nor name, or ticked 删除, is left out; an empty limit is no condition."""
    try:
        count = min(max(int(posted.get("rows", "0")), 0), MAX_ROWS)
    except ValueError:
        count = 0
    rows: list[Row] = []
    source_rows: list[int] = []
    indicators: list[dict[str, Any]] = []
    below: dict[str, Any] = {}
    minimum: dict[str, Any] = {}
    for n in range(count):
        values = {k: str(posted.get(f"{k}_{n}", "")).strip() for k in ROW_FIELDS}
        rows.append(Row(n, values))
        if posted.get(f"delete_{n}") or not (values["code"] or values["name"]):
            continue
        source_rows.append(n)
        order = _number(values["order"]) if values["order"] else len(indicators) + 1
        indicators.append(
            {
                "code": values["code"],
                "name": values["name"],
                "description": values["description"],
                "weight": _number(values["weight"]),
                "max_score": _number(values["max_score"]),
                "order": order,
                "source": values["source"] or "manual",
            }
        )
        if values["below"]:
            below[values["code"]] = _number(values["below"])
        if values["min"]:
            minimum[values["code"]] = _number(values["min"])
    limits = {name: str(posted.get(name, "")).strip() for name in SET_FIELDS}
    thresholds: dict[str, dict[str, Any]] = {"unqualified": {}, "excellent": {}}
    for name, (grade, key) in SET_FIELDS.items():
        if limits[name]:
            thresholds[grade][key] = _number(limits[name])
    if below:
        thresholds["unqualified"]["below"] = below
    if minimum:
        thresholds["excellent"]["min"] = minimum
    while rows and not any(v for k, v in rows[-1].values.items() if k != "source"):
        rows.pop()  # trailing blank rows: the page adds its own again
    rows += [Row(len(rows) + k, {k2: "" for k2 in ROW_FIELDS}) for k in range(BLANK_ROWS)]
    return {"indicators": indicators, "thresholds": thresholds}, EditForm(rows, limits), source_rows


def place_errors(form: EditForm, errors: Mapping[str, list[str]], source_rows: list[int]) -> None:
    """Put ``save_set``'s errors (``indicators/2/weight``, ``thresholds/excellent/min/overall`` …) next to
    the fields they are about; what belongs to no field goes to ``general``."""
    by_code = {r.values["code"]: r for r in form.rows if r.values["code"]}
    limit_of = {f"thresholds/{g}/{k}": name for name, (g, k) in SET_FIELDS.items()}
    column = {"below": "below", "min": "min"}
    for path, messages in errors.items():
        parts = path.split("/")
        if parts[0] == "indicators" and len(parts) == 3 and parts[1].isdigit():
            n = int(parts[1])
            if n < len(source_rows):
                form.rows[source_rows[n]].errors.setdefault(parts[2], []).extend(messages)
                continue
        if path in limit_of:
            form.limit_errors.setdefault(limit_of[path], []).extend(messages)
            continue
        if parts[0] == "thresholds" and len(parts) == 4 and parts[2] in column and parts[3] in by_code:
            by_code[parts[3]].errors.setdefault(column[parts[2]], []).extend(messages)
            continue
        form.general.extend(messages)
