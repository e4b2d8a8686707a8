#!/usr/bin/env python
"""Province scale (issue 17): Henan on one PostgreSQL, served as in production, driven over HTTP by Locust.

    .venv/bin/python scripts/bench_province.py --db henan_bench --port 8000 --users 10,30,50 --duration 60

1. Database: drops and creates ``--db`` on ``--pg`` (a server you may write to), migrates it
   (``flask db upgrade``), loads the province (``scripts/gen_province.py``: 18 cities, ~157 county-level
   units, ~2,450 townships, their people).
2. The year's first quarter on the engine directly, as ``scripts/simulate_year.py`` runs 南阳's (its ``Sim``
   on this database, a moved clock): every city's cycle starts, the city letters are issued and signed, the
   county cycles start and issue their letters to every township (~10× 南阳's letters). The townships'
   letters are left to sign over HTTP; their deadline (31 March) is the timer the schedulers will fire.
3. ``scripts/serve`` (gunicorn, ``--workers`` workers, two ``flask scheduler`` processes), with the clock
   offset so the letters' deadline falls ``--due-after`` seconds into the load: some 2,450 timers come due
   at one instant while people work.
4. Locust (headless, ``scripts/locust_province.py``) at each of ``--users`` concurrent users for
   ``--duration`` seconds: officers signing letters, supervisors listing cases and the dashboard, clerks
   opening cases. Then it waits until the timers are drained.
5. Reports p50/p95 per request kind and level, timer lag (due → fired, from ``timer_firing``), database
   size, peak RSS per process; charts in ``docs/img/`` (``--charts``); a Markdown table on stdout.

Load, progress (tqdm) and results go to the terminal; nothing of the run is kept except ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import gen_province  # noqa: E402
from simulate_year import APPROVE, DRAFT, SIGN, Sim  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from tqdm import tqdm  # noqa: E402

from workflows.engine.legaltime.legal_time import CST  # noqa: E402
from workflows.engine.models import ProcessInstance, Task, TimerFiring  # noqa: E402
from workflows.regulation import annual  # noqa: E402

# 南阳 year's annual_letter instances: 15 counties, 60 city-direct, 184 members, 246 townships
NANYANG_LETTERS = 505
# Every city as 南阳's year (scripts/simulate_year.py): 60 city-direct units (the 5 demo ones and stand-ins).
CITY_DIRECT = 60
VENV = ROOT / ".venv" / "bin"


# -- 1. database ---------------------------------------------------------------------------------------------
def fresh_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "app", "GOVERNANCE_SCHEDULER": "0"}
    subprocess.run([str(VENV / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)


# -- 2. the first quarter ------------------------------------------------------------------------------------
STEP_SECONDS: dict[str, float] = {}  # wall time of each Q1 step, for the report


def complete_ready(sim: Sim, element: str, data: dict[str, Any], desc: str, **where: Any) -> int:
    t0 = time.perf_counter()
    tasks = sim.ready(element, **where)
    for t in tqdm(tasks, desc=desc, unit="task", leave=False):
        sim.complete(t, data)
    STEP_SECONDS[desc] = round(time.perf_counter() - t0, 1)
    return len(tasks)


def first_quarter(url: str, units: list[gen_province.Unit], year: int = 2026) -> dict[str, float]:
    sim = Sim(url, datetime(year, 1, 5, 9, 0, tzinfo=CST))
    t0 = time.perf_counter()
    sim.deploy()
    cities = [u.code for u in units if u.level == "city"]
    counties = [u.code for u in units if u.level == "county"]
    city_direct = [u.code for u in units if u.level == "city_direct"]
    city_members = [u.code for u in units if u.level == "member_unit" and u.parent_code in cities]
    county_members = [u.code for u in units if u.level == "member_unit" and u.parent_code in counties]
    for city in tqdm(cities, desc="city cycles", unit="city"):
        with sim.factory() as s:
            annual.start_cycle(sim.engine(s), city, year)
            s.commit()
    ops = complete_ready(sim, "draft_letters", DRAFT, "city drafts")
    ops += complete_ready(sim, "approve_letters", APPROVE, "city letters issued")
    sim.at(year, 1, 20, 10, 0)
    ops += complete_ready(
        sim,
        "sign_letter",
        SIGN,
        "counties, city-direct, members sign",
        units=counties + city_direct + city_members,
    )
    sim.at(year, 2, 5, 10, 0)
    ops += complete_ready(sim, "draft_letters", DRAFT, "county drafts")
    ops += complete_ready(sim, "approve_letters", APPROVE, "county letters issued")
    sim.at(year, 3, 20, 10, 0)  # as in 南阳's year: the county member units sign in time; townships are left
    ops += complete_ready(sim, "sign_letter", SIGN, "county members sign", units=county_members)
    letters = sim.count("annual_letter")
    return {
        "seconds": time.perf_counter() - t0,
        "steps_s": dict(STEP_SECONDS),
        "operations": ops + len(cities),
        "letters": letters,
        "cycles": sim.count("annual_cycle"),
        "x_nanyang_letters": letters / NANYANG_LETTERS,
    }


def accounts(url: str) -> dict[str, list[str]]:
    """Officers holding a ready letter to sign (one account per township), supervisors, county clerks."""
    from app.auth.models import RoleGrant, User

    db = create_engine(url)
    with db.connect() as conn:
        officers = conn.execute(
            select(func.min(User.username))
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .join(Task, (Task.role == RoleGrant.role) & (Task.org_code == RoleGrant.org_code))
            .where(Task.state == "ready", Task.element_id == "sign_letter")
            .group_by(Task.id)
            .order_by(Task.id)
        ).scalars()
        result = {"officers": list(officers)}
        for key, role in (("supervisors", "supervisor"), ("clerks", "office_staff")):
            result[key] = list(
                conn.execute(
                    select(User.username)
                    .join(RoleGrant, RoleGrant.user_id == User.id)
                    .where(RoleGrant.role == role)
                    .order_by(User.username)
                ).scalars()
            )
    db.dispose()
    return result


def first_due(url: str) -> datetime:
    db = create_engine(url)
    with db.connect() as conn:
        due = conn.scalar(select(func.min(ProcessInstance.next_wake_at)))
        count = conn.scalar(select(func.count()).where(ProcessInstance.next_wake_at == due))
    db.dispose()
    print(f"first timer due {due}: {count} instance(s)")
    assert due is not None
    return due if due.tzinfo else due.replace(tzinfo=UTC)


# -- 3. the servers ------------------------------------------------------------------------------------------
def serve(url: str, port: int, workers: int, offset: float, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "GOVERNANCE_SECRET_KEY": "bench-province-shared-secret",
        "GOVERNANCE_SKIP_INSTALL": "1",
        "GOVERNANCE_WORKERS": str(workers),
        "GOVERNANCE_SCHEDULERS": "2",
        "GOVERNANCE_BIND": f"127.0.0.1:{port}",
        "GOVERNANCE_ACCESS_LOG": "/dev/null",
        "GOVERNANCE_CLOCK_OFFSET_SECONDS": str(offset),
    }
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "serve")], cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    for _ in range(120):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(1)
    proc.terminate()
    raise RuntimeError(f"server did not start: see {log}")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _label(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "flask scheduler" in cmd:
        return "scheduler"
    if "gunicorn" in cmd:
        return "gunicorn"
    return cmd.split(" ")[0].rsplit("/", 1)[-1] or "other"


def smaps(pid: int) -> dict[str, int]:
    """kB of the process's memory: ``Rss`` (resident, shared pages counted in full), ``Pss`` (proportional:
    a page shared by n processes counts 1/n: what the process costs the machine) and ``Private_Dirty``;
    {} when it is gone."""
    try:
        text_ = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    wanted = {"Rss:", "Pss:", "Private_Dirty:"}
    return {
        p[0][:-1]: int(p[1]) for p in (line.split() for line in text_.splitlines()) if p and p[0] in wanted
    }


class RssSampler(threading.Thread):
    """Peak memory (RSS, PSS, private dirty: :func:`smaps`) of every process under the server (master,
    workers, schedulers, their script workers), sampled every 2 s."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.labels = root, {}
        self.peak: dict[int, dict[str, int]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(2):
            todo, seen = [self.root], []
            while todo:
                pid = todo.pop()
                seen.append(pid)
                todo += _children(pid)
            for pid in seen[1:]:  # not the bash script itself
                sizes = smaps(pid)
                if not sizes:
                    continue
                peak = self.peak.setdefault(pid, {})
                for key, kb in sizes.items():
                    peak[key] = max(peak.get(key, 0), kb)
                self.labels.setdefault(pid, _label(pid))


# -- 4. the load ---------------------------------------------------------------------------------------------
def locust(port: int, users: int, seconds: int, prefix: Path, accounts_file: Path) -> list[dict[str, str]]:
    cmd = [
        str(VENV / "locust"),
        "-f",
        str(ROOT / "scripts" / "locust_province.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1, users // 5)),
        "--run-time",
        f"{seconds}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {**os.environ, "BENCH_ACCOUNTS": str(accounts_file)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in tqdm(range(seconds + 10), desc=f"{users} users", unit="s", leave=False):
        if proc.poll() is not None:
            break
        time.sleep(1)
    _, err = proc.communicate(timeout=120)
    rows_file = Path(f"{prefix}_stats.csv")
    if not rows_file.exists():
        raise RuntimeError(f"locust failed: {err.decode()[-2000:]}")
    with rows_file.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def wait_drained(url: str, now_offset: float, limit: float = 300) -> int:
    """Seconds until no timer is due by the servers' clock (0 if none was)."""
    db = create_engine(url)
    t0 = time.monotonic()
    with db.connect() as conn:
        while time.monotonic() - t0 < limit:
            now = datetime.now(UTC) + timedelta(seconds=now_offset)
            due = conn.scalar(select(func.count()).where(ProcessInstance.next_wake_at <= now))
            conn.commit()
            if not due:
                break
            time.sleep(2)
    db.dispose()
    return round(time.monotonic() - t0)


def firings(url: str) -> list[tuple[datetime, int, str]]:
    db = create_engine(url)
    with db.connect() as conn:
        rows = conn.execute(
            select(TimerFiring.fired_at, TimerFiring.lag_ms, TimerFiring.scheduler).order_by(
                TimerFiring.fired_at
            )
        ).all()
        size = conn.scalar(text("SELECT pg_database_size(current_database())"))
    db.dispose()
    return [(r[0], r[1], r[2]) for r in rows] + [(datetime.now(UTC), int(size or 0), "__size__")]


# -- 5. report -----------------------------------------------------------------------------------------------
def charts(
    levels: dict[int, list[dict[str, str]]], fired: list[tuple[datetime, int, str]], out: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    kinds = sorted({r["Name"] for rows in levels.values() for r in rows if r["Name"] != "Aggregated"})
    fig, ax = plt.subplots(figsize=(7, 4))
    for kind in kinds:
        xs, p50, p95 = [], [], []
        for users, rows in sorted(levels.items()):
            row = next((r for r in rows if r["Name"] == kind), None)
            if row and row["50%"] not in ("", "N/A"):
                xs.append(users)
                p50.append(float(row["50%"]))
                p95.append(float(row["95%"]))
        (line,) = ax.plot(xs, p50, marker="o", label=f"{kind} p50")
        ax.plot(xs, p95, marker="x", linestyle="--", color=line.get_color(), label=f"{kind} p95")
    ax.set_xlabel("concurrent users")
    ax.set_ylabel("response time (ms)")
    ax.set_yscale("log")
    ax.set_title("Province scale: latency by request kind (p50 solid, p95 dashed)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "province-latency.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if fired:
        start = fired[0][0]
        for name in sorted({f[2] for f in fired}):
            pts = [((f[0] - start).total_seconds(), f[1] / 1000) for f in fired if f[2] == name]
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=3, label=f"scheduler {name}")
        ax.axhline(60, color="red", linewidth=0.8, label="target 60 s")
    ax.set_xlabel("seconds since the first firing")
    ax.set_ylabel("lag due → fired (s)")
    ax.set_title("Province scale: timer lag of the letters' deadline (31 March)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "province-timer-lag.png", dpi=110)
    plt.close(fig)


def table(levels: dict[int, list[dict[str, str]]]) -> str:
    kinds = sorted({r["Name"] for rows in levels.values() for r in rows})
    head = "| request kind | " + " | ".join(f"{u} users p50 / p95 (n)" for u in sorted(levels)) + " |"
    lines = [head, "|" + "---|" * (len(levels) + 1)]
    for kind in kinds:
        cells = []
        for _users, rows in sorted(levels.items()):
            r = next((x for x in rows if x["Name"] == kind), None)
            cells.append(f"{r['50%']} / {r['95%']} ms ({r['Request Count']})" if r else "–")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    rps = [next((x for x in rows if x["Name"] == "Aggregated"), {}) for _, rows in sorted(levels.items())]
    lines.append(
        "| requests/s, failures | "
        + " | ".join(f"{float(r.get('Requests/s', 0)):.1f}/s, {r.get('Failure Count', '?')}" for r in rps)
        + " |"
    )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="henan_bench")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--users", default="10,30,50")
    parser.add_argument("--duration", type=int, default=60, help="seconds per level")
    parser.add_argument("--due-after", type=int, default=45, help="seconds into the load the deadline falls")
    parser.add_argument("--townships", type=int, default=gen_province.TOWNSHIPS_TARGET)
    parser.add_argument("--cities", type=int, help="only the first N cities (small runs)")
    parser.add_argument(
        "--city-direct", type=int, default=CITY_DIRECT, help="city-direct units per city (南阳's year: 60)"
    )
    parser.add_argument("--q1-only", action="store_true", help="stop after the first quarter (profiling)")
    parser.add_argument("--charts", type=Path, help="write the two charts into this folder (docs/img)")
    parser.add_argument("--out", type=Path, help="the figures as JSON")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-province"))
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    url = f"{args.pg}/{args.db}"
    t_start = time.perf_counter()
    units = gen_province.province(args.city_direct, args.townships, args.cities)
    gen_province.check(units)
    fresh_database(url)
    loaded = gen_province.load(url, units)
    print(f"loaded: {loaded}")
    print(f"uptime: {os.getloadavg()}")
    quarter = first_quarter(url, units)
    print(f"first quarter: {quarter}  load average {os.getloadavg()}")
    if args.q1_only:
        return 0
    acc = accounts(url)
    accounts_file = args.work / "accounts.json"
    accounts_file.write_text(json.dumps(acc), encoding="utf-8")
    print({k: len(v) for k, v in acc.items()})
    due = first_due(url)
    # The servers' clock: the deadline falls --due-after seconds after the load starts (~15 s from now).
    offset = (due - datetime.now(UTC)).total_seconds() - 15 - args.due_after
    server = serve(url, args.port, args.workers, offset, args.work / "serve.log")
    sampler = RssSampler(server.pid)
    sampler.start()
    levels: dict[int, list[dict[str, str]]] = {}
    try:
        for users in [int(u) for u in args.users.split(",")]:
            levels[users] = locust(args.port, users, args.duration, args.work / f"u{users}", accounts_file)
        drained = wait_drained(url, offset)
    finally:
        sampler.stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(120)
    fired = firings(url)
    size = fired.pop()[1]
    lags = sorted(f[1] / 1000 for f in fired)
    by_sched: dict[str, int] = {}
    for f in fired:
        by_sched[f[2]] = by_sched.get(f[2], 0) + 1
    rss = {
        f"{sampler.labels.get(p, '?')} {p}": {f"{k.lower()}_mb": kb // 1024 for k, kb in sizes.items()}
        for p, sizes in sorted(sampler.peak.items())
    }
    result = {
        "loaded": loaded,
        "first_quarter": quarter,
        "levels": levels,
        "timers": {
            "fired": len(fired),
            "by_scheduler": by_sched,
            "lag_p50_s": statistics.median(lags) if lags else None,
            "lag_p95_s": lags[int(0.95 * (len(lags) - 1))] if lags else None,
            "lag_max_s": lags[-1] if lags else None,
            "drain_s": (fired[-1][0] - fired[0][0]).total_seconds() if fired else None,
            "drained_after_load_s": drained,
        },
        "database_mb": size / 2**20,
        "memory_peak": rss,  # per process: rss_mb, pss_mb, private_dirty_mb
        "wall_s": time.perf_counter() - t_start,
        "load_average": os.getloadavg(),
    }
    print(table(levels))
    print(json.dumps({k: v for k, v in result.items() if k != "levels"}, indent=1, default=str))
    if args.charts:
        charts(levels, fired, args.charts)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
