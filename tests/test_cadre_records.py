"""实绩档案 (Art. 22, O22.1; Art. 21, O21.1): a township of 宛城区 is listed by the county and delisted after
acceptance; the record of its party secretary, kept by 宛城区's office, shows the listing with its dates, the
case and the decision's document; the office adds what it alone knows through the API; the record and the
office's list export as CSV and Excel for the organisation department; a township leader reads no record."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import sessionmaker

from tests.accountability_driver import (
    APPLY,
    FAILED,
    MEASURES,
    PROGRESS,
    Case,
    interview_on,
    verify,
)
from tests.conftest import WANCHENG, WANCHENG_TOWN, demo_app
from workflows.engine.legaltime.legal_time import CST
from workflows.regulation.people import holder_posts

RECEIVED = {"received_on": "2026-03-05", "receiver": "张三"}


@pytest.fixture
def web(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=datetime(2026, 3, 2, 9, 0, tzinfo=CST)) as app:
        yield app


def login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return client, response.json["csrf_token"]  # type: ignore[index]


def drive_listing(app: Flask) -> tuple[Case, int]:
    """Listed by 宛城区 on 3 March 2026 (Art. 35), delisted after acceptance on 4 September; returns the case
    and the township's party secretary."""
    from app.extensions import db
    from app.runtime import runtime

    with app.app_context():
        clock: Any = app.config["CLOCK"]
        factory = sessionmaker(bind=db.engine, expire_on_commit=False)
        case = Case(factory, lambda s: runtime().engine(s), clock)
        case.intake(verify("especially_serious"))
        case.at(2026, 3, 3, 10, 0)
        case.listing_decision()
        case.issue()
        case.at(2026, 3, 5, 10, 0)  # received and interviewed on the days they record
        case.do("receive_listing", RECEIVED)
        case.at(2026, 3, 6, 10, 0)
        case.do("interview_listed", interview_on("2026-03-06"))
        case.do("report_measures_listing", MEASURES)
        with factory() as s:
            post = next(p for p in holder_posts(s, "unit_principal_leader", WANCHENG_TOWN, clock.now()))
            assert post.kind == "party_principal"
            return case, post.person_id


def delist(app: Flask, case: Case) -> None:
    with app.app_context():
        case.do("report_progress_listing", PROGRESS)
        case.do("report_progress_listing", PROGRESS)
        case.at(2026, 9, 4, 0, 0, 1)
        case.wake()
        case.do("apply_acceptance_listing", APPLY)
        case.do("inspect_listing", {**FAILED, "accepted": True, "findings": "整改到位，解除挂牌。"})
        assert case.issue().kind == "delisting_notice"
        assert case.instance().status == "complete"


def listing_of(record: dict[str, Any]) -> dict[str, Any]:
    year = next(y for y in record["years"] if y["year"] == 2026)
    return next(e for e in year["entries"] if e["kind"] == "listing")


