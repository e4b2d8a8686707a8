"""驳回 (send back) from a step that has a boundary timer: 整改 (rectify) carries 整改期满, the two months'
deadline. Sending it back to 报告整改措施 used to fail inside SpiffWorkflow 3.2 (the removed timer stayed
registered and its refresh met a detached task); now the case returns to that step with its deadline, the
timer of the step sent back no longer waits, and the case goes on from there to a fresh 整改 and its timer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import TOWN_LEADER
from tests.test_earliest_due import earliest
from tests.test_engine import complete, run_to_rectify, start_case
from workflows.engine.core import Engine
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
