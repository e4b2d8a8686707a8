"""Traceability obligation → element → test (workflows/regulation/traceability.py): the parsing of diagrams
and test markers, the mapping of the real project, `flask regulation coverage` and docs/traceability.md, the
API, the page 法规条款对照 with its diagram view (also in Chromium), and the CI check that every obligation a
diagram cites is in the list and exercised by a test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from tests.conftest import ROOT, demo_app
from workflows.regulation.traceability import (
    UNKNOWN_IN_ELEMENT,
    UNKNOWN_IN_TEST,
    UNTESTED,
    article_zh,
    build_report,
    scan_bpmn,
    scan_tests,
)

DIAGRAM = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="Defs" targetNamespace="t">
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:userTask id="measures" name="报告整改措施">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="x.json"/>
        <spiffworkflow:property name="article" value="Art. 35, 34 (O34.2, O35.4)"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="late" name="逾期" attachedToRef="measures">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="article" value="Art. 99 (O99.1)"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:boundaryEvent>
    <bpmn:subProcess id="sub">
      <bpmn:callActivity id="call_veto" name="一票否决" calledElement="veto">
        <bpmn:extensionElements><spiffworkflow:properties>
          <spiffworkflow:property name="article" value="Art. 37 (O37.1)"/>
        </spiffworkflow:properties></bpmn:extensionElements>
      </bpmn:callActivity>
    </bpmn:subProcess>
    <bpmn:exclusiveGateway id="no_id_cited">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="article" value="Art. 32"/>
      </spiffworkflow:properties></bpmn:extensionElements>
    </bpmn:exclusiveGateway>
  </bpmn:process>
</bpmn:definitions>
"""
TESTS = """
import pytest
from pytest import mark

pytestmark = [pytest.mark.slow, pytest.mark.obligation("O34.2")]


@pytest.mark.obligation("O35.4", "O98.1")
def test_listing() -> None:
    pass


def test_unmarked() -> None:
    pass


@mark.obligation("O36.1")
class TestAcceptance:
    @pytest.mark.obligation("O36.2")
    def test_county_first(self) -> None:
        pass

    def helper(self) -> None:
        pass
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "bpmn").mkdir()
    (tmp_path / "bpmn" / "case.bpmn").write_text(DIAGRAM, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_case.py").write_text(TESTS, encoding="utf-8")
    (tmp_path / "docs").mkdir()
    return tmp_path


# -- parsing ------------------------------------------------------------------------------------------------
def test_elements_citing_ids_are_found_with_file_name_and_process(project: Path) -> None:
    found = {e.id: e for e in scan_bpmn(project)}
    assert set(found) == {"measures", "late", "call_veto"}  # the gateway cites an article, no id
    measures = found["measures"]
    assert (measures.file, measures.name, measures.process, measures.kind) == (
        "bpmn/case.bpmn",
        "报告整改措施",
        "proc",
        "userTask",
    )
    assert measures.cites == ("O34.2", "O35.4")
    assert (found["late"].kind, found["call_veto"].kind, found["call_veto"].process) == (
        "boundaryEvent",
        "callActivity",
        "proc",
    )


def test_markers_are_read_from_functions_classes_and_the_module(project: Path) -> None:
    found = {t.node_id: t.cites for t in scan_tests(project)}
    assert found == {
        "tests/test_case.py::test_listing": ("O34.2", "O35.4", "O98.1"),
        "tests/test_case.py::test_unmarked": ("O34.2",),
        "tests/test_case.py::TestAcceptance::test_county_first": ("O34.2", "O36.1", "O36.2"),
    }


def test_unknown_ids_and_untested_obligations_are_problems(project: Path) -> None:
    report = build_report(project)
    problems = {(p.kind, p.obligation_id, p.where) for p in report.problems}
    assert problems == {
        (UNKNOWN_IN_ELEMENT, "O99.1", "bpmn/case.bpmn#late"),
        (UNKNOWN_IN_TEST, "O98.1", "tests/test_case.py::test_listing"),
        (UNTESTED, "O37.1", "bpmn/case.bpmn#call_veto"),
    }
    assert "O99.1, which is not in the obligation list" in str(report.problems[0])
    by_id = {c.obligation.id: c for c in report.coverage}
    assert [e.id for e in by_id["O34.2"].elements] == ["measures"]
    assert len(by_id["O34.2"].tests) == 3
    assert by_id["O36.2"].tests == ("tests/test_case.py::TestAcceptance::test_county_first",)
    assert not by_id["O36.2"].carried and by_id["O36.2"].tested
    totals = report.totals
    counts = (totals["obligations"], totals["carried"], totals["tested"], totals["both"])
    assert (counts, totals["untested_carried"]) == ((50, 3, 4, 2), 1)


def test_real_elements_map_to_their_obligations_and_tests() -> None:
    """bpmn/annual_cycle.bpmn's draft_letters carries O13.1, O7.1 and O7.4; the whole-year test exercises
    O13.1 and the meeting process's O25.1 has its own test."""
    by_id = {c.obligation.id: c for c in build_report(ROOT).coverage}
    assert [c for c in by_id] == [c.obligation.id for c in build_report(ROOT).coverage]
    assert len(by_id) == 50 and by_id["O34.2"].obligation.article == "34"
    draft = {(e.file, e.id): e for e in by_id["O13.1"].elements}[("bpmn/annual_cycle.bpmn", "draft_letters")]
    assert (draft.name, draft.process, draft.article) == (
        "拟定年度重点工作和目标",
        "annual_cycle",
        "Art. 13 (O13.1), Art. 7 (O7.1, O7.4)",
    )
    assert ("bpmn/annual_cycle.bpmn", "draft_letters") in {(e.file, e.id) for e in by_id["O7.4"].elements}
    assert "tests/test_annual_cycle.py::test_a_whole_year" in by_id["O13.1"].tests
    assert ("bpmn/meeting.bpmn", "record_committee_meeting") in {  # a plenary recorded as a meeting (Art. 25)
        (e.file, e.id) for e in by_id["O25.1"].elements
    }
    assert any(t.startswith("tests/test_meetings.py::") for t in by_id["O25.1"].tests)


