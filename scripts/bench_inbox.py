#!/usr/bin/env python3
"""Inbox and case-list response times with 10,000 open tasks (issue: "paging that stays fast").

Builds a throwaway database (SQLite file by default, or --database-url), loads Nanyang's organisation and
the demo accounts and definitions, bulk-inserts N case instances with one open task each spread over every
county office, then times full page requests through the Flask test client (login session, templates and
all): the city supervisor's case list, a county office director's inbox (first page, a filtered page, a
deep page), and the JSON task list. Prints medians and p90 over repeated requests.

    .venv/bin/python scripts/bench_inbox.py                 # 10,000 tasks on SQLite
    .venv/bin/python scripts/bench_inbox.py --tasks 2000    # smaller
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from workflows.engine.legaltime.clock import ManualClock  # noqa: E402
from workflows.engine.legaltime.legal_time import CST  # noqa: E402
from workflows.engine.models import Base, DefinitionVersion, OrgUnit, ProcessInstance, Task  # noqa: E402


def fill(app, count: int) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        version = db.session.query(DefinitionVersion).order_by(DefinitionVersion.number.desc()).first()
        towns = [u for u in db.session.query(OrgUnit).filter_by(level="township")]
        now = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
        instances, tasks = [], []
        for i in range(count):
            town = towns[i % len(towns)]
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
                    "updated_at": now,
                    "started_by": "bench",
                    "summary": {"level": ["notification", "interview", "listing"][i % 3]},
                    "has_provisional": False,
                }
            )
            due = now + timedelta(days=(i % 60) - 10)
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


def timed(client, url: str, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def login(app, username: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench",
                "DEFINITIONS_ROOT": ROOT,
                "CLOCK": ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=CST)),
            }
        )
        with app.app_context():
            Base.metadata.drop_all(db.engine)
            Base.metadata.create_all(db.engine)
        assert app.test_cli_runner().invoke(args=["init-demo"]).exit_code == 0
        t0 = time.perf_counter()
        fill(app, args.tasks)
        print(
            f"{args.tasks} open tasks over {url.split(':')[0]} inserted in {time.perf_counter() - t0:.1f} s"
        )
        county = login(app, "411302.office_director")
        city = login(app, "411300.supervisor")
        with app.app_context():
            mine = db.session.query(Task).filter_by(org_code="411302", state="ready").count()
        print(f"411302 (宛城区) office director holds {mine} of them\n")
        rows = [
            ("county director: inbox, page 1", county, "/inbox"),
            ("county director: inbox, overdue filter", county, "/inbox?status=overdue"),
            ("county director: inbox, last page", county, "/inbox?page=27"),
            ("county director: JSON /api/v1/tasks", county, "/api/v1/tasks"),
            ("city supervisor: case list, page 1", city, "/cases"),
            ("city supervisor: case list, county filter", city, "/cases?county=411303"),
        ]
        print(f"{'request':46} {'median ms':>10} {'p90 ms':>8}")
        for label, client, path in rows:
            median, p90 = timed(client, path, args.repeat)
            print(f"{label:46} {median:10.1f} {p90:8.1f}")
        with app.app_context():
            Base.metadata.drop_all(db.engine)
            db.engine.dispose()


if __name__ == "__main__":
    main()
