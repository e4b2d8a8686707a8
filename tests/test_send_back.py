"""驳回 (send back). From a step that has a boundary timer: 整改 (rectify) carries 整改期满, the two months'
deadline. Sending it back to 报告整改措施 used to fail inside SpiffWorkflow 3.2 (the removed timer stayed
registered and its refresh met a detached task); now the case returns to that step with its deadline, the
timer of the step sent back no longer waits, and the case goes on from there to a fresh 整改 and its timer.
And only to the step that handed the task on: a task a deadline opened has no step to go back to."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.accountability_driver import Case
from tests.conftest import TOWN_LEADER
from tests.test_accountability import MEASURES, notified_on_16_march
from tests.test_earliest_due import earliest
from tests.test_engine import complete, run_to_rectify, start_case
from workflows.engine.core import Engine
from workflows.engine.errors import NothingToSendBack
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.models import ProcessInstance, Task

Factory = sessionmaker[Session]
MakeEngine = Callable[[Session], Engine]


def open_steps(factory: Factory, case: int) -> list[str]:
    with factory() as s:
        return list(s.scalars(select(Task.element_id).where(Task.instance_id == case, Task.state == "ready")))


def test_a_step_with_a_boundary_timer_can_be_sent_back(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    case = start_case(session_factory, make_engine)
    run_to_rectify(session_factory, make_engine, case)
    with session_factory() as s:
        timer = s.get(ProcessInstance, case).next_wake_at  # type: ignore[union-attr]
        rectify = s.scalar(select(Task.id).where(Task.instance_id == case, Task.state == "ready"))
        assert timer is not None and rectify is not None
        make_engine(s).send_back(rectify, "整改措施需重新上报", TOWN_LEADER)
        s.commit()
    assert open_steps(session_factory, case) == ["report_measures"]
    with session_factory() as s:
        inst = s.get(ProcessInstance, case)
        assert inst is not None and inst.status == "running"
        assert inst.next_wake_at is None  # 整改期满 was 整改's: it no longer waits
    measures_due = earliest(session_factory)[case]
    assert measures_due is not None and measures_due < timer  # the reopened step's own deadline
    complete(session_factory, make_engine, case, "report_measures", {"measures": "加强巡防"}, TOWN_LEADER)
    assert open_steps(session_factory, case) == ["rectify"]
    with session_factory() as s:
        inst = s.get(ProcessInstance, case)
        assert inst is not None and inst.next_wake_at is not None  # a fresh 整改期满


def test_only_a_step_an_earlier_step_handed_on_can_be_sent_back(
    case_factory: Callable[..., Case], clock: ManualClock, session_factory: Factory, make_engine: MakeEngine
) -> None:
    """On the real diagrams (Art. 33): 报告整改效果 goes back to 报告整改措施, the township's own earlier
    step. 申请检查验收 was opened by 整改期满, the end of the rectification period, not by a step: sending it
    back would return the case to the committee's decision to notify (审批通报), so it is refused and nothing
    is written."""
    case = notified_on_16_march(case_factory, clock)
    effect = case.ready()["report_effect_notification"]
    with session_factory() as s:
        make_engine(s).send_back(effect.id, "措施不具体，请重新报告", case.who(effect))
        s.commit()
    assert "report_measures_notification" in case.steps()
    case.do("report_measures_notification", MEASURES)
    case.at(2026, 5, 17, 0, 0, 1)
    assert case.wake() == [case.id] and "apply_acceptance_notification" in case.steps()
    apply = case.ready()["apply_acceptance_notification"]
    before = (case.steps(), case.instance().lock_version, len(case.events("sent_back")))
    with session_factory() as s, pytest.raises(NothingToSendBack):
        make_engine(s).send_back(apply.id, "不申请", case.who(apply))
    assert (case.steps(), case.instance().lock_version, len(case.events("sent_back"))) == before
