#!/usr/bin/env python
"""Engine benchmarks: one completion cycle (raw SpiffWorkflow vs our engine) and timer wake-up cost.

    .venv/bin/python scripts/bench_engine.py                      # SQLite file in a temporary directory
    .venv/bin/python scripts/bench_engine.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python scripts/bench_engine.py --quick              # small counts: a smoke test, not figures

What is measured (docs/benchmarks.md has the figures and their interpretation):

1. **raw** — SpiffWorkflow alone on the ``rectification`` fixture, state serialized by Spiff's own
   ``BpmnWorkflowSerializer`` (SPIFF_CONFIG, spec embedded): deserialize JSON, set the script engine, complete
   one READY user task (``task.data.update`` + ``task.run()``), ``do_engine_steps()``, serialize JSON.
2. **ours** — ``Engine.complete_task`` on the same state through the database in a fresh session, with the
   task projection, the working-file events and the commit ("ours, DB + commit"); also everything but the
   commit, then rolled back ("ours, DB flush only"). Two reference rows explain the difference: "ours, Spiff
   work only" (our spec-free JSON and the Spiff steps ``Engine._advance`` takes, no database) and "raw Spiff
   + store JSON" (the raw cycle with the least persistence there is: read the JSON from a row, write it back
   under the same optimistic lock, commit). Engines are built as ``app.runtime.Runtime.engine`` builds them
   (one per session; clock, calendar, spec cache and organisation tree shared); the organisation table adds
   the committed cycle with the tree loaded by every Engine (an Engine built without ``org=``), with the
   tests' 6 units and with Nanyang's 268 real divisions.

   The fixture loops ``rectify`` → ``accept`` (accepted False → back to ``rectify``). SpiffWorkflow keeps
   completed tasks in the tree, so every loop makes the state bigger; to measure *the same state* every
   time, each completion starts from one of two fixed snapshots: "rectify READY" and "accept READY". The
   raw cycle simply reuses the snapshot JSON; the flush-only cycle rolls back; the committed cycles restore
   the rows afterwards (not timed). Variants run interleaved, so machine noise hits them alike. Both raw
   and ours use the project's sandboxed script engine (the Engine's), so the difference measured is
   persistence, not scripting.
3. **growth** — one instance after 0, 10, 25, 50 loops, completing ``rectify`` raw and ours (flush only):
   what a long-lived case with many loops costs.
4. **wake** — ``wake_due`` waking N due instances of ``wait_working_days`` (5 PRC working
   days) when N instances wait in all, and when 100 x N wait: N real instances are started through the
   engine; the others are bulk-inserted copies of a real waiting instance (every column copied, unique
   business keys, its events too) with ``next_wake_at`` after the wake-up instant, so the ``next_wake_at``
   index holds them like real ones. The two setups live side by side and their runs alternate; before each
   run the tables are analysed (PostgreSQL: VACUUM ANALYZE and CHECKPOINT), untimed, so background
   maintenance left over from the bulk load does not land in one setup's timings.

Time is moved with ``ManualClock``; nothing sleeps. On PostgreSQL everything runs in a dedicated database
``bench_engine`` (one schema per part) created next to the one in the URL and dropped afterwards; the URL's
own database (e.g. the test suite's ``test``) is only used to issue CREATE/DROP DATABASE. SQLite uses files
in a temporary directory. The schema comes from ``Base.metadata.create_all``.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any
from uuid import UUID

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: `workflows` imports

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine, delete, event, func, insert, select, update
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from app.extensions import sqlite_pragmas
from app.jobs import wake_due
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import SpecCache, deploy, read_project_files
from workflows.engine.deploy.serializer import serializer
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST, WorkingCalendar
from workflows.engine.models import Base, InstanceEvent, OrgUnit, ProcessInstance, Task
from workflows.engine.sandboxing import limits, workers
from workflows.engine.sandboxing.budgeted import BudgetedEnvironment, run_job
from workflows.engine.sandboxing.sandbox import RestrictedEnvironment
from workflows.engine.sandboxing.script_helpers import make_helpers
from workflows.engine.timers import due_instance_ids
from workflows.regulation.roles import OrgTree, load_org
from workflows.regulation.wiring import build_engine, regulation_parts

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
BENCH_DATABASE = "bench_engine"

# The test suite's small organisation (tests/conftest.py): the city, two counties, a township in each.
CITY, WANCHENG, WOLONG = "411300", "411302", "411303"
WANCHENG_TOWN, WOLONG_TOWN, CITY_DIRECT = "411302001", "411303001", "CD01"
ORG = [
    (CITY, "南阳市", "city", None),
    (WANCHENG, "宛城区", "county", CITY),
    (WOLONG, "卧龙区", "county", CITY),
    (WANCHENG_TOWN, "东关街道", "township", WANCHENG),
    (WOLONG_TOWN, "七一街道", "township", WOLONG),
    (CITY_DIRECT, "市公安局", "city_direct", CITY),
]
COUNTY_OFFICE = Actor("wancheng-office", frozenset({("office_director", WANCHENG)}))
COUNTY_COMMITTEE = Actor("wancheng-committee", frozenset({("committee_director", WANCHENG)}))
TOWN_LEADER = Actor("dongguan-leader", frozenset({("unit_principal_leader", WANCHENG_TOWN)}))

CASE_START = datetime(2026, 3, 16, 9, 0, tzinfo=CST)  # rectification deadline: 2026-05-16, never reached
WAIT_START = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # + 5 working days = Mon 2026-03-09 23:59:59 +08:00
WAIT_WAKE = datetime(2026, 3, 10, 0, 0, tzinfo=CST)
FAR_START = datetime(2026, 6, 1, 9, 0, tzinfo=CST)  # the template for the not-due bulk rows
FAR_WAKE = datetime(2026, 6, 9, 0, 0, tzinfo=CST)  # bulk rows wake from here on, one minute apart


@dataclass(frozen=True)
class Sizes:
    cycles: int  # completions per variant (half rectify, half accept)
    warmup: int  # untimed completions per variant first
    due: int  # instances woken per wake-up run
    waiting_small: int  # instances waiting in all, first setup
    waiting_large: int  # instances waiting in all, second setup
    wake_runs: int  # wake-up runs per setup (a fresh batch of due instances each)
    query_runs: int  # repetitions of the bare due query
    growth: tuple[int, ...]  # rectify/accept loops after which the growing state is measured


FULL = Sizes(
    cycles=400,
    warmup=20,
    due=1000,
    waiting_small=1000,
    waiting_large=100_000,
    wake_runs=4,
    query_runs=50,
    growth=(0, 10, 25, 50),
)
QUICK = Sizes(
    cycles=20,
    warmup=4,
    due=50,
    waiting_small=50,
    waiting_large=2000,
    wake_runs=2,
    query_runs=5,
    growth=(0, 3),
)


# -- statistics and output ------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    print(f"\n{title}")
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


# -- database -------------------------------------------------------------------------------------------
def normalise_url(url: str) -> str:
    """As app.config.database_url: psycopg 3 is the installed driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


