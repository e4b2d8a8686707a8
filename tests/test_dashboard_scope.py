"""年度仪表盘 and 年度工作 for the reader's scope (issue 14, points 10 and 11): a county director sees only
their county's units, letters, grades, findings, cases and overdue tasks, the city's users the whole city;
the 逾期任务 count is the number of overdue tasks the reader can see (and its list); the year selector
offers every year with data and the next; no machine names (year_round, cycle_started, Timer_…) and each
open step once; the inbox's procedure filter has every procedure; one menu item is highlighted at a time;
the charts (real Chromium) label every county and 市直, colour the grades, say 暂无数据 when empty and open
their lists.

One year is set up once for the module: the city's 2026 cycle has issued its letters (宛城区 signed, the
others overdue on 2 April), three cases (a 宛城区 township, a 卧龙区 township, a city-direct unit),
grades for 宛城区, 卧龙区 and the city-direct unit (and 宛城区's of 2025), and findings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from html import unescape
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.jobs import run_background_pass
from app.runtime import engine, runtime
from tests.annual_driver import APPROVE, DRAFT, SIGN
from tests.browser import login_page
from tests.conftest import demo_app
from tests.test_web import login, open_case
from workflows.engine.actors import Actor
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance, Task
from workflows.regulation.annual import start_cycle
from workflows.regulation.annual_models import AssessmentResult, InspectionFinding
from workflows.regulation.annual_queries import instance_year
from workflows.regulation.roles import org_of

CITY, WANCHENG, WOLONG = "411300", "411302", "411303"
WANCHENG_TOWN, WOLONG_TOWN = "411302001", "411303002"
COUNTY_DIRECTOR = f"{WANCHENG}.office_director"
NOW = datetime(2026, 4, 2, 9, 0, tzinfo=CST)
#: What a reader must never see: the diagrams' and the engine's machine names.
MACHINE = re.compile(r"\b(?:[a-z]+_[a-z_]+|Timer_\w+|Activity_\w+|Gateway_\w+|Event_\w+)\b")


def _do(task: Task, data: dict[str, Any]) -> None:
    engine().complete_task(task.id, data, Actor("test", frozenset({(task.role, task.org_code)})))
    db.session.commit()


def _ready(instance_id: int, element: str) -> Task:
    return db.session.scalars(
        select(Task).where(Task.instance_id == instance_id, Task.element_id == element, Task.state == "ready")
    ).one()


def _grade(year: int, unit: str, committee: str, grade: str, cycle: int) -> AssessmentResult:
    return AssessmentResult(
        year=year,
        unit_code=unit,
        committee_code=committee,
        cycle_instance_id=cycle,
        total_score=90.0,
        proposed_grade=grade,
        grade=grade,
        decided_at=datetime(year, 12, 20, 10, 0, tzinfo=CST),
    )


def _finding(unit: str, committee: str, cycle: int) -> InspectionFinding:
    return InspectionFinding(
        year=2026,
        unit_code=unit,
        committee_code=committee,
        cycle_instance_id=cycle,
        kind="mid_year",
        text="台账不全。",
        found_at=datetime(2026, 3, 10, 10, 0, tzinfo=CST),
    )


@pytest.fixture(scope="module")
def year_app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=datetime(2026, 1, 5, 9, 0, tzinfo=CST)) as app:
        cases = [open_case(app, unit) for unit in (WANCHENG_TOWN, WOLONG_TOWN)]
        with app.app_context():
            org = org_of(engine())
            city_direct = min(n.code for n in org.nodes.values() if n.level == "city_direct")
            city = start_cycle(engine(), CITY, 2026)
            db.session.commit()
            city_id = city.id
            _do(_ready(city.id, "draft_letters"), DRAFT)
            _do(_ready(city.id, "approve_letters"), APPROVE)
            letter = db.session.scalars(
                select(ProcessInstance).where(
                    ProcessInstance.process_id == "annual_letter", ProcessInstance.unit_code == WANCHENG
                )
            ).one()
            _do(_ready(letter.id, "sign_letter"), {**SIGN, "signed_on": "2026-01-05"})  # signed today
            db.session.add_all(
                [
                    _grade(2026, WANCHENG, CITY, "excellent", city.id),
                    _grade(2026, WOLONG, CITY, "unqualified", city.id),
                    _grade(2026, city_direct, CITY, "qualified", city.id),
                    _grade(2025, WANCHENG, CITY, "qualified", city.id),
                    _finding(WOLONG, CITY, city.id),
                    _finding(city_direct, CITY, city.id),
                ]
            )
            db.session.commit()
        cases.append(open_case(app, city_direct))
        clock = app.extensions["governance"].clock
        assert isinstance(clock, ManualClock)
        clock.set(NOW)  # 31 March has passed: the unsigned letters (and the cases' first steps) are late
        with app.app_context():
            run_background_pass(db.session(), runtime())
        app.config["SCENARIO"] = {"city": city_id, "cases": cases, "city_direct": city_direct}
        yield app


def _dashboard_data(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page)
    assert found, "the dashboard's chart data"
    return dict(json.loads(found[1]))


def _text(page: str) -> str:
    """What a reader sees: the page without scripts, tags and attributes."""
    body = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def _options(page: str) -> list[int]:
    form = re.search(r'<form[^>]*id="year-select".*?</form>', page, re.S)
    assert form, "the year selector"
    return [int(y) for y in re.findall(r'<option value="(\d+)"', form[0])]


def _expected_overdue(app: Flask, username: str) -> list[str]:
    """Overdue open tasks of 2026 the reader oversees (their units' instances) or holds themselves."""
    with app.app_context():
        from app.auth.models import User

        user = db.session.scalars(select(User).where(User.username == username)).one()
        actor = user.actor()
        org = org_of(engine())
        rows = db.session.execute(
            select(Task, ProcessInstance)
            .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
            .where(Task.state == "ready", Task.due_at < NOW)
        )
        return sorted(
            t.id
            for t, i in rows
            if instance_year(i.business_key, i.created_at) == 2026
            and (org.can_oversee(actor, i.unit_code) or actor.holds(t.role, t.org_code))
        )


def test_a_county_director_sees_only_their_county(year_app: Flask) -> None:
    client, _ = login(year_app, COUNTY_DIRECTOR)
    page = client.get("/dashboard").get_data(as_text=True)
    charts = _dashboard_data(page)["charts"]
    for name in ("counties", "letters", "findings"):
        assert charts[name]["categories"] == ["宛城区"], name
    assert [(i["name"], i["value"]) for i in charts["grades"]["items"]] == [("优秀", 1)]  # not the city's
    assert sum(charts["letters"]["series"][0]["data"]) == 1  # its own letter, signed
    assert charts["findings"]["series"][0]["data"] == [0]
    assert sum(i["value"] for i in charts["levels"]["items"]) == 1  # the 东关街道 case only
    assert "卧龙区" not in page and "市直" not in _text(page)

    annual = client.get("/dashboard/annual?year=2026").get_data(as_text=True)
    units = set(re.findall(r'data-unit="([^"]+)"', annual))
    assert units and all(u == WANCHENG or u.startswith(WANCHENG) for u in units), units
    assert WOLONG not in units and year_app.config["SCENARIO"]["city_direct"] not in units
    assert f'data-cycle="{year_app.config["SCENARIO"]["city"]}"' not in annual  # the city's own cycle
    cycles = re.findall(r'data-cycle="(\d+)"', annual)
    assert len(cycles) == 1  # 宛城区's

    city, _ = login(year_app, "411300.supervisor")
    charts = _dashboard_data(city.get("/dashboard").get_data(as_text=True))["charts"]
    assert len(charts["counties"]["categories"]) == 16 and charts["counties"]["categories"][-1] == "市直"
    assert sorted((i["name"], i["value"]) for i in charts["grades"]["items"]) == [
        ("不合格", 1),
        ("优秀", 1),
        ("合格", 1),
    ]
    assert sum(i["value"] for i in charts["levels"]["items"]) == 3


@pytest.mark.parametrize("username", [COUNTY_DIRECTOR, "411300.supervisor"])
def test_the_overdue_count_is_the_overdue_tasks_the_reader_sees(year_app: Flask, username: str) -> None:
    expected = _expected_overdue(year_app, username)
    assert expected  # the unsigned letters (31 March), the cases' first steps
    client, _ = login(year_app, username)
    page = client.get("/dashboard").get_data(as_text=True)
    count = re.search(r'id="count-overdue"[^>]*>[^<]*<strong>(\d+)</strong>', page)
    assert count and int(count[1]) == len(expected)
    charts = _dashboard_data(page)["charts"]
    assert sum(charts["counties"]["series"][1]["data"]) == len(expected)  # the chart's bars add up to it
    listed = client.get("/dashboard/overdue?year=2026").get_data(as_text=True)
    assert sorted(re.findall(r'data-task="([^"]+)"', listed)) == expected  # and its list shows them
    if username == COUNTY_DIRECTOR:
        assert "宛城区" in listed and "卧龙区" not in listed


def test_every_figure_links_to_its_list(year_app: Flask) -> None:
    client, _ = login(year_app, "411300.supervisor")
    charts = _dashboard_data(client.get("/dashboard").get_data(as_text=True))["charts"]
    counties = charts["counties"]
    wolong = counties["categories"].index("卧龙区")
    cases = client.get(counties["series"][0]["urls"][wolong]).get_data(as_text=True)
    assert len(re.findall(r'data-case="\d+"', cases)) == counties["series"][0]["data"][wolong] == 1
    overdue = client.get(counties["series"][1]["urls"][wolong]).get_data(as_text=True)
    assert len(re.findall(r'data-task="[^"]+"', overdue)) == counties["series"][1]["data"][wolong]
    city_direct = counties["categories"].index("市直")
    cases = client.get(counties["series"][0]["urls"][city_direct]).get_data(as_text=True)
    assert len(re.findall(r'data-case="\d+"', cases)) == 1  # the city-direct unit's case
    level = charts["levels"]["items"][0]
    listed = client.get(level["url"]).get_data(as_text=True)
    assert len(re.findall(r'data-case="\d+"', listed)) == level["value"]
    for item in charts["grades"]["items"]:
        page = client.get(item["url"]).get_data(as_text=True)
        grades = re.search(r'id="grades-table".*?</table>', page, re.S)
        assert grades and len(re.findall(r"data-unit=", grades[0])) == item["value"] == 1
    letters = charts["letters"]
    signed = client.get(letters["series"][0]["urls"][letters["categories"].index("宛城区")])
    assert re.findall(r'data-state="(\w+)"', signed.get_data(as_text=True)) == ["signed"]
    pending = client.get(letters["series"][2]["urls"][city_direct]).get_data(as_text=True)
    states = re.findall(r'data-state="(\w+)"', pending)
    assert states and set(states) == {"pending"} and len(states) == letters["series"][2]["data"][city_direct]
    findings = charts["findings"]
    page = client.get(findings["series"][0]["urls"][wolong]).get_data(as_text=True)
    table = re.search(r'id="findings-table".*?</table>', page, re.S)
    assert table and re.findall(r'data-unit="([^"]+)"', table[0]) == [WOLONG]


def test_the_year_selector_offers_years_with_data_and_the_next(year_app: Flask) -> None:
    county, _ = login(year_app, COUNTY_DIRECTOR)
    for url in ("/dashboard", "/dashboard/annual"):
        assert _options(county.get(url).get_data(as_text=True)) == [2025, 2026, 2027], url
    other, _ = login(year_app, f"{WOLONG}.office_director")  # 宛城区's 2025 grade is not 卧龙区's data
    assert _options(other.get("/dashboard/annual").get_data(as_text=True)) == [2026, 2027]
    page = county.get("/dashboard?year=2025").get_data(as_text=True)
    assert re.search(r'<option value="2025" selected>', page)
    empty = county.get("/dashboard/annual?year=2027").get_data(as_text=True)
    assert "2027年度工作尚未启动" in _text(empty)


def test_no_machine_names_and_each_open_step_once(year_app: Flask) -> None:
    client, _ = login(year_app, "411300.supervisor")
    annual = client.get("/dashboard/annual?year=2026").get_data(as_text=True)
    for url in ("/dashboard", "/dashboard/annual?year=2026", "/dashboard/overdue", "/dashboard/cases"):
        text = _text(client.get(url).get_data(as_text=True))
        assert not MACHINE.findall(text), (url, MACHINE.findall(text))
    city = year_app.config["SCENARIO"]["city"]
    row = re.search(rf'<tr data-cycle="{city}">.*?</tr>', annual, re.S)
    assert row, "the city's cycle"
    stage = re.search(r'<td class="stage">(.*?)</td>', row[0], re.S)
    assert stage and stage[1].strip() == "全年工作推进"  # year_round
    steps = re.findall(r'<span class="step">([^<]+)', row[0])
    assert steps and len(steps) == len(set(steps)), steps
    with year_app.app_context():
        names = db.session.scalars(select(Task.name).where(Task.instance_id == city, Task.state == "ready"))
        assert set(names) == {s.strip() for s in steps}


def test_the_inbox_offers_every_procedure(year_app: Flask) -> None:
    client, csrf = login(year_app, "411300.supervisor")
    page = client.get("/inbox").get_data(as_text=True)
    offered = set(re.findall(r'<option value="([a-z_]+)"', page))
    for process in (
        "annual_cycle",
        "annual_letter",
        "annual_assessment",
        "annual_report_filing",
        "inspection",
        "meeting",
        "promotion_consultation",
        "commendation",
        "document_issue",
    ):
        assert process in offered, process
    assert "签订目标管理责任书" in page
    client.post("/locale", data={"csrf_token": csrf, "locale": "en", "next": "/inbox"})
    english = client.get("/inbox").get_data(as_text=True)
    assert "签订目标管理责任书" not in english and "年度考核评价" not in english
    charts = _dashboard_data(client.get("/dashboard").get_data(as_text=True))["charts"]
    words = [i["name"] for i in charts["levels"]["items"]] + charts["stages"]["categories"]
    words += [s["name"] for c in charts.values() for s in c.get("series", [])]
    assert words and not [w for w in words if re.search(r"[\u4e00-\u9fff]", w)], words
    client.post("/locale", data={"csrf_token": csrf, "locale": "zh_CN", "next": "/inbox"})


def _active_items(page: str) -> list[str]:
    nav = re.search(r'<nav class="mainnav">(.*?)</nav>', page, re.S)
    assert nav
    return re.findall(r'class="active">([^<]+)</a>', nav[1])


def test_one_menu_item_is_highlighted(year_app: Flask) -> None:
    client, _ = login(year_app, "411300.supervisor")
    dashboard = _active_items(client.get("/dashboard").get_data(as_text=True))
    annual = _active_items(client.get("/dashboard/annual").get_data(as_text=True))
    assert (dashboard, annual) == (["年度仪表盘"], ["年度工作"])  # one item each (issue 14, point 10)
    assert _active_items(client.get("/dashboard/overdue").get_data(as_text=True)) == ["年度仪表盘"]


# -- in Chromium ---------------------------------------------------------------------------------------------


@pytest.fixture
def live_app(year_app: Flask) -> Flask:
    return year_app


def _assert_no_overflow(page: Any, url: str) -> None:
    """Nothing sticks out of its card, and the page does not scroll sideways."""
    width, scroll = page.evaluate("[window.innerWidth, document.documentElement.scrollWidth]")
    assert scroll <= width, (url, scroll, width)
    for card in page.locator(".card").all():
        inner = card.evaluate("c => c.scrollWidth - c.clientWidth")
        assert inner <= 1, (url, card.inner_text()[:40], inner)


def test_charts_label_every_county_colour_the_grades_and_open_their_lists(
    browser: Any, year_app: Flask, live_server: str
) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, "411300.supervisor")
        page.goto(f"{live_server}/dashboard?year=2026")
        for name in ("levels", "stages", "counties", "letters", "grades", "findings"):
            page.wait_for_selector(f"#chart-{name}[data-rendered=yes]")
        with year_app.app_context():
            org = org_of(engine())
            counties = {n.name for n in org.nodes.values() if n.level == "county"}
        for name in ("counties", "letters", "findings"):
            labels = set(page.locator(f"#chart-{name} svg text").all_text_contents())
            assert counties | {"市直"} <= labels, (name, (counties | {"市直"}) - labels)
        fills = page.eval_on_selector_all(
            "#chart-grades svg path", "ps => ps.map(p => p.getAttribute('fill'))"
        )
        colours = {str(f).lower() for f in fills}
        assert {"#2e7d32", "#1565c0", "#c62828"} <= colours, colours  # 优秀 green, 合格 blue, 不合格 red

        # A click on 卧龙区's bar of cases opens the year's cases of 卧龙区.
        page.locator("#chart-counties").scroll_into_view_if_needed()
        point = page.evaluate(
            """() => {
              const el = document.getElementById('chart-counties');
              const chart = echarts.getInstanceByDom(el);
              const index = chart.getOption().yAxis[0].data.indexOf('卧龙区');
              const bar = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(index);
              const box = el.getBoundingClientRect();
              return [box.left + bar.x + bar.width / 2, box.top + bar.y + bar.height / 2];
            }"""
        )
        page.mouse.click(point[0], point[1])
        page.wait_for_url(re.compile(r"/dashboard/cases\?.*county=411303"))
        assert page.locator("#year-cases tr[data-case]").count() == 1

        # On a phone the tables scroll inside their cards, the page never sideways.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server}/dashboard?year=2026")
        page.wait_for_selector("#chart-counties[data-rendered=yes]")
        assert counties | {"市直"} <= set(page.locator("#chart-counties svg text").all_text_contents())
        for url in ("/dashboard?year=2026", "/dashboard/annual?year=2026", "/dashboard/overdue?year=2026"):
            page.goto(f"{live_server}{url}")
            _assert_no_overflow(page, url)
        assert errors == []
    finally:
        page.close()

    # 宛城区's director: only 宛城区 is labelled; no findings there, so 暂无数据 rather than an empty chart.
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, COUNTY_DIRECTOR)
        page.goto(f"{live_server}/dashboard?year=2026")
        page.wait_for_selector("#chart-findings[data-rendered=empty]")
        assert page.locator("#chart-findings").inner_text().strip() == "暂无数据"
        assert page.locator("#chart-findings svg").count() == 0
        page.wait_for_selector("#chart-counties[data-rendered=yes]")
        labels = page.locator("#chart-counties svg text").all_text_contents()
        assert "宛城区" in labels and "卧龙区" not in labels
        page.goto(f"{live_server}/dashboard?year=2025")
        page.wait_for_selector("#chart-levels[data-rendered=empty]")
        for url in ("/dashboard/annual?year=2026", "/dashboard/overdue?year=2026"):
            page.goto(f"{live_server}{url}")
            _assert_no_overflow(page, url)
        assert errors == []
    finally:
        page.close()
