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
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere: `workflows` imports

from engine_bench.budget import bench_script_budget
from engine_bench.common import (
    FULL,
    QUICK,
    ROOT,
    bench_database,
)
from engine_bench.cycle_runs import (
    bench_cycles,
    report_cycles,
)
from engine_bench.wake import bench_wake, report_wake
from sqlalchemy.engine import Engine as SqlEngine

from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.models import Base
from workflows.engine.sandboxing import limits, workers


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