Namespace = Callable[[str], SqlEngine]


@contextmanager
def bench_database(url: str | None) -> Iterator[Namespace]:
    """Throwaway storage; yields ``namespace(name)``, an engine on a separate set of tables per name.

    SQLite: one file per name in a temporary directory. PostgreSQL: one schema per name in the database
    ``bench_engine``, created next to the URL's database and dropped at the end; the URL's own database (e.g.
    the test suite's ``test``) only serves to issue CREATE/DROP DATABASE.
    """
    engines: list[SqlEngine] = []
    if url is None:
        with tempfile.TemporaryDirectory(prefix="bench_engine_") as tmp:

            def sqlite_namespace(name: str) -> SqlEngine:
                engines.append(create_engine(f"sqlite:///{Path(tmp) / name}.sqlite3"))
                event.listen(engines[-1], "connect", sqlite_pragmas)  # as the app: WAL, synchronous=FULL
                return engines[-1]

            try:
                yield sqlite_namespace
            finally:
                for engine in engines:
                    engine.dispose()
        return
    admin_url = make_url(normalise_url(url))
    if admin_url.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: only PostgreSQL URLs are supported (SQLite is the default)")
    if admin_url.database == BENCH_DATABASE:
        raise SystemExit(
            f"--database-url must name another database; {BENCH_DATABASE!r} is created and dropped"
        )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    bench_url: URL = admin_url.set(database=BENCH_DATABASE)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')  # a crashed run's
        conn.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')

    def pg_namespace(name: str) -> SqlEngine:
        ddl = create_engine(bench_url, isolation_level="AUTOCOMMIT")
        with ddl.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        ddl.dispose()
        engines.append(create_engine(bench_url, connect_args={"options": f"-csearch_path={name}"}))
        return engines[-1]

    try:
        yield pg_namespace
    finally:
        for engine in engines:
            engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin.dispose()