@pytest.mark.parametrize(
    ("article", "written"),
    [
        ("34", "第三十四条"),
        ("7(1)", "第七条第（一）项"),
        ("10", "第十条"),
        ("13", "第十三条"),
        ("20", "第二十条"),
        ("31(8)", "第三十一条第（八）项"),
        ("Art. x", "Art. x"),
    ],
)
def test_articles_as_written_in_chinese(article: str, written: str) -> None:
    assert article_zh(article) == written


# -- the CI check -------------------------------------------------------------------------------------------
def test_every_cited_obligation_is_known_and_tested() -> None:
    """CI: an element citing an id that is not in workflows/regulation/obligations.csv, a test marker citing
    one, or an obligation an element carries that no test is marked with, fails the suite."""
    problems = [str(p) for p in build_report(ROOT).problems]
    assert problems == [], "\n".join(problems)


# -- the command --------------------------------------------------------------------------------------------
def _cli_app(root: Path) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "t", "PROJECT_ROOT": root})


def test_command_prints_the_summary_and_writes_the_page(tmp_path: Path) -> None:
    target = tmp_path / "traceability.md"
    result = _cli_app(ROOT).test_cli_runner().invoke(args=["regulation", "coverage", "--output", str(target)])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert re.match(r"50 obligations: \d+ carried by an element, \d+ tested, \d+ both", first)
    assert re.search(r"^O13\.1 .* elements +\d+ +tests +\d+ +Art\. 13 第十三条", result.output, re.M)
    page = target.read_text(encoding="utf-8")
    assert page.startswith("# 法规条款对照")
    assert "| obligations (义务) | 50 |" in page
    assert "### O13.1 · 第十三条 (Art. 13)" in page
    assert "| element | `bpmn/annual_cycle.bpmn` / `draft_letters` | 拟定年度重点工作和目标" in page
    assert "| test | `tests/test_annual_cycle.py::test_a_whole_year` | |" in page
    assert "## Still uncovered" in page and "**Neither carried nor tested**" in page


def test_check_fails_on_problems_and_passes_without(project: Path) -> None:
    runner = _cli_app(project).test_cli_runner()
    failed = runner.invoke(args=["regulation", "coverage", "--check"])
    assert failed.exit_code == 1
    assert "O99.1" in failed.output and "3 traceability problem(s)" in failed.output
    assert (project / "docs" / "traceability.md").exists()  # written all the same
    (project / "bpmn" / "case.bpmn").write_text(DIAGRAM.replace("O99.1", "O35.4").replace("O37.1", "O36.1"))
    (project / "tests" / "test_case.py").write_text(TESTS.replace("O98.1", "O35.4"), encoding="utf-8")
    passed = runner.invoke(args=["regulation", "coverage", "--check"])
    assert passed.exit_code == 0, passed.output


# -- the API and the page -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def login(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert csrf
    response = client.post("/login", data={"username": username, "password": "demo", "csrf_token": csrf[1]})
    assert response.status_code == 302
    return client


