"""1–3 of scripts/bench_engine.py, the runs: the completion cycles interleaved, the organisation tree's cost,
state growth over loops, and their tables."""

from __future__ import annotations

import csv
import gc
import time
from dataclasses import dataclass, field

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.engine import Engine as SqlEngine

from engine_bench.common import (
    CASE_START,
    CITY,
    COUNTY_OFFICE,
    ROOT,
    TOWN_LEADER,
    Setup,
    Sizes,
    fresh_setup,
    median,
    ms,
    p90,
    print_table,
)

# -- 1 + 2: one completion, raw vs ours ---------------------------------------------------------------------
from engine_bench.cycles import (
    VARIANTS,
    Case,
    complete_by_element,
    count_statements,
    nodb_cycle,
    ours_cycle,
    prepare_case,
    raw_cycle,
    raw_store_cycle,
)
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.models import OrgUnit, ProcessInstance, Task
from workflows.regulation.roles import load_org


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


@dataclass
class CycleResult:
    all: dict[str, list[float]] = field(default_factory=lambda: {v: [] for v in VARIANTS})
    by_task: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    statements: dict[str, list[str]] = field(default_factory=dict)
    org: list[OrgRow] = field(default_factory=list)
    growth: list[GrowthRow] = field(default_factory=list)


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