@pytest.mark.obligation("O22.1")
def test_the_record_of_a_listed_townships_secretary_shows_the_listing_and_the_office_entry(
    web: Flask,
) -> None:
    case, person_id = drive_listing(web)
    key = case.instance().business_key
    client, token = login(web, "411302.office_director")

    kept = client.get(f"/api/v1/records/{WANCHENG}")
    assert kept.status_code == 200, kept.get_data(as_text=True)
    row = next(c for c in kept.json["cadres"] if c["person_id"] == person_id)  # type: ignore[index]
    assert row["unit_code"] == WANCHENG_TOWN and [s["kind"] for s in row["open_sanctions"]] == ["listing"]
    assert {c["unit_code"] for c in kept.json["cadres"]} >= {WANCHENG_TOWN, f"{WANCHENG}-M02"}  # type: ignore[index]

    listing = listing_of(client.get(f"/api/v1/records/person/{person_id}").json)  # type: ignore[arg-type]
    assert listing["occurred_on"] == "2026-03-03" and listing["ended_on"] is None
    assert listing["detail"]["in_force"] is True

    delist(web, case)
    record = client.get(f"/api/v1/records/person/{person_id}").json
    assert record is not None
    listing = listing_of(record)
    assert (listing["occurred_on"], listing["ended_on"]) == ("2026-03-03", "2026-09-04")
    assert listing["source"] == "case" and listing["source_ref"] == key and listing["source_id"] == case.id
    assert listing["document_no"] == case.number("listing_decision") and listing["unit_code"] == WANCHENG_TOWN
    assert record["open_sanctions"] == [] and record["posts"][0]["unit_code"] == WANCHENG_TOWN
    assert record["committees"] == [WANCHENG]

    body = {
        "kind": "award_person",
        "title": "全区平安建设先进个人",
        "occurred_on": "2026-09-04",
        "document_no": "宛综治委〔2026〕5号",
        "text": "表彰决定",
    }
    added = client.post(
        f"/api/v1/records/person/{person_id}/entries", json=body, headers={"X-CSRFToken": token}
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.json["added_by"] == "411302.office_director"  # type: ignore[index]
    bad = client.post(
        f"/api/v1/records/person/{person_id}/entries",
        json={**body, "kind": "listing"},
        headers={"X-CSRFToken": token},
    )
    assert bad.status_code == 422
    future = {**body, "occurred_on": "2026-09-10"}  # the clock is on 4 September
    late = client.post(
        f"/api/v1/records/person/{person_id}/entries", json=future, headers={"X-CSRFToken": token}
    )
    assert late.status_code == 422 and "occurred_on" in late.json["errors"]  # type: ignore[index]
    record = client.get(f"/api/v1/records/person/{person_id}").json
    assert record is not None
    assert [(a["title"], a["document_no"]) for a in record["awards"]] == [
        ("全区平安建设先进个人", "宛综治委〔2026〕5号")
    ]

    page = client.get(f"/records/person/{person_id}").get_data(as_text=True)
    decision = case.number("listing_decision")
    for text in ("实绩档案", "挂牌督办", key, "2026-09-04", decision, "全区平安建设先进个人"):
        assert text in page, text
    assert client.get("/records").status_code == 302
    assert str(person_id) in client.get(f"/records/{WANCHENG}").get_data(as_text=True)


@pytest.mark.obligation("O22.1", "O21.1")
def test_records_export_for_the_organisation_department_and_a_township_leader_is_refused(web: Flask) -> None:
    case, person_id = drive_listing(web)
    client, _token = login(web, "411302.organization_personnel")

    csv = client.get(f"/records/person/{person_id}/export.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeff年度,") and "挂牌督办" in text and case.instance().business_key in text
    xlsx = client.get(f"/records/person/{person_id}/export.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet is not None
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "年度" and any(row[2] == "挂牌督办" and row[4] == "2026-03-03" for row in values)

    listed = client.get(f"/records/{WANCHENG}/export.xlsx")
    rows = list(load_workbook(io.BytesIO(listed.data)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert rows[0][0] == "姓名" and any(r[1] == "东关街道" and r[6] == "挂牌督办" for r in rows[1:])
    assert client.get(f"/records/{WANCHENG}/export.csv").get_data(as_text=True).count("\n") == len(rows)
    # Organisation/personnel reads; only the office writes.
    refused = client.post(
        f"/api/v1/records/person/{person_id}/entries",
        json={"kind": "note", "title": "x", "occurred_on": date(2026, 3, 4).isoformat()},
        headers={"X-CSRFToken": _token},
    )
    assert refused.status_code == 403

    town, _ = login(web, f"{WANCHENG_TOWN}.unit_principal_leader")
    assert town.get(f"/api/v1/records/{WANCHENG}").status_code == 403
    assert town.get(f"/api/v1/records/person/{person_id}").status_code == 403
    assert town.get(f"/records/{WANCHENG}").status_code == 403
    assert town.get(f"/records/person/{person_id}/export.csv").status_code == 403
    assert town.get("/records").status_code == 403
