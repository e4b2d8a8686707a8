"""Finding a case (issue 14, point 5): /cases?q= and /api/v1/cases?q= search the case number, the unit (and
county), the people (reporter, leaders) and the facts, through the trigram index of ``case_search`` (FTS5
``trigram`` on SQLite, ``pg_trgm`` on PostgreSQL); terms shorter than three characters fall back to LIKE on
SQLite. The index is written when a case opens and when its registration and verification complete. A county
official's county filter offers only their county.

Runs on SQLite, and on PostgreSQL with DATABASE_URL set (``createdb search_h``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text

from app.extensions import db
from tests.conftest import demo_app
from tests.test_api_accountability import Desk
from tests.test_browser_layout import REPORT, VERIFY
from workflows.engine.models import ProcessInstance
from workflows.regulation.case_search import CaseSearch, case_text, matching_ids, report_of, search_terms

COUNTY = "411302"
DONGGUAN, XINHUA = "411302001", "411302002"  # 东关街道, 新华街道 (宛城区)
FIRE = "新华街道辖区一小区发生火灾，消防通道长期被占用，群众多次反映未获处理。"


@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def open_case(desk: Desk, unit: str, facts: str, reporter: str = "市公安局") -> int:
    created = desk.post("/api/v1/cases", {**REPORT, "facts": facts, "reporter": reporter, "unit_code": unit})
    assert created.status_code == 201, created.json
    return int(created.json["id"])


def register(desk: Desk, case: int, facts: str, leaders: list[dict[str, str]]) -> None:
    desk.do(
        case, "register_report", {**REPORT, "facts": facts, "report_date": "2026-03-02", "leaders": leaders}
    )


def leader(name: str, position: str) -> dict[str, str]:
    return {"name": name, "position": position, "responsibility": "principal_leader"}


@pytest.fixture
def cases(app: Flask) -> dict[str, Any]:
    """Two registered cases of 宛城区: 东关街道 (张三, 党工委书记) and 新华街道 (欧阳建国, a fire)."""
    staff = Desk(app, f"{COUNTY}.office_staff")
    dongguan = open_case(staff, DONGGUAN, REPORT["facts"])
    register(staff, dongguan, REPORT["facts"], [leader("张三", "党工委书记")])
    xinhua = open_case(staff, XINHUA, FIRE, reporter="南阳市消防救援支队")
    register(staff, xinhua, FIRE, [leader("欧阳建国", "街道办事处主任")])
    with app.app_context():
        keys = dict(db.session.execute(select(ProcessInstance.id, ProcessInstance.business_key)).all())
    return {"desk": staff, "dongguan": dongguan, "xinhua": xinhua, "keys": keys}


def found(desk: Desk, q: str, **filters: str) -> set[int]:
    """The ids the case list page shows for ``q``, checked against the API's answer."""
    page = desk.client.get("/cases", query_string={"q": q, **filters})
    assert page.status_code == 200
    shown = {int(i) for i in re.findall(r'data-case="(\d+)"', page.get_data(as_text=True))}
    api = desk.client.get("/api/v1/cases", query_string={"q": q, **filters})
    assert api.status_code == 200, api.json
    assert {c["id"] for c in api.json["items"]} == shown and api.json["total"] == len(shown)
    return shown


def test_search_by_case_number_unit_person_and_facts(cases: dict[str, Any]) -> None:
    desk, dongguan, xinhua = cases["desk"], cases["dongguan"], cases["xinhua"]
    assert found(desk, cases["keys"][dongguan]) == {dongguan}  # 追究-2026-0001
    assert found(desk, cases["keys"][xinhua]) == {xinhua}
    assert found(desk, "东关街道") == {dongguan}  # unit name
    assert found(desk, "宛城区") == {dongguan, xinhua}  # county name
    assert found(desk, "411302002") == {xinhua}  # unit code
    assert found(desk, "欧阳建国") == {xinhua}  # a leader's name
    assert found(desk, "街道办事处主任") == {xinhua}  # a leader's position
    assert found(desk, "消防救援支队") == {xinhua}  # the reporter
    assert found(desk, "消防通道长期被占用") == {xinhua}  # a phrase from the facts
    assert found(desk, "刑事治安案件多发") == {dongguan}


def test_terms_of_one_or_two_characters_fall_back_to_like(cases: dict[str, Any]) -> None:
    """A trigram index cannot find 张三 or 火灾; the LIKE on case_search does, alone or beside a long term."""
    desk, dongguan, xinhua = cases["desk"], cases["dongguan"], cases["xinhua"]
    assert found(desk, "张三") == {dongguan}
    assert found(desk, "火灾") == {xinhua}
    assert found(desk, "火") == {xinhua}
    assert found(desk, "新华街道 火灾") == {xinhua}  # every term must match
    assert found(desk, "东关街道 火灾") == set()
    assert found(desk, "东关街道\u3000张三") == {dongguan}  # a full-width space separates words too


