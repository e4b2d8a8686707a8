"""Issue 17, "one request per step": a completion answers with the case and the caller's next ready tasks
with their forms, so a client never needs a second GET; it stays within a bounded number of SQL statements;
a case list page does not query per row; a SQLite file runs in WAL mode with synchronous=FULL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, text

from app import create_app, jobs
from app.extensions import db
from app.inbox.models import Notification
from app.runtime import engine
from tests.conftest import FIXTURES, demo_app
from workflows.engine.models import DefinitionVersion, ProcessInstance, Task
from workflows.regulation.accountability import CASE_PROCESS

THREE_STEPS = FIXTURES / "three_steps"
TOWN, OFFICE_STAFF = "411302", "411302.office_staff"  # 宛城区's office starts and works it (lane @own)
CASE_UNIT = "411302001"  # a township of 宛城区, for the accountability cases of the list tests
FORMS = [{"summary": "群众来信反映"}, {"confirmed": True}, {"note": "已办结"}]

# Today a completion of this diagram takes 7 statements (user with grants; the task with its instance and
# open siblings; instance, completed task and new task; the audit chain's head; the working-file events in
# one executemany; the arrival notice is the notices job's). scripts/bench_http.py counts the same.
# The bound is generous: it catches a per-row query or a reload after the commit, not one extra statement.
STATEMENT_BOUND = 12


@pytest.fixture(scope="module")
def app(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, root=THREE_STEPS) as app:
        yield app


def start(app: Flask, count: int = 1) -> list[int]:
    with app.app_context():
        eng = engine()
        ids = [
            eng.start("three_steps", business_key=f"三步-{uuid4().hex}", unit_code=TOWN).id
            for _ in range(count)
        ]
        db.session.commit()
        return ids


def login(app: Flask, username: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": "demo"})
    assert response.status_code == 200, response.json
    return client, response.json["csrf_token"]  # type: ignore[index]


def first_task(client: FlaskClient, instance_id: int) -> dict[str, Any]:
    items = client.get("/api/v1/tasks?per_page=100").json["items"]  # type: ignore[index]
    return next(t for t in items if t["instance_id"] == instance_id)


def form(name: str) -> dict[str, Any]:
    return json.loads((THREE_STEPS / "forms" / name).read_text(encoding="utf-8"))


def test_each_completion_answers_the_next_task_with_its_form(app: Flask) -> None:
    (instance_id,) = start(app)
    client, token = login(app, OFFICE_STAFF)
    task = first_task(client, instance_id)
    assert task["element_id"] == "register"

    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": FORMS[0]}, headers={"X-CSRFToken": token}
    )
    assert done.status_code == 200, done.json
    body = done.json
    assert body["case"]["id"] == instance_id and body["case"]["status"] == "running"  # type: ignore[index]
    assert body["case"]["steps"] == ["核实"]  # type: ignore[index]
    (following,) = body["next_tasks"]  # type: ignore[index]
    assert following["element_id"] == "check" and following["state"] == "ready"
    assert following["form"] == "three_steps_check.json"
    assert following["form_schema"] == form("three_steps_check.json")  # the JSON Schema itself, no GET needed
    assert following["values"] == {}  # the form prefills nothing (no x-prefill)
    # It is the same task a GET would give.
    fetched = client.get(f"/api/v1/tasks/{following['id']}").json
    assert {k: fetched[k] for k in following} == following  # type: ignore[index]

    # Walk the rest on the answers alone; the last one closes the case and leaves nothing to do.
    done = client.post(
        f"/api/v1/tasks/{following['id']}/complete", json={"data": FORMS[1]}, headers={"X-CSRFToken": token}
    )
    (last,) = done.json["next_tasks"]  # type: ignore[index]
    assert last["element_id"] == "close" and last["form_schema"] == form("three_steps_close.json")
    done = client.post(
        f"/api/v1/tasks/{last['id']}/complete", json={"data": FORMS[2]}, headers={"X-CSRFToken": token}
    )
    assert done.status_code == 200
    assert done.json["next_tasks"] == [] and done.json["case"]["status"] == "complete"  # type: ignore[index]
    assert done.json["case"]["steps"] == []  # type: ignore[index]


def test_the_arrival_notice_leaves_the_request_for_the_notices_job(app: Flask) -> None:
    """Issue 17: the completion's request writes no notification; the scheduler's notices job (every
    GOVERNANCE_NOTICE_INTERVAL seconds) tells the next step's holders, once however often it runs."""
    (instance_id,) = start(app)
    client, token = login(app, OFFICE_STAFF)
    task = first_task(client, instance_id)
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"data": FORMS[0]}, headers={"X-CSRFToken": token}
    )
    following = done.json["next_tasks"][0]  # type: ignore[index]

    def notices() -> list[Notification]:
        return db.session.query(Notification).filter_by(task_id=following["id"], kind="arrived").all()

    with app.app_context():
        assert notices() == []  # not in the request path
        assert jobs.send_arrival_notices(db.session(), engine().now()) >= 1
        sent = notices()
        assert sent and all(n.message == "核实" for n in sent)
        holders = {n.user_id for n in sent}
        assert len(holders) == len(sent)  # one to each holder of the role at the office
        assert jobs.send_arrival_notices(db.session(), engine().now()) == 0  # once per task
        assert len(notices()) == len(sent)


