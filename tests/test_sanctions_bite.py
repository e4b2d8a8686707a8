"""Issue 12's "Done means", end to end on the demo app with a moved clock (Art. 22, 23, 27, 35 para 4):

* March: 东关街道 (411302001) is listed by the 宛城区 committee and the decision is circulated;
* April: a promotion consultation for the township's party secretary may not be answered 同意 (Art. 35 and the
  decision's number are cited), 暂缓 is accepted; the township's nomination for an honour is refused at the
  nomination step citing 第三十五条;
* September: the listing is accepted and lifted; a new consultation for the same cadre is answered 同意;
* the cadre's record shows the listing with its dates and document number, and both consultations.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import WANCHENG, WANCHENG_TOWN, demo_app
from tests.test_cadre_records import delist, drive_listing, listing_of
from tests.test_openapi import login
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST

DEFER = {"answer": "defer", "reasons": "该街道正在挂牌督办整改期间，暂缓办理。"}
AGREE = {"answer": "agree", "reasons": "抓综治工作认真负责，实绩档案等次合格以上。"}
TOWN = {"kind": "unit", "unit_code": WANCHENG_TOWN, "reasons": "群防群治工作扎实。"}


@pytest.fixture
def web(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=datetime(2026, 3, 2, 9, 0, tzinfo=CST)) as app:
        yield app


def consult(org: FlaskClient, headers: dict[str, str], request: dict[str, Any]) -> tuple[int, str]:
    """The organisation department consults; returns the instance and the office's answering task."""
    started = org.post("/api/v1/consultations", json=request, headers=headers)
    assert started.status_code == 201, started.json
    body: Any = started.json
    [task] = body["tasks"]
    assert (task["element_id"], task["role"], task["org_code"]) == (
        "answer_consultation",
        "office_director",
        WANCHENG,
    )
    return body["id"], str(task["id"])


def complete(client: FlaskClient, headers: dict[str, str], task_id: str, data: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data}, headers=headers)


@pytest.mark.obligation("O35.3", "O23.1", "O22.1", "O27.1")
def test_a_listing_bites_on_promotion_and_commendation_until_delisting(web: Flask) -> None:
    clock: ManualClock = web.extensions["governance"].clock
    assert clock is web.config["CLOCK"]

    # 1. March: 东关街道 listed by 宛城区 (decision 3 March), the decision circulated.
    case, person_id = drive_listing(web)
    key = case.instance().business_key
    office, office_headers = login(web, f"{WANCHENG}.office_director")
    org, org_headers = login(web, f"{WANCHENG}.organization_personnel")
    person = office.get(f"/api/v1/records/person/{person_id}")
    assert person.status_code == 200, person.json
    name = person.json["person"]["name"]  # type: ignore[index]
    assert [s["kind"] for s in person.json["open_sanctions"]] == ["listing"]  # type: ignore[index]
    request = {
        "person_id": person_id,
        "cadre_name": name,
        "post": "东关街道党工委书记",
        "cadre_unit_code": WANCHENG_TOWN,
        "purpose": "promotion",
        "document_no": "宛组函〔2026〕12号",
    }

    # 2. April: the promotion consultation; 同意 is refused citing Art. 35 and the decision, 暂缓 accepted.
    clock.set(datetime(2026, 4, 7, 9, 0, tzinfo=CST))
    first, first_task = consult(org, org_headers, request)
    refused = complete(office, office_headers, first_task, AGREE)
    assert refused.status_code == 422, refused.json
    [message] = refused.json["errors"]["answer"]
    assert "Art. 35" in message and case.number("listing_decision") in message, message
    deferred = complete(office, office_headers, first_task, DEFER)
    assert deferred.status_code == 200, deferred.json

    # 3. The township's nomination for an honour is refused at the nomination step (Art. 35 para 4).
    started = office.post("/api/v1/commendations", json={"year": 2025}, headers=office_headers)
    assert started.status_code == 201, started.json
    [propose] = [t for t in started.json["tasks"] if t["element_id"] == "propose_commendation"]  # type: ignore[index]
    nominated = complete(office, office_headers, str(propose["id"]), {"nominations": [TOWN]})
    assert nominated.status_code == 422, nominated.json
    [why] = nominated.json["errors"]["nominations/0/unit_code"]
    assert "第三十五条" in why and str(key) in why, why

    # 4. September: accepted and delisted; a new consultation is answered 同意.
    delist(web, case)  # the unit applies, 宛城区 inspects and accepts on 4 September
    clock.set(datetime(2026, 9, 7, 9, 0, tzinfo=CST))
    second, second_task = consult(org, org_headers, {**request, "document_no": "宛组函〔2026〕30号"})
    agreed = complete(office, office_headers, second_task, AGREE)
    assert agreed.status_code == 200, agreed.json

    # 5. The record: the listing with its dates and document number, and both consultations.
    record: Any = office.get(f"/api/v1/records/person/{person_id}").json
    listing = listing_of(record)
    assert (listing["occurred_on"], listing["ended_on"]) == ("2026-03-03", "2026-09-04")
    assert listing["document_no"] == case.number("listing_decision") and listing["source_ref"] == key
    assert record["open_sanctions"] == []
    year = next(y for y in record["years"] if y["year"] == 2026)
    consultations = [e for e in year["entries"] if e["kind"] == "consultation"]
    assert [(e["source_id"], e["detail"]["answer"]) for e in consultations] == [
        (first, "defer"),
        (second, "agree"),
    ]
    [cited] = consultations[0]["detail"]["sanctions"]
    assert (cited["article"], cited["document_no"]) == ("Art. 35", case.number("listing_decision"))
    assert consultations[1]["detail"]["sanctions"] == []