@dataclass
class Setup:
    """A fresh schema with the organisation and the fixture definitions deployed."""

    sql: SqlEngine
    factory: sessionmaker[Session]
    clock: ManualClock
    calendar: WorkingCalendar
    cache: SpecCache = field(default_factory=SpecCache)
    org: OrgTree | None = None  # loaded once, as app.runtime.Runtime.org does
    org_per_engine: bool = False  # True: every Engine loads the tree itself (Engine without org=)

    def engine(self, session: Session) -> Engine:
        """As app.runtime.Runtime.engine: a new Engine per session; clock, calendar, spec cache and
        organisation tree shared."""
        if self.org is None and not self.org_per_engine:
            self.org = load_org(session)
        org = None if self.org_per_engine else self.org
        return build_engine(session, self.calendar, clock=self.clock, spec_cache=self.cache, org=org)

    def settle(self) -> None:
        """Untimed: statistics fresh, dead rows vacuumed and dirty pages written, as in a steady state.

        Without it the bulk load and the previous run's updates leave work to autovacuum and the checkpointer
        that would run in the background, on the same two CPUs, during the next timed wake-up.
        """
        if self.sql.dialect.name == "sqlite":
            with self.sql.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            return
        with self.sql.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
            conn.exec_driver_sql("CHECKPOINT")


def fresh_setup(sql: SqlEngine, calendar: WorkingCalendar, start: datetime) -> Setup:
    Base.metadata.drop_all(sql)
    Base.metadata.create_all(sql)
    setup = Setup(sql, sessionmaker(bind=sql, expire_on_commit=False), ManualClock(start), calendar)
    with setup.factory() as s:
        for code, name, level, parent in ORG:
            s.add(OrgUnit(code=code, name=name, level=level, parent_code=parent))
        s.commit()
        with clockmod.activated(setup.clock):
            deploy(s, read_project_files(FIXTURES), setup.engine(s).checks, created_by="bench")
        s.commit()
    return setup


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


@dataclass
class CycleResult:
    all: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in VARIANTS})
    by_task: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    statements: dict[str, list[str]] = field(default_factory=dict)
    org: list[OrgRow] = field(default_factory=list)
    growth: list[GrowthRow] = field(default_factory=list)


@dataclass
class OrgRow:
    """Organisation tree cached (as app.runtime does) or loaded by every new Engine (Engine without org=)."""

    label: str
    units: int
    org_load: list[float]
    raw: list[float]
    cached: list[float]
    per_engine: list[float]


@dataclass
class GrowthRow:
    """One instance after ``loops`` times rectify → accept (not accepted): SpiffWorkflow keeps every task."""

    loops: int
    tasks: int
    raw_bytes: int
    ours_bytes: int
    raw: float  # median, completing rectify on this state
    flush: float  # median, the same with our engine, flush only


GROWTH_REPS = 10


def bench_growth(
    setup: Setup, spiff: BpmnWorkflowSerializer, script_engine: PythonScriptEngine, sizes: Sizes
) -> list[GrowthRow]:
    case = prepare_case(setup, spiff, "bench-growth", Case("growth", 0, "rectify", {}, TOWN_LEADER))
    steps = [("rectify", {}, TOWN_LEADER), ("accept", {"accepted": False}, COUNTY_OFFICE)]
    rows: list[GrowthRow] = []
    done = 0  # completions so far
    for loops in sizes.growth:
        while done < 2 * loops:
            complete_by_element(setup, case.instance_id, *steps[done % 2])
            done += 1
        with setup.factory() as s:
            inst = s.get(ProcessInstance, case.instance_id)
            assert inst is not None
            wf = setup.engine(s).workflow(inst)
            task_id = s.scalars(
                select(Task.id).where(Task.instance_id == inst.id, Task.state == "ready")
            ).one()
            frozen = Case("growth", inst.id, "rectify", {}, TOWN_LEADER, task_id, spiff.serialize_json(wf))
            ours_bytes, tasks = len(inst.state_json.encode()), len(wf.tasks)
        raw = median([raw_cycle(spiff, script_engine, setup.clock, frozen)[0] for _ in range(GROWTH_REPS)])
        flushes = [ours_cycle(setup, frozen, commit=False) for _ in range(GROWTH_REPS)]  # rolled back
        rows.append(GrowthRow(loops, tasks, len(frozen.raw_json.encode()), ours_bytes, raw, median(flushes)))
    return rows


