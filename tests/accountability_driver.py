"""Drives accountability cases for the tests: deployed from bpmn/ and forms/, worked by task id with a moved
clock (never sleeping); every step is its own session and commit, like separate HTTP requests.

Default unit: 东关街道, a township of 宛城区, so "upper" is the 宛城区 office/committee
(Art. 33–35: 相应的上一级)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.jobs import wake_due
from tests.conftest import CITY, WANCHENG, WANCHENG_TOWN, WOLONG, WOLONG_TOWN
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.regulation.document_models import IssuedDocument
from workflows.regulation.documents import DRAFT_FIELDS

DEPARTMENTS = ["governance", "discipline", "organization", "personnel", "supervision"]
UPPER_ROLES = [
    "office_staff",
    "office_director",
    "committee_director",
    "investigation_team",
    "joint_meeting_convener",
    "county_committee",
    "organization_personnel",
    "discipline_supervision",
]


def level_people(org: str) -> list[Actor]:
    """Every role one level up works at ``org`` (a county, or the city for a city listing)."""
    people = [Actor(f"{org}-{role}", frozenset({(role, org)})) for role in UPPER_ROLES]
    people += [Actor(f"{org}-jm-{d}", frozenset({(f"joint_meeting_member/{d}", org)})) for d in DEPARTMENTS]
    return people


def actors(county: str, town: str) -> list[Actor]:
    people = level_people(county) + level_people(CITY)
    people.append(Actor(f"{town}-leader", frozenset({("unit_principal_leader", town)})))
    return people


PEOPLE = actors(WANCHENG, WANCHENG_TOWN)
WOLONG_PEOPLE = actors(WOLONG, WOLONG_TOWN)

TODAY = "2026-03-02"
REGISTER = {
    "source": "member_unit",
    "reporter": "市公安局",
    "report_date": TODAY,
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
    "leaders": [{"name": "张三", "position": "党委书记", "responsibility": "principal_leader"}],
}
REVIEW = {"doc_review_approved": True, "doc_review_opinion": "同意印发。"}
MEASURES = {"measures": "加强巡防，完善网格化管理。", "responsible_person": "张三"}
PROGRESS = {"progress": "已完成阶段性整改任务。", "apply_now": False}
EFFECT = {"effect": "整改工作基本完成，治安秩序好转。", "rectified": True}
APPLY = {"application": "整改期满，申请检查验收。", "applied_on": TODAY}
ACCEPTED = {"accepted": True, "findings": "整改到位。", "inspected_on": TODAY}
FAILED = {"accepted": False, "findings": "整改目标未完成，案件仍然多发。", "inspected_on": TODAY}
APPROVE = {"approved": True, "opinion": "同意"}
REFUSE = {"approved": False, "opinion": "情节较轻，整改仍在推进，决定不予升级。"}
PROPOSE = {"opinion": "经核实，建议按规定处理。"}


def interview_on(day: str) -> dict[str, Any]:
    return {
        "held_on": day,
        "interviewer": "李四",
        "interviewees": [{"name": "张三", "position": "党委书记"}],
        "minutes": "分析原因，提出整改要求，限期整改。",
    }


def verify(
    severity: str,
    aggravating: list[str] | None = None,
    mitigating: list[str] | None = None,
    mitigate: bool = False,
    personal_measures: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "established": True,
        "severity": severity,
        "aggravating": aggravating or [],
        "mitigating": mitigating or [],
        "mitigate": mitigate,
        "reason": "经核实，情况属实。",
    }
    if personal_measures:
        data["personal_measures"] = personal_measures
    return data


def due(*args: int) -> datetime:
    return datetime(*args, 23, 59, 59, tzinfo=CST)  # type: ignore[misc]


class Case:
    """One case; ``do`` completes the named ready task as the first person who holds its role there."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        make_engine: Callable[[Session], Engine],
        clock: ManualClock,
        unit: str = WANCHENG_TOWN,
        people: list[Actor] = PEOPLE,
        instance_id: int | None = None,
    ) -> None:
        self.factory, self.make_engine, self.clock, self.people = factory, make_engine, clock, people
        if instance_id is not None:
            self.id = instance_id
            return
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

    def steps(self) -> set[str]:
        """Ready steps without the standing task for new findings (open while the case runs)."""
        return set(self.ready()) - {"record_finding"}

    def who(self, task: Task) -> Actor:
        holders = [p for p in self.people if p.holds(task.role, task.org_code)]
        assert holders, f"nobody holds {task.role} at {task.org_code} for {task.element_id}"
        return holders[0]

    def do(self, element: str, data: dict[str, Any]) -> Task:
        ready = self.ready()
        assert element in ready, f"{element} not ready; ready: {sorted(ready)}"
        task = ready[element]
        with self.factory() as s:
            self.make_engine(s).complete_task(task.id, data, self.who(task))
            s.commit()
        return task

    def data(self, element: str) -> dict[str, Any]:
        """The data of the ready task ``element`` (what its form is prefilled with)."""
        task = self.ready()[element]
        with self.factory() as s:
            eng = self.make_engine(s)
            inst = s.get(ProcessInstance, task.instance_id)
            assert inst is not None
            spiff = eng.workflow(inst).get_task_from_id(UUID(task.id))
            return dict(spiff.data)

    def issue(self, **edits: Any) -> IssuedDocument:
        """Draft (the prefilled draft, with ``edits``), review and issue the document the step calls for."""
        draft = {k: v for k, v in self.data("draft_document").items() if k in DRAFT_FIELDS}
        self.do("draft_document", {**draft, **edits})
        self.do("review_document", REVIEW)
        return self.documents()[-1]

    def documents(self) -> list[IssuedDocument]:
        with self.factory() as s:
            return list(
                s.scalars(
                    select(IssuedDocument)
                    .where(IssuedDocument.instance_id == self.id)
                    .order_by(IssuedDocument.id)
                )
            )

    def number(self, kind: str) -> str:
        """The number of the case's last issued document of ``kind`` (e.g. ``listing_decision``)."""
        return [d.number for d in self.documents() if d.kind == kind][-1]

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

    def level(self) -> str:
        return str(self.instance().summary.get("level"))

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
        """The office proposes (unless the intake's verification was its proposal: the first level) and
        the committee approves."""
        if propose in self.ready():
            self.do(propose, PROPOSE)
        self.do(approve, {**APPROVE, **(extra or {})})

    def listing_decision(self, decision: dict[str, Any] = APPROVE) -> None:
        self.do("investigate_listing", {"findings": "经调查，问题属实，整改不力。", "meets_conditions": True})
        for d in DEPARTMENTS:
            self.do(f"joint_opinion_listing/{d}", {"department_opinion": "agree"})
        self.do("joint_conclusion_listing", {"recommend_listing": True, "conclusion": "建议挂牌督办。"})
        self.do("decide_listing", decision)

    def finding(self, data: dict[str, Any]) -> None:
        self.do("record_finding", data)
