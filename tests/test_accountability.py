"""The accountability procedures of Ch. 5 as deployed from bpmn/ and forms/, driven by task id with a
moved clock (never sleeping); every step commits and reloads (persistence always exercised).

Case unit: 东关街道, a township of 宛城区, so "upper" is the 宛城区 office/committee (Art. 33–35:
相应的上一级) and the final listing acceptance is the city's (Art. 36)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import wake_due
from tests.conftest import CITY, ROOT, WANCHENG, WANCHENG_TOWN, WOLONG, WOLONG_TOWN
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy, read_project_files
from workflows.engine.errors import NotAuthorized
from workflows.engine.inbox import open_tasks_for
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.engine.sandboxing.scripting import end_events
from workflows.regulation.accountability import active_sanctions

DEPARTMENTS = ["governance", "discipline", "organization", "personnel", "supervision"]


def _actors(county: str, town: str) -> list[Actor]:
    upper_roles = [
        "office_staff",
        "office_director",
        "committee_director",
        "investigation_team",
        "joint_meeting_convener",
        "county_committee",
        "organization_personnel",
        "discipline_supervision",
    ]
    people = [Actor(f"{county}-{role}", frozenset({(role, county)})) for role in upper_roles]
    people += [
        Actor(f"{county}-jm-{d}", frozenset({(f"joint_meeting_member/{d}", county)})) for d in DEPARTMENTS
    ]
    people.append(Actor(f"{town}-leader", frozenset({("unit_principal_leader", town)})))
    people.append(Actor("city-committee", frozenset({("committee_director", CITY)})))
    return people


PEOPLE = _actors(WANCHENG, WANCHENG_TOWN)
WOLONG_PEOPLE = _actors(WOLONG, WOLONG_TOWN)

TODAY = "2026-03-02"
REGISTER = {
    "source": "member_unit",
    "reporter": "市公安局",
    "report_date": TODAY,
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
    "leaders": [{"name": "张三", "position": "党委书记", "responsibility": "principal_leader"}],
}
CIRCULATE = {
    "document_no": "宛综治办〔2026〕1号",
    "circulated_to": ["各乡镇综治办"],
    "copied_to": ["区委组织部"],
    "issued_on": TODAY,
}
INTERVIEW = {
    "held_on": TODAY,
    "interviewer": "李四",
    "interviewees": [{"name": "张三", "position": "党委书记"}],
    "minutes": "分析原因，提出整改要求，限期整改。",
}
MEASURES = {"measures": "加强巡防，完善网格化管理。", "responsible_person": "张三"}
PROGRESS = {"progress": "已完成阶段性整改任务。", "apply_now": False}
APPLY = {"application": "整改期满，申请检查验收。", "applied_on": TODAY}
ACCEPTED = {"accepted": True, "findings": "整改到位。", "inspected_on": TODAY}
APPROVE = {"approved": True, "opinion": "同意"}
PROPOSE = {"opinion": "经核实，建议按规定处理。"}


def verify(
    severity: str,
    aggravating: list[str] | None = None,
    mitigating: list[str] | None = None,
    mitigate: bool = False,
) -> dict[str, Any]:
    return {
        "established": True,
        "severity": severity,
        "aggravating": aggravating or [],
        "mitigating": mitigating or [],
        "mitigate": mitigate,
        "personal_measures_needed": False,
        "reason": "经核实，情况属实。",
    }


class Case:
    """Drives one case: every call is its own session and commit, like separate HTTP requests."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        make_engine: Callable[[Session], Engine],
        clock: ManualClock,
        unit: str = WANCHENG_TOWN,
        people: list[Actor] = PEOPLE,
    ) -> None:
        self.factory, self.make_engine, self.clock, self.people = factory, make_engine, clock, people
        with factory() as s:
            self.id = (
                make_engine(s)
                .start("accountability_case", business_key=f"case-{unit}-{clock.now()}", unit_code=unit)
                .id
            )
            s.commit()

    def ready(self) -> dict[str, Task]:
        with self.factory() as s:
            rows = s.scalars(select(Task).where(Task.instance_id == self.id, Task.state == "ready"))
            return {r.element_id + (f"/{r.role.split('/')[1]}" if "/" in r.role else ""): r for r in rows}

    def who(self, task: Task) -> Actor:
        holders = [p for p in self.people if p.holds(task.role, task.org_code)]
        assert holders, f"nobody holds {task.role} at {task.org_code} for {task.element_id}"
        return holders[0]

    def do(self, element: str, data: dict[str, Any]) -> None:
        ready = self.ready()
        assert element in ready, f"{element} not ready; ready: {sorted(ready)}"
        task = ready[element]
        with self.factory() as s:
            self.make_engine(s).complete_task(task.id, data, self.who(task))
            s.commit()

    def at(self, *args: int) -> None:
        self.clock.set(datetime(*args, tzinfo=CST))  # type: ignore[misc]

    def wake(self) -> list[int]:
        with self.factory() as s:
            return wake_due(s, self.make_engine).woken

    def instance(self) -> ProcessInstance:
        with self.factory() as s:
            inst = s.get(ProcessInstance, self.id)
            assert inst is not None
            return inst

    def events(self, kind: str) -> list[InstanceEvent]:
        with self.factory() as s:
            return list(
                s.scalars(
                    select(InstanceEvent)
                    .where(InstanceEvent.instance_id == self.id, InstanceEvent.kind == kind)
                    .order_by(InstanceEvent.id)
                )
            )

    def intake(self, verification: dict[str, Any]) -> None:
        self.do("register_report", REGISTER)
        self.do("verify_case", verification)

    def approve_level(self, propose: str, approve: str, extra: dict[str, Any] | None = None) -> None:
        self.do(propose, PROPOSE)
        self.do(approve, {**APPROVE, **(extra or {})})

    def listing_decision(self) -> None:
        self.do("investigate_listing", {"findings": "经调查，问题属实，整改不力。", "meets_conditions": True})
        for d in DEPARTMENTS:
            self.do(f"joint_opinion_listing/{d}", {"department_opinion": "agree"})
        self.do("joint_conclusion_listing", {"recommend_listing": True, "conclusion": "建议挂牌督办。"})
        self.do("decide_listing", APPROVE)