def load_real_divisions(setup: Setup) -> None:
    """Nanyang's divisions as app/org loads them (city, 15 counties, 246 townships) + city-direct units."""
    with (ROOT / "app" / "org" / "nanyang-divisions.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with setup.factory() as s:
        for r in rows:
            parent = r["parent_code"] or None
            s.merge(OrgUnit(code=r["code"], name=r["name"], level=r["level"], parent_code=parent))
        for code in ("CD02", "CD03", "CD04", "CD05"):
            s.merge(OrgUnit(code=code, name=code, level="city_direct", parent_code=CITY))
        s.commit()
    setup.org = None  # as Runtime.reload_calendar drops it


def bench_org(
    setup: Setup,
    spiff: BpmnWorkflowSerializer,
    script_engine: PythonScriptEngine,
    cases: list[Case],
    label: str,
    sizes: Sizes,
) -> OrgRow:
    with setup.factory() as s:
        units = s.scalar(select(func.count()).select_from(OrgUnit)) or 0
    row = OrgRow(label, units, [], [], [], [])
    for i in range(sizes.warmup + sizes.cycles // 2):
        with setup.factory() as s:
            t0 = time.perf_counter()
            load_org(s)
            if i >= sizes.warmup:
                row.org_load.append(time.perf_counter() - t0)
    for i in range(sizes.warmup + sizes.cycles // 2):  # interleaved like bench_cycles
        case = cases[i % 2]
        raw = raw_cycle(spiff, script_engine, setup.clock, case)[0]
        cached = ours_cycle(setup, case, commit=True)
        setup.org_per_engine = True
        per_engine = ours_cycle(setup, case, commit=True)
        setup.org_per_engine = False
        if i >= sizes.warmup:
            row.raw.append(raw)
            row.cached.append(cached)
            row.per_engine.append(per_engine)
    return row


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


def bench_cycles(sql: SqlEngine, calendar: WorkingCalendar, sizes: Sizes) -> tuple[CycleResult, list[Case]]:
    setup = fresh_setup(sql, calendar, CASE_START)
    spiff = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    cases = [
        prepare_case(setup, spiff, "bench-rectify", Case("rectify", 0, "rectify", {}, TOWN_LEADER)),
        prepare_case(
            setup, spiff, "bench-accept", Case("accept", 0, "accept", {"accepted": False}, COUNTY_OFFICE)
        ),
    ]
    with setup.factory() as s:
        script_engine = setup.engine(s).script_engine  # the sandboxed engine ours uses, for raw as well

    # The raw cycle must reach the same next wait as ours, else the comparison is meaningless.
    for case, expected in zip(cases, ("accept", "rectify"), strict=True):
        _, out = raw_cycle(spiff, script_engine, setup.clock, case)
        wf = spiff.deserialize_json(out)
        ready = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)]
        assert ready == [expected], (case.label, ready)

    result = CycleResult()
    for case in cases:
        result.by_task[case.label] = {v: [] for v in VARIANTS}
        result.statements[case.label] = count_statements(setup, case)
    gc.collect()
    for i in range(sizes.warmup + sizes.cycles):  # interleaved, so drift hits every variant alike
        case = cases[i % 2]
        times = {
            "raw": raw_cycle(spiff, script_engine, setup.clock, case)[0],
            "raw_store": raw_store_cycle(setup, spiff, script_engine, case),
            "nodb": nodb_cycle(setup, script_engine, case),
            "flush": ours_cycle(setup, case, commit=False),
            "commit": ours_cycle(setup, case, commit=True),
        }
        if i < sizes.warmup:
            continue
        for variant, elapsed in times.items():
            result.all[variant].append(elapsed)
            result.by_task[case.label][variant].append(elapsed)
    result.growth = bench_growth(setup, spiff, script_engine, sizes)
    result.org.append(bench_org(setup, spiff, script_engine, cases, "test fixture", sizes))
    load_real_divisions(setup)
    result.org.append(bench_org(setup, spiff, script_engine, cases, "Nanyang divisions", sizes))
    return result, cases


def report_cycles(result: CycleResult, cases: list[Case]) -> None:
    raw_med, raw_p90 = median(result.all["raw"]), p90(result.all["raw"])
    stored_med = median(result.all["raw_store"])
    rows = []
    for variant, name in VARIANTS.items():
        values = result.all[variant]
        rows.append(
            [
                name,
                str(len(values)),
                ms(median(values)),
                ms(p90(values)),
                f"{median(values) / raw_med:5.2f}x",
                f"{p90(values) / raw_p90:5.2f}x",
                f"{median(values) / stored_med:5.2f}x",
                f"{1 / median(values):7.0f}",
            ]
        )
    print_table(
        "Completion cycle: one user task completed (both tasks together; ms)",
        ["variant", "n", "median", "p90", "med/raw", "p90/raw", "med/raw+store", "cycles/s"],
        rows,
    )
    rows = []
    for label, per in result.by_task.items():
        raw = median(per["raw"])
        rows.append(
            [f"complete {label}"]
            + [ms(median(per[v])) for v in VARIANTS]
            + [f"{median(per[v]) / raw:5.2f}x" for v in ("flush", "commit")]
        )
    print_table(
        "Per task (medians, ms)",
        ["task", "raw", "raw+store", "ours no DB", "ours flush", "ours commit", "flush/raw", "commit/raw"],
        rows,
    )
    rows = [
        [
            f"{c.label} READY",
            f"{len(c.raw_json.encode()):,}",
            f"{len(c.ours_json.encode()):,}",
            f"{len(c.raw_json.encode()) / len(c.ours_json.encode()):4.1f}x",
        ]
        for c in cases
    ]
    print_table("Instance JSON size (bytes, UTF-8)", ["state", "raw Spiff", "ours", "raw/ours"], rows)
    rows = [
        [
            f"{r.label} ({r.units} units)",
            str(len(r.cached)),
            ms(median(r.org_load)),
            ms(median(r.raw)),
            ms(median(r.cached)),
            ms(median(r.per_engine)),
            f"{median(r.cached) / median(r.raw):5.2f}x",
            f"{median(r.per_engine) / median(r.raw):5.2f}x",
        ]
        for r in result.org
    ]
    print_table(
        "Organisation tree: cached per process (app.runtime) or loaded by each Engine (no org=); commit, ms",
        [
            "organisation",
            "n",
            "load_org",
            "raw med",
            "ours cached",
            "ours per Engine",
            "cached/raw",
            "per Eng/raw",
        ],
        rows,
    )
    rows = [
        [
            str(g.loops),
            str(g.tasks),
            f"{g.raw_bytes:,}",
            f"{g.ours_bytes:,}",
            ms(g.raw),
            ms(g.flush),
            f"{g.flush / g.raw:5.2f}x",
        ]
        for g in result.growth
    ]
    print_table(
        f"State growth: one instance after N loops rectify -> accept (not accepted); completing rectify,"
        f" medians of {GROWTH_REPS}, ms",
        ["loops", "tasks", "raw bytes", "ours bytes", "raw med", "ours flush med", "flush/raw"],
        rows,
    )
    for label, statements in result.statements.items():
        print(f"\nSQL per completion of {label} ({len(statements)} statements + COMMIT):")
        print("  " + "; ".join(statements))


# -- 3: timer wake-ups ------------------------------------------------------------------------------------
class TimedEngine(Engine):
    """Records when each wake() starts, so wake_due's per-instance cost (lock, wake, commit) can be split."""

    marks: list[float]

    def wake(self, instance_id: int, actor: Actor = SYSTEM) -> bool:
        self.marks.append(time.perf_counter())
        return super().wake(instance_id, actor)


@dataclass
class WakeResult:
    waiting: int
    totals: list[float] = field(default_factory=list)
    per_instance: list[float] = field(default_factory=list)
    query: list[float] = field(default_factory=list)
    start_per_instance: list[float] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)


