"""Promotion consultation (Art. 23, O23.1) and the sanction rule it enforces (Art. 35 para 4, O35.3; Art. 37):
宛城区's organisation department consults 宛城区's office about the party secretary of 东关街道; while the
township is listed the office may answer only 不同意 / 暂缓 (or agree with a recorded override reason); after
delisting it answers from the record; every answer goes into the cadre's performance record."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.accountability_driver import Case, due
from tests.conftest import COUNTY_OFFICE, TOWN_LEADER, WANCHENG, WANCHENG_TOWN, actor, demo_app
from tests.test_accountability_listing import listed_by_county
from tests.test_openapi import login
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid, NotAuthorized
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.engine.reading import task_data
from workflows.regulation.cadre_record import entries_for_person
from workflows.regulation.consultation import consultation_rows, start_consultation
from workflows.regulation.models import Sanction
from workflows.regulation.people import create_person
from workflows.regulation.roles import org_of

ORG_DEPT = actor("wancheng-org", ("organization_personnel", WANCHENG))
REQUEST = {
    "cadre_name": "李四",
    "post": "东关街道党工委书记",
    "cadre_unit_code": WANCHENG_TOWN,
    "purpose": "promotion",
    "document_no": "宛组函〔2026〕12号",
}
DEFER = {"answer": "defer", "reasons": "该街道正在挂牌督办整改期间，暂缓办理。"}
AGREE = {"answer": "agree", "reasons": "抓综治工作认真负责，实绩档案等次合格以上。"}

Factory = sessionmaker[Session]
MakeEngine = Callable[[Session], Engine]


def consult(factory: Factory, make_engine: MakeEngine, data: dict[str, Any], who: Actor = ORG_DEPT) -> int:
    with factory() as s:
        inst = start_consultation(make_engine(s), who, data)
        s.commit()
        return inst.id


def answer(factory: Factory, make_engine: MakeEngine, instance_id: int, data: dict[str, Any]) -> None:
    """The office director answers; a refusal rolls everything back (as the views do)."""
    with factory() as s:
        eng = make_engine(s)
        [task] = eng.ready_tasks(instance_id)
        try:
            eng.complete_task(task.id, data, COUNTY_OFFICE)
            s.commit()
        except Exception:
            s.rollback()
            raise


def cadre(factory: Factory) -> int:
    with factory() as s:
        person = create_person(s, "李四")
        s.commit()
        return person.id


@pytest.mark.obligation("O23.1", "O35.3")
def test_listed_township_cadre_is_deferred_until_delisting(
    case_factory: Callable[..., Case],
    clock: ManualClock,
    session_factory: Factory,
    make_engine: MakeEngine,
) -> None:
    case = listed_by_county(case_factory, clock)  # 东关街道 listed by 宛城区 on 3 March
    person_id = cadre(session_factory)
    request = {**REQUEST, "person_id": person_id}

    clock.set(datetime(2026, 4, 7, 9, 0, tzinfo=CST))  # Tuesday after 清明 (4–6 April)
    first = consult(session_factory, make_engine, request)
    with session_factory() as s:
        inst = s.get(ProcessInstance, first)
        assert inst is not None and inst.business_key == f"征求意见-2026-{WANCHENG}-0001"
        assert inst.unit_code == WANCHENG  # the same level's office answers
        [task] = make_engine(s).ready_tasks(first)
        assert (task.element_id, task.role, task.org_code) == (
            "answer_consultation",
            "office_director",
            WANCHENG,
        )
        assert task.due_at == due(2026, 4, 14)  # 5 PRC working days: 8, 9, 10, 13, 14 April

    with pytest.raises(FormInvalid) as refused:
        answer(session_factory, make_engine, first, AGREE)
    [message] = refused.value.errors["answer"]
    assert "Art. 35" in message and case.number("listing_decision") in message and "挂牌督办" in message

    answer(session_factory, make_engine, first, DEFER)
    with session_factory() as s:  # the answer goes back in writing: the office drafts its 复函 (Art. 23)
        eng = make_engine(s)
        [draft] = eng.ready_tasks(first)
        assert (draft.element_id, draft.role, draft.org_code) == ("draft_document", "office_staff", WANCHENG)
        reply = task_data(eng, eng.get_instance(first), draft.id)
        assert (reply["doc_kind"], reply["doc_main_recipients"]) == (
            "consultation_reply",
            ["中共宛城区委组织部"],
        )
        assert "暂缓" in reply["doc_body"] and str(REQUEST["document_no"]) in reply["doc_body"]
    with session_factory() as s:
        [entry] = entries_for_person(s, person_id)
        assert (entry.kind, entry.unit_code, entry.source, entry.source_id) == (
            "consultation",
            WANCHENG_TOWN,
            "consultation",
            first,
        )
        assert entry.document_no == REQUEST["document_no"] and entry.added_by == COUNTY_OFFICE.user_id
        assert entry.detail["purpose"] == "promotion" and entry.detail["answer"] == "defer"
        assert entry.detail["reasons"] == DEFER["reasons"]
        [cited] = entry.detail["sanctions"]
        assert (cited["kind"], cited["article"], cited["document_no"]) == (
            "listing",
            "Art. 35",
            case.number("listing_decision"),
        )
        assert cited["case_key"] == s.get(ProcessInstance, case.id).business_key  # type: ignore[union-attr]

    # Delisted in September (acceptance ends the listing's sanctions): the office answers from the record.
    with session_factory() as s:
        for row in s.scalars(select(Sanction).where(Sanction.unit_code == WANCHENG_TOWN)):
            row.end_at = datetime(2026, 9, 10, 10, 0, tzinfo=CST)
        s.commit()
    clock.set(datetime(2026, 9, 15, 9, 0, tzinfo=CST))
    second = consult(session_factory, make_engine, {**request, "document_no": "宛组函〔2026〕30号"})
    answer(session_factory, make_engine, second, AGREE)
    with session_factory() as s:
        entries = entries_for_person(s, person_id)
        assert [(e.source_id, e.detail["answer"], e.detail["sanctions"]) for e in entries][1] == (
            second,
            "agree",
            [],
        )
        assert len(entries) == 2
        rows = consultation_rows(s, org_of(make_engine(s)), COUNTY_OFFICE)
        assert [(r["id"], r["answer"], r["blocked"]) for r in rows] == [
            (second, "agree", False),
            (first, "defer", True),
        ]


@pytest.mark.obligation("O23.1", "O35.3")
def test_a_veto_year_blocks_unless_an_override_reason_is_recorded(
    session: Session, engine: Engine, real_definitions: None, clock: ManualClock
) -> None:
    case = engine.start("accountability_case", business_key="追责-2026-0009", unit_code=WANCHENG_TOWN)
    session.add(
        Sanction(
            instance_id=case.id,
            unit_code=WANCHENG_TOWN,
            kind="veto",
            article="Art. 37",
            start_at=clock.now(),
            end_at=datetime(2027, 1, 1, tzinfo=CST),
            year=2026,
        )
    )
    session.commit()
    inst = start_consultation(engine, ORG_DEPT, {**REQUEST, "purpose": "award", "answer_days": 3})
    session.commit()
    [task] = engine.ready_tasks(inst.id)
    assert task.due_at == due(2026, 3, 19)  # the office's period: 3 working days from Monday 16 March
    with pytest.raises(FormInvalid, match=r"Art\. 37"):
        engine.complete_task(task.id, AGREE, COUNTY_OFFICE)
    session.rollback()
    [task] = engine.ready_tasks(inst.id)
    override = {**AGREE, "override_reason": "经县委常委会研究，该同志在否决事项发生前已调离，予以同意。"}
    engine.complete_task(task.id, override, COUNTY_OFFICE)
    session.commit()
    [row] = consultation_rows(session, org_of(engine), ORG_DEPT)
    assert (row["answer"], row["override_reason"], row["purpose"]) == (
        "agree",
        override["override_reason"],
        "award",
    )


@pytest.mark.obligation("O23.1")
def test_only_the_organisation_department_of_a_city_or_county_consults(
    session: Session, engine: Engine, real_definitions: None
) -> None:
    with pytest.raises(NotAuthorized):
        start_consultation(engine, TOWN_LEADER, REQUEST)
    with pytest.raises(NotAuthorized):
        start_consultation(engine, COUNTY_OFFICE, REQUEST)
    with pytest.raises(FormInvalid) as outside:  # the cadre's unit must be below the level consulted
        start_consultation(engine, ORG_DEPT, {**REQUEST, "cadre_unit_code": "411303001"})
    assert list(outside.value.errors) == ["cadre_unit_code"]
    with pytest.raises(FormInvalid) as missing:
        start_consultation(engine, ORG_DEPT, {**REQUEST, "purpose": "transfer"})
    assert list(missing.value.errors) == ["purpose"]


# -- through the API (Nanyang's organisation and demo accounts) ---------------------------------------------
@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url) as app:
        yield app


@pytest.mark.obligation("O23.1")
def test_the_api_starts_and_lists_consultations(app: Flask) -> None:
    org_dept, headers = login(app, f"{WANCHENG}.organization_personnel")
    started = org_dept.post("/api/v1/consultations", json=REQUEST, headers=headers)
    assert started.status_code == 201, started.json
    body = started.json
    assert body["business_key"] == f"征求意见-2026-{WANCHENG}-0001" and body["unit_code"] == WANCHENG
    [task] = body["tasks"]
    assert (task["element_id"], task["role"], task["org_code"]) == (
        "answer_consultation",
        "office_director",
        WANCHENG,
    )
    office, office_headers = login(app, f"{WANCHENG}.office_director")
    listed = office.get("/api/v1/consultations", headers=office_headers).json
    assert [(r["business_key"], r["cadre_unit_code"], r["answer"]) for r in listed["items"]] == [
        (body["business_key"], WANCHENG_TOWN, None)
    ]
    page = org_dept.get("/consultations")
    assert page.status_code == 200 and body["business_key"] in page.get_data(as_text=True)

    leader, leader_headers = login(app, f"{WANCHENG_TOWN}.unit_principal_leader")
    refused = leader.post("/api/v1/consultations", json=REQUEST, headers=leader_headers)
    assert refused.status_code == 403, refused.json