@pytest.fixture
def real_definitions(session: Session, engine: Engine) -> Iterator[None]:
    deploy(session, read_project_files(ROOT), engine.checks, created_by="test")
    session.commit()
    yield


@pytest.fixture
def case_factory(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    real_definitions: None,
) -> Callable[..., Case]:
    def make(**kwargs: Any) -> Case:
        return Case(session_factory, make_engine, clock, **kwargs)

    return make


def due(*args: int) -> datetime:
    return datetime(*args, 23, 59, 59, tzinfo=CST)  # type: ignore[misc]


def test_never_rectified_escalates_through_every_level_on_the_exact_dates(
    case_factory: Callable[..., Case], clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("ordinary"))
    assert case.instance().summary["level"] == "notification"

    # Notification (Art. 33, O33.2): decided 3 March → rectify by 3 May.
    case.at(2026, 3, 3, 10, 0)
    case.approve_level("propose_notification", "approve_notification")
    case.do("circulate_notification", CIRCULATE)
    case.do("report_measures_notification", MEASURES)
    assert case.ready()["report_effect_notification"].due_at == due(2026, 5, 3)
    assert case.instance().next_wake_at == due(2026, 5, 3)
    case.at(2026, 5, 3, 23, 59, 58)
    assert case.wake() == []
    case.at(2026, 5, 4, 0, 0, 1)
    assert case.wake() == [case.id]
    assert case.instance().summary["level"] == "interview"
    assert [e.detail["level"] for e in case.events("escalated")] == ["interview"]
    assert "propose_interview" in case.ready()

    # Interview (Art. 34): decided 6 May → measures in 10 working days (9 May is a make-up working day) →
    # 19 May (O34.2); progress 6 June and 6 July (O34.3); rectify by 6 August (O34.4).
    case.at(2026, 5, 6, 10, 0)
    case.approve_level("propose_interview", "approve_interview")
    case.do("hold_interview", INTERVIEW)
    case.do("circulate_interview", CIRCULATE)
    assert case.ready()["report_measures_interview"].due_at == due(2026, 5, 19)
    case.do("report_measures_interview", MEASURES)
    assert case.ready()["report_progress_interview"].due_at == due(2026, 6, 6)
    case.do("report_progress_interview", PROGRESS)
    assert case.ready()["report_progress_interview"].due_at == due(2026, 7, 6)
    case.do("report_progress_interview", PROGRESS)
    assert case.ready()["apply_acceptance_interview"].due_at == due(2026, 8, 6)
    case.at(2026, 8, 7, 0, 0, 1)
    assert case.wake() == [case.id]
    assert case.instance().summary["level"] == "listing"

    # Listing (Art. 35): decided 10 August → rectify by 10 February 2027; sanctions while listed (O35.3).
    case.at(2026, 8, 10, 10, 0)
    case.listing_decision()
    case.do("circulate_listing", CIRCULATE)
    case.do("interview_listed", INTERVIEW)
    assert case.ready()["name_responsible_leader"].org_code == WANCHENG  # Art. 36: the county names one
    case.do(
        "name_responsible_leader",
        {"leader_name": "王五", "leader_position": "区委副书记", "plan": "每月明察暗访一次，跟踪督导整改。"},
    )
    assert case.ready()["report_measures_listing"].due_at == due(2026, 8, 24)
    case.do("report_measures_listing", MEASURES)
    assert case.ready()["report_progress_listing"].due_at == due(2026, 10, 10)
    with session_factory() as s:
        assert [x.kind for x in active_sanctions(s, WANCHENG_TOWN, datetime(2026, 9, 1, tzinfo=CST))] == [
            "listing"
        ]
        assert active_sanctions(s, WANCHENG_TOWN, datetime(2026, 8, 10, 9, 0, tzinfo=CST)) == []
    case.at(2027, 2, 11, 0, 0, 1)
    assert case.wake() == [case.id]
    assert case.instance().summary["level"] == "veto"

    # Veto (Art. 37).
    case.at(2027, 2, 15, 10, 0)
    case.do(
        "propose_veto",
        {"basis": "宛办〔2009〕28号第三条。", "opinion": "挂牌督办期满仍未完成整改，建议一票否决。"},
    )
    case.do("decide_veto", APPROVE)
    case.do("circulate_veto", CIRCULATE)
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "vetoed"
    assert [e.detail["level"] for e in case.events("escalated")] == ["interview", "listing", "veto"]
    with session_factory() as s:
        kinds = [x.kind for x in active_sanctions(s, WANCHENG_TOWN, datetime(2027, 3, 1, tzinfo=CST))]
        assert kinds == ["veto"]  # the listing ended with the veto decision
        assert [x.kind for x in active_sanctions(s, WANCHENG_TOWN, datetime(2027, 2, 12, tzinfo=CST))] == [
            "listing"
        ]


