"""Concurrency under load (issue 16, point 8): case numbers from a counter row taken under lock, alerts
inserted idempotently by racing schedulers, migrations behind a lock.

The 200 openings at once need PostgreSQL (row locks across connections; SQLite has one writer at a time and
its five-second busy timeout is no load test) and are skipped loudly on SQLite. The counter's numbering and
rollback, the alert races and the migration race run on both databases.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
import time
from collections import Counter as Tally
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import and_, func, select, update
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import RoleGrant, User
from app.cases.services import open_case
from app.extensions import db
from app.inbox.models import Notification, TaskAlert
from app.inbox.notifications import send_due_alerts
from app.org.upkeep import UNASSIGNED, flag_unassigned_tasks
from app.runtime import engine as app_engine
from app.runtime import runtime
from tests.conftest import ROOT, WANCHENG_TOWN, demo_app
from tests.race import needs_postgresql, race, together
from workflows.engine.actors import Actor
from workflows.engine.counters import counter_name, next_business_key, next_number
from workflows.engine.db_lock import exclusive
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Counter, InstanceEvent, ProcessInstance, Task
from workflows.engine.tally import recount
from workflows.regulation.accountability import CASE_PROCESS

START = datetime(2026, 3, 16, 9, 0, tzinfo=CST)
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内阶段性刑事治安案件多发。",
}
MIGRATION = ROOT / "migrations" / "versions" / "c16b0c0a7e02_case_number_counters.py"


# -- the counter ---------------------------------------------------------------------------------------------
def test_counter_numbers_follow_and_a_rolled_back_number_is_given_again(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as s:
        assert [next_number(s, "a") for _ in range(3)] == [1, 2, 3]
        assert next_number(s, "b") == 1  # each name counts on its own
        s.commit()
    with session_factory() as s:
        assert next_number(s, "a") == 4
        s.rollback()  # the opening failed: its number goes back
    with session_factory() as s:
        assert next_number(s, "a") == 4
        assert next_business_key(s, CASE_PROCESS, "追责-2026-") == "追责-2026-0001"
        assert next_business_key(s, CASE_PROCESS, "追责-2026-") == "追责-2026-0002"
        s.commit()
    with session_factory() as s:
        rows = dict(s.execute(select(Counter.name, Counter.last_number)).all())
    assert rows == {"a": 4, "b": 1, counter_name(CASE_PROCESS, "追责-2026-"): 2}


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("case_number_counters", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_seeds_counters_so_numbering_goes_on_after_the_highest_key(tmp_path: Path) -> None:
    """Existing keys (with a gap, as old 'count + 1' numbering could leave after a deletion) seed the counters
    with their highest number per process and prefix; keys that are not numbered are left alone."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    meta = sa.MetaData()
    instances = sa.Table(
        "process_instance",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("process_id", sa.String(100)),
        sa.Column("business_key", sa.String(100)),
    )
    existing = [
        (CASE_PROCESS, "追责-2025-0001"),
        (CASE_PROCESS, "追责-2026-0001"),
        (CASE_PROCESS, "追责-2026-0003"),
        ("inspection", "督查-2026-411302-0002"),
        ("annual_report_filing", "报送-2026-CD01-0001"),
        ("personal_measure_referral", "追责-2026-0001-个人1"),  # not a numbered process
        ("responsibility_letter", "责任书-2026-411302"),
    ]
    try:
        with engine.begin() as conn:
            meta.create_all(conn)
            conn.execute(instances.insert(), [{"process_id": p, "business_key": k} for p, k in existing])
            with Operations.context(MigrationContext.configure(conn)):
                _migration().upgrade()
        with Session(engine) as s:
            assert dict(s.execute(select(Counter.name, Counter.last_number)).all()) == {
                f"{CASE_PROCESS}:追责-2025-": 1,
                f"{CASE_PROCESS}:追责-2026-": 3,
                "inspection:督查-2026-411302-": 2,
                "annual_report_filing:报送-2026-CD01-": 1,
            }
            assert next_business_key(s, CASE_PROCESS, "追责-2026-") == "追责-2026-0004"
            assert next_business_key(s, "meeting", "会议-2026-411302-") == "会议-2026-411302-0001"
            s.commit()
        with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            _migration().downgrade()
        assert "counter" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


# -- 200 openings at once ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: SqlEngine) -> Iterator[Flask]:
    pool = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10, "pool_timeout": 600}
    with demo_app(db_url, start=START, SQLALCHEMY_ENGINE_OPTIONS=pool) as app:
        yield app


def _case_keys(app: Flask) -> list[str]:
    with app.app_context():
        query = select(ProcessInstance.business_key).where(ProcessInstance.process_id == CASE_PROCESS)
        return list(db.session.scalars(query))


