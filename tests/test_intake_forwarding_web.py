"""Art. 38 (O38.1) on Nanyang's real organisation with the demo accounts (``tests.conftest.demo_app``): the
page 登记书面反映 and the API open a case against the unit the report names, at that unit's competent office,
forward a report an office is not competent for, and offer the units the clerk's office is competent for
(also in a real browser). The engine-level rules: tests/test_intake_forwarding.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from tests.conftest import demo_app
from tests.test_intake_forwarding import REPORT, WEB_REPORT
from workflows.engine.models import InstanceEvent, OrgUnit, ProcessInstance


# -- the page 登记书面反映 and the API, on Nanyang's organisation --------------------------------------------
@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


def web_token(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def web_login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"username": username, "password": "demo", "csrf_token": web_token(page)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client, web_token(client.get("/inbox").get_data(as_text=True))


def api_login(app: Flask, username: str) -> tuple[FlaskClient, dict[str, str]]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.json
    return client, {"X-CSRFToken": response.json["csrf_token"]}  # type: ignore[index]


def picker(html: str) -> dict[str, str]:
    """The unit picker's options: code → label."""
    select_html = html.split('<select name="unit_code">', 1)[1].split("</select>", 1)[0]
    return dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select_html))


def children(app: Flask, office: str) -> dict[str, str]:
    with app.app_context():
        return dict(
            db.session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.parent_code == office)).all()
        )


def forwarded(app: Flask, case_id: int) -> list[dict[str, Any]]:
    with app.app_context():
        return [
            e.detail
            for e in db.session.scalars(
                select(InstanceEvent).where(
                    InstanceEvent.instance_id == case_id, InstanceEvent.kind == "report_forwarded"
                )
            )
        ]


@pytest.mark.obligation("O38.1")
@pytest.mark.parametrize(
    ("username", "office", "levels"),
    [
        ("411302.office_staff", "411302", {"township", "member_unit"}),
        ("411300.office_director", "411300", {"county", "city_direct", "member_unit"}),
    ],
)
def test_the_picker_offers_the_units_the_office_is_competent_for(
    app: Flask, username: str, office: str, levels: set[str]
) -> None:
    """宛城区's clerk: its townships by name; the city's director: the counties and city-direct units."""
    client, _ = web_login(app, username)
    html = client.get("/cases/new").get_data(as_text=True)
    options = picker(html)
    expected = children(app, office)
    assert len(expected) > 5 and set(options) == set(expected)
    assert all(options[code] == f"{name}（{code}）" for code, name in expected.items())
    assert set(re.findall(r'<optgroup [^>]*data-level="([^"]+)"', html)) == levels


@pytest.mark.obligation("O38.1")
def test_a_clerk_registering_a_report_outside_his_competence_forwards_it(app: Flask) -> None:
    """卧龙区's clerk posts a report about 东关街道 (not in his picker): it opens against 东关街道 at 宛城区's
    office, the forwarding is recorded, and he lands on a page he can open, told where it went."""
    client, csrf = web_login(app, "411303.office_staff")
    response = client.post("/cases/new", data={"csrf_token": csrf, "unit_code": "411302001", **WEB_REPORT})
    assert response.status_code == 302 and response.headers["Location"].endswith("/cases")
    page = client.get("/cases")
    assert page.status_code == 200 and "已转宛城区综治办办理" in page.get_data(as_text=True)
    with app.app_context():
        case = db.session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.process_id == "accountability_case")
            .order_by(ProcessInstance.id.desc())
        ).first()
        assert case is not None and case.unit_code == "411302001" and case.started_by == "411303.office_staff"
        case_id = case.id
    [event] = forwarded(app, case_id)
    assert (event["received_by"], event["forwarded_to"]) == ("411303", "411302")
    assert client.get(f"/cases/{case_id}").status_code == 403  # why he is not sent there

    mine, csrf = web_login(app, "411302.office_staff")  # the competent clerk goes to the case itself
    response = mine.post("/cases/new", data={"csrf_token": csrf, "unit_code": "411302001", **WEB_REPORT})
    assert response.status_code == 302 and "/cases/" in response.headers["Location"]
    own_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert forwarded(app, own_id) == []
    assert mine.get(f"/cases/{own_id}").status_code == 200


@pytest.mark.obligation("O38.1")
def test_the_api_forwards_a_report_about_any_unit(app: Flask) -> None:
    client, headers = api_login(app, "411303.office_staff")
    created = client.post("/api/v1/cases", json={**REPORT, "unit_code": "411302001"}, headers=headers)
    assert created.status_code == 201, created.json
    case = created.json
    assert case["unit_code"] == "411302001"
    assert [(t["element_id"], t["org_code"]) for t in case["tasks"]] == [("register_report", "411302")]
    [event] = [e for e in case["history"] if e["kind"] == "report_forwarded"]
    assert event["actor"] == "411303.office_staff" and event["at"].endswith("+08:00")
    assert (event["detail"]["received_by"], event["detail"]["received_by_name"]) == ("411303", "卧龙区综治办")
    assert (event["detail"]["forwarded_to"], event["detail"]["forwarded_to_name"]) == (
        "411302",
        "宛城区综治办",
    )

    competent, _ = api_login(app, "411302.office_staff")
    seen = competent.get(f"/api/v1/cases/{case['id']}")
    assert seen.status_code == 200 and "report_forwarded" in {e["kind"] for e in seen.json["history"]}


# -- in a real browser -------------------------------------------------------------------------------------
@pytest.fixture
def live_app(app: Flask) -> Flask:
    return app


@pytest.mark.obligation("O38.1")
def test_the_county_clerks_picker_shows_its_townships_by_name(
    browser: Any, app: Flask, live_server: str
) -> None:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", "411302.office_staff")
        page.fill("input[name=password]", "demo")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/inbox")
        page.goto(f"{live_server}/cases/new")
        labels = page.locator("select[name=unit_code] option").all_inner_texts()
        townships = children(app, "411302")
        assert sorted(labels[1:]) == sorted(f"{name}（{code}）" for code, name in townships.items())
        assert "东关街道（411302001）" in labels
        group = page.locator("select[name=unit_code] optgroup").first.get_attribute("label")
        assert group == "宛城区综治办 · 乡镇（街道）"
        page.select_option("select[name=unit_code]", label="东关街道（411302001）")
        assert page.input_value("select[name=unit_code]") == "411302001"
    finally:
        page.close()
