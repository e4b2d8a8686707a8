"""Reviewers see what they review (issue 11, item 9): the scoring step shows the assessed unit's summary or
annual report, letter, findings and cases (Art. 13, 15, 17, 18, 20, 31); the joint meeting, its convener
and the committee see the scores, proposed grades and the departments' opinions (Art. 20, 24); the office
receiving a lower committee's annual report sees its text (Art. 17). Driven through a year with a moved
clock (tests/annual_driver.py ``Year``); the page is checked on the real app with the demo data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from app.auth.models import RoleGrant, User
from app.extensions import db
from app.runtime import runtime
from tests.annual_driver import (
    ANNUAL_REPORT,
    DEPARTMENTS,
    FOUND,
    NOTHING_FOUND,
    PLAN_ALL,
    SIGN,
    SUMMARY,
    YEAR,
    Year,
    scores,
)
from tests.conftest import CITY, CITY_DIRECT, WANCHENG, WOLONG, demo_app
from tests.test_web import login
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance, Task
from workflows.regulation.annual_context import task_context
from workflows.regulation.indicator_models import UNSIGNED_LETTER


def context_of(year: Year, task: Task) -> dict[str, Any] | None:
    """What the task page shows beside the form: the context of the ready task with its workflow data."""
    with year.factory() as s:
        row = s.get(Task, task.id)
        assert row is not None
        wf = year.make_engine(s).workflow(s.get(ProcessInstance, row.instance_id))  # type: ignore[arg-type]
        spiff = wf.get_task_from_id(UUID(row.id))
        return task_context(s, row, dict(spiff.data) if spiff is not None else {})


def _to_scoring(year: Year) -> int:
    """The city's year up to the scoring: 市公安局 and 宛城区 sign their letters, 卧龙区 never does; the
    mid-year inspection finds problems at 卧龙区 (one opens a case); the year-end summaries and reports
    are in."""
    city = year.start()
    year.letters_issued(city)
    year.at(YEAR, 1, 20, 10, 0)
    year.do(year.letter(CITY_DIRECT).id, "sign_letter", SIGN)
    year.do(year.letter(WANCHENG).id, "sign_letter", SIGN)
    year.letters_issued(year.cycle(WANCHENG).id)
    year.at(YEAR, 6, 1, 9, 0, 1)
    year.wake()
    year.do(city, "plan_mid_year", PLAN_ALL)
    year.at(YEAR, 6, 16, 10, 0)
    year.do(city, "record_mid_year_findings", NOTHING_FOUND, unit=WANCHENG)
    year.do(city, "record_mid_year_findings", FOUND, unit=WOLONG)
    year.do(city, "record_mid_year_findings", NOTHING_FOUND, unit=CITY_DIRECT)
    year.at(YEAR, 11, 1, 9, 0, 1)
    year.wake()
    year.at(YEAR, 11, 20, 10, 0)
    year.year_end_reports(city)
    year.do(year.cycle(WANCHENG).id, "submit_annual_report", ANNUAL_REPORT)
    year.at(YEAR, 12, 5, 10, 0)
    return city


@pytest.mark.obligation("O20.1", "O17.1")
def test_the_scorer_sees_the_units_summary_letter_findings_and_cases(year: Year) -> None:
    city = _to_scoring(year)
    police = context_of(year, year.task(city, "assess_unit", unit=CITY_DIRECT))
    assert police is not None and police["kind"] == "assess_unit"
    assert (police["unit_code"], police["unit_name"], police["year"]) == (CITY_DIRECT, "市公安局", YEAR)
    assert [s["summary"] for s in police["summaries"]] == [SUMMARY["summary"]]
    letter = police["letter"]
    assert (letter["status"], letter["late"], letter["signed_at"] is not None) == ("signed", False, True)
    assert (police["findings"], police["cases"]) == ([], [])

    wolong = context_of(year, year.task(city, "assess_unit", unit=WOLONG))
    assert wolong is not None and wolong["unit_name"] == "卧龙区"
    assert (wolong["letter"]["status"], wolong["letter"]["late"], wolong["letter"]["signed_at"]) == (
        "issued",
        True,
        None,
    )
    assert [(f["kind"], f["text"], f["open_case"]) for f in wolong["findings"]] == [
        ("mid_year", FOUND["findings"][0]["text"], True),
        ("mid_year", FOUND["findings"][1]["text"], False),
    ]
    [case] = wolong["cases"]
    assert case["id"] == wolong["findings"][0]["case_instance_id"] and case["status"] == "running"

    wancheng = context_of(year, year.task(city, "assess_unit", unit=WANCHENG))
    assert wancheng is not None and wancheng["summaries"] == []  # a county reports instead (Art. 17)
    assert wancheng["annual_report"]["report"] == ANNUAL_REPORT["report"]
    assert wancheng["annual_report"]["document_no"] == ANNUAL_REPORT["report_document_no"]

    receipt = context_of(year, year.task(year.cycle(WANCHENG).id, "receive_annual_report"))
    assert receipt is not None and receipt["kind"] == "receive_annual_report"
    assert (receipt["unit_name"], receipt["annual_report"]["report"]) == ("宛城区", ANNUAL_REPORT["report"])
    assert receipt["annual_report"]["submitted_on"] == ANNUAL_REPORT["submitted_on"]
    assert context_of(year, year.task(year.letter(WOLONG).id, "sign_letter")) is None  # only the review steps


@pytest.mark.obligation("O24.1", "O20.1")
def test_the_joint_meeting_sees_scores_proposed_grades_and_each_others_opinions(year: Year) -> None:
    city = _to_scoring(year)
    year.do(city, "assess_unit", scores(95, 92, 94), unit=WANCHENG)
    year.do(city, "assess_unit", scores(70, 50, 65), unit=WOLONG)
    year.do(city, "assess_unit", scores(88, 85, 80), unit=CITY_DIRECT)
    first, second, *waiting = DEPARTMENTS
    year.do(
        city,
        "joint_opinion_assessment",
        {"department_opinion": "agree"},
        role=f"joint_meeting_member/{first}",
    )
    remarks = {"department_opinion": "disagree", "remarks": "建议卧龙区评为合格。"}
    year.do(city, "joint_opinion_assessment", remarks, role=f"joint_meeting_member/{second}")

    review = context_of(
        year, year.task(city, "joint_opinion_assessment", role=f"joint_meeting_member/{waiting[0]}")
    )
    assert review is not None and review["kind"] == "joint_opinion_assessment"
    proposed = {p["unit_code"]: p for p in review["proposed"]}
    assert {u: (p["total"], p["grade"]) for u, p in proposed.items()} == {
        WANCHENG: (93.8, "excellent"),
        WOLONG: (47.5, "unqualified"),  # no letter points
        CITY_DIRECT: (84.7, "qualified"),
    }
    assert proposed[WOLONG]["unit_name"] == "卧龙区"
    assert [s["indicator"] for s in proposed[WOLONG]["scores"]] == ["overall", "letters", "execution"]
    assert UNSIGNED_LETTER in proposed[WOLONG]["reasons"]  # 卧龙区 never signed: no letter points
    assert [
        (o["department"], o["department_name"], o["opinion"], o["remarks"]) for o in review["opinions"]
    ] == [
        (first, "综治", "agree", ""),
        (second, "纪检", "disagree", "建议卧龙区评为合格。"),
    ]

    for d in waiting:
        year.do(
            city,
            "joint_opinion_assessment",
            {"department_opinion": "agree"},
            role=f"joint_meeting_member/{d}",
        )
    convener = context_of(year, year.task(city, "joint_conclusion_assessment"))
    assert convener is not None and len(convener["opinions"]) == len(DEPARTMENTS)
    year.do(city, "joint_conclusion_assessment", {"conclusion": "同意按规则提出的考核等次。"})
    committee = context_of(year, year.task(city, "decide_assessment"))
    assert committee is not None and len(committee["proposed"]) == 3
    assert committee["conclusion"] == "同意按规则提出的考核等次。"


@pytest.fixture
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=datetime(YEAR, 1, 5, 9, 0, tzinfo=CST)) as app:
        yield app


def _holder(app: Flask, task: Task) -> str:
    with app.app_context():
        name = db.session.scalar(
            select(User.username)
            .join(RoleGrant)
            .where(RoleGrant.role == task.role, RoleGrant.org_code == task.org_code)
        )
    assert name is not None, f"nobody holds {task.role}@{task.org_code}"
    return name


@pytest.mark.obligation("O20.1")
def test_the_task_page_shows_the_reference_card(app: Flask) -> None:
    clock = app.extensions["governance"].clock
    assert isinstance(clock, ManualClock)
    with app.app_context():
        year = Year(sessionmaker(bind=db.engine), runtime().engine, clock)
        city = year.start()
        year.letters_issued(city)
        year.at(YEAR, 11, 1, 9, 0, 1)
        year.wake()
        year.at(YEAR, 11, 20, 10, 0)
        year.year_end_reports(city)
        year.at(YEAR, 12, 5, 10, 0)
        assess = year.tasks(city, "assess_unit")
        summarised = {t.unit_code for t in year.tasks(city, "assess_unit")} & {
            t.unit_code
            for t in db.session.scalars(select(Task).where(Task.element_id == "submit_annual_summary"))
        }
    task = next(t for t in assess if t.unit_code in summarised)
    client, _csrf = login(app, _holder(app, task))
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'id="task-reference"' in page and "办理参考" in page
    assert SUMMARY["summary"] in page and "目标责任书" in page and "未签订" in page
    assert page.index("办理参考") < page.index('id="task-form"')  # above the form
    assert task.org_code == CITY
