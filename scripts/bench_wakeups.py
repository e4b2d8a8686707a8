#!/usr/bin/env python
"""Timer drain rate and lag (issue 17) on PostgreSQL, without Locust: N responsibility letters whose deadline
(31 March 23:59:59) falls at one instant, fired by one and then two real scheduler processes.

    .venv/bin/python scripts/bench_wakeups.py                     # 18 cities: 2,708 letters due at once
    .venv/bin/python scripts/bench_wakeups.py --cities 3 --schedulers 1,2
    .venv/bin/python scripts/bench_wakeups.py --profile 300       # one scheduler in-process: cProfile, SQL

1. A template database ``<db>_tmpl`` (kept between runs; ``--rebuild`` makes it again): migrated
   (``flask db upgrade``), the province's units (``gen_province``, ``--cities``; no member units), the
   definitions, and the year's first quarter up to the issued letters (``simulate_year.Sim``): every city's
   and county's letters issued, none signed, so every letter's deadline timer is due at the same instant.
2. For each count in ``--schedulers``: a fresh copy of the template (``CREATE DATABASE … TEMPLATE``), that
   many ``flask scheduler`` processes started with the clock offset (``GOVERNANCE_CLOCK_OFFSET_SECONDS``) so
   the deadline falls ``--due-after`` seconds after they start (a burst while running, not a restart), and
   the run ends when nothing is due. Reported from ``timer_firing``: fired per scheduler, first and last lag,
   p50/p95, the drain rate (wake-ups/s between the first and the last firing).
3. ``--profile N``: one scheduler's ``wake_due`` in this process on a fresh copy, the clock past the
   deadline, at most N wake-ups: wall time and SQL statements per wake-up, and the top of cProfile.

Every figure is printed with the load average (``os.getloadavg``): the machine may be shared.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import gen_province  # noqa: E402
from bench_province import complete_ready, fresh_database  # noqa: E402
from simulate_year import APPROVE, DRAFT, Sim  # noqa: E402
from sqlalchemy import create_engine, event, func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from workflows.engine.legaltime.legal_time import CST  # noqa: E402
from workflows.engine.models import ProcessInstance, TimerFiring  # noqa: E402
from workflows.regulation import annual  # noqa: E402

VENV = ROOT / ".venv" / "bin"


def _admin(url: str) -> Any:
    return create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def build_template(url: str, cities: int | None, year: int = 2026) -> None:
    """Migrated, the units and definitions loaded, every letter issued and none signed."""
    fresh_database(url)
    units = gen_province.province(cities=cities, members=False)
    gen_province.check(units)
    print("loaded:", gen_province.load(url, units))
    sim = Sim(url, datetime(year, 1, 5, 9, 0, tzinfo=CST))
    sim.deploy()
    for city in [u.code for u in units if u.level == "city"]:
        with sim.factory() as s:
            annual.start_cycle(sim.engine(s), city, year)
            s.commit()
    complete_ready(sim, "draft_letters", DRAFT, "city drafts")
    complete_ready(sim, "approve_letters", APPROVE, "city letters issued")
    sim.at(year, 2, 5, 10, 0)
    complete_ready(sim, "draft_letters", DRAFT, "county drafts")
    complete_ready(sim, "approve_letters", APPROVE, "county letters issued")
    print(f"template: {sim.count('annual_letter')} letters issued, none signed")
    sim.db.dispose()


def copy_of(template: str, url: str) -> None:
    name, tmpl = make_url(url).database, make_url(template).database
    admin = _admin(url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{tmpl}"')
    admin.dispose()


def drop(url: str) -> None:
    admin = _admin(url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


def first_due(url: str) -> tuple[datetime, int]:
    db = create_engine(url)
    with db.connect() as conn:
        due = conn.scalar(select(func.min(ProcessInstance.next_wake_at)))
        count = conn.scalar(select(func.count()).where(ProcessInstance.next_wake_at == due)) or 0
    db.dispose()
    assert due is not None, "nothing waits on a timer"
    return (due if due.tzinfo else due.replace(tzinfo=UTC)), count


def _env(url: str, offset: float) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "FLASK_APP": "app",
        "GOVERNANCE_SCHEDULER": "0",
        "GOVERNANCE_SECRET_KEY": "bench-wakeups",
        "GOVERNANCE_CLOCK_OFFSET_SECONDS": str(offset),
    }


def drain(url: str, schedulers: int, due_after: float, limit: float, log: Path) -> dict[str, Any]:
    """``schedulers`` ``flask scheduler`` processes; the deadline falls ``due_after`` s after they start."""
    due, count = first_due(url)
    offset = (due - datetime.now(UTC)).total_seconds() - due_after
    env = _env(url, offset)
    procs = [
        subprocess.Popen(
            [str(VENV / "flask"), "scheduler"],
            cwd=ROOT,
            env=env,
            stdout=(log.parent / f"{log.stem}-{i}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for i in range(schedulers)
    ]
    load_before = os.getloadavg()
    db = create_engine(url)
    t0 = time.monotonic()
    try:
        with db.connect() as conn:
            while time.monotonic() - t0 < due_after + limit:
                time.sleep(1)
                now = datetime.now(UTC) + timedelta(seconds=offset)
                if now < due:
                    continue
                left = conn.scalar(select(func.count()).where(ProcessInstance.next_wake_at <= now))
                conn.commit()
                if not left:
                    break
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
    with db.connect() as conn:
        rows = conn.execute(
            select(TimerFiring.fired_at, TimerFiring.lag_ms, TimerFiring.scheduler).order_by(
                TimerFiring.fired_at
            )
        ).all()
    db.dispose()
    lags = sorted(r[1] / 1000 for r in rows)
    by: dict[str, int] = {}
    for r in rows:
        by[r[2]] = by.get(r[2], 0) + 1
    span = (rows[-1][0] - rows[0][0]).total_seconds() if len(rows) > 1 else 0.0
    return {
        "schedulers": schedulers,
        "due_at_once": count,
        "fired": len(rows),
        "by_scheduler": sorted(by.values(), reverse=True),
        "first_lag_s": lags[0] if lags else None,
        "lag_p50_s": statistics.median(lags) if lags else None,
        "lag_p95_s": lags[int(0.95 * (len(lags) - 1))] if lags else None,
        "last_lag_s": lags[-1] if lags else None,
        "within_60_s": sum(1 for lag in lags if lag <= 60),
        "drain_s": round(span, 1),
        "wakeups_per_s": round((len(rows) - 1) / span, 1) if span else None,
        "load_average": (load_before, os.getloadavg()),
    }


def profile(url: str, n: int, top: int, with_cprofile: bool = True) -> None:
    """One scheduler's ``wake_due`` in this process: wall, statements per wake-up, cProfile's top."""
    from app import create_app
    from app.extensions import db
    from app.jobs import run_due_timers
    from app.runtime import runtime
    from app.wakeups import COMMIT_EVERY

    due, count = first_due(url)
    os.environ.update(_env(url, (due - datetime.now(UTC)).total_seconds() + 1))
    app = create_app()
    statements = [0]
    with app.app_context():
        event.listen(
            db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1)
        )
        session, rt = db.session(), runtime()
        run_due_timers(session, rt, limit=5)  # warm: spec cache, organisation, calendar
        statements[0] = 0
        load = os.getloadavg()
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        if with_cprofile:
            prof.enable()
        report = run_due_timers(session, rt, limit=n, budget_seconds=None)
        prof.disable()
        wall = time.perf_counter() - t0
        db.session.remove()
    woken = len(report.woken)
    print(
        f"profile (commit every {COMMIT_EVERY}): {count} due; woke {woken} in {wall:.2f} s = "
        f"{wall / max(woken, 1) * 1000:.1f} ms "
        f"({woken / wall:.1f}/s), {statements[0] / max(woken, 1):.1f} statements per wake-up; "
        f"load average {load} → {os.getloadavg()}"
    )
    if not with_cprofile:
        return
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    print(out.getvalue())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="wakeups_bench")
    parser.add_argument("--cities", type=int, help="only the first N cities (default all 18: 2,708 letters)")
    parser.add_argument("--rebuild", action="store_true", help="make the template database again")
    parser.add_argument("--schedulers", default="1,2", help="scheduler processes per run, e.g. 1,2")
    parser.add_argument("--due-after", type=float, default=20, help="seconds after start the deadline falls")
    parser.add_argument("--limit", type=float, default=600, help="give up after this many seconds of drain")
    parser.add_argument("--profile", type=int, metavar="N", help="profile N wake-ups in-process instead")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-cprofile", action="store_true", help="--profile: time and count only")
    parser.add_argument("--keep", action="store_true", help="keep the last run's database")
    args = parser.parse_args(argv)
    template, url = f"{args.pg}/{args.db}_tmpl", f"{args.pg}/{args.db}"
    admin = _admin(url)
    with admin.connect() as conn:
        exists = conn.exec_driver_sql(
            "SELECT 1 FROM pg_database WHERE datname = %s", (make_url(template).database,)
        ).scalar()
    admin.dispose()
    if args.rebuild or not exists:
        t0 = time.perf_counter()
        build_template(template, args.cities)
        print(f"template built in {time.perf_counter() - t0:.0f} s")
    try:
        if args.profile:
            copy_of(template, url)
            profile(url, args.profile, args.top, not args.no_cprofile)
            return 0
        logs = Path("/tmp/bench-wakeups")
        logs.mkdir(exist_ok=True)
        for n in [int(x) for x in args.schedulers.split(",")]:
            copy_of(template, url)
            result = drain(url, n, args.due_after, args.limit, logs / f"s{n}.log")
            print(result, flush=True)
    finally:
        if not args.keep:
            drop(url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