def start_due_batch(setup: Setup, n: int, run: int) -> float:
    setup.clock.set(WAIT_START)
    t0 = time.perf_counter()
    with setup.factory() as s:
        engine = setup.engine(s)
        for i in range(n):
            engine.start("wait_working_days", business_key=f"due-{run}-{i:06d}", unit_code=WANCHENG_TOWN)
            if i % 200 == 199:
                s.commit()
        s.commit()
    return (time.perf_counter() - t0) / n


def bulk_not_due(setup: Setup, n: int) -> None:
    """Insert ``n`` waiting, not-due instances: copies of a real one, unique keys, wake-ups a minute apart."""
    setup.clock.set(FAR_START)
    with setup.factory() as s:
        template = setup.engine(s).start(
            "wait_working_days", business_key="template", unit_code=WANCHENG_TOWN
        )
        s.commit()
        assert template.next_wake_at is not None and template.next_wake_at > WAIT_WAKE
        # Every column of the real rows (whatever the model has grown), except the keys and the wake-up time.
        instances, events = ProcessInstance.__table__, InstanceEvent.__table__
        base = dict(s.execute(select(instances).where(instances.c.id == template.id)).mappings().one())
        for key in ("id", "business_key", "next_wake_at"):
            del base[key]
        template_events = [
            {k: v for k, v in row.items() if k not in ("id", "instance_id")}
            for row in s.execute(select(events).where(events.c.instance_id == template.id)).mappings()
        ]
        chunk = 5000
        for lo in range(0, n - 1, chunk):  # the template itself is the n-th
            rows = [
                {**base, "business_key": f"bulk-{i:06d}", "next_wake_at": FAR_WAKE + timedelta(minutes=i)}
                for i in range(lo, min(n - 1, lo + chunk))
            ]
            s.execute(insert(instances), rows)
        ids = list(s.scalars(select(ProcessInstance.id).where(ProcessInstance.business_key.like("bulk-%"))))
        for lo in range(0, len(ids), chunk):
            rows = [{**e, "instance_id": i} for i in ids[lo : lo + chunk] for e in template_events]
            s.execute(insert(events), rows)
        s.commit()


