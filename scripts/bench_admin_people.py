#!/usr/bin/env python3
"""The administrator's account pages with the real city's demo accounts (issue 15, "Administration").

Builds a throwaway database (SQLite file by default, or --database-url), runs ``flask init-demo`` (Nanyang's
divisions, the demo units and their accounts), logs in as the city administrator and times full page
requests through the Flask test client (session, templates and all): the accounts page unfiltered, a later
page, a search, a unit filter, a role filter; then the preview of an import file holding every demo person's
post (the whole city again). Prints the median and worst time and the HTML size of each.

    .venv/bin/python scripts/bench_admin_people.py
    .venv/bin/python scripts/bench_admin_people.py --database-url postgresql://postgres@127.0.0.1:5432/x
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import demo_app  # noqa: E402  (scripts/ is on the path of a script run from it)
from sqlalchemy import func, select  # noqa: E402

from app.auth.models import User  # noqa: E402
from app.extensions import db  # noqa: E402
from workflows.engine.models import Base  # noqa: E402
from workflows.regulation.people import Person, Post  # noqa: E402

PAGES = [
    ("accounts, page 1", "/admin/users"),
    ("accounts, page 5", "/admin/users?page=5"),
    ("accounts, search 宛城", "/admin/users?q=宛城"),
    ("accounts, search a post 书记", "/admin/users?q=书记"),
    ("accounts, unit 411302", "/admin/users?org_code=411302"),
    ("accounts, role office_director", "/admin/users?role=office_director"),
    ("accounts, 200 a page", "/admin/users?per_page=200"),
    ("accounts, grant form open", "/admin/users?grant_to=1"),
    ("people, page 1", "/admin/people"),
]


def timed(client, url: str, repeat: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    samples, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        size = len(response.data)
    return statistics.median(samples), max(samples), size


def city_csv(app) -> bytes:  # type: ignore[no-untyped-def]
    """Every demo account's person and post as an import file: what re-importing the whole city costs."""
    lines = ["姓名,账号,单位代码,职务类别,职务,任职日期"]
    with app.app_context():
        rows = db.session.execute(
            select(Person.name, User.username, Post.org_code, Post.kind, Post.title, Post.start_on)
            .join(User, User.person_id == Person.id)
            .join(Post, Post.person_id == Person.id)
        ).all()
    lines += [",".join(str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def timed_import(client, data: bytes, repeat: int) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    page = client.get("/admin/import/people").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token
    samples, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.post(
            "/admin/import/people",
            data={"csrf_token": token[1], "file": (io.BytesIO(data), "city.csv")},
            content_type="multipart/form-data",
        )
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        size = len(response.data)
    return statistics.median(samples), max(samples), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = demo_app(url)
        with app.app_context():
            accounts = db.session.scalar(select(func.count()).select_from(User))
        client = app.test_client()
        response = client.post("/api/v1/auth/login", json={"username": "411300.admin", "password": "demo"})
        assert response.status_code == 200, response.data
        print(f"{accounts} accounts on {url.split(':')[0]} ({args.repeat} requests each)\n")
        print(f"{'page':34} {'median ms':>10} {'max ms':>8} {'HTML KB':>9}")
        for label, path in PAGES:
            median, worst, size = timed(client, path, args.repeat)
            print(f"{label:34} {median:10.1f} {worst:8.1f} {size / 1024:9.1f}")
        data = city_csv(app)
        rows = data.count(b"\n") - 1
        median, worst, size = timed_import(client, data, max(1, args.repeat // 3))
        print(f"{f'import preview, {rows} rows':34} {median:10.1f} {worst:8.1f} {size / 1024:9.1f}")
        with app.app_context():
            Base.metadata.drop_all(db.engine)
            db.engine.dispose()


if __name__ == "__main__":
    main()