@pytest.mark.parametrize(
    ("verification", "entry"),
    [
        (verify("ordinary"), "notification"),
        (verify("serious"), "interview"),  # Art. 34: 危害严重
        (verify("especially_serious"), "listing"),  # Art. 35
        (verify("especially_serious_veto"), "veto"),  # Art. 37
        (verify("ordinary", aggravating=["obstruction"]), "interview"),  # Art. 40: 从重
        (verify("serious", mitigating=["loss_avoided"], mitigate=True), "notification"),  # Art. 41: 从轻
        (verify("serious", mitigating=["cooperation"], mitigate=False), "interview"),  # 可以: office's choice
        (verify("especially_serious_veto", aggravating=["falsification"]), "veto"),  # bounded
    ],
)
def test_entry_level_by_severity_and_circumstances(
    case_factory: Callable[..., Case], verification: dict[str, Any], entry: str
) -> None:
    case = case_factory()
    case.intake(verification)
    first = {
        "notification": "propose_notification",
        "interview": "propose_interview",
        "listing": "investigate_listing",
        "veto": "propose_veto",
    }[entry]
    assert first in case.ready()
    verified = case.events("case_verified")[0].detail
    assert verified["entry_level"] == entry and verified["reason"] == "经核实，情况属实。"


def test_not_established_closes_without_measure(case_factory: Callable[..., Case]) -> None:
    case = case_factory()
    case.intake({**verify("ordinary"), "established": False})
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "not_established"