def explain_due_query(setup: Setup, limit: int) -> list[str]:
    """EXPLAIN of the exact statement ``due_instance_ids`` sends (captured from the cursor)."""
    captured: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if "next_wake_at <=" in statement and not captured:
            captured.append((statement, parameters))

    event.listen(setup.sql, "before_cursor_execute", capture)
    try:
        with setup.factory() as s:
            due_instance_ids(s, setup.engine(s).now(), limit)
    finally:
        event.remove(setup.sql, "before_cursor_execute", capture)
    statement, parameters = captured[0]
    lines = ["query: " + " ".join(statement.split())]
    with setup.sql.connect() as conn:
        if setup.sql.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            lines += [f"  {r[3]}" for r in rows]
        else:
            rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
            lines += [f"  {r[0]}" for r in rows]
    return lines


@dataclass
class WakeSetup:
    setup: Setup
    result: WakeResult


def prepare_wake(sql: SqlEngine, calendar: WorkingCalendar, sizes: Sizes, waiting: int) -> WakeSetup:
    setup = fresh_setup(sql, calendar, WAIT_START)
    if waiting > sizes.due:
        bulk_not_due(setup, waiting - sizes.due)
    return WakeSetup(setup, WakeResult(waiting))


def wake_run(ws: WakeSetup, sizes: Sizes, run: int) -> None:
    """Start a batch of due instances, then time the due query and one wake_due that wakes them all."""
    setup, result = ws.setup, ws.result
    marks: list[float] = []

    def make_engine(session: Session) -> Engine:
        engine = TimedEngine(
            session,
            setup.calendar,
            regulation_parts(load_org(session)),
            clock=setup.clock,
            spec_cache=setup.cache,
        )
        engine.marks = marks
        return engine

    result.start_per_instance.append(start_due_batch(setup, sizes.due, run))
    setup.settle()  # same for both setups
    setup.clock.set(WAIT_WAKE)
    if not result.plan:
        result.plan = explain_due_query(setup, sizes.due)
    with setup.factory() as s:
        engine = setup.engine(s)
        for _ in range(sizes.query_runs):
            t0 = time.perf_counter()
            found = due_instance_ids(s, engine.now(), sizes.due)
            result.query.append(time.perf_counter() - t0)
            s.rollback()
        assert len(found) == sizes.due, len(found)
    gc.collect()
    with setup.factory() as s:
        t0 = time.perf_counter()
        report = wake_due(s, make_engine, limit=sizes.due)
        end = time.perf_counter()
    assert len(report.woken) == sizes.due and not report.failed and not report.skipped, report
    result.totals.append(end - t0)
    result.per_instance += [b - a for a, b in zip(marks, [*marks[1:], end], strict=True)]
    with setup.factory() as s:
        left = s.scalar(select(func.count()).where(ProcessInstance.next_wake_at <= WAIT_WAKE))
        running = s.scalar(select(func.count()).where(ProcessInstance.status == "running"))
        assert left == 0 and running == result.waiting - sizes.due, (left, running)


