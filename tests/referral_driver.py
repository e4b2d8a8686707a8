"""Drives personal-measure referrals (Art. 32, 39) for tests/test_personal_measures.py: the case's stand-in
row and its proposal, the departments' people, the leaders named (张三, 李四, 王五), and the outcomes they
record. Every step is its own session and commit, like separate requests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import ROOT, WANCHENG, WANCHENG_TOWN
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy, read_project_files
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.engine.reading import form_values
from workflows.engine.records import Record
from workflows.regulation.personal_measures import (
    PERSONAL_MEASURE_HANDLERS,
    PersonalMeasure,
    personal_measures_of,
)

REFERRAL_FILE = "bpmn/accountability_referral.bpmn"
PROPOSED = "personal_measures_proposed"

OFFICE = Actor("wancheng-office", frozenset({("office_director", WANCHENG)}))
STAFF = Actor("wancheng-staff", frozenset({("office_staff", WANCHENG)}))
ORGANIZATION = Actor("wancheng-org", frozenset({("organization_personnel", WANCHENG)}))
DISCIPLINE = Actor("wancheng-jiwei", frozenset({("discipline_supervision", WANCHENG)}))
PEOPLE = [STAFF, ORGANIZATION, DISCIPLINE]

ZHANG = {
    "name": "张三",
    "position": "街道党工委书记",
    "responsibility": "principal_leader",
    "measures": ["removal"],
    "facts": "对辖区重大刑事案件多发负有主要领导责任，整改不力。",
}
LI = {
    "name": "李四",
    "position": "街道办事处副主任",
    "responsibility": "in_charge_leader",
    "measures": ["party_discipline", "judicial_transfer"],
    "facts": "分管期间隐瞒案件数量，涉嫌滥用职权。",
}
WANG = {
    "name": "王五",
    "position": "街道综治办主任",
    "responsibility": "other_responsible",
    "measures": ["removal", "party_discipline"],
    "facts": "瞒报漏报重大情况，干扰调查。",
}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)  # type: ignore[misc]


def send_letters(engine: Engine, case_id: int) -> None:
    """The office drafts and its director issues each new referral's 移送函 (Art. 39), as prefilled."""
    drafts = engine.session.scalars(
        select(Task)
        .join(ProcessInstance, ProcessInstance.id == Task.instance_id)
        .where(
            ProcessInstance.parent_instance_id == case_id,
            Task.element_id == "draft_document",
            Task.state == "ready",
        )
    ).all()
    for draft in drafts:
        staff = Actor("office-staff", frozenset({("office_staff", draft.org_code)}))
        director = Actor("office-director", frozenset({("office_director", draft.org_code)}))
        engine.complete_task(draft.id, form_values(engine, draft), staff)
        review = next(t for t in engine.ready_tasks(draft.instance_id) if t.element_id == "review_document")
        engine.complete_task(review.id, {"doc_review_approved": True}, director)


class Referrals:
    """One stand-in case and the referrals its proposals start."""

    def __init__(
        self, factory: sessionmaker[Session], make_engine: Callable[[Session], Engine], clock: ManualClock
    ) -> None:
        self.factory, self.make_engine, self.clock = factory, make_engine, clock
        with factory() as s:
            version = deploy(s, _referral_files(), make_engine(s).checks, created_by="test")
            now = clock.now()
            case = ProcessInstance(
                version_id=version.id,
                process_id="accountability_case",
                business_key="追责-2026-0001",
                unit_code=WANCHENG_TOWN,
                status="running",
                summary={"level": "notification"},
                state_json="{}",
                created_at=now,
                updated_at=now,
                started_by="test",
            )
            s.add(case)
            s.commit()
            self.case_id = case.id

    def propose(self, leaders: list[dict[str, Any]], level: str = "intake", actor: Actor = OFFICE) -> None:
        self.propose_detail({"leaders": leaders, "level": level}, actor)

    def propose_detail(self, detail: dict[str, Any], actor: Actor = OFFICE) -> None:
        """What the engine does with the case's ``record(PROPOSED, leaders=…, level=…)``."""
        with self.factory() as s:
            engine = self.make_engine(s)
            case = engine.get_instance(self.case_id)
            with clockmod.activated(engine.clock):
                engine.event(case, actor, PROPOSED, detail=detail)
                PERSONAL_MEASURE_HANDLERS[PROPOSED](engine, case, Record(PROPOSED, detail))
            s.commit()
        self.send_letters()

    def send_letters(self) -> None:
        with self.factory() as s:
            send_letters(self.make_engine(s), self.case_id)
            s.commit()

    def rows(self) -> list[PersonalMeasure]:
        with self.factory() as s:
            return personal_measures_of(s, self.case_id)

    def row(self, name: str) -> PersonalMeasure:
        return next(r for r in self.rows() if r.leader_name == name)

    def referral(self, name: str) -> ProcessInstance:
        with self.factory() as s:
            inst = s.get(ProcessInstance, self.row(name).referral_instance_id)
            assert inst is not None
            return inst

    def ready(self, name: str) -> dict[str, Task]:
        with self.factory() as s:
            rows = s.scalars(
                select(Task).where(
                    Task.instance_id == self.row(name).referral_instance_id, Task.state == "ready"
                )
            )
            return {r.element_id: r for r in rows}

    def do(self, name: str, element: str, data: dict[str, Any]) -> None:
        task = self.ready(name)[element]
        who = next(p for p in PEOPLE if p.holds(task.role, task.org_code))
        with self.factory() as s:
            self.make_engine(s).complete_task(task.id, data, who)
            s.commit()

    def task_data(self, name: str, element: str) -> dict[str, Any]:
        task = self.ready(name)[element]
        with self.factory() as s:
            engine = self.make_engine(s)
            wf = engine.workflow(engine.get_instance(task.instance_id))
            return dict(next(t for t in wf.get_tasks() if str(t.id) == task.id).data)

    def case_events(self, kind: str = "personal_measure") -> list[InstanceEvent]:
        with self.factory() as s:
            query = (
                select(InstanceEvent)
                .where(InstanceEvent.instance_id == self.case_id, InstanceEvent.kind == kind)
                .order_by(InstanceEvent.id)
            )
            return list(s.scalars(query))


def _referral_files() -> dict[str, str]:
    """The referral diagram, the document diagram it calls (its 移送函) and every form: independent of the
    other diagrams' state."""
    files = read_project_files(ROOT)
    called = {REFERRAL_FILE, "bpmn/document_issue.bpmn"}
    return {p: c for p, c in files.items() if p in called or p.startswith("forms/")}


def outcome(measure: str, decision: str = "adopted", **extra: str) -> dict[str, str]:
    row = {"measure": measure, "decision": decision, "decided_on": "2026-04-10"}
    if decision == "adopted":
        row["document_no"] = f"宛文〔2026〕{len(measure)}号"
    return {**row, **extra}
