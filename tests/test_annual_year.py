"""The year's own structure (Art. 9(3), 13): each half-year has its own hearing, due and flagged on its own; a
year with missed duties still closes; the city office starts a year from the page; the first-days-of-January
start runs on the engine's clock (so a simulated year starts too)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.jobs import run_background_pass
from app.runtime import runtime
from tests.annual_driver import YEAR, Year, end_of
from tests.conftest import CITY, demo_app
from tests.test_web import login
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.regulation.annual import find_cycle
from workflows.regulation.annual_queries import duty_flags


@pytest.mark.obligation("O9.3")
def test_each_half_year_has_its_own_hearing(year: Year) -> None:
    city = year.start()
    year.letters_issued(city)
    party, government = "unit_principal_leader/party", "unit_principal_leader/government"
    first = year.task(city, "hear_report_h1", role=party)
    assert (first.org_code, first.due_at) == (CITY, end_of(6, 30))
    assert year.task(city, "hear_report_h1", role=government).due_at == end_of(6, 30)  # both leaders (Art. 9)
    year.at(YEAR, 7, 1, 0, 0, 1)
    year.wake()
    second = year.task(city, "hear_report_h2", role=party)  # opens on 1 July although the first wasn't held
    assert second.due_at == end_of(12, 31)
    assert year.task(city, "hear_report_h1", role=party).id == first.id  # still possible, flagged late
    with year.factory() as s:
        assert (CITY, "hearing_h1") in duty_flags(s, YEAR)
    year.at(YEAR, 8, 3, 10, 0)
    late = {"heard_on": "2026-08-03", "reported_by": "市综治办", "analysis": "上半年形势分析。"}
    for role in (party, government):
        year.do(city, "hear_report_h1", late, role=role)
    done = [e for e in year.events(city, "duty_done") if e["duty"] == "hearing_h1"]
    assert [(e["on"], e["by"], e["late"]) for e in done] == [("2026-08-03", ["party", "government"], True)]
    assert len(year.tasks(city, "hear_report_h2")) == 2  # the second half is untouched


@pytest.mark.obligation("O9.3")
def test_missed_duties_are_flagged_and_the_year_still_closes_its_hearings(year: Year) -> None:
    city = year.start()
    year.letters_issued(city)
    year.at(YEAR + 1, 1, 1, 0, 0, 1)
    year.wake()
    with year.factory() as s:
        flags = duty_flags(s, YEAR)
    assert {(CITY, "hearing_h1"), (CITY, "hearing_h2")} <= set(flags)
    for element in ("hear_report_h1", "hear_report_h2"):
        assert year.tasks(city, element) == []  # nothing keeps the year's cycle open


@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=datetime(2026, 12, 30, 9, 0, tzinfo=CST)) as app:
        yield app


def _clock(app: Flask) -> ManualClock:
    clock = app.extensions["governance"].clock
    assert isinstance(clock, ManualClock)
    return clock


@pytest.mark.obligation("O13.1")
def test_the_city_office_starts_the_year_from_the_page(app: Flask) -> None:
    client, csrf = login(app, "411300.office_director")
    page = client.get("/dashboard/annual?year=2027").get_data(as_text=True)
    assert 'id="start-year"' in page and "启动2027年度工作" in page
    leader, leader_csrf = login(app, "411302001.unit_principal_leader")
    refused = leader.post("/dashboard/annual/start", data={"year": "2027", "csrf_token": leader_csrf})
    assert refused.status_code == 403
    started = client.post("/dashboard/annual/start", data={"year": "2027", "csrf_token": csrf})
    assert started.status_code == 302
    with app.app_context():
        cycle = find_cycle(db.session(), 2027, CITY)
        assert cycle is not None and cycle.started_by == "411300.office_director"
    again = client.get("/dashboard/annual?year=2027").get_data(as_text=True)
    assert 'id="start-year"' not in again  # once a year


@pytest.mark.obligation("O13.1")
def test_the_new_year_starts_on_the_engines_clock(app: Flask) -> None:
    clock = _clock(app)
    with app.app_context():
        run_background_pass(db.session(), runtime())
        assert find_cycle(db.session(), 2027, CITY) is None  # 30 December: nothing yet
        clock.set(datetime(2027, 1, 1, 0, 10, tzinfo=CST))
        run_background_pass(db.session(), runtime())
        cycle = find_cycle(db.session(), 2027, CITY)
        assert cycle is not None
        run_background_pass(db.session(), runtime())
        count = db.session.scalar(
            select(db.func.count())
            .select_from(ProcessInstance)
            .where(ProcessInstance.business_key == cycle.business_key)
        )
        assert count == 1


@pytest.mark.obligation("O13.2")
def test_a_letter_still_being_revised_on_31_march_is_late_too(year: Year) -> None:
    from tests.annual_driver import AMEND, REVISE, SIGN
    from tests.conftest import WOLONG
    from workflows.regulation.annual_queries import letters

    city = year.start()
    year.letters_issued(city)
    year.at(YEAR, 3, 25, 10, 0)
    letter = year.letter(WOLONG).id
    year.do(letter, "sign_letter", AMEND)  # with the city office for revision when the quarter ends
    year.at(YEAR, 4, 1, 0, 0, 1)
    assert letter in year.wake()
    with year.factory() as s:
        row = {r.unit_code: r for r in letters(s, YEAR, CITY)}[WOLONG]
        assert (row.status, row.late) == ("amendment_requested", True)
    year.do(letter, "revise_letter", REVISE)
    year.do(letter, "sign_letter", SIGN)
    assert year.events(letter, "letter_signed")[0]["late"] is True
