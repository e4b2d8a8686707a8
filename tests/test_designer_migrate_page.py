"""The migrate page (issue 15): running instances listed per version and narrowed by version, process, unit
and current step, ticked instead of typed; after the move the case page shows the new version, the open
task under its new name and a Chinese working-file entry, and a refusal names the step in Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from tests.conftest import demo_app
from tests.test_designer_api import NOTIFICATION, _case_in_rectification, deploy, login


@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def _web(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/login", data={"username": username, "password": "demo", "csrf_token": token})
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/designer").get_data(as_text=True))
    assert token
    return client, token.group(1)


def test_listed_filtered_ticked_and_the_case_page_after(app: Flask) -> None:
    case_id = _case_in_rectification(app)
    api, headers = login(app, "411300.designer")
    renamed = NOTIFICATION.replace('name="报告整改措施"', 'name="报告整改措施（新）"')
    assert deploy(api, headers, {"bpmn/accountability_notification.bpmn": renamed}).status_code == 201
    web, token = _web(app, "411300.designer")

    page = web.get("/designer/migrate").get_data(as_text=True)
    assert "v1：1 个" in page and f'name="instance_ids" value="{case_id}"' in page
    for query, listed in (
        ("version=1&step=报告整改措施", True),
        ("version=2", False),
        ("process=accountability_case", True),
        ("unit=411302", True),
        ("unit=卧龙", False),
        ("step=不存在的环节", False),
    ):
        html = web.get(f"/designer/migrate?{query}").get_data(as_text=True)
        assert (f'data-instance="{case_id}"' in html) is listed, query

    nothing = web.post("/designer/migrate", data={"to_version": "2", "execute": "0", "csrf_token": token})
    assert "请勾选要迁移的实例" in nothing.get_data(as_text=True)
    dry = web.post(
        "/designer/migrate",
        data={"to_version": "2", "execute": "0", "instance_ids": str(case_id), "csrf_token": token},
    ).get_data(as_text=True)
    assert 'id="migration-results"' in dry and "v1 → v2" in dry
    done = web.post(
        "/designer/migrate",
        data={"to_version": "2", "execute": "1", "scope": "listed", "version": "1", "csrf_token": token},
    ).get_data(as_text=True)
    assert re.search(rf'<tr data-instance="{case_id}">.*?<td>是</td><td>是</td>', done)

    office, _token = _web(app, "411300.office_director")
    case_page = office.get(f"/cases/{case_id}").get_data(as_text=True)
    assert "流程版本 v2" in case_page
    assert "报告整改措施（新）" in case_page  # the open task under its new name
    assert "流程版本迁移" in case_page and "由流程版本 v1 迁移到 v2" in case_page
    assert "<div>→ 2</div>" not in case_page  # the raw "migrated → 2" of before


def test_refusal_names_the_step_in_chinese(app: Flask) -> None:
    case_id = _case_in_rectification(app)
    api, headers = login(app, "411300.designer")
    tree = etree.fromstring(NOTIFICATION.encode())
    for el in tree.xpath(
        "//*[@id='report_measures_notification' or @id='Flow_nr2'"
        " or @bpmnElement='report_measures_notification' or @bpmnElement='Flow_nr2']"
    ):
        el.getparent().remove(el)
    for ref in tree.xpath("//*[local-name()='incoming' and text()='Flow_nr2']"):
        ref.text = "Flow_nr_need"
    for flow in tree.xpath("//*[@id='Flow_nr_need']"):
        flow.set("targetRef", "measures_reported_notification")
    without = etree.tostring(tree, encoding="unicode")
    assert deploy(api, headers, {"bpmn/accountability_notification.bpmn": without}).status_code == 201
    plan = api.post("/api/v1/migrations", json={"to_version": 2, "instance_ids": [case_id]}, headers=headers)
    reasons = plan.json["results"][0]["reasons"]
    assert (
        "当前步骤「报告整改措施」（report_measures_notification）在版本 2 中不存在，实例不能迁移" in reasons
    )