def test_a_completion_stays_within_its_statements(app: Flask) -> None:
    (instance_id,) = start(app)
    client, token = login(app, OFFICE_STAFF)
    task = first_task(client, instance_id)
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0])

    with app.app_context():
        sql = db.engine
    event.listen(sql, "before_cursor_execute", count)
    try:
        done = client.post(
            f"/api/v1/tasks/{task['id']}/complete", json={"data": FORMS[0]}, headers={"X-CSRFToken": token}
        )
    finally:
        event.remove(sql, "before_cursor_execute", count)
    assert done.status_code == 200
    assert 0 < len(statements) <= STATEMENT_BOUND, statements
    # Nothing is read back after the commit: the answer is built before it.
    assert statements[-1] in ("INSERT", "UPDATE"), statements


def add_cases(app: Flask, count: int) -> None:
    """``count`` accountability cases as rows (a list reads only the rows), each with one open task."""
    with app.app_context():
        version = db.session.scalars(select(DefinitionVersion)).first()
        assert version is not None
        now = engine().now()
        for _ in range(count):
            inst = ProcessInstance(
                version_id=version.id,
                process_id=CASE_PROCESS,
                business_key=f"追责-{uuid4().hex}",
                unit_code=CASE_UNIT,
                status="running",
                summary={"level": "notification"},
                state_json="{}",
                created_at=now,
                updated_at=now,
                started_by="test",
            )
            db.session.add(inst)
            db.session.flush()
            db.session.add(
                Task(
                    id=str(uuid4()),
                    instance_id=inst.id,
                    process_id=CASE_PROCESS,
                    element_id="propose_notification",
                    name="核实并提出通报意见",
                    lane="office_director@upper",
                    role="office_director",
                    org_code="411302",
                    unit_code=CASE_UNIT,
                    due_at=now + timedelta(days=3),
                    state="ready",
                    created_at=now,
                )
            )
        db.session.commit()


def test_a_case_list_page_queries_the_same_whatever_its_rows(app: Flask) -> None:
    supervisor, _ = login(app, "411300.supervisor")

    def statements_of(path: str) -> tuple[int, Any]:
        seen: list[int] = []
        with app.app_context():
            sql = db.engine
        listener = lambda *_args: seen.append(1)  # noqa: E731
        event.listen(sql, "before_cursor_execute", listener)
        try:
            response = supervisor.get(path)
        finally:
            event.remove(sql, "before_cursor_execute", listener)
        assert response.status_code == 200
        return len(seen), response

    add_cases(app, 2)
    few_sql, few = statements_of("/api/v1/cases?per_page=2")
    add_cases(app, 8)
    many_sql, many = statements_of("/api/v1/cases?per_page=10")
    assert (len(few.json["items"]), len(many.json["items"])) == (2, 10)
    assert all(item["steps"] == ["核实并提出通报意见"] for item in many.json["items"])  # each row's open task
    assert many_sql == few_sql  # one query for every row's open tasks, not one per row
    statements_of("/cases?per_page=2")  # warm the per-process caches (the 发起 menu: procedures)
    page_few, _ = statements_of("/cases?per_page=2")
    page_many, page = statements_of("/cases?per_page=10")
    assert page_many == page_few and "核实并提出通报意见" in page.get_data(as_text=True)


def test_a_sqlite_file_runs_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    """WAL with synchronous=FULL: a commit returns after its log frames are fsynced — durable — with one
    fsync instead of the rollback journal's several."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'wal.sqlite3'}", "SECRET_KEY": "t"})
    with app.app_context():
        with db.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        db.engine.dispose()
    memory = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "t"})
    with memory.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "memory"  # left alone: no file
