"""Obligations of the annual cycle that bpmn/annual_*.bpmn carries but tests/test_annual_cycle.py does not
assert on its own: the letter's targets (Art. 7, 13), the plenary (Art. 25), the year-end summaries and
debriefings (Art. 14–16), the report of the assessment (Art. 20) and member units' reports (Art. 15). Each
test drives the deployed diagrams with a moved clock, as tests/test_annual_year.py does, and is marked with
the obligations it checks (docs/traceability.md)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.annual_driver import (
    APPROVE,
    DEBRIEFING,
    DEPARTMENTS,
    DRAFT,
    SUMMARY,
    YEAR,
    Year,
    end_of,
    scores,
)
from tests.conftest import CITY, CITY_DIRECT, WANCHENG, WOLONG
from workflows.engine.actors import Actor
from workflows.engine.errors import FormInvalid
from workflows.engine.models import InstanceEvent, ProcessInstance
from workflows.regulation.annual import start_report_filing
from workflows.regulation.rectification import RectificationItem

REPORT = {"reported_to": ["party_committee", "government"]}


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
def test_letters_carry_the_drafted_key_tasks_and_a_security_target_of_at_least_90(year: Year) -> None:
    """Art. 7(1), 7(4), 13: the office puts the year's governance work into key tasks and checkable
    targets, with a public sense of security of 90% or more; a lower target is refused and nothing is lost;
    the approved draft is what every subordinate unit is asked to sign."""
    city = year.start()
    draft = year.task(city, "draft_letters")
    assert (draft.role, draft.org_code, draft.article) == (
        "office_staff",
        CITY,
        "Art. 13 (O13.1), Art. 7 (O7.1, O7.4)",
    )
    with pytest.raises(FormInvalid) as refused:
        year.do(city, "draft_letters", {**DRAFT, "security_target_percent": 85})
    assert "security_target_percent" in refused.value.errors
    assert year.task(city, "draft_letters").id == draft.id  # still waiting, same task
    with pytest.raises(FormInvalid):
        year.do(city, "draft_letters", {**DRAFT, "key_tasks": []})
    year.do(city, "draft_letters", DRAFT)
    year.do(city, "approve_letters", APPROVE)
    for unit in (WANCHENG, WOLONG, CITY_DIRECT):
        letter = year.letter(unit)
        with year.factory() as s:
            wf = year.make_engine(s).workflow(s.get(ProcessInstance, letter.id))  # type: ignore[arg-type]
            sign = next(t for t in wf.get_tasks() if getattr(t.task_spec, "bpmn_id", None) == "sign_letter")
        assert (sign.data["key_tasks"], sign.data["targets"]) == (DRAFT["key_tasks"], DRAFT["targets"])
        assert sign.data["security_target_percent"] == 92


@pytest.mark.obligation("O15.3", "O16.1", "O14.1")
def test_year_end_summaries_and_debriefings(year: Year) -> None:
    """Art. 15: every member unit (for the city: its city-direct units) sends its annual summary before the
    year ends; Art. 16, 14: the members' debriefings are recorded, with the standing committee's report on
    executing the responsibility system — a debriefing record without it is refused."""
    city = year.start()
    year.letters_issued(city)
    year.at(YEAR, 10, 31, 10, 0)
    year.wake()
    assert year.tasks(city, "submit_annual_summary") == []  # the year-end work opens on 1 November
    year.at(YEAR, 11, 1, 9, 0, 1)
    year.wake()
    summaries = year.tasks(city, "submit_annual_summary")
    assert [(t.unit_code, t.role, t.org_code, t.due_at) for t in summaries] == [
        (CITY_DIRECT, "member_unit", CITY_DIRECT, end_of(12, 10))  # before the scoring (Art. 20)
    ]
    year.at(YEAR, 12, 8, 10, 0)
    year.do(city, "submit_annual_summary", SUMMARY, unit=CITY_DIRECT)
    sent = [e for e in year.events(city, "duty_done") if e["duty"] == "annual_summary"]
    assert [(e["unit_code"], e["late"]) for e in sent] == [(CITY_DIRECT, False)]
    assert completed_data(year, city, "submit_annual_summary") == [SUMMARY]

    debriefing = year.task(city, "record_debriefings")
    assert (debriefing.role, debriefing.org_code, debriefing.due_at) == ("office_staff", CITY, end_of(12, 10))
    without = {k: v for k, v in DEBRIEFING.items() if k != "standing_committee_report"}
    with pytest.raises(FormInvalid) as refused:
        year.do(city, "record_debriefings", without)
    assert "standing_committee_report" in refused.value.errors
    year.do(city, "record_debriefings", DEBRIEFING)
    recorded = [e for e in year.events(city, "duty_done") if e["duty"] == "debriefing"]
    assert [(e["format"], e["members"], e["late"]) for e in recorded] == [("mixed", 1, False)]
    assert completed_data(year, city, "record_debriefings")[0]["standing_committee_report"] is True


@pytest.mark.obligation("O20.4")
def test_the_assessment_is_reported_to_party_committee_and_government_and_circulated(year: Year) -> None:
    """Art. 20: once the committee has decided the grades, the office reports them to the party committee
    and the government and circulates them, by 31 December; a report naming no recipient is refused."""
    city = year.start()
    year.letters_issued(city)
    year.at(YEAR, 11, 1, 9, 0, 1)
    year.wake()
    year.at(YEAR, 12, 5, 10, 0)
    assert year.tasks(city, "assess_unit") == []  # scoring waits for the summaries and reports
    year.year_end_reports(city)
    for unit in (CITY_DIRECT, WANCHENG, WOLONG):
        year.do(city, "assess_unit", scores(92, 90, 91), unit=unit)
    assert year.tasks(city, "report_assessment") == []  # nothing to report before the decision
    for d in DEPARTMENTS:
        opinion = {"department_opinion": "agree"}
        year.do(city, "joint_opinion_assessment", opinion, role=f"joint_meeting_member/{d}")
    year.do(city, "joint_conclusion_assessment", {"conclusion": "同意按规则提出的考核等次。"})
    year.at(YEAR, 12, 20, 10, 0)  # the committee decides on the day it records
    year.do(city, "decide_assessment", {"opinion": "同意。", "decided_on": "2026-12-20"})
    report = year.task(city, "report_assessment")
    assert (report.role, report.org_code, report.due_at) == ("office_director", CITY, end_of(12, 31))
    with pytest.raises(FormInvalid) as refused:
        year.do(city, "report_assessment", {**REPORT, "reported_to": []})
    assert "reported_to" in refused.value.errors
    year.at(YEAR, 12, 25, 10, 0)
    item = {
        "unit_code": WOLONG,
        "problem": "台账不全，限期补齐。",
        "owner": "王五",
        "owner_post": "区综治办主任",
    }
    items = [{**item, "due_on": "2027-01-31"}]
    year.do(city, "report_assessment", {**REPORT, "rectification_items": items})
    results = year.issue(city)  # the 考核结果通报, circulated (Art. 20)
    assert results.main_recipients == ["各县（市、区）党委、政府，市直各单位", "南阳市综治委各成员单位"]
    assert results.copied_to == ["中共南阳市委", "南阳市人民政府"]
    graded = [p for p in results.body if p.startswith(("一、", "二、", "三、")) and "等次。" in p]
    assert graded and all(name in "".join(graded) for name in ("宛城区", "卧龙区", "市公安局")), results.body
    with year.factory() as s:  # each problem found is an item with its owner and deadline (Art. 20)
        query = select(RectificationItem).where(RectificationItem.source_instance_id == city)
        rows = [(r.unit_code, r.owner, r.source, r.status) for r in s.scalars(query)]
    assert rows == [(WOLONG, "王五", "assessment", "open")]
    assert year.events(city, "assessment_reported") == [{"year": YEAR, "late": False, "stage": "reported"}]
    filed = completed_data(year, city, "report_assessment")[0]
    assert filed["reported_to"] == REPORT["reported_to"]


def _file(year: Year, kind: str, title: str) -> int:
    with year.factory() as s:
        member = Actor("cd01", frozenset({("member_unit", CITY_DIRECT)}))
        filing = start_report_filing(year.make_engine(s), CITY_DIRECT, member)
        s.commit()
        filing_id = filing.id
    year.do(filing_id, "file_report", {"report_kind": kind, "title": title, "content": f"{title}……"})
    return filing_id


@pytest.mark.obligation("O15.1", "O15.2")
def test_member_unit_reports_are_acknowledged_within_one_or_five_working_days(year: Year) -> None:
    """Art. 15: a member unit reports an important situation at once and work information at any time, to the
    office above it; the office acknowledges the first within one PRC working day and the second within five.
    Filed on Thursday 30 April 2026, before the 1–5 May holiday: the next working day is 6 May; five working
    days end on Monday 11 May (Saturday 9 May is a make-up working day)."""
    year.at(YEAR, 4, 30, 16, 0)
    urgent = _file(year, "important_situation", "辖区发生聚集事件")
    info = _file(year, "work_information", "一季度矛盾纠纷排查情况")
    due = {i: year.task(i, "receive_report") for i in (urgent, info)}
    assert {(t.role, t.org_code) for t in due.values()} == {("office_staff", CITY)}
    assert (due[urgent].due_at, due[info].due_at) == (end_of(5, 6), end_of(5, 11))
    year.at(YEAR, 5, 6, 10, 0)
    year.do(urgent, "receive_report", {"handling": "noted"})
    year.at(YEAR, 5, 12, 10, 0)  # a day after the five working days
    year.do(info, "receive_report", {"handling": "instructed", "instructions": "请继续跟踪。"})
    received = {i: year.events(i, "report_received")[0] for i in (urgent, info)}
    assert [(r["report_kind"], r["late"]) for r in received.values()] == [
        ("important_situation", False),
        ("work_information", True),
    ]
    with year.factory() as s:
        assert {s.get(ProcessInstance, i).status for i in (urgent, info)} == {"complete"}  # type: ignore[union-attr]
