"""1–2 of scripts/bench_engine.py, the parts: one completion cycle, raw SpiffWorkflow and ours, on two fixed
snapshots of the ``rectification`` fixture, and the statements of a completion."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from sqlalchemy import delete, event, func, insert, select, update

from engine_bench.common import (
    COUNTY_COMMITTEE,
    COUNTY_OFFICE,
    TOWN_LEADER,
    WANCHENG_TOWN,
    Setup,
)
from workflows.engine.actors import Actor
from workflows.engine.deploy.serializer import serializer
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.models import InstanceEvent, ProcessInstance, Task


# -- 1 + 2: one completion, raw vs ours ---------------------------------------------------------------------
@dataclass
class Case:
    """One instance frozen at a READY user task, in both serializations, with a DB snapshot to restore."""

    label: str
    instance_id: int
    element: str
    data: dict[str, Any]
    actor: Actor
    task_id: str = ""
    raw_json: str = ""
    ours_json: str = ""
    instance_row: dict[str, Any] = field(default_factory=dict)
    task_rows: list[dict[str, Any]] = field(default_factory=list)
    last_event_id: int = 0
    raw_row_id: int = 0  # a row holding raw_json, for "raw + store"


def complete_by_element(
    setup: Setup, instance_id: int, element: str, data: dict[str, Any], who: Actor
) -> None:
    with setup.factory() as s:
        row = s.scalars(
            select(Task).where(
                Task.instance_id == instance_id, Task.state == "ready", Task.element_id == element
            )
        ).one()
        setup.engine(s).complete_task(row.id, data, who)
        s.commit()


def prepare_case(setup: Setup, spiff: BpmnWorkflowSerializer, key: str, case: Case) -> Case:
    with setup.factory() as s:
        inst = setup.engine(s).start(
            "rectification", business_key=key, unit_code=WANCHENG_TOWN, data={"matter": "测试"}
        )
        s.commit()
        case.instance_id = inst.id
    steps: list[tuple[str, dict[str, Any], Actor]] = [
        ("verify", {"facts": "发生重大案件", "proposal": "notification"}, COUNTY_OFFICE),
        ("approve", {"approved": True}, COUNTY_COMMITTEE),
        ("report_measures", {"measures": "加强巡防"}, TOWN_LEADER),
    ]
    if case.element == "accept":
        steps.append(("rectify", {}, TOWN_LEADER))
    for element, data, who in steps:
        complete_by_element(setup, case.instance_id, element, data, who)
    with setup.factory() as s:
        inst = s.get(ProcessInstance, case.instance_id)
        assert inst is not None
        case.task_id = s.scalars(
            select(Task.id).where(
                Task.instance_id == inst.id, Task.state == "ready", Task.element_id == case.element
            )
        ).one()
        case.ours_json = inst.state_json
        case.raw_json = spiff.serialize_json(setup.engine(s).workflow(inst))
        table = ProcessInstance.__table__
        case.instance_row = dict(s.execute(select(table).where(table.c.id == inst.id)).mappings().one())
        case.task_rows = [
            dict(r) for r in s.execute(select(Task.__table__).where(Task.instance_id == inst.id)).mappings()
        ]
        raw_row = ProcessInstance(
            version_id=inst.version_id,
            process_id=inst.process_id,
            business_key=f"{key}-raw",
            unit_code=inst.unit_code,
            status="complete",  # never looked at by the scheduler
            state_json=case.raw_json,
            created_at=inst.created_at,
            updated_at=inst.updated_at,
            started_by="bench",
        )
        s.add(raw_row)
        s.flush()
        case.raw_row_id = raw_row.id
        case.last_event_id = s.scalar(
            select(func.max(InstanceEvent.id)).where(InstanceEvent.instance_id == inst.id)
        )
        s.commit()
    return case


def restore_case(setup: Setup, case: Case) -> None:
    """Put the instance back exactly as it was frozen (untimed), after a committed completion."""
    table = ProcessInstance.__table__
    values = {k: v for k, v in case.instance_row.items() if k not in ("id", "lock_version")}
    with setup.factory() as s:
        s.execute(update(table).where(table.c.id == case.instance_id).values(**values))
        s.execute(delete(Task.__table__).where(Task.instance_id == case.instance_id))
        s.execute(insert(Task.__table__), case.task_rows)
        s.execute(
            delete(InstanceEvent.__table__).where(
                InstanceEvent.instance_id == case.instance_id, InstanceEvent.id > case.last_event_id
            )
        )
        s.commit()


def raw_cycle(
    spiff: BpmnWorkflowSerializer, script_engine: PythonScriptEngine, clock: ManualClock, case: Case
) -> tuple[float, str]:
    t0 = time.perf_counter()
    with clockmod.activated(clock):  # the boundary timer compares against the same frozen time as ours
        wf = spiff.deserialize_json(case.raw_json)
        wf.script_engine = script_engine
        task = wf.get_task_from_id(UUID(case.task_id))
        task.data.update(case.data)
        task.run()
        wf.do_engine_steps()
        out = spiff.serialize_json(wf)
    return time.perf_counter() - t0, out


def raw_store_cycle(
    setup: Setup, spiff: BpmnWorkflowSerializer, script_engine: PythonScriptEngine, case: Case
) -> float:
    """Raw Spiff, least persistence: read the JSON from a row, write it back (lock_version), commit."""
    t0 = time.perf_counter()
    with setup.factory() as s:
        row = s.get(ProcessInstance, case.raw_row_id)
        assert row is not None
        with clockmod.activated(setup.clock):
            wf = spiff.deserialize_json(row.state_json)
            wf.script_engine = script_engine
            task = wf.get_task_from_id(UUID(case.task_id))
            task.data.update(case.data)
            task.run()
            wf.do_engine_steps()
            row.state_json = spiff.serialize_json(wf)
        s.commit()
        elapsed = time.perf_counter() - t0
    with setup.factory() as s:  # back to the frozen state (untimed)
        table = ProcessInstance.__table__
        s.execute(update(table).where(table.c.id == case.raw_row_id).values(state_json=case.raw_json))
        s.commit()
    return elapsed


def ours_cycle(setup: Setup, case: Case, *, commit: bool) -> float:
    t0 = time.perf_counter()
    with setup.factory() as s:
        setup.engine(s).complete_task(case.task_id, case.data, case.actor)
        if commit:
            s.commit()
        elapsed = time.perf_counter() - t0
        if not commit:
            s.rollback()
    if commit:
        restore_case(setup, case)
    return elapsed


def nodb_cycle(setup: Setup, script_engine: PythonScriptEngine, case: Case) -> float:
    """Our serialization and the Spiff steps ``Engine._advance`` takes, without the database."""
    t0 = time.perf_counter()
    with setup.factory() as s:
        loaded = setup.cache.get(s, case.instance_row["version_id"])  # a dict lookup once cached
    with clockmod.activated(setup.clock):
        wf = serializer().state_from_json(case.ours_json, loaded.specs["rectification"], loaded.specs)
        wf.script_engine = script_engine
        task = wf.get_task_from_id(UUID(case.task_id))
        task.data.update(case.data)
        task.run()
        wf.do_engine_steps()
        wf.refresh_timers()
        wf.do_engine_steps()
        serializer().state_to_json(wf)
    return time.perf_counter() - t0


VARIANTS = {
    "raw": "raw Spiff, JSON in memory",
    "raw_store": "raw Spiff + store JSON, commit",
    "nodb": "ours, Spiff work only (no DB)",
    "flush": "ours, DB flush only",
    "commit": "ours, DB + commit",
}


def count_statements(setup: Setup, case: Case) -> list[str]:
    """The SQL one completion sends (flush-only cycle; the commit adds COMMIT)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()[:3]))

    event.listen(setup.sql, "before_cursor_execute", record)
    try:
        ours_cycle(setup, case, commit=False)
    finally:
        event.remove(setup.sql, "before_cursor_execute", record)
    return seen
