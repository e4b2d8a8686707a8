"""Listing and veto as the text writes them (Art. 35–37): the committee that lists accepts and delists;
when the city lists a township (a key township its office picked, Art. 35 para 2) Art. 36 applies — the
county names a responsible leader and checks first, the city committee inspects and delists; measures are
due 10 working days after the unit received the decision; sanctions end on delisting; a veto is recorded
with its year; refusing a veto leaves the unit listed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.accountability_driver import (
    APPLY,
    APPROVE,
    FAILED,
    MEASURES,
    PROGRESS,
    REFUSE,
    Case,
    due,
    interview_on,
    verify,
)
from tests.conftest import CITY, ROOT, WANCHENG, WANCHENG_TOWN
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance, Task
from workflows.regulation.accountability import active_sanctions
from workflows.regulation.key_townships import start_selection
from workflows.regulation.models import Sanction

RECEIVED = {"received_on": "2026-03-05", "receiver": "张三"}
LEADER = {"leader_name": "王五", "leader_position": "区委副书记", "plan": "每月明察暗访一次，跟踪督导整改。"}


def listed_by_county(case_factory: Callable[..., Case], clock: ManualClock) -> Case:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("especially_serious"))  # Art. 35: especially serious harm enters at listing
    case.at(2026, 3, 3, 10, 0)
    case.listing_decision()
    case.issue()
    case.at(2026, 3, 5, 10, 0)  # the unit records the day it received the decision (not a later one)
    case.do("receive_listing", RECEIVED)
    case.at(2026, 3, 6, 10, 0)
    case.do("interview_listed", interview_on("2026-03-06"))
    return case


def sanctions(factory: sessionmaker[Session], case: Case) -> list[Sanction]:
    with factory() as s:
        return list(s.scalars(select(Sanction).where(Sanction.instance_id == case.id).order_by(Sanction.id)))


@pytest.mark.obligation("O35.1", "O35.3", "O35.4")
def test_a_county_listing_of_its_own_township_is_accepted_by_the_county_alone(
    case_factory: Callable[..., Case], clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    case = listed_by_county(case_factory, clock)
    # Measures: 10 PRC working days after the unit RECEIVED the decision (5 March) → 19 March.
    assert case.ready()["report_measures_listing"].due_at == due(2026, 3, 19)
    assert case.events("listing_received")[0].detail["received_on"] == "2026-03-05"
    assert "name_responsible_leader" not in case.ready()  # Art. 36 is for the city's listings
    with session_factory() as s:
        assert [x.kind for x in active_sanctions(s, WANCHENG_TOWN, clock.now())] == ["listing"]
    case.do("report_measures_listing", MEASURES)
    assert case.ready()["report_progress_listing"].due_at == due(2026, 5, 3)
    case.do("report_progress_listing", PROGRESS)
    case.do("report_progress_listing", PROGRESS)
    case.at(2026, 9, 4, 0, 0, 1)  # six months from 3 March
    case.wake()
    assert case.steps() == {"apply_acceptance_listing"}
    case.do("apply_acceptance_listing", APPLY)
    inspect = case.ready()["inspect_listing"]
    assert (inspect.role, inspect.org_code) == ("committee_director", WANCHENG)  # the committee that listed
    case.do("inspect_listing", {**FAILED, "accepted": True, "findings": "整改到位，解除挂牌。"})
    notice = case.issue()  # 解除挂牌督办通知, citing the decision (Art. 35 para 5)
    decision = case.number("listing_decision")
    assert (notice.kind, notice.number, decision) == (
        "delisting_notice",
        "宛区综治委〔2026〕2号",
        "宛区综治委〔2026〕1号",
    )
    assert any(decision in paragraph for paragraph in notice.body)
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "rectified"
    assert case.events("listing_ended")[0].detail["reason"] == "delisted"
    with session_factory() as s:
        assert active_sanctions(s, WANCHENG_TOWN, clock.now()) == []
        assert CITY not in {t.org_code for t in s.scalars(select(Task).where(Task.instance_id == case.id))}


def key_township_case(
    session_factory: sessionmaker[Session], make_engine: Callable[[Session], Engine], clock: ManualClock
) -> Case:
    """The city office picks 东关街道 as a key township for 2026 (Art. 35 para 2)."""
    city_office = Actor("city-office", frozenset({("office_director", CITY)}))
    with session_factory() as s:
        engine = make_engine(s)
        selection = start_selection(engine, 2026)
        assert selection is not None and start_selection(engine, 2026) is None  # once a year
        s.commit()
        task = engine.ready_tasks(selection.id)[0]
        assert (task.element_id, task.org_code) == ("select_key_townships", CITY)
        pick = {"unit_code": WANCHENG_TOWN, "problems": "盗窃案件多发，群众安全感低。", "art31_items": [2, 6]}
        with pytest.raises(FormInvalid) as err:  # a county is not a township
            engine.complete_task(task.id, {"townships": [{**pick, "unit_code": WANCHENG}]}, city_office)
        assert "townships/0/unit_code" in err.value.errors
        s.rollback()
        engine = make_engine(s)
        engine.complete_task(task.id, {"townships": [pick]}, city_office)
        s.commit()
        child = s.scalar(select(ProcessInstance).where(ProcessInstance.parent_instance_id == selection.id))
        assert child is not None and child.unit_code == WANCHENG_TOWN
        return Case(session_factory, make_engine, clock, instance_id=child.id)


@pytest.mark.obligation("O35.2", "O36.1", "O36.2", "O35.4")
def test_a_city_listing_of_a_key_township_goes_through_article_36(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    real_definitions: None,
) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    case = key_township_case(session_factory, make_engine, clock)
    assert case.steps() == {"investigate_listing"} and case.ready()["investigate_listing"].org_code == CITY
    case.at(2026, 3, 3, 10, 0)
    case.listing_decision()
    ready = case.ready()
    assert ready["draft_document"].org_code == CITY  # the city committee's office drafts its decision
    case.issue()
    case.at(2026, 3, 5, 10, 0)
    case.do("receive_listing", RECEIVED)
    assert case.ready()["interview_listed"].org_code == CITY
    case.at(2026, 3, 6, 10, 0)
    case.do("interview_listed", interview_on("2026-03-06"))
    leader = case.ready()["name_responsible_leader"]
    assert (leader.role, leader.org_code) == ("county_committee", WANCHENG)  # the county names one leader
    case.do("name_responsible_leader", LEADER)
    case.do("report_measures_listing", MEASURES)
    case.at(2026, 9, 4, 0, 0, 1)
    case.wake()
    check = case.ready()["county_check"]
    assert (check.role, check.org_code) == ("county_committee", WANCHENG)  # the county checks first
    case.do(
        "county_check",
        {
            "passed": True,
            "findings": "整改到位，符合解除条件。",
            "application": "申请市综治委解除对东关街道的挂牌督办。",
            "visits": "责任人明察暗访六次，派出工作组一次。",
            "work_team_sent": True,
        },
    )
    inspect = case.ready()["inspect_listing"]
    assert (inspect.role, inspect.org_code) == ("committee_director", CITY)  # the city inspects and delists
    case.do("inspect_listing", {**FAILED, "accepted": True, "findings": "验收合格，解除挂牌督办。"})
    notice = case.issue()  # the city committee listed, the city committee delists (Art. 36)
    assert (notice.kind, notice.organ_code, notice.number) == (
        "delisting_notice",
        f"{CITY}-committee",
        "宛综治委〔2026〕2号",
    )
    assert case.instance().summary["outcome"] == "rectified"
    assert case.events("listing_ended")[0].detail["reason"] == "delisted"


@pytest.mark.obligation("O35.1", "O32.1")
def test_refusing_a_listing_after_a_failed_interview_closes_by_that_decision(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("serious"))
    case.approve_level("propose_interview", "approve_interview")
    case.issue()  # the interview notice (约谈通知书)
    case.do("hold_interview", interview_on("2026-03-02"))
    case.issue()
    case.at(2026, 6, 3, 0, 0, 1)
    case.wake()
    case.do("apply_acceptance_interview", APPLY)
    case.do("inspect_interview", FAILED)
    case.do(
        "investigate_listing",
        {"findings": "经调查，问题已明显好转，整改正在推进。", "meets_conditions": False},
    )
    assert case.steps() == {"decide_listing"}  # even "conditions not met" is the committee's decision
    case.do("decide_listing", REFUSE)
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "not_approved"
    concluded = case.events("case_concluded")[0].detail
    assert (
        concluded["obligations"] == "rectification_incomplete" and concluded["previous_level"] == "interview"
    )
    assert concluded["reason"] == REFUSE["opinion"]


def failed_listing(case_factory: Callable[..., Case], clock: ManualClock) -> Case:
    case = listed_by_county(case_factory, clock)
    case.at(2026, 9, 4, 0, 0, 1)
    case.wake()
    case.do("apply_acceptance_listing", APPLY)
    case.do("inspect_listing", FAILED)
    assert case.level() == "veto" and case.steps() == {"propose_veto"}
    case.do(
        "propose_veto", {"basis": "宛办〔2009〕28号", "opinion": "挂牌督办期满仍未完成整改，建议一票否决。"}
    )
    return case


@pytest.mark.obligation("O35.3", "O35.4", "O37.1")
def test_refusing_the_veto_leaves_the_unit_listed_with_a_new_period(
    case_factory: Callable[..., Case], clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    case = failed_listing(case_factory, clock)
    case.do("decide_veto", REFUSE)
    assert case.level() == "listing" and case.steps() == {"renew_listing"}
    with session_factory() as s:  # still listed: sanctions in force
        assert [x.kind for x in active_sanctions(s, WANCHENG_TOWN, clock.now())] == ["listing"]
    case.at(2026, 9, 15, 10, 0)
    case.do("renew_listing", {"renewal_months": 3, "opinion": "责令继续整改三个月。"})
    assert case.ready()["report_measures_listing"].due_at == due(2026, 9, 29)
    assert case.events("level_entered")[-1].detail["rectify_due"] == due(2026, 12, 15).isoformat()


@pytest.mark.obligation("O37.1")
def test_a_veto_is_recorded_with_its_year(
    case_factory: Callable[..., Case], clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("especially_serious_veto"))
    case.do("propose_veto", {"basis": "宛办〔2009〕28号", "opinion": "危害特别严重，建议一票否决。"})
    case.do("decide_veto", APPROVE)
    case.issue()
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "vetoed"
    [veto] = sanctions(session_factory, case)
    assert (veto.kind, veto.year, veto.article) == ("veto", 2026, "Art. 37")
    assert veto.end_at is not None and veto.end_at.astimezone(CST) == datetime(2027, 1, 1, tzinfo=CST)


@pytest.mark.obligation("O41.1", "O35.3")
def test_mitigation_lowers_a_listing_and_ends_its_sanctions(
    case_factory: Callable[..., Case], clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    case = listed_by_county(case_factory, clock)
    case.finding(
        {
            "finding_kind": "mitigating",
            "finding_items": ["loss_avoided"],
            "finding_facts": "主动采取措施，有效挽回影响。",
            "propose_level_change": True,
        }
    )
    case.do(
        "decide_level_change", {"change_approved": True, "change_opinion": "依第四十一条从轻，改为约谈。"}
    )
    assert case.level() == "interview" and case.steps() == {"propose_interview"}
    assert case.events("listing_ended")[0].detail["reason"] == "lowered"
    with session_factory() as s:
        assert active_sanctions(s, WANCHENG_TOWN, clock.now()) == []


def test_no_gateway_defaults_to_a_measure() -> None:
    """Every branch of the level procedures is an explicit condition; none falls through to a harsher
    level."""
    for name in ("case", "notification", "interview", "listing", "veto", "intake"):
        tree = etree.parse(str(ROOT / "bpmn" / f"accountability_{name}.bpmn"))
        defaults = tree.xpath("//*[@default]")
        assert [el.get("id") for el in defaults] == [], name