def test_rectified_at_notification_closes_there(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    case = case_factory()
    case.intake(verify("ordinary"))
    case.approve_level("propose_notification", "approve_notification")
    case.do("circulate_notification", CIRCULATE)
    case.do("report_measures_notification", MEASURES)
    case.do("report_effect_notification", {"effect": "问题已整改到位，群众满意。", "rectified": True})
    case.do("inspect_notification", ACCEPTED)
    inst = case.instance()
    assert inst.status == "complete" and inst.next_wake_at is None
    assert inst.summary == {
        **inst.summary,
        "level": "notification",
        "outcome": "rectified",
        "stage": "closed",
    }
    assert case.events("escalated") == []


def test_committee_interview_under_notification_when_needed(case_factory: Callable[..., Case]) -> None:
    case = case_factory()
    case.intake(verify("ordinary"))
    case.approve_level("propose_notification", "approve_notification", {"committee_interview": True})
    case.do("circulate_notification", CIRCULATE)
    assert "committee_interview" in case.ready()  # Art. 33: 必要时由综治委进行约谈


def test_rectified_at_interview_and_early_application(case_factory: Callable[..., Case]) -> None:
    case = case_factory()
    case.intake(verify("serious"))
    case.approve_level("propose_interview", "approve_interview", {"interviewer": "committee_director"})
    assert "hold_interview_committee" in case.ready()
    case.do("hold_interview_committee", INTERVIEW)
    case.do("circulate_interview", CIRCULATE)
    case.do("report_measures_interview", MEASURES)
    case.do("report_progress_interview", {**PROGRESS, "apply_now": True})
    case.do("apply_acceptance_interview", APPLY)
    case.do("inspect_interview", {**ACCEPTED, "accepted": False})  # not yet, time left: back to rectification
    assert set(case.ready()) == {"apply_acceptance_interview"}  # measures and early application stand
    case.do("apply_acceptance_interview", APPLY)
    case.do("inspect_interview", ACCEPTED)
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "rectified"
    assert inst.summary["level"] == "interview" and case.events("escalated") == []


def test_rectified_at_listing_is_delisted_after_county_and_city_acceptance(
    case_factory: Callable[..., Case], clock: ManualClock, session_factory: sessionmaker[Session]
) -> None:
    clock.set(datetime(2026, 4, 1, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("especially_serious"))
    case.listing_decision()
    case.do("circulate_listing", CIRCULATE)
    case.do("interview_listed", INTERVIEW)
    case.do(
        "name_responsible_leader",
        {"leader_name": "王五", "leader_position": "区委副书记", "plan": "定期明察暗访，跟踪督导整改。"},
    )
    case.do("report_measures_listing", MEASURES)
    case.do("report_progress_listing", {**PROGRESS, "apply_now": True})
    case.do("apply_acceptance_listing", APPLY)
    county_check = case.ready()["county_check"]
    assert (county_check.role, county_check.org_code) == (
        "county_committee",
        WANCHENG,
    )  # Art. 36: county first
    case.do(
        "county_check",
        {"passed": True, "findings": "整改到位。", "application": "整改已到位，特申请解除挂牌督办。"},
    )
    city = case.ready()["city_acceptance"]
    assert (city.role, city.org_code) == ("committee_director", CITY)  # then the city accepts and delists
    clock.set(datetime(2026, 6, 1, 9, 0, tzinfo=CST))
    case.do("city_acceptance", ACCEPTED)
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "rectified"
    with session_factory() as s:
        assert [x.kind for x in active_sanctions(s, WANCHENG_TOWN, datetime(2026, 5, 1, tzinfo=CST))] == [
            "listing"
        ]
        assert active_sanctions(s, WANCHENG_TOWN, datetime(2026, 6, 1, 9, 0, 1, tzinfo=CST)) == []
        assert active_sanctions(s, WANCHENG_TOWN, datetime(2026, 3, 31, tzinfo=CST)) == []


def test_measures_due_across_national_day(case_factory: Callable[..., Case], clock: ManualClock) -> None:
    """O34.2 across 国庆/中秋 2026: decided 28 Sep → 29, 30 Sep; 8, 9, 10 (make-up Saturday), 12–16 Oct."""
    clock.set(datetime(2026, 9, 28, 10, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("serious"))
    case.approve_level("propose_interview", "approve_interview")
    case.do("hold_interview", INTERVIEW)
    case.do("circulate_interview", CIRCULATE)
    measures = case.ready()["report_measures_interview"]
    assert measures.due_at == due(2026, 10, 16) and not measures.due_provisional


def test_progress_reports_appear_on_schedule_for_listing(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    """O35.4: every two months after the decision (31 Aug → 31 Oct, then 31 Dec)."""
    clock.set(datetime(2026, 8, 31, 10, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("especially_serious"))
    case.listing_decision()
    case.do("circulate_listing", CIRCULATE)
    case.do("interview_listed", INTERVIEW)
    case.do(
        "name_responsible_leader",
        {"leader_name": "王五", "leader_position": "区委副书记", "plan": "定期明察暗访，跟踪督导整改。"},
    )
    case.do("report_measures_listing", MEASURES)
    assert case.ready()["report_progress_listing"].due_at == due(2026, 10, 31)
    case.do("report_progress_listing", PROGRESS)
    assert case.ready()["report_progress_listing"].due_at == due(2026, 12, 31)
    case.do("report_progress_listing", PROGRESS)
    assert case.ready()["apply_acceptance_listing"].due_at == due(2027, 2, 28)  # 31 Aug + 6 months


def test_county_director_sees_and_works_only_own_county(
    case_factory: Callable[..., Case],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
) -> None:
    mine = case_factory()
    theirs = case_factory(unit=WOLONG_TOWN, people=WOLONG_PEOPLE)
    for case in (mine, theirs):
        case.intake(verify("ordinary"))
    wancheng_director = next(p for p in PEOPLE if p.user_id == f"{WANCHENG}-office_director")
    with session_factory() as s:
        visible = {t.instance_id for t in open_tasks_for(s, wancheng_director)}
        assert visible == {mine.id}
        their_task = theirs.ready()["propose_notification"]
        with pytest.raises(NotAuthorized):
            make_engine(s).complete_task(their_task.id, PROPOSE, wancheng_director)
    assert "propose_notification" in theirs.ready()


def test_joint_meeting_opinion_needs_the_departments_member(
    case_factory: Callable[..., Case],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
) -> None:
    case = case_factory()
    case.intake(verify("especially_serious"))
    case.do("investigate_listing", {"findings": "经调查，问题属实，整改不力。", "meets_conditions": True})
    discipline_task = case.ready()["joint_opinion_listing/discipline"]
    governance = next(p for p in PEOPLE if p.user_id.endswith("jm-governance"))
    with session_factory() as s, pytest.raises(NotAuthorized):
        make_engine(s).complete_task(discipline_task.id, {"department_opinion": "agree"}, governance)


def test_personal_measures_are_referred_in_parallel(case_factory: Callable[..., Case]) -> None:
    case = case_factory()
    case.intake({**verify("ordinary"), "personal_measures_needed": True})
    ready = case.ready()
    assert {"prepare_referral", "propose_notification"} <= set(ready)
    case.do(
        "prepare_referral",
        {
            "referred_leaders": [{"name": "张三", "position": "党委书记"}],
            "proposed_measure": "discipline",
            "referral_facts": "对重大案件负有领导责任。",
        },
    )
    assert "handle_by_discipline" in case.ready()
    case.do(
        "handle_by_discipline",
        {"outcome": "discipline", "decided_on": TODAY, "document_no": "宛纪〔2026〕3号"},
    )
    case.do("file_referral", {"filed": True})
    assert [e.detail["outcome"] for e in case.events("personal_measure")] == ["discipline"]
    assert case.instance().status == "running"  # the level procedure goes on


def test_engine_end_events_reported(
    case_factory: Callable[..., Case],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
) -> None:
    case = case_factory()
    case.intake({**verify("ordinary"), "established": False})
    with session_factory() as s:
        wf = make_engine(s).workflow(s.get(ProcessInstance, case.id))  # type: ignore[arg-type]
        assert end_events(wf) == ["EndEvent_case_not_established"]