def test_api_answers_per_obligation_to_logged_in_users(app: Flask) -> None:
    assert app.test_client().get("/api/v1/regulation/coverage").status_code == 401
    client = app.test_client()
    leader = {"username": "411302001.unit_principal_leader", "password": "demo"}
    me = client.post("/api/v1/auth/login", json=leader)
    assert me.status_code == 200
    response = client.get("/api/v1/regulation/coverage")
    assert response.status_code == 200
    body: list[dict[str, Any]] = response.json  # type: ignore[assignment]
    assert len(body) == 50 and body[0]["id"] == "O7.1"
    assert {"id", "article", "elements", "tests"} <= set(body[0])
    entry = next(e for e in body if e["id"] == "O13.1")
    assert (entry["article"], entry["article_zh"]) == ("Art. 13", "第十三条")
    draft = next(e for e in entry["elements"] if e["id"] == "draft_letters")
    assert {k: draft[k] for k in ("file", "id", "name")} == {
        "file": "bpmn/annual_cycle.bpmn",
        "id": "draft_letters",
        "name": "拟定年度重点工作和目标",
    }
    assert "tests/test_annual_cycle.py::test_a_whole_year" in entry["tests"]
    assert all(isinstance(t, str) for e in body for t in e["tests"])
    document = client.get("/api/v1/openapi.json").json
    assert document is not None
    operation = document["paths"]["/regulation/coverage"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["items"]["$ref"] == "#/components/schemas/Coverage"
    assert operation["security"] == [{"session": []}]


def test_page_for_supervisors_and_designers_only(app: Flask) -> None:
    supervisor = login(app, "411300.supervisor")
    page = supervisor.get("/regulation/coverage")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "法规条款对照" in html and "第三十四条" in html and 'data-total="obligations">50<' in html
    assert 'href="/regulation/diagram/bpmn/annual_cycle.bpmn?element=draft_letters"' in html
    assert 'href="/regulation/coverage"' in supervisor.get("/inbox").get_data(as_text=True)  # top bar
    assert login(app, "411300.designer").get("/regulation/coverage").status_code == 200
    diagram = supervisor.get("/regulation/diagram/bpmn/annual_cycle.bpmn?element=draft_letters")
    assert diagram.status_code == 200 and 'data-element="draft_letters"' in diagram.get_data(as_text=True)
    xml = supervisor.get("/regulation/diagram-xml/bpmn/annual_cycle.bpmn")
    assert xml.status_code == 200 and b'id="draft_letters"' in xml.data
    assert supervisor.get("/regulation/diagram/bpmn/nothing.bpmn").status_code == 404

    leader = login(app, "411302001.unit_principal_leader")
    assert leader.get("/regulation/coverage").status_code == 403
    assert leader.get("/regulation/diagram/bpmn/annual_cycle.bpmn").status_code == 403
    assert leader.get("/regulation/diagram-xml/bpmn/annual_cycle.bpmn").status_code == 403
    assert 'href="/regulation/coverage"' not in leader.get("/inbox").get_data(as_text=True)
    assert app.test_client().get("/regulation/coverage").status_code == 302  # to the login page


def test_page_in_english(app: Flask) -> None:
    client = login(app, "411300.supervisor")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/inbox").get_data(as_text=True))
    assert csrf
    client.post("/locale", data={"locale": "en", "csrf_token": csrf[1], "next": "/regulation/coverage"})
    html = client.get("/regulation/coverage").get_data(as_text=True)
    assert "Regulation traceability" in html and "Carried by an element" in html
    client.post("/locale", data={"locale": "zh_CN", "csrf_token": csrf[1], "next": "/inbox"})


# -- in Chromium --------------------------------------------------------------------------------------------
@pytest.fixture
def live_app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def test_an_element_link_opens_its_diagram_with_the_element_highlighted(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", "411300.supervisor")
        page.fill("input[name=password]", "demo")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/inbox")
        page.click(".mainnav >> text=法规条款对照")
        page.wait_for_url(f"{live_server}/regulation/coverage")
        assert page.locator("#coverage tr[data-obligation]").count() == 50
        page.screenshot(path="/tmp/ui-traceability.png")
        page.click('#O14\\.1 a.element-link[data-element="report_to_plenary"]')
        page.wait_for_url(
            re.compile(r".*/regulation/diagram/bpmn/annual_cycle\.bpmn\?element=report_to_plenary$")
        )
        page.wait_for_selector("#diagram[data-loaded]")
        assert page.get_attribute("#diagram", "data-highlighted") == "report_to_plenary"
        assert page.get_attribute("#diagram", "data-warnings") == "0"
        marked = page.locator('.djs-element.highlight[data-element-id="report_to_plenary"]')
        assert marked.count() == 1
        assert page.locator(".djs-element.highlight").count() == 1
        box, frame = marked.bounding_box(), page.locator("#diagram").bounding_box()
        assert box is not None and frame is not None
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]  # in view
        assert frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"]
        assert page.locator("#diagram-missing").is_hidden()
        page.screenshot(path="/tmp/ui-traceability-diagram.png")
        assert errors == []
    finally:
        page.close()
