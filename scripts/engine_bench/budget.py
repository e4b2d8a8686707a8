"""The script budget (issue 16): one evaluation in process, in a worker, and a worker's start."""

from __future__ import annotations

import time
from collections.abc import Callable

from engine_bench.common import (
    CASE_START,
    median,
    p90,
    print_table,
)
from workflows.engine.legaltime.legal_time import WorkingCalendar
from workflows.engine.sandboxing import limits, workers
from workflows.engine.sandboxing.budgeted import BudgetedEnvironment, run_job
from workflows.engine.sandboxing.sandbox import RestrictedEnvironment
from workflows.engine.sandboxing.script_helpers import make_helpers


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
