"""Obligations of the annual cycle that bpmn/annual_*.bpmn carries but tests/test_annual_cycle.py does not
assert on its own: the letter's targets (Art. 7, 13), the plenary (Art. 25), the year-end summaries and
debriefings (Art. 14–16), the report of the assessment (Art. 20) and member units' reports (Art. 15). Each
test drives the deployed diagrams with a moved clock, as tests/test_annual_cycle.py does, and is marked with
the obligations it checks (docs/traceability.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import CITY, CITY_DIRECT, ROOT, WANCHENG, WOLONG
from tests.test_annual_cycle import (
    APPROVE,
    DEBRIEFING,
    DEPARTMENTS,
    DRAFT,
    PLENARY,
    SUMMARY,
    YEAR,
    Year,
    end_of,
    scores,
)
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy, read_project_files
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance
from workflows.regulation.annual import start_report_filing
from workflows.regulation.annual_queries import duty_flags

REPORT = {
    "document_no": "宛综治委〔2026〕12号",
    "reported_to": ["party_committee", "government"],
    "circulated_to": ["各县(区)综治委", "市综治委各成员单位"],
    "issued_on": "2026-12-25",
}


@pytest.fixture
def cycle(
    session: Session,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
) -> Iterator[Year]:
    deploy(session, read_project_files(ROOT), make_engine(session).checks, created_by="test")
    session.commit()
    clock.set(datetime(YEAR, 1, 5, 9, 0, tzinfo=CST))
    yield Year(session_factory, make_engine, clock)


def completed_data(year: Year, instance_id: int, element: str) -> list[dict[str, Any]]:
    """What the working file keeps of each completion of ``element`` (the submitted form)."""
    with year.factory() as s:
        rows = s.scalars(
            select(InstanceEvent).where(
                InstanceEvent.instance_id == instance_id,
                InstanceEvent.kind == "task_completed",
                InstanceEvent.element_id == element,
            )
        )
        return [r.detail["data"] for r in rows]


@pytest.mark.obligation("O7.1", "O7.4", "O13.1")
def test_letters_carry_the_drafted_key_tasks_and_a_security_target_of_at_least_90(cycle: Year) -> None:
    """Art. 7(1), 7(4), 13: the office puts the year's governance work into key tasks and checkable
    targets, with a public sense of security of 90% or more; a lower target is refused and nothing is lost;
    the approved draft is what every subordinate unit is asked to sign."""
    city = cycle.start()
    draft = cycle.task(city, "draft_letters")
    assert (draft.role, draft.org_code, draft.article) == (
        "office_staff",
        CITY,
        "Art. 13 (O13.1), Art. 7 (O7.1, O7.4)",
    )
    with pytest.raises(FormInvalid) as refused:
        cycle.do(city, "draft_letters", {**DRAFT, "security_target_percent": 85})
    assert "security_target_percent" in refused.value.errors
    assert cycle.task(city, "draft_letters").id == draft.id  # still waiting, same task
    with pytest.raises(FormInvalid):
        cycle.do(city, "draft_letters", {**DRAFT, "key_tasks": []})
    cycle.do(city, "draft_letters", DRAFT)
    cycle.do(city, "approve_letters", APPROVE)
    for unit in (WANCHENG, WOLONG, CITY_DIRECT):
        letter = cycle.letter(unit)
        with cycle.factory() as s:
            wf = cycle.make_engine(s).workflow(s.get(ProcessInstance, letter.id))  # type: ignore[arg-type]
            sign = next(t for t in wf.get_tasks() if getattr(t.task_spec, "bpmn_id", None) == "sign_letter")
        assert (sign.data["key_tasks"], sign.data["targets"]) == (DRAFT["key_tasks"], DRAFT["targets"])
        assert sign.data["security_target_percent"] == 92


@pytest.mark.obligation("O25.1")
def test_plenary_is_due_by_31_december_and_flagged_when_the_year_ends_without_one(cycle: Year) -> None:
    """Art. 25: at least one plenary or enlarged meeting a year. The task waits all year, due 31 December;
    when the year ends with none on record the cycle flags it, the task stays open, and a meeting recorded
    afterwards is on file as late."""
    city = cycle.start()
    cycle.letters_issued(city)
    plenary = cycle.task(city, "record_plenary")
    assert (plenary.role, plenary.org_code, plenary.due_at) == ("office_staff", CITY, end_of(12, 31))
    cycle.at(YEAR, 12, 31, 23, 59, 58)
    cycle.wake()
    with cycle.factory() as s:
        assert (CITY, "plenary") not in duty_flags(s, YEAR)
    cycle.at(YEAR + 1, 1, 1, 0, 0, 1)
    cycle.wake()
    with cycle.factory() as s:
        assert (CITY, "plenary") in duty_flags(s, YEAR)
    assert cycle.task(city, "record_plenary").id == plenary.id  # still possible to record
    cycle.at(YEAR + 1, 1, 8, 10, 0)
    cycle.do(city, "record_plenary", {**PLENARY, "held_on": "2027-01-08"})
    done = [e for e in cycle.events(city, "duty_done") if e["duty"] == "plenary"]
    assert done == [{"year": YEAR, "duty": "plenary", "on": "2027-01-08", "meeting": "plenary", "late": True}]


@pytest.mark.obligation("O15.3", "O16.1", "O14.1")
def test_year_end_summaries_and_debriefings(cycle: Year) -> None:
    """Art. 15: every member unit (for the city: its city-direct units) sends its annual summary before the
    year ends; Art. 16, 14: the members' debriefings are recorded, with the standing committee's report on
    executing the responsibility system — a debriefing record without it is refused."""
    city = cycle.start()
    cycle.letters_issued(city)
    cycle.at(YEAR, 10, 31, 10, 0)
    cycle.wake()
    assert cycle.tasks(city, "submit_annual_summary") == []  # the year-end work opens on 1 November
    cycle.at(YEAR, 11, 1, 9, 0, 1)
    cycle.wake()
    summaries = cycle.tasks(city, "submit_annual_summary")
    assert [(t.unit_code, t.role, t.org_code, t.due_at) for t in summaries] == [
        (CITY_DIRECT, "member_unit", CITY_DIRECT, end_of(12, 31))
    ]
    cycle.at(YEAR, 12, 18, 10, 0)
    cycle.do(city, "submit_annual_summary", SUMMARY, unit=CITY_DIRECT)
    sent = [e for e in cycle.events(city, "duty_done") if e["duty"] == "annual_summary"]
    assert [(e["unit_code"], e["late"]) for e in sent] == [(CITY_DIRECT, False)]
    assert completed_data(cycle, city, "submit_annual_summary") == [SUMMARY]

    debriefing = cycle.task(city, "record_debriefings")
    assert (debriefing.role, debriefing.org_code, debriefing.due_at) == ("office_staff", CITY, end_of(12, 31))
    without = {k: v for k, v in DEBRIEFING.items() if k != "standing_committee_report"}
    with pytest.raises(FormInvalid) as refused:
        cycle.do(city, "record_debriefings", without)
    assert "standing_committee_report" in refused.value.errors
    cycle.do(city, "record_debriefings", DEBRIEFING)
    recorded = [e for e in cycle.events(city, "duty_done") if e["duty"] == "debriefing"]
    assert [(e["format"], e["members"], e["late"]) for e in recorded] == [("mixed", 1, False)]
    assert completed_data(cycle, city, "record_debriefings")[0]["standing_committee_report"] is True


@pytest.mark.obligation("O20.4")
def test_the_assessment_is_reported_to_party_committee_and_government_and_circulated(cycle: Year) -> None:
    """Art. 20: once the committee has decided the grades, the office reports them to the party committee
    and the government and circulates them, by 31 December; a report naming no recipient is refused."""
    city = cycle.start()
    cycle.letters_issued(city)
    cycle.at(YEAR, 11, 1, 9, 0, 1)
    cycle.wake()
    cycle.at(YEAR, 12, 5, 10, 0)
    for unit in (CITY_DIRECT, WANCHENG, WOLONG):
        cycle.do(city, "assess_unit", scores(92, 90, 91), unit=unit)
    assert cycle.tasks(city, "report_assessment") == []  # nothing to report before the decision
    for d in DEPARTMENTS:
        opinion = {"department_opinion": "agree"}
        cycle.do(city, "joint_opinion_assessment", opinion, role=f"joint_meeting_member/{d}")
    cycle.do(city, "joint_conclusion_assessment", {"conclusion": "同意按规则提出的考核等次。"})
    cycle.do(city, "decide_assessment", {"opinion": "同意。", "decided_on": "2026-12-20"})
    report = cycle.task(city, "report_assessment")
    assert (report.role, report.org_code, report.due_at) == ("office_director", CITY, end_of(12, 31))
    with pytest.raises(FormInvalid) as refused:
        cycle.do(city, "report_assessment", {**REPORT, "reported_to": []})
    assert "reported_to" in refused.value.errors
    cycle.at(YEAR, 12, 25, 10, 0)
    cycle.do(city, "report_assessment", REPORT)
    assert cycle.events(city, "assessment_reported") == [
        {"year": YEAR, "document_no": REPORT["document_no"], "late": False, "stage": "reported"}
    ]
    filed = completed_data(cycle, city, "report_assessment")[0]
    assert (filed["reported_to"], filed["circulated_to"]) == (REPORT["reported_to"], REPORT["circulated_to"])


def _file(cycle: Year, kind: str, title: str) -> int:
    with cycle.factory() as s:
        member = Actor("cd01", frozenset({("member_unit", CITY_DIRECT)}))
        filing = start_report_filing(cycle.make_engine(s), CITY_DIRECT, member)
        s.commit()
        filing_id = filing.id
    cycle.do(filing_id, "file_report", {"report_kind": kind, "title": title, "content": f"{title}……"})
    return filing_id


@pytest.mark.obligation("O15.1", "O15.2")
def test_member_unit_reports_are_acknowledged_within_one_or_five_working_days(cycle: Year) -> None:
    """Art. 15: a member unit reports an important situation at once and work information at any time, to the
    office above it; the office acknowledges the first within one PRC working day and the second within five.
    Filed on Thursday 30 April 2026, before the 1–5 May holiday: the next working day is 6 May; five working
    days end on Monday 11 May (Saturday 9 May is a make-up working day)."""
    cycle.at(YEAR, 4, 30, 16, 0)
    urgent = _file(cycle, "important_situation", "辖区发生聚集事件")
    info = _file(cycle, "work_information", "一季度矛盾纠纷排查情况")
    due = {i: cycle.task(i, "receive_report") for i in (urgent, info)}
    assert {(t.role, t.org_code) for t in due.values()} == {("office_staff", CITY)}
    assert (due[urgent].due_at, due[info].due_at) == (end_of(5, 6), end_of(5, 11))
    cycle.at(YEAR, 5, 6, 10, 0)
    cycle.do(urgent, "receive_report", {"handling": "noted"})
    cycle.at(YEAR, 5, 12, 10, 0)  # a day after the five working days
    cycle.do(info, "receive_report", {"handling": "instructed", "instructions": "请继续跟踪。"})
    received = {i: cycle.events(i, "report_received")[0] for i in (urgent, info)}
    assert [(r["report_kind"], r["late"]) for r in received.values()] == [
        ("important_situation", False),
        ("work_information", True),
    ]
    with cycle.factory() as s:
        assert {s.get(ProcessInstance, i).status for i in (urgent, info)} == {"complete"}  # type: ignore[union-attr]
