"""Units are picked by name, never typed as codes (issue 14, point 11): a form field marked
``x-widget: unit`` (or an array of them) offers the organisation's units grouped by county, and a yes/no
column of a table offers 是/否 rather than asking for the word ``true``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from werkzeug.datastructures import MultiDict

from app.inbox.formrender import build_fields, parse_submission
from tests.conftest import demo_app

FORMS = Path(__file__).resolve().parent.parent / "forms"
FIELD = '{% from "_macros.html" import field %}{% for f in fields %}{{ field(f) }}{% endfor %}'


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def _form(name: str) -> dict:
    return json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8"))


def test_a_list_of_units_is_a_grouped_multiple_choice(app: Flask) -> None:
    form = _form("inspection_plan")
    with app.test_request_context("/"):
        (units,) = [
            f for f in build_fields(form, {"inspected_units": ["411302001"]}) if f.name == "inspected_units"
        ]
        assert units.widget == "units"
        counties = dict(units.groups)
        assert ("411302001", "东关街道") in counties["宛城区"]  # a township under its county, by name
        html = render_template_string(FIELD, fields=[units])
        assert '<select name="inspected_units" multiple' in html and '<optgroup label="宛城区">' in html
        assert '<option value="411302001" selected>东关街道</option>' in html
        posted = MultiDict([("inspected_units", "411302001"), ("inspected_units", "411303001")])
        assert parse_submission(form, posted)["inspected_units"] == ["411302001", "411303001"]


def test_a_unit_column_offers_only_its_levels_and_a_yes_no_column_offers_a_choice(app: Flask) -> None:
    form = _form("key_townships")
    with app.test_request_context("/"):
        (rows,) = [f for f in build_fields(form, {}) if f.widget == "rows"]
        unit = next(c for c in rows.columns if c.name == "unit_code")
        assert unit.widget == "unit"
        offered = [code for _county, units in unit.groups for code, _name in units]
        assert offered and all(len(code) == 9 for code in offered)  # townships only (x-unit-levels)
        html = render_template_string(FIELD, fields=[rows])
        assert 'name="townships-0-unit_code" data-unit-select' in html


def test_a_yes_no_column_is_a_choice_that_reads_back_as_a_boolean(app: Flask) -> None:
    form = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "title": "事项",
                "items": {
                    "type": "object",
                    "properties": {
                        "done": {"type": "boolean", "title": "已完成"},
                        "text": {"type": "string"},
                    },
                },
            }
        },
    }
    with app.test_request_context("/"):
        (rows,) = build_fields(form, {"items": [{"done": True, "text": "a"}]})
        done = next(c for c in rows.columns if c.name == "done")
        assert done.options == [("true", "是"), ("false", "否")]
        html = render_template_string(FIELD, fields=[rows])
        assert '<option value="true" selected>是</option>' in html
        posted = MultiDict([("items-0-done", "false"), ("items-0-text", "b")])
        assert parse_submission(form, posted)["items"] == [{"done": False, "text": "b"}]
