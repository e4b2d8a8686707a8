#!/usr/bin/env python3
"""Case search response times at 10,000 cases (issue 14: "search ≤ 100 ms server side at 10,000 cases").

Builds a throwaway database (SQLite file by default, or --database-url), loads Nanyang's organisation, the
demo accounts and definitions, bulk-inserts N accountability cases spread over every township, each with an
open task and a registration (reporter, facts, leaders drawn from fixed lists), indexes them with the
search's backfill (``workflows.regulation.case_search``: FTS5 ``trigram`` on SQLite, ``pg_trgm`` on
PostgreSQL, whose tables are then analysed as autovacuum would after a bulk load), then times full page
requests through the Flask test client (login session, templates and all) of ``/cases?q=…`` for the city
supervisor and a county office director: a case number, a unit, a leader's name, a two-character term (the
LIKE fallback on SQLite), a phrase of the facts, a term most cases hold, and the JSON API. Prints medians
and p90 over repeated requests.

    .venv/bin/python scripts/bench_search.py                   # 10,000 cases on SQLite
    .venv/bin/python scripts/bench_search.py --cases 2000      # smaller
    .venv/bin/python scripts/bench_search.py --database-url postgresql://postgres@127.0.0.1:5432/search_h
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchkit import demo_app  # noqa: E402  (scripts/ is on the path of a script run from it)

from app.extensions import db  # noqa: E402
from workflows.engine.audit_chain import chain_rows  # noqa: E402
from workflows.engine.legaltime.legal_time import CST  # noqa: E402
from workflows.engine.models import (  # noqa: E402
    Base,
    DefinitionVersion,
    InstanceEvent,
    OrgUnit,
    ProcessInstance,
    Task,
)
from workflows.engine.tally import recount  # noqa: E402
from workflows.regulation.case_search import backfill  # noqa: E402

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文斌玉兰飞鹏辉宇浩凯晨欣雪梅"
POSITIONS = ["党工委书记", "办事处主任", "党委书记", "乡镇长", "分管副乡镇长", "综治中心主任", "派出所所长"]
REPORTERS = [
    "市公安局",
    "市信访局",
    "南阳市消防救援支队",
    "县委政法委",
    "市场监管局",
    "群众来信",
    "12345热线",
]
ISSUES = [
    "辖区内阶段性刑事治安案件多发，群众反映强烈",
    "一小区发生火灾，消防通道长期被占用",
    "重点人员服务管理不到位，发生个人极端案事件",
    "矛盾纠纷排查化解工作不力，引发群体性上访",
    "校园周边治安秩序混乱，学生家长多次投诉",
    "电信网络诈骗案件高发，宣传防范措施不落实",
    "农村宅基地纠纷久拖未决，酿成刑事案件",
    "夜间施工噪音扰民问题突出，多次投诉无果",
    "出租房屋管理底数不清，流动人口登记缺失",
    "道路交通安全隐患未及时整改，发生较大事故",
]
TAILS = ["，经核查情况属实。", "，相关单位整改迟缓。", "，群众满意度明显下降。", "，责任落实不到位。"]


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def fill(app, count: int) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Insert ``count`` cases with a registration each; returns sample terms for the searches."""
    rng = random.Random(14)
    with app.app_context():
        version = db.session.query(DefinitionVersion).order_by(DefinitionVersion.number.desc()).first()
        towns = [u for u in db.session.query(OrgUnit).filter_by(level="township").order_by(OrgUnit.code)]
        now = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
        instances, tasks, events = [], [], []
        sample: dict[str, str] = {}
        for i in range(count):
            town = towns[i % len(towns)]
            case_id, key = 100000 + i, f"追究-2026-{i + 1:05d}"
            leaders = [
                {"name": person(rng), "position": rng.choice(POSITIONS)} for _ in range(rng.choice((1, 2)))
            ]
            facts = f"{town.name}{rng.choice(ISSUES)}{rng.choice(TAILS)}"
            if i >= count // 2 and not sample and len(leaders[0]["name"]) == 3:  # a name the trigrams find
                sample.update(key=key, unit=town.name, leader=leaders[0]["name"])
            due = now + timedelta(days=(i % 60) - 10)
            instances.append(
                {
                    "id": case_id,
                    "version_id": version.id,
                    "process_id": "accountability_case",
                    "business_key": key,
                    "unit_code": town.code,
                    "status": "running",
                    "state_json": "{}",
                    "lock_version": 1,
                    "created_at": now,
                    "updated_at": now + timedelta(minutes=i),
                    "started_by": "bench",
                    "summary": {"level": ["notification", "interview", "listing"][i % 3]},
                    "has_provisional": False,
                    "earliest_due_at": due,  # its one open task's, as a step would write it
                }
            )
            tasks.append(
                {
                    "id": str(uuid.uuid4()),
                    "instance_id": case_id,
                    "process_id": "accountability_intake",
                    "element_id": "verify_case",
                    "name": "核实并确定追究方式",
                    "lane": "office_director@upper",
                    "role": "office_director",
                    "org_code": town.parent_code,
                    "unit_code": town.code,
                    "form": "intake_verify.json",
                    "article": "Art. 32–37",
                    "due_at": due,
                    "due_provisional": False,
                    "remind_at": due - timedelta(days=3),
                    "state": "ready",
                    "created_at": now,
                }
            )
            data = {"reporter": rng.choice(REPORTERS), "facts": facts, "leaders": leaders}
            events.append(
                {
                    "instance_id": case_id,
                    "at": now,
                    "actor": "bench",
                    "kind": "task_completed",
                    "element_id": "register_report",
                    "detail": {"data": data},
                }
            )
        db.session.execute(ProcessInstance.__table__.insert(), instances)
        db.session.execute(Task.__table__.insert(), tasks)
        chain_rows(db.session(), events)  # events are hash-chained (issue 16); Core inserts skip the listener
        db.session.execute(InstanceEvent.__table__.insert(), events)
        recount(db.session(), repair=True)  # the case list's counts: Core inserts skip that listener too
        db.session.commit()
        t0 = time.perf_counter()
        indexed = backfill(db.session())
        db.session.commit()
        if db.engine.dialect.name == "postgresql":  # what autovacuum does within a minute of a bulk load
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        print(f"{indexed} cases indexed by backfill in {time.perf_counter() - t0:.1f} s")
    return sample