def bench_wake(namespace: Namespace, calendar: WorkingCalendar, sizes: Sizes) -> list[WakeResult]:
    """Both setups side by side, runs alternating (small, large, large, small, ...) so load drift cancels."""
    setups = [
        prepare_wake(namespace("wake_small"), calendar, sizes, sizes.waiting_small),
        prepare_wake(namespace("wake_large"), calendar, sizes, sizes.waiting_large),
    ]
    for run in range(sizes.wake_runs):
        for ws in setups if run % 2 == 0 else reversed(setups):
            wake_run(ws, sizes, run)
    for ws in setups:
        Base.metadata.drop_all(ws.setup.sql)
    return [ws.result for ws in setups]


def report_wake(results: list[WakeResult], due: int) -> None:
    small, large = results
    rows = []
    for r in results:
        rows.append(
            [
                f"{due:,} due of {r.waiting:,} waiting",
                str(len(r.totals)),
                ms(median(r.totals)),
                ms(min(r.totals)),
                ms(max(r.totals)),
                ms(median(r.per_instance)),
                ms(p90(r.per_instance)),
                ms(median(r.query)),
                ms(p90(r.query)),
                ms(median(r.start_per_instance)),
            ]
        )
    print_table(
        "Timer wake-up: wake_due of all due instances (ms)",
        [
            "setup",
            "runs",
            "total med",
            "total min",
            "total max",
            "per inst med",
            "per inst p90",
            "due query med",
            "due query p90",
            "start/inst",
        ],
        rows,
    )
    print(
        f"\nratio {large.waiting:,}/{small.waiting:,} waiting:"
        f" total {median(large.totals) / median(small.totals):.2f}x"
        f" (min {min(large.totals) / min(small.totals):.2f}x),"
        f" per instance {median(large.per_instance) / median(small.per_instance):.2f}x,"
        f" due query {median(large.query) / median(small.query):.2f}x"
    )
    for r in results:
        print(f"\nplan of the due query, {r.waiting:,} waiting ({due:,} due):")
        print("\n".join(r.plan))


# -- main ---------------------------------------------------------------------------------------------------
def code_revision() -> str:
    """Which engine code ran: HEAD, and whether workflows/ differed from it (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "--no-optional-locks", "status", "--porcelain", "--", "workflows"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "code: (not a git checkout)"
    return f"code: {head}" + (
        f" + uncommitted changes in {len(dirty)} file(s) under workflows/" if dirty else ""
    )


def load_average() -> str:
    """Other work on the machine skews timings; say how busy it was."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f}/{five:.2f} on {os.cpu_count()} CPUs"


def describe(sql: SqlEngine) -> str:
    with sql.connect() as conn:
        if sql.dialect.name == "sqlite":
            version = conn.exec_driver_sql("select sqlite_version()").scalar()
            mode = conn.exec_driver_sql("pragma journal_mode").scalar()
            sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[
                conn.exec_driver_sql("pragma synchronous").scalar()
            ]
            where = Path(sql.url.database or "").parent
            return f"SQLite {version} (files in {where}, journal_mode={mode}, synchronous={sync})"
        version = conn.exec_driver_sql("show server_version").scalar()
        fsync = conn.exec_driver_sql("show fsync").scalar()
        sync = conn.exec_driver_sql("show synchronous_commit").scalar()
        return (
            f"PostgreSQL {version} on {sql.url.host}:{sql.url.port}, database {sql.url.database}, one schema"
            f" per part (fsync={fsync}, synchronous_commit={sync})"
        )


