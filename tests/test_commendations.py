"""Commendation (Art. 24, 26–30, 35 para 4) on the definitions in bpmn/ and forms/, with a moved clock:

* a listed township's nomination is refused at the nomination step citing Art. 35 and the listing case;
* an excellent county is commended through the five-department joint meeting and the committee's decision;
  the special reward fund's allocations and their total are stored with the decision (Art. 28); the awards
  appear in the performance records (Art. 22); Art. 29's recommendation reaches the organisation department,
  and the finance and organisation/personnel parts are tasks (Art. 30);
* the API starts one for the city's office; a township leader cannot (403); the salary list exports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import CITY, CITY_DIRECT, WANCHENG, WANCHENG_TOWN, actor, demo_app
from tests.test_openapi import login
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance, Task
from workflows.engine.reading import form_values
from workflows.regulation.annual_models import AssessmentResult, SalaryListEntry
from workflows.regulation.cadre_record import RecordEntry
from workflows.regulation.commendation import allocations, awards, candidates, start_commendation
from workflows.regulation.document_models import IssuedDocument, latest_document
from workflows.regulation.key_townships import start_selection
from workflows.regulation.models import Sanction

CITY_OFFICE = actor("city-office", ("office_director", CITY))
COUNTY = {"kind": "unit", "unit_code": WANCHENG, "reasons": "年度考核优秀，平安建设成效显著。"}
TOWN = {"kind": "unit", "unit_code": WANCHENG_TOWN, "reasons": "群防群治工作扎实。"}
PERSON = {
    "kind": "person",
    "unit_code": WANCHENG,
    "name": "张示例",
    "post": "区综治办主任",
    "leader": "none",
    "reasons": "牵头化解矛盾纠纷成绩突出。",
}
DECISION = {
    "fund_allocations": [
        {"unit_code": WANCHENG, "amount": 50000},
        {"unit_code": CITY_DIRECT, "amount": 20000.5},
    ],
    "national_commendations": [
        {
            "unit_code": WANCHENG,
            "honour": "全国平安建设先进县(区)",
            "leaders": [{"name": "李示例", "post": "区委书记"}],
        }
    ],
}


class Driver:
    def __init__(self, factory: sessionmaker[Session], make_engine: Callable[[Session], Engine]) -> None:
        self.factory, self.make_engine = factory, make_engine

    def ready(self, instance_id: int) -> list[Task]:
        with self.factory() as s:
            query = select(Task).where(Task.instance_id == instance_id, Task.state == "ready")
            return list(s.scalars(query.order_by(Task.element_id, Task.role)))

    def complete(self, task: Task, data: dict[str, Any]) -> None:
        holder = actor(f"{task.role}@{task.org_code}", (task.role, task.org_code))
        with self.factory() as s:
            self.make_engine(s).complete_task(task.id, data, holder)
            s.commit()

    def issue(self, instance_id: int) -> IssuedDocument:
        """Draft (as prefilled), review and issue the document the process calls for."""
        draft = self.only(instance_id, "draft_document")
        with self.factory() as s:
            values = form_values(self.make_engine(s), s.get(Task, draft.id))  # type: ignore[arg-type]
        self.complete(draft, values)
        self.complete(self.only(instance_id, "review_document"), {"doc_review_approved": True})
        with self.factory() as s:
            found = latest_document(s, instance_id, "commendation_decision")
            assert found is not None
            return found

    def only(self, instance_id: int, element_id: str) -> Task:
        [task] = [t for t in self.ready(instance_id) if t.element_id == element_id]
        return task


@pytest.fixture
def drive(
    session: Session,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    real_definitions: None,
) -> Iterator[tuple[Driver, int, str]]:
    """東关街道 listed (a key township's case, 追责-2026-0001) and 宛城区 graded excellent in 2026."""
    clock.set(datetime(2026, 12, 28, 9, 0, tzinfo=CST))
    engine = make_engine(session)
    selection = start_selection(engine, 2026)
    assert selection is not None
    session.commit()
    [pick] = session.scalars(select(Task).where(Task.instance_id == selection.id)).all()
    engine.complete_task(
        pick.id,
        {
            "townships": [
                {"unit_code": WANCHENG_TOWN, "problems": "治安问题突出，案件高发。", "art31_items": [1]}
            ]
        },
        actor("office", ("office_director", CITY)),
    )
    case = session.scalars(
        select(ProcessInstance).where(ProcessInstance.parent_instance_id == selection.id)
    ).one()
    session.add(
        Sanction(
            instance_id=case.id,
            unit_code=WANCHENG_TOWN,
            kind="listing",
            article="Art. 35",
            start_at=clock.now(),
            year=2026,
        )
    )
    session.add(
        AssessmentResult(
            year=2026,
            unit_code=WANCHENG,
            committee_code=CITY,
            cycle_instance_id=selection.id,
            total_score=95.0,
            proposed_grade="excellent",
            grade="excellent",
            decided_at=clock.now(),
        )
    )
    session.commit()
    clock.set(datetime(2027, 1, 18, 9, 0, tzinfo=CST))
    inst = start_commendation(make_engine(session), CITY_OFFICE, 2026)
    session.commit()
    assert inst.business_key == "表彰-2026-411300"
    assert inst.unit_code == CITY
    yield Driver(session_factory, make_engine), inst.id, str(case.business_key)


@pytest.mark.obligation("O35.3")
@pytest.mark.obligation("O27.1")
def test_a_listed_townships_nomination_is_refused_at_nomination(drive: tuple[Driver, int, str]) -> None:
    driver, inst_id, case_key = drive
    task = driver.only(inst_id, "propose_commendation")
    assert (task.role, task.org_code, task.article) == ("office_director", CITY, "Art. 27 (O27.1)")
    with pytest.raises(FormInvalid) as refused:
        driver.complete(task, {"nominations": [COUNTY, TOWN]})
    [message] = refused.value.errors["nominations/1/unit_code"]
    assert "第三十五条" in message and case_key in message
    assert "nominations/0/unit_code" not in refused.value.errors
    # a leader of the listed township is refused too; an ordinary staff member is not the article's concern
    leader = {**PERSON, "unit_code": WANCHENG_TOWN, "leader": "principal"}
    with pytest.raises(FormInvalid) as refused_leader:
        driver.complete(task, {"nominations": [leader]})
    assert "第三十五条" in refused_leader.value.errors["nominations/0/unit_code"][0]
    assert driver.only(inst_id, "propose_commendation").id == task.id  # nothing moved


@pytest.mark.obligation("O27.1")
@pytest.mark.obligation("O24.1")
@pytest.mark.obligation("O29.1")
def test_an_excellent_county_is_commended_with_fund_records_and_art29(
    drive: tuple[Driver, int, str], session_factory: sessionmaker[Session], clock: ManualClock
) -> None:
    driver, inst_id, _case = drive
    with session_factory() as s:
        assert candidates(s, 2026, CITY) == [{"unit_code": WANCHENG, "total_score": 95.0}]  # Art. 20, 27
    driver.complete(driver.only(inst_id, "propose_commendation"), {"nominations": [COUNTY, PERSON]})

    opinions = [t for t in driver.ready(inst_id) if t.element_id == "joint_opinion_commendation"]
    assert sorted(t.role for t in opinions) == sorted(
        f"joint_meeting_member/{d}"
        for d in ("governance", "discipline", "organization", "personnel", "supervision")
    )
    assert all(t.article == "Art. 24 (O24.1)" for t in opinions)
    for t in opinions:
        driver.complete(t, {"department_opinion": "agree"})
    conclusion = driver.only(inst_id, "joint_conclusion_commendation")
    assert conclusion.role == "joint_meeting_convener"
    driver.complete(conclusion, {"conclusion": "同意综治办提出的建议名单，报综治委决定。"})
    decide = driver.only(inst_id, "decide_commendation")
    assert (decide.role, decide.org_code) == ("committee_director", CITY)
    driver.complete(decide, DECISION)
    decision = driver.issue(inst_id)  # 表彰决定 (Art. 27), issued by the city committee
    assert (decision.number, decision.doc_date.isoformat()) == ("宛综治委〔2027〕1号", "2027-01-18")
    assert "“2026年度平安建设先进单位”称号" in "".join(decision.body)
    assert "张示例（区综治办主任）" in "".join(decision.body)

    with session_factory() as s:
        decided = awards(s, inst_id)
        assert [(a.kind, a.unit_code, a.person_name) for a in decided] == [
            ("unit", WANCHENG, None),
            ("person", WANCHENG, "张示例"),
        ]
        rows, total = allocations(s, inst_id)
        assert [(r.unit_code, r.amount) for r in rows] == [
            (WANCHENG, Decimal("50000.00")),
            (CITY_DIRECT, Decimal("20000.50")),
        ] or [(r.unit_code, r.amount) for r in rows] == [
            (CITY_DIRECT, Decimal("20000.50")),
            (WANCHENG, Decimal("50000.00")),
        ]
        assert total == Decimal("70000.50")
        entries = list(s.scalars(select(RecordEntry).where(RecordEntry.source == "commendation")))
        assert {(e.kind, e.unit_code, e.document_no, e.source_id) for e in entries} == {
            ("award_unit", WANCHENG, decision.number, inst_id),
            ("award_person", WANCHENG, decision.number, inst_id),
        }

    parts = {t.element_id: (t.role, t.org_code) for t in driver.ready(inst_id)}
    assert parts == {
        "disburse_fund": ("finance", CITY),
        "record_awards": ("organization_personnel", CITY),
        "recommend_promotion": ("committee_director", CITY),
    }
    recommend = driver.only(inst_id, "recommend_promotion")
    assert recommend.article == "Art. 29 (O29.1)"
    driver.complete(
        recommend,
        {
            "recommendation_document_no": "宛平安〔2027〕2号",
            "recommendation_text": "建议对李示例同志优先提拔使用。",
        },
    )
    receipt = driver.only(inst_id, "acknowledge_recommendation")
    assert (receipt.role, receipt.org_code) == ("organization_personnel", CITY)
    with session_factory() as s:
        [promotion] = s.scalars(select(RecordEntry).where(RecordEntry.kind == "priority_promotion")).all()
        assert (promotion.unit_code, promotion.document_no) == (WANCHENG, "宛平安〔2027〕2号")
    clock.set(datetime(2027, 2, 25, 9, 0, tzinfo=CST))  # handled and disbursed on the days recorded
    driver.complete(receipt, {"handled_on": "2027-02-20"})
    driver.complete(driver.only(inst_id, "record_awards"), {"handled_on": "2027-02-20"})
    driver.complete(
        driver.only(inst_id, "disburse_fund"), {"disbursed_on": "2027-02-25", "voucher_no": "财拨-001"}
    )
    with session_factory() as s:
        assert s.get(ProcessInstance, inst_id).status == "complete"  # type: ignore[union-attr]


@pytest.mark.obligation("O27.1")
def test_the_api_starts_one_and_a_township_leader_cannot(db_url: str) -> None:
    with demo_app(db_url, start=datetime(2027, 1, 18, 9, 0, tzinfo=CST)) as app:
        client, headers = login(app, "411300.office_director")
        created = client.post("/api/v1/commendations", json={"year": 2026}, headers=headers)
        assert created.status_code == 201, created.json
        assert created.json["business_key"] == "表彰-2026-411300"  # type: ignore[index]
        again = client.post("/api/v1/commendations", json={"year": 2026}, headers=headers)
        assert again.status_code == 422
        listed = client.get("/api/v1/commendations")
        assert [c["business_key"] for c in listed.json["commendations"]] == ["表彰-2026-411300"]  # type: ignore[index]
        assert client.get("/commendations").status_code == 200

        with app.app_context():
            from app.extensions import db

            inst = db.session.scalars(
                select(ProcessInstance).where(ProcessInstance.business_key == "表彰-2026-411300")
            ).one()
            db.session.add(
                SalaryListEntry(
                    year=2026,
                    unit_code="411302",
                    cycle_instance_id=inst.id,
                    added_at=datetime(2026, 12, 30, tzinfo=CST),
                )
            )
            db.session.commit()
        csv = client.get("/commendations/salary-list/2026.csv")
        assert csv.status_code == 200 and "411302,宛城区" in csv.get_data(as_text=True)
        xlsx = client.get("/commendations/salary-list/2026.xlsx")
        assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"

        leader, leader_headers = login(app, "411302001.unit_principal_leader")
        refused = leader.post("/api/v1/commendations", json={"year": 2026}, headers=leader_headers)
        assert refused.status_code == 403
        assert leader.get("/commendations").status_code == 403
