"""The yearly indicator set through the API and in the browser (Art. 19, O19.1; issue 11 items 6 and 9): the
API round-trips a set and only the committee's own office may change it; in Chromium the city office director
sees the weights refused when they do not sum to 100. Nanyang's real organisation with the demo accounts
(``flask init-demo``); the grading itself: tests/test_indicators.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.indicators.demo import DEMO_SET
from tests.browser import login_page
from tests.conftest import demo_app
from tests.test_indicators import AT, YEAR, rule
from workflows.regulation.indicators import (
    freeze,
)

# -- the API -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def login(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.json
    return client, {"X-CSRFToken": response.json["csrf_token"]}  # type: ignore[index]


URL = "/api/v1/indicator-sets/{year}/{code}"


@pytest.mark.obligation("O19.1")
def test_api_round_trip_by_the_city_office(app: Flask) -> None:
    client, token = login(app, "411300.office_director")
    got = client.get(URL.format(year=YEAR, code="411300"))
    assert got.status_code == 200, got.json
    body = got.json
    assert (body["stored"], body["frozen"], body["committee_name"]) == (True, False, "南阳市")
    assert [(i["code"], i["weight"], i["source"]) for i in body["indicators"]] == [
        ("overall", 40, "manual"),
        ("letters", 30, "letter"),
        ("execution", 30, "manual"),
    ]
    assert body["thresholds"] == DEMO_SET["thresholds"]
    edit = {"indicators": body["indicators"], "thresholds": rule(excellent__min_total=92)["thresholds"]}
    put = client.put(URL.format(year=YEAR, code="411300"), json=edit, headers=token)
    assert put.status_code == 200, put.json
    assert put.json["updated_by"] == "411300.office_director" and put.json["updated_at"].endswith("+08:00")
    again = client.get(URL.format(year=YEAR, code="411300")).json
    assert again["thresholds"]["excellent"]["min_total"] == 92

    edit["indicators"] = [{**body["indicators"][0], "weight": 45}, *body["indicators"][1:]]
    refused = client.put(URL.format(year=YEAR, code="411300"), json=edit, headers=token)
    assert refused.status_code == 422
    assert refused.json["errors"] == {"indicators": ["各项指标权重合计须为100，现为105"]}

    later = client.get(URL.format(year=2028, code="411300")).json  # no 2028 set: the 2026 one, unsaved
    assert (later["stored"], later["copied_from_year"], later["id"]) == (False, 2026, None)


@pytest.mark.obligation("O19.1")
def test_api_access_only_the_committees_own_office_edits(app: Flask) -> None:
    town, town_token = login(app, "411302001.unit_principal_leader")
    assert town.get(URL.format(year=YEAR, code="411302")).status_code == 403
    assert town.get(URL.format(year=YEAR, code="411300")).status_code == 403
    body = {"indicators": DEMO_SET["indicators"], "thresholds": DEMO_SET["thresholds"]}
    assert town.put(URL.format(year=YEAR, code="411302"), json=body, headers=town_token).status_code == 403

    county, county_token = login(app, "411302.office_director")
    assert county.get(URL.format(year=YEAR, code="411302")).status_code == 200
    assert county.get(URL.format(year=YEAR, code="411300")).status_code == 403
    for code, status in (("411300", 403), ("411302", 200)):
        assert (
            county.put(URL.format(year=YEAR, code=code), json=body, headers=county_token).status_code
            == status
        )
    city, _ = login(app, "411300.office_director")
    assert city.get(URL.format(year=YEAR, code="411302")).status_code == 200  # the city reads, may not edit
    assert city.get(URL.format(year=YEAR, code="411302001")).status_code == 404  # a township assesses nobody


@pytest.mark.obligation("O19.1")
def test_api_refuses_to_edit_a_frozen_set(app: Flask) -> None:
    with app.app_context():
        from app.extensions import db

        freeze(db.session(), YEAR, "411303", "annual_cycle", now=AT)
        db.session.commit()
    client, token = login(app, "411303.office_staff")
    got = client.get(URL.format(year=YEAR, code="411303")).json
    assert got["frozen"] is True and got["frozen_by"] == "annual_cycle"
    body = {"indicators": got["indicators"], "thresholds": got["thresholds"]}
    refused = client.put(URL.format(year=YEAR, code="411303"), json=body, headers=token)
    assert refused.status_code == 409 and refused.json["error"] == "indicator_set_frozen"


def test_pages_list_and_show_the_sets(app: Flask) -> None:
    client, token = login(app, "411303.office_staff")
    listing = client.get("/annual/indicators")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "卧龙区" in page and "考核评价指标体系" in page
    frozen = client.get(f"/annual/indicators/{YEAR}/411303").get_data(as_text=True)
    assert "已冻结" in frozen and 'id="save-indicators"' not in frozen
    form = {"csrf_token": token["X-CSRFToken"], "next": "/annual/indicators"}
    assert client.post("/locale", data={**form, "locale": "en"}).status_code == 302
    english = client.get(f"/annual/indicators/{YEAR}/411303").get_data(as_text=True)
    assert "Weight" in english and "Unqualified below (%)" in english and "Frozen" in english
    client.post("/locale", data={**form, "locale": "zh_CN"})
    town, _ = login(app, "411302001.unit_principal_leader")
    assert town.get(f"/annual/indicators/{YEAR}/411302").status_code == 403


# -- in the browser -----------------------------------------------------------------------------------------


@pytest.fixture
def live_app(app: Flask) -> Flask:
    return app


@pytest.mark.obligation("O19.1")
def test_city_office_director_sees_weights_refused_in_the_browser(
    browser: Any, live_app: Flask, live_server: str
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        login_page(page, live_server, "411300.office_director")
        page.goto(f"{live_server}/annual/indicators")
        page.click("#editable a[data-committee='411300'][data-year='2027']")
        page.wait_for_selector("#indicator-form")
        assert "沿用2026年" in page.inner_text("#set-state")  # 2027 has none yet: the 2026 set as a draft
        row = page.locator("#indicators tr[data-code='overall']")
        assert row.locator("input[name^=weight_]").input_value() == "40"
        row.locator("input[name^=weight_]").fill("50")
        page.click("#save-indicators")
        page.wait_for_selector("#indicator-errors")
        assert "各项指标权重合计须为100，现为110" in page.inner_text("#indicator-errors")
        assert page.locator("#indicators tr[data-code='overall'] input[name^=weight_]").input_value() == "50"

        page.locator("#indicators tr[data-code='execution'] input[name^=weight_]").fill("20")
        page.click("#save-indicators")
        page.wait_for_selector(".flash-success")
        assert page.locator("#indicators tr[data-code='overall'] input[name^=weight_]").input_value() == "50"
        assert "草稿（可修改）" in page.inner_text("#set-state")  # stored as 2027's own set
        assert errors == []
    finally:
        page.close()
