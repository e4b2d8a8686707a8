"""The annual cycle (Art. 7–25) as deployed from bpmn/ and forms/, driven through a whole year with a moved
clock by tests/annual_driver.py: the year's letters, hearings, plenary, inspections and assessment, a grade
the committee adjusts, a member unit's report that opens a case, and the forms and diagrams holding what the
diagrams read and citing the articles."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.annual_driver import (
    AMEND,
    ANNUAL_REPORT,
    DEBRIEFING,
    DEPARTMENTS,
    DRAFT,
    FOUND,
    HEARING,
    NOTHING_FOUND,
    PLAN_ALL,
    PLENARY_REPORT,
    REVISE,
    SIGN,
    SUMMARY,
    YEAR,
    Year,
    end_of,
    scores,
)
from tests.conftest import CITY, CITY_DIRECT, ROOT, WANCHENG, WANCHENG_TOWN, WOLONG, WOLONG_TOWN
from workflows.engine.actors import Actor
from workflows.engine.deploy.forms import parse_form
from workflows.engine.errors import ProcessFailed
from workflows.engine.models import ProcessInstance
from workflows.regulation.annual import start_report_filing
from workflows.regulation.annual_queries import (
    cycles,
    dashboard_stats,
    duty_flags,
    findings,
    grade_counts,
    grades,
    letter_progress,
    letters,
    linked_instances,
    performance_records,
    salary_list,
)
from workflows.regulation.roles import load_org


@pytest.mark.obligation(
    "O13.1", "O13.2", "O9.3", "O18.1", "O17.1", "O18.2", "O20.1", "O20.2", "O20.3", "O22.1", "O24.1", "O31.8"
)
def test_a_whole_year(year: Year, session_factory: sessionmaker[Session]) -> None:
    """Art. 7–25 over one year: letters cascade city → county → township (Art. 13, O13.1, O13.2), a late
    township is flagged, half-year hearings (Art. 9(3), O9.3) and the plenary (Art. 25, O25.1) are
    recorded or flagged, the mid-year inspection opens a case (Art. 18, 31; O18.1), and the year-end
    assessment (Art. 18–20, 24; O18.2, O20.1, O20.2, O24.1) grades the units with its outcomes: salary
    list (O20.3), performance records (Art. 22, O22.1) and a case for the unqualified unit (Art. 31(8),
    O31.8); the county reports to the city (Art. 17, O17.1)."""
    # -- Q1: letters (Art. 13) ------------------------------------------------------------------------------
    city = year.start()
    assert year.start() == city  # idempotent: the 1 January job and the office never make two cycles
    year.do(city, "draft_letters", DRAFT)
    year.do(city, "approve_letters", {"approved": False, "opinion": "目标需进一步量化。"})  # sent back
    year.letters_issued(city)
    with session_factory() as s:
        issued = letters(s, YEAR, CITY)
        assert [(r.unit_code, r.status) for r in issued] == [
            (WANCHENG, "issued"),
            (WOLONG, "issued"),
            (CITY_DIRECT, "issued"),
        ]
        assert all(r.due_at == end_of(3, 31) for r in issued)
    for unit in (WANCHENG, WOLONG, CITY_DIRECT):
        letter = year.letter(unit)
        assert letter.parent_instance_id == city
        sign = year.task(letter.id, "sign_letter")
        assert (sign.role, sign.org_code, sign.due_at) == ("unit_principal_leader", unit, end_of(3, 31))
        assert sign.remind_at is not None and sign.remind_at < sign.due_at  # reminders before the deadline

    # 层层签订: each county's own cycle starts when the city issues its letter, linked to the city's, so the
    # townships' letters never wait for the county's signature.
    wancheng = year.cycle(WANCHENG)
    assert wancheng.parent_instance_id == city and year.tasks(wancheng.id, "draft_letters")
    year.at(YEAR, 1, 20, 10, 0)
    year.do(year.letter(WANCHENG).id, "sign_letter", SIGN)
    # 卧龙区 asks for an amendment: the city office revises for 卧龙区 alone, 卧龙区 signs the revision.
    wolong_letter = year.letter(WOLONG).id
    year.do(wolong_letter, "sign_letter", AMEND)
    revise = year.task(wolong_letter, "revise_letter")
    assert (revise.role, revise.org_code) == ("office_staff", CITY)
    year.do(year.letter(CITY_DIRECT).id, "sign_letter", SIGN)  # not held up by 卧龙区's amendment
    year.do(wolong_letter, "revise_letter", REVISE)
    year.at(YEAR, 2, 10, 10, 0)
    year.do(wolong_letter, "sign_letter", SIGN)
    wolong = year.cycle(WOLONG)
    with session_factory() as s:
        row = {r.unit_code: r for r in letters(s, YEAR, CITY)}[WOLONG]
        assert (row.status, row.amendments, row.late, row.unit_cycle_instance_id) == (
            "signed",
            1,
            False,
            wolong.id,
        )
    assert year.events(wolong_letter, "letter_signed")[0]["late"] is False

    # The counties issue their townships' letters; the township's office above is the county's.
    year.letters_issued(wancheng.id)
    year.letters_issued(wolong.id)
    year.at(YEAR, 3, 20, 10, 0)
    year.do(year.letter(WANCHENG_TOWN).id, "sign_letter", SIGN)
    year.at(YEAR, 3, 31, 23, 59, 58)
    assert year.letter(WOLONG_TOWN).id not in year.wake()
    year.at(YEAR, 4, 1, 0, 0, 1)
    assert year.letter(WOLONG_TOWN).id in year.wake()  # 31 March passed unsigned: flagged
    with session_factory() as s:
        town = {r.unit_code: r for r in letters(s, YEAR)}[WOLONG_TOWN]
        assert (town.status, town.late, town.committee_code) == ("issued", True, WOLONG)
        progress = {p.committee_code: p for p in letter_progress(s, YEAR, year.clock.now())}
        assert (progress[CITY].issued, progress[CITY].signed) == (3, 3)
        assert (progress[WOLONG].signed, progress[WOLONG].unsigned_overdue) == (0, 1)
    late_task = year.task(year.letter(WOLONG_TOWN).id, "sign_letter")
    assert late_task.due_at < year.clock.now()  # the inbox shows it red
    year.at(YEAR, 4, 3, 10, 0)
    year.do(year.letter(WOLONG_TOWN).id, "sign_letter", SIGN)
    assert year.events(year.letter(WOLONG_TOWN).id, "letter_signed")[0]["late"] is True
    with session_factory() as s:
        town = {r.unit_code: r for r in letters(s, YEAR)}[WOLONG_TOWN]
        assert (town.status, town.late) == ("signed", True)
        assert letter_progress(s, YEAR, year.clock.now())[-1].signed_late == 1
        assert {c.unit_code: c.parent_instance_id for c in cycles(s, YEAR)} == {
            CITY: None,
            WANCHENG: city,
            WOLONG: city,
        }

    # -- all year: hearing (Art. 9(3)) and plenary (Art. 25) ----------------------------------------------
    year.at(YEAR, 5, 10, 10, 0)
    # Art. 9(3): both principal leaders (党政) hear the report, each on their own task.
    hearings = year.tasks(city, "hear_report_h1")
    assert sorted((t.role, t.org_code, t.due_at) for t in hearings) == [
        ("unit_principal_leader/government", CITY, end_of(6, 30)),
        ("unit_principal_leader/party", CITY, end_of(6, 30)),
    ]
    for leader in ("party", "government"):
        year.do(city, "hear_report_h1", HEARING, role=f"unit_principal_leader/{leader}")

    # -- mid-year inspection (Art. 18) ----------------------------------------------------------------------
    year.at(YEAR, 6, 1, 9, 0, 1)
    year.wake()
    year.do(city, "plan_mid_year", PLAN_ALL)
    inspections = year.tasks(city, "record_mid_year_findings")
    assert [(t.unit_code, t.role, t.org_code) for t in inspections] == [
        (WANCHENG, "inspector", CITY),
        (WOLONG, "inspector", CITY),
        (CITY_DIRECT, "inspector", CITY),
    ]
    year.at(YEAR, 6, 16, 10, 0)
    year.do(city, "record_mid_year_findings", NOTHING_FOUND, unit=WANCHENG)
    year.do(city, "record_mid_year_findings", FOUND, unit=WOLONG)
    year.do(city, "record_mid_year_findings", NOTHING_FOUND, unit=CITY_DIRECT)
    with session_factory() as s:
        found = findings(s, YEAR, kind="mid_year")
        assert [(f.unit_code, f.open_case, f.case_instance_id is not None) for f in found] == [
            (WOLONG, True, True),
            (WOLONG, False, False),
        ]
        case = s.get(ProcessInstance, found[0].case_instance_id)
        assert case is not None and case.process_id == "accountability_case"
        assert (case.unit_code, case.parent_instance_id) == (WOLONG, city)  # linked both ways
    register = year.task(found[0].case_instance_id, "register_report")  # type: ignore[arg-type]
    assert (register.role, register.org_code) == ("office_staff", CITY)  # 相应的上一级 of a county

    # Half-year: 1 July passes; the counties' leaders have not heard a report (O9.3).
    year.at(YEAR, 7, 1, 0, 0, 1)
    year.wake()
    with session_factory() as s:
        overdue = duty_flags(s, YEAR)
        assert (WANCHENG, "hearing_h1") in overdue and (WOLONG, "hearing_h1") in overdue
        assert (CITY, "hearing_h1") not in overdue
        assert (CITY, "hearing_h1") in duty_flags(s, YEAR, "duty_done")

    # -- year-end (Art. 15–20, 24) --------------------------------------------------------------------------
    year.at(YEAR, 11, 1, 9, 0, 1)
    year.wake()
    year.at(YEAR, 11, 20, 10, 0)
    assert [t.unit_code for t in year.tasks(city, "submit_annual_summary")] == [CITY_DIRECT]  # member units
    year.do(city, "submit_annual_summary", SUMMARY, unit=CITY_DIRECT)
    for leader in ("party", "government"):
        role = f"unit_principal_leader/{leader}"
        year.do(city, "hear_report_h2", {**HEARING, "heard_on": "2026-11-20"}, role=role)
    year.do(city, "record_debriefings", DEBRIEFING)
    year.do(city, "report_to_plenary", PLENARY_REPORT)  # Art. 14 (O14.1)
    year.do(city, "submit_annual_report", ANNUAL_REPORT)  # the city's goes to the province: no receipt here
    year.do(wancheng.id, "submit_annual_report", ANNUAL_REPORT)  # Art. 17: 宛城区 reports to the city
    receipt = year.task(wancheng.id, "receive_annual_report")
    assert (receipt.role, receipt.org_code) == ("office_director", CITY)
    year.do(wancheng.id, "receive_annual_report", {"received_on": "2026-11-20"})

    year.at(YEAR, 12, 5, 10, 0)
    assess = year.tasks(city, "assess_unit")
    assert {(t.unit_code, t.org_code, t.due_at) for t in assess} == {
        (u, CITY, end_of(12, 18)) for u in (CITY_DIRECT, WANCHENG, WOLONG)
    }
    year.do(city, "assess_unit", scores(95, 92, 94), unit=WANCHENG)  # total 93.8, none below 80
    year.do(city, "assess_unit", scores(70, 50, 65), unit=WOLONG)  # letter targets missed
    year.do(
        city,
        "assess_unit",
        scores(88, 85, 80, [{"text": "个别台账不规范。", "open_case": False}]),
        unit=CITY_DIRECT,
    )
    opinions = year.tasks(city, "joint_opinion_assessment")
    assert sorted(t.role for t in opinions) == sorted(f"joint_meeting_member/{d}" for d in DEPARTMENTS)
    for d in DEPARTMENTS:
        year.do(
            city,
            "joint_opinion_assessment",
            {"department_opinion": "agree"},
            role=f"joint_meeting_member/{d}",
        )
    year.do(city, "joint_conclusion_assessment", {"conclusion": "同意按规则提出的考核等次。"})
    year.at(YEAR, 12, 20, 10, 0)  # the committee decides on the day it records
    year.do(city, "decide_assessment", {"opinion": "同意。", "decided_on": "2026-12-20"})
    with session_factory() as s:
        decided = {g.unit_code: (g.total_score, g.proposed_grade, g.grade) for g in grades(s, YEAR, CITY)}
        assert decided == {
            WANCHENG: (93.8, "excellent", "excellent"),
            WOLONG: (62.5, "unqualified", "unqualified"),
            CITY_DIRECT: (84.7, "qualified", "qualified"),
        }
        assert grade_counts(s, YEAR) == {"excellent": 1, "unqualified": 1, "qualified": 1}
        assert salary_list(s, YEAR) == [WANCHENG]  # Art. 20 (O20.3)
        stats = dashboard_stats(s, YEAR, load_org(s))  # the year dashboard's charts
        assert stats["grades"] == {"优秀": 1, "不合格": 1, "合格": 1}
        assert sum(v["signed"] + v["late"] for v in stats["letters"].values()) >= 3
        assert sum(stats["findings"].values()) >= 1
        assert [(p.cadre_role, p.grade) for p in performance_records(s, WOLONG)] == [
            ("in_charge_leader", "unqualified"),
            ("principal_leader", "unqualified"),
        ]
        assert len([p for u in (WANCHENG, WOLONG, CITY_DIRECT) for p in performance_records(s, u)]) == 6
        result = {g.unit_code: g for g in grades(s, YEAR)}[WOLONG]
        case = s.get(ProcessInstance, result.case_instance_id)
        assert case is not None and (case.unit_code, case.parent_instance_id) == (WOLONG, city)
        assert [f.unit_code for f in findings(s, YEAR, kind="annual")] == [CITY_DIRECT]
        children = {(i.process_id, i.unit_code) for i in linked_instances(s, city)}
        assert ("accountability_case", WOLONG) in children and ("annual_cycle", WANCHENG) in children
    # Art. 31(8) (O31.8): the case starts at verification with the grade, the article and the cycle on file.
    assessment_case = year.task(result.case_instance_id, "verify_case")  # type: ignore[arg-type]
    assert assessment_case.org_code == CITY
    with session_factory() as s:
        opened = s.get(ProcessInstance, result.case_instance_id)
        assert opened is not None
        wf = year.make_engine(s).workflow(opened)
        verify = next(t for t in wf.get_tasks() if t.task_spec.bpmn_id == "verify_case")
        origin = verify.data["origin"]
        expected = ("unqualified", "Art. 31(8)", city)
        assert (origin["grade"], origin["article"], origin["annual_cycle"]) == expected
    assert year.tasks(result.case_instance_id, "register_report") == []  # type: ignore[arg-type]

    year.do(city, "report_assessment", {"reported_to": ["party_committee", "government"]})
    results = year.issue(city)  # 考核结果通报 (Art. 20)
    assert (results.kind, results.number) == ("assessment_results", "宛综治委〔2026〕1号")
    done = year.cycle(CITY)
    assert (done.status, done.summary["stage"]) == ("complete", "closed")
    assert year.tasks(city) == []


@pytest.mark.obligation("O18.1", "O13.1")
def test_inspection_plan_names_only_the_committees_own_units(year: Year) -> None:
    """Art. 18 (O18.1): a plan naming a unit that is not the committee's is refused with the unit named, a
    selection inspects only the units named; Art. 13: a city-direct unit signs but, having no units under
    it, starts no cycle of its own (only counties cascade)."""
    city = year.start()
    year.letters_issued(city)
    year.at(YEAR, 1, 20, 10, 0)  # signed on the day SIGN records
    year.do(year.letter(CITY_DIRECT).id, "sign_letter", SIGN)
    with year.factory() as s:
        assert [c.unit_code for c in cycles(s, YEAR)] == [CITY, WANCHENG, WOLONG]  # the counties' only
    year.at(YEAR, 6, 1, 9, 0, 1)
    year.wake()
    bad = {**PLAN_ALL, "inspection_scope": "selected", "selected_units": [WANCHENG_TOWN]}
    with pytest.raises(ProcessFailed, match=WANCHENG_TOWN):
        year.do(city, "plan_mid_year", bad)
    year.do(city, "plan_mid_year", {**PLAN_ALL, "inspection_scope": "selected", "selected_units": [WOLONG]})
    assert [t.unit_code for t in year.tasks(city, "record_mid_year_findings")] == [WOLONG]


@pytest.mark.obligation("O20.2", "O20.3", "O22.1")
def test_committee_adjusts_a_grade(year: Year, session_factory: sessionmaker[Session]) -> None:
    """Art. 20 (O20.2): the committee decides; an adjustment overrides the proposed grade, and the outcome
    rows follow the decided grade, not the proposal (O20.3, O22.1)."""
    city = year.start()
    year.letters_issued(city)
    year.at(YEAR, 1, 20, 10, 0)  # signed on the day SIGN records
    for unit in (CITY_DIRECT, WANCHENG, WOLONG):  # an unsigned letter would earn no letter score
        year.do(year.letter(unit).id, "sign_letter", SIGN)
    year.at(YEAR, 11, 1, 9, 0, 1)
    year.wake()
    year.at(YEAR, 12, 5, 10, 0)  # the scoring's inspection date (scores(): 5 December)
    year.year_end_reports(city)
    for unit in (CITY_DIRECT, WANCHENG, WOLONG):
        year.do(city, "assess_unit", scores(95, 95, 95), unit=unit)
    for d in DEPARTMENTS:
        year.do(
            city,
            "joint_opinion_assessment",
            {"department_opinion": "agree"},
            role=f"joint_meeting_member/{d}",
        )
    year.do(city, "joint_conclusion_assessment", {"conclusion": "建议卧龙区调整为合格。"})
    year.at(YEAR, 12, 20, 10, 0)  # the committee decides on the day it records
    with pytest.raises(ProcessFailed, match="411399"):
        year.do(
            city,
            "decide_assessment",
            {
                "opinion": "x",
                "decided_on": "2026-12-20",
                "adjustments": [{"unit": "411399", "grade": "qualified", "reason": "无此单位。"}],
            },
        )
    year.do(
        city,
        "decide_assessment",
        {
            "opinion": "卧龙区年内发生重大案件，调整为合格。",
            "decided_on": "2026-12-20",
            "adjustments": [{"unit": WOLONG, "grade": "qualified", "reason": "年内发生重大案件。"}],
        },
    )
    with session_factory() as s:
        decided = {g.unit_code: (g.proposed_grade, g.grade) for g in grades(s, YEAR)}
        assert decided[WOLONG] == ("excellent", "qualified")
        assert salary_list(s, YEAR) == [WANCHENG, CITY_DIRECT]
        assert {p.grade for p in performance_records(s, WOLONG)} == {"qualified"}


def test_member_unit_report_can_open_a_case(year: Year, session_factory: sessionmaker[Session]) -> None:
    """Art. 15 (O15.1, O15.2): an important situation is acknowledged within one working day; Art. 38
    (O38.1): the office may refer it to accountability, which opens a case linked to the report."""
    year.at(YEAR, 4, 30, 16, 0)  # Thursday before the 1–5 May holiday
    with session_factory() as s:
        filing = start_report_filing(
            year.make_engine(s), CITY_DIRECT, Actor("cd01", frozenset({("member_unit", CITY_DIRECT)}))
        )
        s.commit()
        filing_id = filing.id
        assert filing.business_key == f"报送-{YEAR}-{CITY_DIRECT}-0001"
    year.do(
        filing_id,
        "file_report",
        {
            "report_kind": "important_situation",
            "title": "辖区发生聚集事件",
            "content": "4月30日下午，……聚集。",
        },
    )
    receive = year.task(filing_id, "receive_report")
    assert (receive.role, receive.org_code) == ("office_staff", CITY)
    assert receive.due_at == end_of(5, 6)  # next PRC working day after 30 April
    year.do(
        filing_id,
        "receive_report",
        {"handling": "accountability", "art31_items": [4], "subject_unit_code": CITY_DIRECT},
    )
    with session_factory() as s:
        case = s.scalar(select(ProcessInstance).where(ProcessInstance.parent_instance_id == filing_id))
        assert case is not None and (case.process_id, case.unit_code) == ("accountability_case", CITY_DIRECT)


FORM_FIELDS = {
    "annual_plenary_report": {
        "plenary_report_document_no",
        "reported_on",
        "plenary_report_summary",
        "in_debriefings",
    },
    "annual_letter_draft": {"key_tasks", "targets", "security_target_percent", "remarks"},
    "annual_letter_approval": {"approved", "opinion"},
    "annual_letter_sign": {"decision", "signatory", "signed_on", "amendment_request"},
    "annual_letter_revise": {"key_tasks", "targets", "reply"},
    "annual_hearing": {"heard_on", "reported_by", "analysis", "decisions"},
    "annual_plenary": {"held_on", "meeting_kind", "chaired_by", "agenda", "problems_addressed"},
    "annual_inspection_plan": {"inspection_scope", "selected_units", "plan", "starts_on", "ends_on"},
    "annual_findings": {"inspected_on", "conclusion", "findings"},
    "annual_summary": {"summary", "problems", "next_year"},
    "annual_debriefing": {"debriefing_format", "held_on", "members", "standing_committee_report", "remarks"},
    "annual_report_upper": {"report_document_no", "submitted_on", "report"},
    "annual_report_receipt": {"received_on", "remarks"},
    "annual_assessment": {"inspected_on", "scores", "comments", "findings"},
    "annual_joint_opinion": {"department_opinion", "remarks"},
    "annual_joint_conclusion": {"conclusion", "recommended_adjustments"},
    "annual_assessment_decision": {"adjustments", "opinion", "decided_on"},
    "annual_assessment_report": {"reported_to", "rectification_items"},  # the 通报 is document_issue's
    "annual_filing": {"report_kind", "title", "content", "subject_unit_code", "occurred_on", "proposals"},
    "annual_filing_receipt": {"handling", "subject_unit_code", "instructions", "art31_items"},
}


def test_annual_forms_hold_the_fields_the_diagrams_read() -> None:
    """The scripts and conditions of bpmn/annual_*.bpmn read these fields (contract, like tests/test_forms.py
    for the accountability forms); each form cites its article."""
    paths = sorted((ROOT / "forms").glob("annual_*.json"))
    assert {p.stem for p in paths} == set(FORM_FIELDS)
    for path in paths:
        schema, problems = parse_form(f"forms/{path.name}", path.read_text(encoding="utf-8"))
        assert problems == [] and schema is not None
        assert set(schema["properties"]) == FORM_FIELDS[path.stem], path.stem
        assert "Art." in schema["description"] and schema["additionalProperties"] is False


def test_diagrams_cite_articles() -> None:
    """Every user task of the annual diagrams names its article (and obligation) for the inbox."""
    from lxml import etree

    ns = {
        "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "s": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    }
    for path in sorted(Path(ROOT / "bpmn").glob("annual_*.bpmn")):
        tree = etree.parse(str(path))
        for task in tree.iterfind(".//bpmn:userTask", ns):
            article = task.find(".//s:property[@name='article']", ns)
            assert article is not None and article.get("value", "").startswith("Art."), task.get("id")
            assert "(O" in (task.findtext("bpmn:documentation", "", ns)), task.get("id")