def test_200_case_openings_at_once_get_200_unique_gapless_numbers(app: Flask, sql_engine: SqlEngine) -> None:
    """200 officials' clients post a report at the same moment through ``POST /api/v1/cases``: every one is
    opened (201), and the numbers are 追责-2026-0001 … 0200, none twice, none skipped."""
    needs_postgresql(sql_engine, "200 openings at once")
    before = _case_keys(app)
    login = app.test_client()
    got = login.post("/api/v1/auth/login", json={"username": "411302.office_staff", "password": "demo"})
    assert got.status_code == 200, got.json
    token = got.json["csrf_token"]  # type: ignore[index]
    cookie = login.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    assert cookie is not None
    openings = 200
    go = threading.Barrier(openings)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def open_one(n: int) -> None:
        try:
            client = app.test_client()  # its own client; each request its own app context and session
            client.set_cookie(cookie.key, cookie.value)
            go.wait()
            body = {**REPORT, "unit_code": WANCHENG_TOWN, "facts": f"第{n}份：辖区内阶段性刑事治安案件多发。"}
            done = client.post("/api/v1/cases", json=body, headers={"X-CSRFToken": token})
            statuses.append(done.status_code)
            if done.status_code != 201:
                errors.append(AssertionError(f"{done.status_code}: {done.get_data(as_text=True)[:300]}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=open_one, args=(n,)) for n in range(openings)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=600)
    assert errors == [], errors[:3]
    assert statuses == [201] * openings
    keys = [k for k in _case_keys(app) if k not in set(before)]
    assert len(keys) == openings
    assert [k for k, n in Tally(keys).items() if n > 1] == [], "a case number was given twice"
    assert {k.rsplit("-", 1)[0] for k in keys} == {"追责-2026"}
    first = len(before) + 1  # the year's numbers continue after the cases opened before
    assert sorted(int(k.rsplit("-", 1)[1]) for k in keys) == list(range(first, first + openings))
    with app.app_context():  # the case lists' counts took every opening (all on one tally row), none lost
        assert recount(db.session()) == []
        db.session.rollback()


# -- schedulers racing on alerts ---------------------------------------------------------------------------
def _open_cases(app: Flask, count: int) -> list[int]:
    """``count`` cases on a township of 宛城区, opened by its office clerk (each a task for the office)."""
    with app.app_context():
        clerk = db.session.scalar(select(User).where(User.username == "411302.office_staff"))
        assert clerk is not None
        grants = frozenset((g.role, g.org_code) for g in clerk.grants)
        ids = [
            open_case(app_engine(), Actor(clerk.username, grants), WANCHENG_TOWN, REPORT).id
            for _ in range(count)
        ]
        db.session.commit()
        return ids


def _alert_rows(app: Flask, kind: str, instance_ids: list[int]) -> tuple[list[str], list[str], int]:
    """The open tasks of these instances, the task ids of their ``kind`` alerts, and their notices."""
    with app.app_context():
        ready = select(Task.id).where(Task.instance_id.in_(instance_ids), Task.state == "ready")
        tasks = list(db.session.scalars(ready))
        alerts = select(TaskAlert.task_id).where(TaskAlert.task_id.in_(tasks), TaskAlert.kind == kind)
        notices = select(func.count(Notification.id)).where(
            Notification.task_id.in_(tasks), Notification.kind == kind
        )
        return tasks, list(db.session.scalars(alerts)), int(db.session.scalar(notices) or 0)


def _due_after(app: Flask, ids: list[int]) -> datetime:
    """A day after the last deadline of these instances' tasks: each of them arrived and overdue."""
    with app.app_context():
        due = db.session.scalar(select(func.max(Task.due_at)).where(Task.instance_id.in_(ids)))
    assert due is not None
    return due + timedelta(days=1)


def _holders(app: Flask, task_ids: list[str]) -> int:
    """How many notices one alert of each of these (unclaimed) tasks should give: their role's holders."""
    with app.app_context():
        holds = and_(RoleGrant.role == Task.role, RoleGrant.org_code == Task.org_code)
        query = select(func.count()).select_from(Task).join(RoleGrant, holds).where(Task.id.in_(task_ids))
        return int(db.session.scalar(query) or 0)


def test_two_alert_passes_racing_send_each_alert_once(app: Flask) -> None:
    ids = _open_cases(app, 5)
    later = _due_after(app, ids)
    sent_first, sent_second = race(app, lambda s: send_due_alerts(s, later))
    assert sent_first > 0 and sent_second == 0
    for kind in ("arrived", "overdue"):
        tasks, alerted, notices = _alert_rows(app, kind, ids)
        assert tasks and sorted(alerted) == sorted(tasks), f"{kind}: each task's alert exactly once"
        assert notices == _holders(app, tasks) > 0, f"{kind}: one notice per holder, none twice"
    with app.app_context():  # and a third pass finds nothing left to send
        assert send_due_alerts(db.session(), later) == 0
        db.session.rollback()


def test_two_schedulers_started_together_never_fail(app: Flask, sql_engine: SqlEngine) -> None:
    """Free-running: two passes released at the same instant, three rounds, each on newly opened cases;
    neither pass raises, every alert goes out, and the notices add up to each alert's holders once."""
    needs_postgresql(sql_engine, "two free-running passes")
    for _round in range(3):
        ids = _open_cases(app, 5)
        later = _due_after(app, ids)
        together(app, lambda s, at=later: send_due_alerts(s, at))  # both passes commit, neither raises
        for kind in ("arrived", "overdue"):
            tasks, alerted, notices = _alert_rows(app, kind, ids)
            assert tasks and sorted(alerted) == sorted(tasks)
            assert notices == _holders(app, tasks) > 0


def test_two_upkeep_passes_racing_flag_an_unassigned_task_once(app: Flask) -> None:
    """The organisation step flags a task nobody holds: two passes at once write one alert, one
    ``task_unassigned`` event and one notice per recipient, not two."""
    ids = _open_cases(app, 3)
    with app.app_context():
        tasks = db.session.execute(
            select(Task.id, Task.role, Task.org_code).where(Task.instance_id.in_(ids), Task.state == "ready")
        ).all()
        holding = sa.tuple_(RoleGrant.role, RoleGrant.org_code).in_({(role, org) for _, role, org in tasks})
        holders = list(
            db.session.scalars(
                select(User.id).join(RoleGrant, RoleGrant.user_id == User.id).where(holding, User.active)
            )
        )
        db.session.execute(update(User).where(User.id.in_(holders)).values(active=False))  # nobody in post
        db.session.commit()
        org = runtime().org(db.session())
        now = runtime().clock.now()
    try:
        first, second = race(app, lambda s: flag_unassigned_tasks(s, org, now))
        assert tasks and {task_id for task_id, _, _ in tasks} <= set(first) and second == []
        task_ids, alerted, notices = _alert_rows(app, UNASSIGNED, ids)
        assert sorted(alerted) == sorted(task_ids)
        with app.app_context():
            events = db.session.scalars(
                select(InstanceEvent.task_id).where(
                    InstanceEvent.task_id.in_(task_ids), InstanceEvent.kind == "task_unassigned"
                )
            ).all()
            per_recipient = db.session.execute(
                select(Notification.task_id, Notification.user_id).where(
                    Notification.task_id.in_(task_ids), Notification.kind == UNASSIGNED
                )
            ).all()
        assert Tally(events) == Tally(task_ids), "one task_unassigned event per task"
        assert notices == len(per_recipient) >= len(task_ids)
        assert len(set(per_recipient)) == len(per_recipient), "a recipient was told twice"
    finally:
        with app.app_context():
            db.session.execute(update(User).where(User.id.in_(holders)).values(active=True))
            db.session.commit()


# -- two servers migrating one empty database --------------------------------------------------------------
def test_a_named_lock_lets_one_holder_in_at_a_time(sql_engine: SqlEngine) -> None:
    """``exclusive`` (what migrations take): a second connection asking for the same name waits until the
    first lets go; another name does not wait."""
    order: list[str] = []

    def second() -> None:
        with sql_engine.connect() as conn, exclusive(conn, "test-lock"):
            order.append("second in")

    with sql_engine.connect() as first, exclusive(first, "test-lock"):
        waiting = threading.Thread(target=second)
        waiting.start()
        with sql_engine.connect() as other, exclusive(other, "another-lock"):
            order.append("other name in")
        time.sleep(0.5)
        order.append("first out")
    waiting.join(timeout=30)
    assert order == ["other name in", "first out", "second in"]


@pytest.fixture
def empty_database(sql_engine: SqlEngine, tmp_path: Path) -> Iterator[str]:
    """A database nobody has migrated: a new PostgreSQL database beside the test one, or a new SQLite file."""
    if sql_engine.dialect.name != "postgresql":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    name = f"{sql_engine.url.database}_migration_race"
    admin = sql_engine.execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sql_engine.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_two_servers_started_together_on_an_empty_database_both_start(empty_database: str) -> None:
    """What two servers started together do (scripts/run): ``flask db upgrade`` then ``flask init-demo``,
    twice at once. One migrates and loads, the other waits for each lock, finds the work done, exits 0 too."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "GOVERNANCE_DATABASE_URL"}}
    env.update(FLASK_APP="app", DATABASE_URL=empty_database, GOVERNANCE_SECRET_KEY="test")
    flask = f"{sys.executable} -m flask"
    command = ["sh", "-c", f"{flask} db upgrade && {flask} init-demo"]
    runs = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    url = empty_database.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            versions = list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
            tables = set(sa.inspect(conn).get_table_names())
            deployed = conn.execute(sa.text("SELECT count(*) FROM definition_version")).scalar_one()
    finally:
        engine.dispose()
    assert versions == [ScriptDirectory(str(ROOT / "migrations")).get_current_head()]
    assert {"process_instance", "counter", "task_alert"} <= tables
    assert deployed == 1  # the second start found the diagrams deployed
