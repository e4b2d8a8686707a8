"""The accountability levels of Ch. 5 as the text writes them (Art. 31–41), deployed from bpmn/ and forms/
and driven with a moved clock: a level ends only with a finding after its period (the unit applies in
writing, the body that imposed it inspects), the next level is proposed and approved, deadlines run from the
events the text names, and every ending is a recorded decision. Listing and veto:
tests/test_accountability_listing.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.accountability_driver import (
    APPLY,
    EFFECT,
    FAILED,
    MEASURES,
    PEOPLE,
    PROGRESS,
    PROPOSE,
    WOLONG_PEOPLE,
    Case,
    due,
    interview_on,
    verify,
)
from tests.conftest import WANCHENG, WOLONG_TOWN
from workflows.engine.core import Engine
from workflows.engine.errors import NotAuthorized
from workflows.engine.inbox import open_tasks_for
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.engine.sandboxing.scripting import end_events


def notified_on_16_march(case_factory: Callable[..., Case], clock: ManualClock) -> Case:
    """A notification decided 2026-03-16: rectify by 16 May (Art. 33: two calendar months)."""
    clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("ordinary"))
    case.at(2026, 3, 16, 10, 0)
    case.approve_level("propose_notification", "approve_notification")
    case.issue()
    case.do("report_measures_notification", MEASURES)
    assert case.ready()["report_effect_notification"].due_at == due(2026, 5, 16)
    return case


@pytest.mark.obligation("O33.1", "O33.2", "O34.1")
def test_notification_escalates_only_after_a_failed_inspection_and_the_committees_approval(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    case = notified_on_16_march(case_factory, clock)
    case.at(2026, 5, 17, 0, 0, 1)
    assert case.wake() == [case.id]  # the period is over: the check opens, nothing escalates
    assert case.level() == "notification"
    assert case.steps() == {"apply_acceptance_notification"}
    # The window for the written application: 10 PRC working days after the period (default).
    assert case.ready()["apply_acceptance_notification"].due_at == due(2026, 5, 29)
    case.at(2026, 5, 25, 9, 0)
    assert case.wake() == [] and case.level() == "notification" and case.events("escalated") == []

    case.do("apply_acceptance_notification", APPLY)
    assert case.ready()["inspect_notification"].org_code == WANCHENG
    case.do("inspect_notification", FAILED)  # the finding: target not completed on time
    assert [e.detail["level"] for e in case.events("escalated")] == ["interview"]
    assert case.level() == "interview" and case.steps() == {"propose_interview"}
    case.do("propose_interview", PROPOSE)
    assert case.steps() == {"approve_interview"}  # the committee approves before anyone is interviewed
    case.do("approve_interview", {"approved": True, "opinion": "同意约谈"})
    assert case.steps() == {"draft_document"}  # the interview notice (约谈通知书) first
    notice = case.issue()
    assert notice.kind == "interview_notice" and notice.number == "宛区综治办〔2026〕1号"
    assert case.steps() == {"hold_interview"}


@pytest.mark.obligation("O33.2")
def test_no_application_within_the_window_gives_the_office_its_task(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    case = notified_on_16_march(case_factory, clock)
    case.at(2026, 5, 17, 0, 0, 1)
    case.wake()
    case.at(2026, 5, 29, 23, 59, 58)
    assert case.wake() == [] and case.steps() == {"apply_acceptance_notification"}
    case.at(2026, 5, 30, 0, 0, 1)
    assert case.wake() == [case.id]
    task = case.ready()["no_application_notification"]
    assert (task.role, task.org_code) == ("office_director", WANCHENG)
    assert case.level() == "notification" and case.events("escalated") == []
    case.do(
        "no_application_notification",
        {"no_application_decision": "not_rectified", "findings": "逾期未申请，经核实未完成整改。"},
    )
    assert case.level() == "interview" and case.steps() == {"propose_interview"}


@pytest.mark.obligation("O33.2")
def test_office_may_inspect_when_no_application_came(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    case = notified_on_16_march(case_factory, clock)
    case.at(2026, 6, 1, 9, 0)
    case.wake()  # period and window both over in one wake-up
    case.do("no_application_notification", {"no_application_decision": "inspect", "findings": "组织检查。"})
    case.do("inspect_notification", {**FAILED, "accepted": True, "findings": "经检查整改到位。"})
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "rectified"
    assert case.events("case_concluded")[0].detail["obligations"] == "fulfilled"


@pytest.mark.obligation("O33.2")
def test_rectified_at_notification_closes_there(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    case = notified_on_16_march(case_factory, clock)
    case.do("report_effect_notification", EFFECT)
    case.do("apply_acceptance_notification", APPLY)
    case.do("inspect_notification", {**FAILED, "accepted": True, "findings": "整改到位。"})
    inst = case.instance()
    assert inst.status == "complete" and inst.next_wake_at is None
    assert (inst.summary["level"], inst.summary["outcome"]) == ("notification", "rectified")
    assert case.events("escalated") == [] and "record_finding" not in case.ready()


@pytest.mark.obligation("O34.1", "O34.2", "O34.3")
def test_interview_deadlines_run_from_the_interview(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    clock.set(datetime(2026, 9, 14, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("serious"))  # Art. 34: 危害严重 enters at interview
    case.approve_level("propose_interview", "approve_interview")
    case.at(2026, 9, 28, 15, 0)
    case.issue()  # the interview notice (约谈通知书)
    case.do("hold_interview", interview_on("2026-09-28"))
    case.issue()
    # 10 PRC working days after the interview, across National Day (10 October 2026 is a make-up day).
    assert case.ready()["report_measures_interview"].due_at == due(2026, 10, 16)
    held = case.events("interview_held")[0].detail
    assert held["measures_due"] == due(2026, 10, 16).isoformat()
    assert held["rectify_due"] == due(2026, 12, 28).isoformat()  # three months from the interview
    case.do("report_measures_interview", MEASURES)
    assert case.ready()["report_progress_interview"].due_at == due(2026, 10, 28)
    case.do("report_progress_interview", PROGRESS)
    assert case.ready()["report_progress_interview"].due_at == due(2026, 11, 28)


@pytest.mark.obligation("O34.4")
def test_an_early_failed_inspection_means_more_rectification_not_escalation(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("serious"))
    case.approve_level("propose_interview", "approve_interview")
    case.issue()  # the interview notice (约谈通知书)
    case.at(2026, 3, 3, 9, 0)
    case.do("hold_interview", interview_on("2026-03-03"))
    case.issue()
    case.do("report_measures_interview", MEASURES)
    case.do("report_progress_interview", {**PROGRESS, "apply_now": True})
    case.do("apply_acceptance_interview", APPLY)
    case.at(2026, 4, 10, 9, 0)
    case.do("inspect_interview", FAILED)
    assert case.events("escalated") == [] and case.level() == "interview"
    assert case.steps() == {"report_progress_interview"}  # back to rectifying; measures are on file
    assert len(case.events("rectification_continued")) == 1
    # The period (3 June) ends: the check opens; the unit applies; the failed inspection is the finding.
    case.at(2026, 6, 4, 0, 0, 1)
    case.wake()
    assert case.steps() == {"apply_acceptance_interview"} and case.level() == "interview"
    case.do("apply_acceptance_interview", APPLY)
    case.do("inspect_interview", FAILED)
    assert case.level() == "listing" and case.steps() == {"investigate_listing"}


@pytest.mark.obligation("O40.1")
def test_obstruction_found_at_the_interview_stage_raises_the_level_by_decision(
    case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    case = case_factory()
    case.intake(verify("serious"))
    case.approve_level("propose_interview", "approve_interview")
    case.issue()  # the interview notice (约谈通知书)
    case.do("hold_interview", interview_on("2026-03-02"))
    case.issue()
    assert case.ready()["record_finding"].org_code == WANCHENG  # the office, at any stage
    case.finding(
        {
            "finding_kind": "aggravating",
            "finding_items": ["obstruction"],
            "finding_facts": "被约谈单位干扰、阻碍调查，拒不提供材料。",
            "propose_level_change": True,
        }
    )
    assert case.level() == "interview" and "report_measures_interview" in case.ready()  # not yet decided
    case.do(
        "decide_level_change", {"change_approved": True, "change_opinion": "依第四十条从重，升级为挂牌督办。"}
    )
    assert case.level() == "listing" and case.steps() == {"investigate_listing"}
    changed = case.events("level_changed")[0].detail
    assert (changed["direction"], changed["previous"], changed["level"]) == ("raise", "interview", "listing")
    assert changed["reason"] == "依第四十条从重，升级为挂牌督办。"
    assert case.events("level_change_decided")[0].detail["items"] == ["obstruction"]
    assert "record_finding" in case.ready()  # still open for the next finding


@pytest.mark.obligation("O41.1")
def test_mitigation_refused_is_recorded_and_changes_nothing(case_factory: Callable[..., Case]) -> None:
    case = case_factory()
    case.intake(verify("serious"))
    case.finding(
        {
            "finding_kind": "mitigating",
            "finding_items": ["cooperation"],
            "finding_facts": "积极配合调查，主动承担责任。",
            "propose_level_change": True,
        }
    )
    case.do("decide_level_change", {"change_approved": False, "change_opinion": "从轻理由不足。"})
    assert case.level() == "interview" and "approve_interview" in case.ready()  # intake proposed it
    assert case.events("level_change_refused")[0].detail["reason"] == "从轻理由不足。"
    assert case.events("level_changed") == []


def test_a_finding_of_the_wrong_kind_is_refused(case_factory: Callable[..., Case]) -> None:
    from workflows.engine.errors import FormInvalid

    case = case_factory()
    case.intake(verify("ordinary"))
    with pytest.raises(FormInvalid) as err:
        case.finding(
            {"finding_kind": "aggravating", "finding_items": ["cooperation"], "finding_facts": "情节说明。"}
        )
    assert "finding_items/0" in err.value.errors
    with pytest.raises(FormInvalid) as err:
        case.finding({"finding_kind": "personal_measures", "finding_facts": "需追究个人责任。"})
    assert "personal_measures" in err.value.errors


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
@pytest.mark.obligation("O31.1", "O32.1", "O40.1", "O41.1", "O38.1")
def test_entry_level_by_severity_and_circumstances(
    case_factory: Callable[..., Case], verification: dict[str, Any], entry: str
) -> None:
    case = case_factory()
    case.intake(verification)
    first = {
        # The intake's verification is the office's proposal (Art. 33: 核实并提出意见, once): approval next.
        "notification": "approve_notification",
        "interview": "approve_interview",
        "listing": "investigate_listing",
        "veto": "propose_veto",
    }[entry]
    assert case.steps() == {first}
    verified = case.events("case_verified")[0].detail
    assert verified["entry_level"] == entry and verified["reason"] == "经核实，情况属实。"


@pytest.mark.obligation("O32.1")
def test_not_established_closes_with_the_decision_and_its_reason(
    case_factory: Callable[..., Case],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
) -> None:
    case = case_factory()
    case.intake({"established": False, "reason": "经核实，反映情况不属实。"})  # nothing more is asked
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "not_established"
    concluded = case.events("case_concluded")[0].detail
    assert (concluded["reason"], concluded["obligations"]) == ("经核实，反映情况不属实。", "none")
    with session_factory() as s:
        wf = make_engine(s).workflow(s.get(ProcessInstance, case.id))  # type: ignore[arg-type]
        assert end_events(wf) == ["EndEvent_case_not_established"]


@pytest.mark.obligation("O32.1", "O33.1")
def test_notification_refused_at_entry_closes_with_reasons_and_no_obligation(
    case_factory: Callable[..., Case],
) -> None:
    case = case_factory()
    case.intake(verify("ordinary"))
    case.do("approve_notification", {"approved": False, "opinion": "情节轻微，已当场纠正，不予通报。"})
    inst = case.instance()
    assert inst.status == "complete" and inst.summary["outcome"] == "not_approved"
    concluded = case.events("case_concluded")[0].detail
    assert concluded["obligations"] == "none" and concluded["reason"] == "情节轻微，已当场纠正，不予通报。"


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
        their_task = theirs.ready()["record_finding"]  # the office's standing task of 卧龙区's case
        with pytest.raises(NotAuthorized):
            make_engine(s).complete_task(their_task.id, {}, wancheng_director)
    assert "record_finding" in theirs.ready()
