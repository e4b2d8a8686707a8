#!/usr/bin/env python3
"""Inbox, task list and case list at 100 and at 10,000 open tasks/cases (issue 17: "flat in size").

For each size it builds a throwaway database (SQLite file by default, or --database-url), loads Nanyang's
organisation and the demo accounts and definitions, bulk-inserts N case instances with one open task each,
then times full page requests through the Flask test client (login session, templates and all): a county
office director's inbox (first page, a filtered page, the last page), the JSON task list, and the city
supervisor's case list (first page, filtered to 宛城区 — its 50 cases in every size, the oldest at 10,000;
25 rows a page). The measured director holds the same number of tasks in every size (``--mine``, 50 by
default, all in 宛城区); the other N − 50 tasks belong to the other counties' offices, so a ratio between
sizes measures the table's size, not a longer inbox. Prints medians, p90, SQL statements per request (a
page must not query per row) and the ratio of the sizes.

    .venv/bin/python scripts/bench_inbox.py                          # 100 and 10,000 on SQLite
    .venv/bin/python scripts/bench_inbox.py --sizes 100 2000         # smaller
    .venv/bin/python scripts/bench_inbox.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/x
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import demo_app  # noqa: E402  (scripts/ is on the path of a script run from it)
from sqlalchemy import event, text  # noqa: E402
from tqdm import tqdm  # noqa: E402

from app.extensions import db  # noqa: E402
from app.jobs import daily_upkeep  # noqa: E402
from workflows.engine.legaltime.legal_time import CST  # noqa: E402
from workflows.engine.models import Base, DefinitionVersion, OrgUnit, ProcessInstance, Task  # noqa: E402

MEASURED_COUNTY = "411302"  # 宛城区: its office director is the measured user


def fill(app, count: int, mine: int, overdue_share: bool = True) -> None:  # type: ignore[no-untyped-def]
    """``count`` running cases with one open task each: ``mine`` at 宛城区's townships (the measured
    director's), the rest spread over the other counties' townships. Deadlines run from 10 days ago to 50
    days ahead, so a sixth of the tasks are overdue; with ``overdue_share`` False only ``mine`` follow that
    pattern and the others are all due ahead, so both sizes have the same overdue cases (the overdue count
    is O(overdue cases): this separates the table's size from the number of overdue cases)."""
    with app.app_context():
        version = db.session.query(DefinitionVersion).order_by(DefinitionVersion.number.desc()).first()
        towns = list(db.session.query(OrgUnit).filter_by(level="township").order_by(OrgUnit.code))
        own = [t for t in towns if t.parent_code == MEASURED_COUNTY]
        others = [t for t in towns if t.parent_code != MEASURED_COUNTY]
        now = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
        instances, tasks = [], []
        for i in range(count):
            town = own[i % len(own)] if i < mine else others[i % len(others)]
            due = now + timedelta(days=(i % 60) - 10 if overdue_share or i < mine else (i % 50) + 1)
            instances.append(
                {
                    "id": 100000 + i,
                    "version_id": version.id,
                    "process_id": "accountability_case",
                    "business_key": f"bench-{i}",
                    "unit_code": town.code,
                    "status": "running",
                    "state_json": "{}",
                    "lock_version": 1,
                    "created_at": now,
                    "updated_at": now + timedelta(seconds=i),
                    "started_by": "bench",
                    "summary": {"level": ["notification", "interview", "listing"][i % 3]},
                    "has_provisional": False,
                    "earliest_due_at": due,  # its one open task's, as a step would write it
                }
            )
            tasks.append(
                {
                    "id": str(uuid.uuid4()),
                    "instance_id": 100000 + i,
                    "process_id": "accountability_notification",
                    "element_id": "propose_notification",
                    "name": "核实并提出通报意见",
                    "lane": "office_director@upper",
                    "role": "office_director",
                    "org_code": town.parent_code,
                    "unit_code": town.code,
                    "form": "level_proposal.json",
                    "article": "Art. 33 (O33.1)",
                    "due_at": due,
                    "due_provisional": False,
                    "remind_at": due - timedelta(days=3),
                    "state": "ready",
                    "created_at": now,
                }
            )
        db.session.execute(ProcessInstance.__table__.insert(), instances)
        db.session.execute(Task.__table__.insert(), tasks)
        db.session.commit()
        # The database as a day in use leaves it: the scheduler's daily upkeep repairs the tallies (Core
        # inserts bypass their listener, as an import would) and, on SQLite, gives the planner statistics;
        # on PostgreSQL autovacuum would analyze the new rows.
        started = time.perf_counter()
        upkeep = daily_upkeep(db.session(), now)
        took = (time.perf_counter() - started) * 1000
        assert upkeep is not None and not upkeep.deadlines, "the fill writes each case's earliest deadline"
        print(f"  daily upkeep at {count:,} cases (counts, earliest deadlines, statistics): {took:.0f} ms")
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))
            db.session.commit()