def test_search_keeps_the_other_filters_and_the_actors_reach(cases: dict[str, Any], app: Flask) -> None:
    desk, xinhua = cases["desk"], cases["xinhua"]
    assert found(desk, "宛城区", county="411303") == set()
    assert found(desk, "宛城区", level="intake") == {cases["dongguan"], xinhua}
    wolong = Desk(app, "411303.office_staff")  # another county's clerk finds none of 宛城区's cases
    assert found(wolong, "宛城区") == set() and found(wolong, "张三") == set()
    assert found(desk, "%") == set() and found(desk, "_") == set()  # wildcards are searched as characters
    assert found(desk, '"火灾') == set() and found(desk, "  ") == found(desk, "")  # quotes; blank: no search
    page = desk.client.get("/cases", query_string={"q": "欧阳建国"}).get_data(as_text=True)
    assert 'name="q" value="欧阳建国"' in page  # the search box keeps the words


def test_the_index_follows_the_case_from_report_to_verification(app: Flask) -> None:
    staff, director = Desk(app, f"{COUNTY}.office_staff"), Desk(app, f"{COUNTY}.office_director")
    case = open_case(staff, DONGGUAN, "群众反映辖区夜间噪音扰民问题突出，多次投诉无果。")
    assert found(staff, "噪音扰民") == {case}  # the report, before anyone registered it
    assert found(staff, "李秀英") == set()
    register(staff, case, "经登记：辖区夜间施工噪音扰民。", [leader("李秀英", "党工委副书记")])
    assert found(staff, "李秀英") == {case} and found(staff, "夜间施工") == {case}
    director.do(case, "verify_case", {**VERIFY, "reason": "经核实，建筑工地违规夜间施工属实。"})
    assert found(staff, "违规夜间施工") == {case}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CaseSearch)) == 1


def test_reindex_command_backfills_cases_opened_before_the_index(cases: dict[str, Any], app: Flask) -> None:
    with app.app_context():
        db.session.execute(delete(CaseSearch))
        db.session.commit()
    assert found(cases["desk"], "欧阳建国") == set()
    result = app.test_cli_runner().invoke(args=["cases", "reindex"])
    assert result.exit_code == 0 and "2 cases indexed" in result.output, result.output
    assert found(cases["desk"], "欧阳建国") == {cases["xinhua"]}
    assert found(cases["desk"], "张三") == {cases["dongguan"]}


def test_the_trigram_index_answers_on_each_database(cases: dict[str, Any], app: Flask) -> None:
    """SQLite: the FTS5 trigram table holds the text and MATCH finds three characters or more; PostgreSQL: the
    plan of a LIKE uses the gin_trgm_ops index (sequential scans off: the table is tiny)."""
    with app.app_context():
        dialect = db.engine.dialect.name
        query = matching_ids(dialect, "欧阳建国")
        assert query is not None and set(db.session.scalars(query)) == {cases["xinhua"]}
        sql = str(query.compile(dialect=db.engine.dialect))
        if dialect == "sqlite":
            assert "MATCH" in sql and "LIKE" not in sql
            hits = db.session.scalar(
                text("SELECT count(*) FROM case_search_fts WHERE case_search_fts MATCH '消防通道'")
            )
            assert hits == 1
            short = str(matching_ids(dialect, "张三 东关街道").compile(dialect=db.engine.dialect))  # type: ignore[union-attr]
            assert "MATCH" in short and "LIKE" in short
        elif dialect == "postgresql":
            assert "LIKE" in sql.upper() and "ILIKE" not in sql.upper()
            db.session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = db.session.execute(
                text("EXPLAIN SELECT instance_id FROM case_search WHERE text LIKE '%欧阳建国%'")
            ).scalars()
            assert "ix_case_search_text_trgm" in " ".join(plan)
            db.session.rollback()


def test_search_terms_and_the_report_of_a_state() -> None:
    assert search_terms("  东关街道　张三 东关街道 ") == ["东关街道", "张三"]
    assert search_terms(None) == [] and len(search_terms(" ".join("abcdefghij"))) == 8
    assert search_terms("CD01 Li") == ["cd01", "li"]  # lowered, as the text is
    assert case_text("追究-2026-0001", "市直单位 CD01", None, {"reporter": "Li Ming"}, []) == (
        "追究-2026-0001\n市直单位 cd01\nli ming"
    )
    assert report_of("") == {} and report_of("{}") == {} and report_of("not json") == {}
    assert report_of('{"root": "r", "tasks": {"r": {"data": {"facts": "事实"}}}}') == {"facts": "事实"}


def county_options(desk: Desk) -> list[str]:
    page = desk.client.get("/cases").get_data(as_text=True)
    if 'name="county"' not in page:
        return []
    select_html = page.split('<select name="county">', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="(\d*)"', select_html)


def test_a_county_officials_county_filter_offers_only_their_county(app: Flask) -> None:
    assert county_options(Desk(app, f"{COUNTY}.office_director")) == ["", COUNTY]
    assert county_options(Desk(app, "411303.committee_director")) == ["", "411303"]
    assert county_options(Desk(app, "411302001.unit_principal_leader")) == ["", COUNTY]  # a township's
    assert county_options(Desk(app, "CD01.unit_principal_leader")) == []  # a city-direct unit: no county
    city = county_options(Desk(app, "411300.supervisor"))
    assert city[0] == "" and COUNTY in city and "411303" in city and len(city) > 10  # every county