# -- script budget (issue 16) ----------------------------------------------------------------------------
def bench_script_budget(calendar: WorkingCalendar, n: int) -> None:
    """What one evaluation costs in process (cheap expressions; everything with the budget off) and in a
    script worker (the rest: every script), and what starting a worker costs. Always under the default
    budget, whatever ``--no-script-budget`` says."""
    helpers = make_helpers(calendar)
    budget = limits.Budget()
    budgeted, plain = BudgetedEnvironment(helpers, budget=budget), RestrictedEnvironment(helpers)
    data = {"decided_at": CASE_START.isoformat(), "accepted": False}
    due = "working_days_after(decided_at, 10)"
    script = "decided_at = now()\nrectify_due = months_after(decided_at, 2)"  # the fixture's set_deadlines
    variants: list[tuple[str, Callable[[], object]]] = [
        (
            "condition accepted == True, budgeted (cheap: in process)",
            lambda: budgeted.evaluate("accepted == True", data),
        ),
        ("  the same, sandbox without budget", lambda: plain.evaluate("accepted == True", data)),
        (f"due date {due}, budgeted (cheap: in process)", lambda: budgeted.evaluate(due, data)),
        (
            "  the same forced into a worker (1 helper call)",
            lambda: run_job("eval", due, data, None, helpers, budget),
        ),
        (
            "script set_deadlines, budgeted (worker, 2 helper calls)",
            lambda: budgeted.execute(script, dict(data), {}),
        ),
        ("  the same, sandbox without budget", lambda: plain.execute(script, dict(data), {})),
    ]
    rows = []
    for label, run in variants:
        for _ in range(20):
            run()
        times = []
        for _ in range(n):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        rows.append([label, str(n), f"{median(times) * 1e6:8.0f}", f"{p90(times) * 1e6:8.0f}"])
    starts = []
    for _ in range(5):
        started = time.perf_counter()
        worker = workers.spawn(budget.memory_bytes)
        starts.append(time.perf_counter() - started)
        worker.close()
    start_label = "starting a worker process (python -I, imports, limits; p90 = max)"
    rows.append([start_label, "5", f"{median(starts) * 1e6:8.0f}", f"{max(starts) * 1e6:8.0f}"])
    print_table(
        "Script budget (issue 16): one evaluation, microseconds", ["evaluation", "n", "median", "p90"], rows
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test, not figures")
    parser.add_argument(
        "--no-script-budget", action="store_true", help="scripts in process, as before issue 16 (to compare)"
    )
    args = parser.parse_args(argv)
    if args.no_script_budget:
        limits.configure(limits.Budget(enabled=False))
    sizes = QUICK if args.quick else FULL
    packages = ", ".join(
        f"{p} {metadata.version(p)}"
        for p in ("SpiffWorkflow", "SQLAlchemy", "psycopg", "RestrictedPython", "lxml")
    )
    calendar = WorkingCalendar()
    started = time.perf_counter()
    with bench_database(args.database_url) as namespace:
        sql = namespace("cycles")
        print(f"bench_engine {'--quick ' if args.quick else ''}| {describe(sql)}")
        print(f"Python {platform.python_version()} | {packages}")
        print(f"{code_revision()} | {load_average()}")
        print(
            f"cycles {sizes.cycles} (+{sizes.warmup} warm-up)"
            f" | wake: {sizes.due} due, {sizes.wake_runs} run(s)"
        )
        jobs = workers.pool().jobs_run
        result, cases = bench_cycles(sql, calendar, sizes)
        jobs = workers.pool().jobs_run - jobs
        Base.metadata.drop_all(sql)
        report_cycles(result, cases)
        budget = "off (--no-script-budget)" if args.no_script_budget else "on"
        print(f"\nscript budget {budget}: {jobs} script-worker jobs during the completion cycles above")
        bench_script_budget(calendar, 50 if args.quick else 1000)
        report_wake(bench_wake(namespace, calendar, sizes), sizes.due)
    print(f"\n(total {time.perf_counter() - started:.0f} s; {load_average()})")


if __name__ == "__main__":
    main()