def timed(client, url: str, repeat: int, statements: list[int]) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    """Median and p90 ms of ``repeat`` GETs, and the SQL statements of the last one."""
    samples = []
    for _ in range(repeat):
        statements.clear()
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[max(0, -(-len(samples) * 9 // 10) - 1)], len(statements)


def login(app, username: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200
    return client


REQUESTS = [
    ("county director: inbox, page 1", "county", "/inbox"),
    ("county director: inbox, overdue filter", "county", "/inbox?status=overdue"),
    ("county director: inbox, last page", "county", "/inbox?page={last}"),
    ("county director: JSON /api/v1/tasks", "county", "/api/v1/tasks"),
    ("city supervisor: case list, page 1", "city", "/cases"),
    # 宛城区: the director's 50 cases in every size, so a full page in both (another county has none at 100)
    ("city supervisor: case list, county filter", "city", f"/cases?county={MEASURED_COUNTY}"),
    ("city supervisor: JSON /api/v1/cases", "city", "/api/v1/cases"),
]


def measure(
    url: str, count: int, mine: int, repeat: int, overdue_share: bool = True
) -> dict[str, tuple[float, float, int]]:
    app = demo_app(url)
    t0 = time.perf_counter()
    fill(app, count, mine, overdue_share)
    statements: list[int] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *_: statements.append(1))
        held = db.session.query(Task).filter_by(org_code=MEASURED_COUNTY, state="ready").count()
    print(
        f"{count} open tasks/cases over {url.split(':')[0]} inserted in {time.perf_counter() - t0:.1f} s; "
        f"the 宛城区 office director holds {held} of them",
        file=sys.stderr,
    )
    clients = {"county": login(app, "411302.office_director"), "city": login(app, "411300.supervisor")}
    last = max(1, -(-held // 20))
    results = {}
    for label, who, path in tqdm(REQUESTS, desc=f"{count} tasks", unit="request kind", file=sys.stderr):
        results[label] = timed(clients[who], path.format(last=last), repeat, statements)
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        db.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10000])
    parser.add_argument("--mine", type=int, default=50, help="the measured director's tasks, in every size")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--overdue",
        choices=("share", "mine"),
        default="share",
        help="share: a sixth of all tasks overdue (grows with the size); mine: only the measured director's",
    )
    args = parser.parse_args()
    if min(args.sizes) < args.mine:
        parser.error("every size needs at least --mine tasks")
    one, five, _ = os.getloadavg()
    print(
        f"bench_inbox | load average {one:.2f}/{five:.2f} at start | {args.repeat} requests each | "
        "overdue: "
        + ("a sixth of all tasks" if args.overdue == "share" else "the director's only (the same in both)")
    )
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            results[size] = measure(
                args.database_url or f"sqlite:///{tmp}/bench{size}.sqlite3",
                size,
                args.mine,
                args.repeat,
                args.overdue == "share",
            )
    small, large = min(args.sizes), max(args.sizes)
    header = f"{'request':44}" + "".join(f" {f'{n:,} med':>11} {'p90':>7} {'SQL':>4}" for n in args.sizes)
    print(header + f" {'ratio':>6}")
    for label, _, _ in REQUESTS:
        cells = "".join(
            f" {results[n][label][0]:11.1f} {results[n][label][1]:7.1f} {results[n][label][2]:4d}"
            for n in args.sizes
        )
        ratio = results[large][label][0] / results[small][label][0]
        print(f"{label:44}{cells} {ratio:5.2f}x")
    one, five, _ = os.getloadavg()
    print(
        f"(ms; SQL = statements of one request; ratio = median at {large:,} / at {small:,}; "
        f"load average {one:.2f}/{five:.2f} at end)"
    )


if __name__ == "__main__":
    main()
