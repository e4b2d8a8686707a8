"""Drives the annual cycle (Art. 7–25) for the tests, as deployed from bpmn/ and forms/: every step is its own
session and commit (like separate HTTP requests), tasks are found by element id and unit, timers fire through
wake_due. The forms' data (letters, hearings, the plenary, inspections, scores) are here too.

Organisation (tests/conftest.py): the city 南阳市 with the counties 宛城区 and 卧龙区 and the city-direct unit
市公安局; one township (东关街道, 七一街道) in each county."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import wake_due
from tests.conftest import CITY
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.engine.reading import form_values
from workflows.regulation.annual import cycle_key, start_cycle
from workflows.regulation.document_models import IssuedDocument

YEAR = 2026
DEPARTMENTS = ["governance", "discipline", "organization", "personnel", "supervision"]

DRAFT = {
    "key_tasks": ["深化平安建设，健全立体化社会治安防控体系", "开展矛盾纠纷排查化解"],
    "targets": ["公众安全感达到90%以上", "不发生有重大影响的群体性事件"],
    "security_target_percent": 92,
}
SIGN = {"decision": "sign", "signatory": "张三", "signed_on": "2026-01-20"}
AMEND = {
    "decision": "request_amendment",
    "signatory": "李四",
    "amendment_request": "请将矛盾纠纷化解率目标调整为98%。",
}
REVISE = {
    "key_tasks": DRAFT["key_tasks"],
    "targets": [*DRAFT["targets"], "矛盾纠纷化解率达到98%"],
    "reply": "已按意见修改。",
}
HEARING = {"heard_on": "2026-05-10", "reported_by": "市委政法委", "analysis": "上半年全市治安形势总体平稳。"}
PLENARY = {
    "held_on": "2026-02-25",
    "meeting_kind": "plenary",
    "chaired_by": "王五",
    "agenda": "通报全年形势，部署重点工作。",
}
PLAN_ALL = {
    "inspection_scope": "all",
    "plan": "对各县(区)和市直单位开展半年督查。",
    "starts_on": "2026-06-10",
    "ends_on": "2026-07-10",
}
NOTHING_FOUND = {"inspected_on": "2026-06-15", "conclusion": "工作推进有序。", "findings": []}
FOUND = {
    "inspected_on": "2026-06-16",
    "conclusion": "存在突出问题。",
    "findings": [
        {"text": "辖区阶段性盗窃案件多发，防控措施不落实。", "art31_item": 2, "open_case": True},
        {"text": "台账不全。", "open_case": False},
    ],
}
SUMMARY = {"summary": "全年综治和平安建设工作总结……"}
DEBRIEFING = {
    "debriefing_format": "mixed",
    "held_on": "2026-11-18",
    "members": [{"name": "赵六", "unit_name": "市公安局局长", "format": "plenary"}],
    "standing_committee_report": True,
}
PLENARY_REPORT = {
    "plenary_report_document_no": "宛发〔2026〕30号",
    "reported_on": "2026-11-16",
    "plenary_report_summary": "市委常委会向全委会报告落实综治领导责任制情况。",
    "in_debriefings": True,
}
ANNUAL_REPORT = {
    "report_document_no": "综治委〔2026〕9号",
    "submitted_on": "2026-11-20",
    "report": "年度工作报告正文……",
}
APPROVE = {"approved": True, "opinion": "同意下达。"}


def scores(
    overall: int, letters: int, execution: int, found: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The scoring form against the 2026 demo indicator set (app/indicators/demo.py: overall work 40,
    letter completion 30, execution of the responsibility system 30)."""
    return {
        "inspected_on": "2026-12-05",
        "scores": [
            {"indicator": "overall", "score": overall, "basis": "整体工作情况考核。"},
            {"indicator": "letters", "score": letters, "basis": "目标管理责任书完成情况。"},
            {"indicator": "execution", "score": execution, "basis": "执行领导责任制情况。"},
        ],
        "comments": "考核评价意见。",
        "findings": found or [],
    }


