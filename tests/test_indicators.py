"""The yearly indicator system as data (Art. 19, O19.1; grades Art. 20, O20.2; issue 11 items 6 and 9).

Grading follows the committee's set for the year — change a threshold and the grade changes; a frozen set
refuses edits; a unit that never signed its responsibility letter scores 0 on the letter indicator with the
reason 未签订目标管理责任书; scores naming unknown or missing indicators are refused field by field; a year
without a set starts from the nearest earlier year's; the script helpers work inside the engine. The API and
the browser: tests/test_indicators_api.py.

Organisation: tests/conftest.py (城 411300, 宛城区 411302, 卧龙区 411303, 市公安局 CD01).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.indicators.demo import DEMO_SET, seed_demo_indicator_sets
from tests.conftest import CITY, CITY_DIRECT, WANCHENG, WOLONG
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy
from workflows.engine.errors import FormInvalid, ProcessFailed
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import DefinitionVersion, ProcessInstance
from workflows.engine.sandboxing.sandbox import RestrictedEnvironment
from workflows.regulation.annual_models import ResponsibilityLetter
from workflows.regulation.indicator_grading import propose_grades
from workflows.regulation.indicators import (
    IndicatorSetFrozen,
    NoIndicatorSet,
    find_set,
    freeze,
    indicator_set_for,
    save_set,
)

YEAR = 2026
AT = datetime(YEAR, 3, 1, 9, 0, tzinfo=CST)


def rule(**changes: Any) -> dict[str, Any]:
    """The demo set (today's rule as data), with some thresholds changed."""
    data = copy.deepcopy(DEMO_SET)
    for path, value in changes.items():
        grade, key = path.split("__")
        data["thresholds"][grade][key] = value
    return data


def scores(overall: float, letters: float, execution: float) -> list[dict[str, Any]]:
    return [
        {"indicator": "overall", "score": overall, "basis": "整体工作检查记录"},
        {"indicator": "letters", "score": letters, "basis": "责任书目标逐项核对"},
        {"indicator": "execution", "score": execution, "basis": "领导责任制落实台账"},
    ]


def letters(session: Session, year: int, **status: str) -> None:
    """Responsibility-letter rows (Art. 13) for the city's units, e.g. ``letters(s, 2026, CD01="signed")``."""
    version = DefinitionVersion(
        number=1, created_at=AT, created_by="test", content_hash="x", process_ids=[], specs_json="{}"
    )
    session.add(version)
    session.flush()
    cycle = ProcessInstance(
        version_id=version.id,
        process_id="annual_cycle",
        business_key=f"年度-{year}-{CITY}",
        unit_code=CITY,
        state_json="",
        lock_version=1,
        created_at=AT,
        updated_at=AT,
        started_by="test",
    )
    session.add(cycle)
    session.flush()
    for unit, state in status.items():
        session.add(
            ResponsibilityLetter(
                year=year,
                unit_code=unit,
                committee_code=CITY,
                cycle_instance_id=cycle.id,
                status=state,
                issued_at=AT,
                due_at=AT,
                signed_at=AT if state == "signed" else None,
            )
        )
    session.flush()


@pytest.fixture
def city_set(session: Session) -> Session:
    """The city's 2026 set (today's rule as data) and signed letters for its three units."""
    save_set(session, YEAR, CITY, DEMO_SET, "411300.office_director", now=AT)
    letters(session, YEAR, **{WANCHENG: "signed", WOLONG: "signed", CITY_DIRECT: "signed"})
    return session


def grade_of(session: Session, unit: str, marks: list[dict[str, Any]], year: int = YEAR) -> dict[str, Any]:
    return propose_grades(session, year, CITY, [{"unit_code": unit, "scores": marks}])[0]


# -- grading from data -------------------------------------------------------------------------------------


@pytest.mark.obligation("O19.1", "O20.2")
@pytest.mark.parametrize(
    ("marks", "total", "grade"),
    [
        ((95, 92, 94), 93.8, "excellent"),
        ((70, 50, 65), 62.5, "unqualified"),  # letter targets missed (below 60)
        ((50, 60, 60), 56.0, "unqualified"),  # total below 60
        ((80, 80, 80), 80.0, "qualified"),
        ((95, 95, 79), 90.2, "qualified"),
        ((100, 100, 79), 93.7, "qualified"),  # total ≥ 90 but one indicator below 80
        ((90, 90, 90), 90.0, "excellent"),
    ],
)
def test_the_demo_set_grades_as_the_old_rule(
    city_set: Session, marks: tuple[int, int, int], total: float, grade: str
) -> None:
    proposal = grade_of(city_set, WANCHENG, scores(*marks))
    assert (proposal["total"], proposal["grade"]) == (total, grade)
    assert proposal["unit_name"] == "宛城区" and proposal["reasons"]


@pytest.mark.obligation("O19.1", "O20.2")
def test_changing_a_threshold_changes_the_grade(city_set: Session) -> None:
    marks = scores(95, 92, 94)  # total 93.8
    assert grade_of(city_set, WANCHENG, marks)["grade"] == "excellent"
    save_set(city_set, YEAR, CITY, rule(excellent__min_total=95), "411300.office_staff", now=AT)
    stricter = grade_of(city_set, WANCHENG, marks)
    assert stricter["grade"] == "qualified"
    assert "未评为优秀：总分93.8分，低于优秀线95分" in stricter["reasons"]
    save_set(city_set, YEAR, CITY, rule(unqualified__below_total=95), "411300.office_staff", now=AT)
    failing = grade_of(city_set, WANCHENG, marks)
    assert failing["grade"] == "unqualified" and failing["reasons"] == ["总分93.8分，低于不合格线95分"]


@pytest.mark.obligation("O19.1", "O20.2")
def test_weights_and_maximum_scores_are_data(city_set: Session) -> None:
    data = copy.deepcopy(DEMO_SET)
    data["indicators"][0].update(weight=60)  # overall 60, letters 30, execution 10 (max 20 points)
    data["indicators"][2].update(weight=10, max_score=20)
    save_set(city_set, YEAR, CITY, data, "411300.office_staff", now=AT)
    proposal = grade_of(city_set, WOLONG, scores(40, 100, 10))  # execution 10/20 = 50 %
    assert proposal["total"] == 59.0  # 24 + 30 + 5
    assert [r["points"] for r in proposal["scores"]] == [24.0, 30.0, 5.0]
    assert proposal["grade"] == "unqualified"
    with pytest.raises(FormInvalid) as refused:
        grade_of(city_set, WOLONG, scores(90, 100, 25))  # above the maximum of 20
    assert list(refused.value.errors) == ["scores/2/score"]


@pytest.mark.obligation("O19.1", "O20.2")
def test_an_unsigned_letter_scores_nothing_on_the_letter_indicator(session: Session) -> None:
    """Issue 11 item 9: thirteen counties that never signed were graded 合格; now they cannot earn the
    letter's score, whatever the office entered."""
    save_set(session, YEAR, CITY, DEMO_SET, "411300.office_director", now=AT)
    letters(session, YEAR, **{WANCHENG: "signed", WOLONG: "amendment_requested"})  # CD01: no letter at all
    marks = scores(95, 95, 95)
    proposals = propose_grades(
        session, YEAR, CITY, [{"unit_code": u, "scores": marks} for u in (WOLONG, CITY_DIRECT, WANCHENG)]
    )
    assert [p["unit_code"] for p in proposals] == sorted([WOLONG, CITY_DIRECT, WANCHENG])
    by_unit = {p["unit_code"]: p for p in proposals}
    assert by_unit[WANCHENG]["grade"] == "excellent"
    for unit in (WOLONG, CITY_DIRECT):
        p = by_unit[unit]
        letter = next(r for r in p["scores"] if r["indicator"] == "letters")
        assert (letter["entered"], letter["score"], letter["points"]) == (95, 0, 0)
        assert p["reasons"][0] == "未签订目标管理责任书"
        assert (p["total"], p["grade"]) == (66.5, "unqualified")


@pytest.mark.obligation("O19.1")
def test_unknown_missing_and_repeated_indicators_are_refused(city_set: Session) -> None:
    unknown = [*scores(90, 90, 90)[:2], {"indicator": "safety", "score": 90, "basis": "—"}]
    with pytest.raises(FormInvalid) as refused:
        grade_of(city_set, WANCHENG, unknown)
    errors = refused.value.errors
    assert set(errors) == {"scores/2/indicator", "scores"}
    message = errors["scores/2/indicator"][0]
    assert "未知指标“safety”" in message and message.startswith("宛城区（411302）")
    assert "execution" in errors["scores"][0]  # missing
    twice = [*scores(90, 90, 90), {"indicator": "overall", "score": 80, "basis": "复核"}]
    with pytest.raises(FormInvalid) as refused:
        grade_of(city_set, WANCHENG, twice)
    assert list(refused.value.errors) == ["scores/3/indicator"]


# -- the set's life: fallback, edits, freezing -----------------------------------------------------------


@pytest.mark.obligation("O19.1")
def test_a_year_without_a_set_starts_from_the_nearest_earlier_one(session: Session) -> None:
    with pytest.raises(NoIndicatorSet, match="没有2026年的考核评价指标体系"):
        indicator_set_for(session, YEAR, CITY)
    save_set(session, 2023, CITY, rule(excellent__min_total=85), "411300.office_staff", now=AT)
    save_set(session, 2025, CITY, rule(excellent__min_total=88), "411300.office_staff", now=AT)
    copied = indicator_set_for(session, 2027, CITY)
    assert (copied.year, copied.copied_from_year, copied.frozen) == (2027, 2025, False)
    assert copied.thresholds["excellent"]["min_total"] == 88
    assert [i.code for i in copied.indicators] == ["overall", "letters", "execution"]
    assert find_set(session, 2027, CITY) is copied  # stored as the year's draft
    assert indicator_set_for(session, 2024, CITY).copied_from_year == 2023
    with pytest.raises(NoIndicatorSet):
        indicator_set_for(session, 2027, WANCHENG)  # another committee's sets are its own


@pytest.mark.obligation("O19.1")
def test_a_frozen_set_refuses_edits(session: Session) -> None:
    save_set(session, 2025, CITY, DEMO_SET, "411300.office_staff", now=AT)
    frozen = freeze(session, YEAR, CITY, "annual_cycle", now=AT)  # 2026 has none: copied, then frozen
    assert (frozen.copied_from_year, frozen.frozen_by, frozen.frozen_at) == (2025, "annual_cycle", AT)
    assert freeze(session, YEAR, CITY, "someone", now=datetime(YEAR, 4, 1, tzinfo=CST)).frozen_at == AT
    with pytest.raises(IndicatorSetFrozen, match="冻结"):
        save_set(session, YEAR, CITY, rule(excellent__min_total=80), "411300.office_staff", now=AT)
    assert find_set(session, YEAR, CITY).thresholds["excellent"]["min_total"] == 90  # type: ignore[union-attr]
    save_set(session, 2025, CITY, rule(excellent__min_total=80), "411300.office_staff", now=AT)  # not frozen


@pytest.mark.obligation("O19.1")
def test_a_set_is_validated_when_saved(session: Session) -> None:
    bad = copy.deepcopy(DEMO_SET)
    bad["indicators"][0]["weight"] = 50  # 50 + 30 + 30
    bad["indicators"][1]["code"] = "overall"
    bad["indicators"][2]["source"] = "rumour"
    bad["thresholds"] = {
        "unqualified": {"below": {"nothing": 60}},
        "excellent": {"min_each": 120},
        "outstanding": {},
    }
    with pytest.raises(FormInvalid) as refused:
        save_set(session, YEAR, CITY, bad, "411300.office_staff", now=AT)
    errors = refused.value.errors
    assert errors["indicators"] == ["各项指标权重合计须为100，现为110"]
    assert set(errors) == {
        "indicators",
        "indicators/1/code",
        "indicators/2/source",
        "thresholds/unqualified/below/nothing",
        "thresholds/excellent/min_each",
        "thresholds/outstanding",
    }
    assert find_set(session, YEAR, CITY) is None  # nothing written
    empty = rule()
    empty["thresholds"]["excellent"] = {}
    with pytest.raises(FormInvalid) as refused:
        save_set(session, YEAR, CITY, empty, "411300.office_staff", now=AT)
    assert refused.value.errors == {"thresholds/excellent": ["优秀至少需要一个条件"]}


def test_saving_again_updates_keeps_and_drops_indicators(session: Session) -> None:
    first = save_set(session, YEAR, CITY, DEMO_SET, "411300.office_staff", now=AT)
    kept_id = first.indicators[0].id
    data = copy.deepcopy(DEMO_SET)
    data["indicators"] = [
        {**data["indicators"][0], "weight": 70, "name": "整体工作"},
        {"code": "safety", "name": "群众安全感", "weight": 30, "max_score": 10, "order": 9},
    ]
    data["thresholds"]["unqualified"] = {"below_total": 60}
    second = save_set(session, YEAR, CITY, data, "411300.office_director", now=AT)
    assert second.id == first.id and second.updated_by == "411300.office_director"
    assert [(i.code, i.weight, i.source) for i in second.indicators] == [
        ("overall", 70, "manual"),
        ("safety", 30, "manual"),
    ]
    assert second.indicators[0].id == kept_id and second.indicators[0].name == "整体工作"


# -- the script helpers, inside the sandbox and the engine ----------------------------------------------


GRADE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="grade_by_indicators" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="grade"/>
    <bpmn:scriptTask id="grade">
      <bpmn:script>frozen = freeze_indicators(year, unit_code)
proposed_grades = propose_grades(year, unit_code, assessments)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.obligation("O19.1", "O20.2")
def test_the_helpers_grade_and_freeze_inside_the_engine(city_set: Session, engine: Engine) -> None:
    """What the annual cycle's script will do: freeze when the assessment starts, propose grades by data."""
    deploy(city_set, {"bpmn/grade.bpmn": GRADE_BPMN}, engine.checks, created_by="test")
    assessments = [{"unit_code": u, "scores": scores(95, 92, 94)} for u in (WOLONG, WANCHENG)]
    inst = engine.start(
        "grade_by_indicators",
        business_key="grade-1",
        unit_code=CITY,
        data={"year": YEAR, "assessments": assessments},
    )
    assert inst.status == "complete"
    task = next(t for t in engine.workflow(inst).get_tasks() if t.task_spec.bpmn_id == "grade")
    assert task.data["frozen"]["frozen"] is True and task.data["frozen"]["frozen_at"].endswith("+08:00")
    assert [(p["unit_code"], p["grade"]) for p in task.data["proposed_grades"]] == [
        (WANCHENG, "excellent"),
        (WOLONG, "excellent"),
    ]
    assert find_set(city_set, YEAR, CITY).frozen_by == "annual_cycle"  # type: ignore[union-attr]

    bad = [{"unit_code": WANCHENG, "scores": [{"indicator": "nope", "score": 1, "basis": "—"}]}]
    with pytest.raises(ProcessFailed, match="scores/0/indicator"):
        engine.start(
            "grade_by_indicators",
            business_key="grade-2",
            unit_code=CITY,
            data={"year": YEAR, "assessments": bad},
        )


def test_the_helpers_answer_plain_json_in_the_sandbox(city_set: Session, engine: Engine) -> None:
    env = RestrictedEnvironment(engine.helpers)
    context: dict[str, Any] = {"year": YEAR, "unit": CITY, "marks": scores(95, 92, 94)}
    env.execute(
        "listed = indicators_of(year, unit)\nok = check_scores(year, unit, marks)\n"
        "p = propose_grades(year, unit, [{'unit_code': '411302', 'scores': marks, 'comments': '好'}])",
        context,
    )
    assert [i["code"] for i in context["listed"]] == ["overall", "letters", "execution"]
    assert context["ok"] is True
    assert context["p"][0]["comments"] == "好"  # other keys of an assessment pass through
    with pytest.raises(FormInvalid) as refused:
        env.execute("check_scores(year, unit, marks[:2])", context)
    assert list(refused.value.errors) == ["scores"]


def test_demo_sets_cover_the_city_and_every_county(session: Session) -> None:
    assert seed_demo_indicator_sets(session, now=AT) == 3  # 南阳市, 宛城区, 卧龙区
    assert seed_demo_indicator_sets(session, now=AT) == 0  # idempotent
    assert find_set(session, YEAR, WOLONG) is not None and find_set(session, YEAR, CITY_DIRECT) is None
