"""The Flask side of the engine core: migrations (one head, no drift), CLI commands, the scheduler job."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.scheduler import run_timers
from tests.conftest import FIXTURES, ROOT
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Base, CalendarSchedule, DefinitionVersion, OrgUnit, ProcessInstance
from workflows.regulation.case_search import is_search_object


@pytest.fixture
def app(db_url: str, sql_engine: object, tmp_path: Path) -> Iterator[Flask]:
    project = tmp_path / "project"
    shutil.copytree(FIXTURES, project)
    clock = ManualClock(datetime(2026, 3, 16, 9, 0, tzinfo=CST))
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "t", "DEFINITIONS_ROOT": project, "CLOCK": clock}
    )
    yield app
    with app.app_context():
        for table in reversed(Base.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
        db.engine.dispose()


def test_migrations_have_one_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_models_match_migrations(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as conn:
        # The case search's FTS5 tables and trigram index live outside the models (case_search.py).
        opts = {
            "compare_type": True,
            "include_name": lambda name, _type, _parents: not is_search_object(name),
        }
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"


def test_init_demo_loads_city_and_deploys(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["init-demo"])
    assert result.exit_code == 0, result.output
    assert "definition version 1" in result.output
    with app.app_context():
        levels = dict(db.session.execute(select(OrgUnit.level, func.count()).group_by(OrgUnit.level)).all())
        assert levels == {
            "city": 1,
            "county": 15,
            "township": 246,
            "city_direct": 5,
            "member_unit": 184,
            "system_unit": 10,
        }
    again = app.test_cli_runner().invoke(args=["init-demo"])
    assert again.exit_code == 0 and "definition version 1" in again.output  # idempotent


def test_deploy_command_reports_problems(app: Flask) -> None:
    bpmn = Path(app.config["DEFINITIONS_ROOT"]) / "bpmn" / "rectification.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace("committee_director@upper", "mayor"), "utf-8")
    result = app.test_cli_runner().invoke(args=["definitions", "deploy"])
    assert result.exit_code != 0
    assert "bpmn/rectification.bpmn" in result.output and "角色 mayor 不存在" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(DefinitionVersion)) == 0


def test_calendar_load_and_status(app: Flask, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    assert "provisional" in runner.invoke(args=["calendar", "status", "2027"]).output
    assert "official" in runner.invoke(args=["calendar", "status", "2026"]).output
    bad = runner.invoke(args=["calendar", "status", "1800"])
    assert bad.exit_code != 0 and "1800" in bad.output
    notice = tmp_path / "2027.json"
    notice.write_text(
        json.dumps({"year": 2027, "source": "test", "holidays": ["2027-01-01"], "workdays": ["2027-02-07"]}),
        encoding="utf-8",
    )
    result = runner.invoke(args=["calendar", "load", str(notice)])
    assert result.exit_code == 0, result.output
    assert "official" in runner.invoke(args=["calendar", "status", "2027"]).output
    with app.app_context():
        row = db.session.get(CalendarSchedule, 2027)
        assert row is not None and row.workdays == ["2027-02-07"]
    notice.write_text(
        json.dumps({"year": 2027, "source": "t", "holidays": ["2028-01-01"], "workdays": []}),
        encoding="utf-8",
    )
    bad = runner.invoke(args=["calendar", "load", str(notice)])
    assert bad.exit_code != 0 and "2028-01-01" in bad.output


def test_scheduler_job_fires_due_timers(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["init-demo"]).exit_code == 0
    from app.runtime import runtime

    with app.app_context():
        engine = runtime().engine(db.session)
        case = engine.start("rectification", business_key="s1", unit_code="411302001")
        office = next(t for t in engine.ready_tasks(case.id))
        from workflows.regulation.roles import Actor

        engine.complete_task(
            office.id,
            {"facts": "发生重大案件", "proposal": "notification"},
            Actor("o", frozenset({("office_director", "411302")})),
        )
        approve = engine.ready_tasks(case.id)[0]
        engine.complete_task(
            approve.id, {"approved": True}, Actor("c", frozenset({("committee_director", "411302")}))
        )
        measures = engine.ready_tasks(case.id)[0]
        leader = Actor("l", frozenset({("unit_principal_leader", "411302001")}))
        engine.complete_task(measures.id, {"measures": "加强巡防"}, leader)
        db.session.commit()
        case_id = case.id
        clock = runtime().clock
    assert isinstance(clock, ManualClock)
    clock.set(datetime(2026, 6, 1, tzinfo=CST))
    run_timers(app)
    with app.app_context():
        assert db.session.get(ProcessInstance, case_id).status == "complete"  # type: ignore[union-attr]


def test_health_endpoint(app: Flask) -> None:
    response = app.test_client().get("/api/v1/health")
    assert response.status_code == 200 and response.json["status"] == "ok"  # type: ignore[index]
