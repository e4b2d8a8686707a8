#!/usr/bin/env python3
"""What the hash chain (issue 16 point 6) costs per working-file event written.

Writes the same events twice into a fresh database built by the migrations: once chained by the
``before_flush`` listener (lock the instance on PostgreSQL, read the chain's head, canonical JSON, SHA-256),
once with the listener replaced by a plain counter filling seq/hash (the same columns and rows, none of the
chain's work). Each transaction writes ``--per-step`` events to one instance and commits, like a task
completion. End-to-end times include the commit's fsync and whatever else the machine does; the time spent
inside the listener is the chain's own cost and does not depend on them. Also times the hashing alone.

    .venv/bin/python scripts/bench_audit_chain.py                      # SQLite in a temp dir
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/mydb .venv/bin/python scripts/bench_audit_chain.py

On PostgreSQL it works in a database of its own next to the one named (``mydb_bench_chain``, dropped after).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, event, make_url
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app
from app.config import database_url
from workflows.engine import audit_chain
from workflows.engine.models import Base, DefinitionVersion, InstanceEvent, OrgUnit, ProcessInstance

DETAIL = {  # a typical task completion's form data (~400 bytes of JSON)
    "data": {
        "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈，经核实情况属实。" * 2,
        "proposal": "notification",
        "leaders": [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}],
        "art31_items": [2, 6],
    }
}


PLAIN_SEQ: dict[int, int] = {}  # the baseline's places: negative, out of the chain's way


def setup(url: str, instances: int) -> tuple[sessionmaker[Session], list[int]]:
    from flask_migrate import upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade()
        from app.extensions import db

        db.engine.dispose()
    factory = sessionmaker(bind=create_engine(url), expire_on_commit=False)
    now = datetime.now(UTC)
    with factory() as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(delete(table))
        s.add(OrgUnit(code="411300", name="南阳市", level="city", parent_code=None))
        version = DefinitionVersion(
            number=1, created_at=now, created_by="bench", content_hash="x", process_ids=["p"], specs_json="{}"
        )
        s.add(version)
        s.flush()
        rows = [
            ProcessInstance(
                version_id=version.id,
                process_id="p",
                business_key=f"bench-{i}",
                unit_code="411300",
                state_json="{}",
                created_at=now,
                updated_at=now,
                started_by="bench",
            )
            for i in range(instances)
        ]
        s.add_all(rows)
        s.commit()
        return factory, [r.id for r in rows]


def write(
    factory: sessionmaker[Session], ids: list[int], steps: int, per_step: int, chained: bool
) -> tuple[float, float]:
    """Seconds to write ``steps`` transactions of ``per_step`` events (round-robin over the instances), and
    the seconds of it spent in the before_flush listener (the chain's own work, or the counter's)."""
    counters = PLAIN_SEQ
    inside = [0.0]

    def plain(session: Session, _ctx: Any, _instances: Any) -> None:
        for obj in session.new:
            if isinstance(obj, InstanceEvent) and obj.seq is None:
                counters[obj.instance_id] = counters.get(obj.instance_id, 0) - 1
                obj.seq, obj.hash = counters[obj.instance_id], "0" * 64

    def timed(session: Session, ctx: Any, instances: Any) -> None:
        t0 = time.perf_counter()
        (audit_chain._chain_new_events if chained else plain)(session, ctx, instances)
        inside[0] += time.perf_counter() - t0

    event.remove(Session, "before_flush", audit_chain._chain_new_events)
    event.listen(Session, "before_flush", timed)
    try:
        start = time.perf_counter()
        for step in range(steps):
            instance_id = ids[step % len(ids)]
            with factory() as s:
                for _ in range(per_step):
                    s.add(
                        InstanceEvent(
                            instance_id=instance_id,
                            at=datetime.now(UTC),
                            actor="411302.office_director",
                            kind="task_completed",
                            element_id="verify_case",
                            detail=DETAIL,
                        )
                    )
                s.commit()
        return time.perf_counter() - start, inside[0]
    finally:
        event.remove(Session, "before_flush", timed)
        event.listen(Session, "before_flush", audit_chain._chain_new_events)


@contextmanager
def bench_database() -> Iterator[str]:
    if not os.environ.get("DATABASE_URL"):
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.sqlite3"
        return
    url = make_url(database_url(Path("/nonexistent")))
    name = f"{url.database}_bench_chain"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--per-step", type=int, default=3)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with bench_database() as url:
        factory, ids = setup(url, args.instances)
        n = args.steps * args.per_step
        chained, plain, listener = [], [], []
        for _ in range(args.rounds):  # interleaved, so drift (cache, WAL growth, load) hits both alike
            plain.append(write(factory, ids, args.steps, args.per_step, chained=False)[0])
            total, inside = write(factory, ids, args.steps, args.per_step, chained=True)
            chained.append(total)
            listener.append(inside)
        sample = audit_chain.as_stored(DETAIL)
        ev = type("E", (), {})()
        ev.__dict__.update(
            instance_id=1,
            seq=42,
            kind="task_completed",
            actor="a",
            at=datetime.now(UTC),
            element_id="x",
            task_id=None,
            detail=sample,
            prev_hash="f" * 64,
        )
        t0 = time.perf_counter()
        for _ in range(20_000):
            audit_chain.event_hash(ev)
        hashing = (time.perf_counter() - t0) / 20_000
        dialect = factory.kw["bind"].dialect.name
        c, p = statistics.median(chained), statistics.median(plain)
        print(
            f"{dialect}: {args.rounds} rounds of {args.steps} transactions × {args.per_step} events (median)"
        )
        print(f"  without the chain: {p / n * 1e6:8.1f} µs/event  {p / args.steps * 1e3:6.2f} ms/transaction")
        print(f"  chained:           {c / n * 1e6:8.1f} µs/event  {c / args.steps * 1e3:6.2f} ms/transaction")
        print(f"  cost of the chain: {(c - p) / n * 1e6:8.1f} µs/event  ({(c - p) / p * 100:+.1f} %)")
        own = statistics.median(listener)
        print(f"  in the chaining listener (lock + head query + hashing): {own / n * 1e6:.1f} µs/event")
        print(f"  canonical JSON + SHA-256 alone: {hashing * 1e6:.1f} µs/event")
        factory.kw["bind"].dispose()


if __name__ == "__main__":
    main()