def timed(client, url: str, repeat: int) -> tuple[float, float, str]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    body = response.get_data(as_text=True)
    hits = body.split("共 ", 1)[1].split(" 项", 1)[0] if "共 " in body else str(response.json.get("total"))
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1], hits


def login(app, username: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = demo_app(url)
        t0 = time.perf_counter()
        sample = fill(app, args.cases)
        elapsed = time.perf_counter() - t0
        print(f"{args.cases} cases over {url.split(':')[0]}: inserted and indexed in {elapsed:.1f} s")
        city = login(app, "411300.supervisor")
        county = login(app, "411302.office_director")
        rows = [
            ("city: case list, no search", city, "/cases"),
            (f"city: case number {sample['key']}", city, f"/cases?q={quote(sample['key'])}"),
            (f"city: unit {sample['unit']}", city, f"/cases?q={quote(sample['unit'])}"),
            (f"city: leader {sample['leader']}", city, f"/cases?q={quote(sample['leader'])}"),
            ("city: 2 characters 火灾 (LIKE on SQLite)", city, f"/cases?q={quote('火灾')}"),
            ("city: facts phrase 消防通道长期被占用", city, f"/cases?q={quote('消防通道长期被占用')}"),
            ("city: two words 宛城区 群体性上访", city, f"/cases?q={quote('宛城区 群体性上访')}"),
            ("city: a term most cases hold 街道", city, f"/cases?q={quote('街道')}"),
            ("city: facts phrase + county filter", city, f"/cases?q={quote('噪音扰民')}&county=411303"),
            ("county director: facts phrase", county, f"/cases?q={quote('电信网络诈骗')}"),
            ("county director: JSON /api/v1/cases?q=", county, f"/api/v1/cases?q={quote('电信网络诈骗')}"),
        ]
        print(f"\n{'request':48} {'hits':>6} {'median ms':>10} {'p90 ms':>8}")
        for label, client, path in rows:
            median, p90, hits = timed(client, path, args.repeat)
            print(f"{label:48} {hits:>6} {median:10.1f} {p90:8.1f}")
        with app.app_context():
            Base.metadata.drop_all(db.engine)
            db.engine.dispose()


if __name__ == "__main__":
    main()