class Year:
    """Drives every instance of a year; each call is its own session and commit."""

    def __init__(
        self, factory: sessionmaker[Session], make_engine: Callable[[Session], Engine], clock: ManualClock
    ):
        self.factory, self.make_engine, self.clock = factory, make_engine, clock

    def at(self, *args: int) -> None:
        self.clock.set(datetime(*args, tzinfo=CST))  # type: ignore[misc]

    def start(self, unit: str = CITY) -> int:
        with self.factory() as s:
            inst = start_cycle(self.make_engine(s), unit, YEAR)
            s.commit()
            return inst.id

    def cycle(self, unit: str) -> ProcessInstance:
        with self.factory() as s:
            inst = s.scalar(
                select(ProcessInstance).where(ProcessInstance.business_key == cycle_key(YEAR, unit))
            )
            assert inst is not None, f"no cycle for {unit}"
            return inst

    def letter(self, unit: str) -> ProcessInstance:
        with self.factory() as s:
            inst = s.scalar(
                select(ProcessInstance).where(
                    ProcessInstance.process_id == "annual_letter", ProcessInstance.unit_code == unit
                )
            )
            assert inst is not None, f"no letter for {unit}"
            return inst

    def tasks(self, instance_id: int, element: str | None = None) -> list[Task]:
        with self.factory() as s:
            query = select(Task).where(Task.instance_id == instance_id, Task.state == "ready")
            if element:
                query = query.where(Task.element_id == element)
            return list(s.scalars(query.order_by(Task.unit_code, Task.role)))

    def task(self, instance_id: int, element: str, unit: str | None = None, role: str | None = None) -> Task:
        found = [
            t
            for t in self.tasks(instance_id, element)
            if (unit is None or t.unit_code == unit) and (role is None or t.role == role)
        ]
        ready = sorted((t.element_id, t.unit_code) for t in self.tasks(instance_id))
        assert len(found) == 1, f"{element}/{unit}: {len(found)} ready; ready: {ready}"
        return found[0]

    def do(
        self,
        instance_id: int,
        element: str,
        data: dict[str, Any],
        unit: str | None = None,
        role: str | None = None,
    ) -> Task:
        task = self.task(instance_id, element, unit, role)
        holder = Actor(f"{task.role}@{task.org_code}", frozenset({(task.role, task.org_code)}))
        with self.factory() as s:
            self.make_engine(s).complete_task(task.id, data, holder)
            s.commit()
        return task

    def issue(self, instance_id: int) -> IssuedDocument:
        """Draft (as prefilled), review and issue the document the step calls for (公文, document_issue)."""
        draft = self.task(instance_id, "draft_document")
        with self.factory() as s:
            values = form_values(self.make_engine(s), s.get(Task, draft.id))  # type: ignore[arg-type]
        self.do(instance_id, "draft_document", values)
        self.do(instance_id, "review_document", {"doc_review_approved": True})
        with self.factory() as s:
            return s.scalars(
                select(IssuedDocument)
                .where(IssuedDocument.instance_id == instance_id)
                .order_by(IssuedDocument.id.desc())
            ).first()  # type: ignore[return-value]

    def wake(self) -> list[int]:
        with self.factory() as s:
            report = wake_due(s, self.make_engine)
            assert report.failed == {}, report.failed
            return report.woken

    def events(self, instance_id: int, kind: str) -> list[dict[str, Any]]:
        with self.factory() as s:
            rows = s.scalars(
                select(InstanceEvent)
                .where(InstanceEvent.instance_id == instance_id, InstanceEvent.kind == kind)
                .order_by(InstanceEvent.id)
            )
            return [r.detail for r in rows]

    def letters_issued(self, cycle_id: int) -> None:
        self.do(cycle_id, "draft_letters", DRAFT)
        self.do(cycle_id, "approve_letters", APPROVE)

    def year_end_reports(self, cycle_id: int) -> None:
        """Art. 14–17: the summaries, debriefings, the report to the plenary and the annual report, which
        the assessment waits for (Art. 20)."""
        for task in self.tasks(cycle_id, "submit_annual_summary"):
            self.do(cycle_id, "submit_annual_summary", SUMMARY, unit=task.unit_code)
        self.do(cycle_id, "record_debriefings", DEBRIEFING)
        self.do(cycle_id, "report_to_plenary", PLENARY_REPORT)
        self.do(cycle_id, "submit_annual_report", ANNUAL_REPORT)


def end_of(month: int, day: int) -> datetime:
    return datetime(YEAR, month, day, 23, 59, 59, tzinfo=CST)
