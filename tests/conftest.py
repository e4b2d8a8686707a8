"""Shared fixtures: a real database (SQLite file, or PostgreSQL when DATABASE_URL is set), built by the
project's Alembic migrations once per session and emptied after each test; an engine with a manual clock.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, delete
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.config import database_url
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import SpecCache, deploy, read_project_files
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST, WorkingCalendar
from workflows.engine.models import Base, OrgUnit
from workflows.regulation.doc_numbers import load_issuing_organs, read_organ_rows
from workflows.regulation.wiring import build_engine

pytest_plugins = ["tests.browser"]  # browser, live_app, live_server fixtures; loud skip without Chromium

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parent.parent
ISSUING_ORGANS = ROOT / "app" / "org" / "issuing-organs.csv"

# A small organisation: the city, two counties, a township in each, a city-direct unit.
CITY, WANCHENG, WOLONG = "411300", "411302", "411303"
WANCHENG_TOWN, WOLONG_TOWN, CITY_DIRECT = "411302001", "411303001", "CD01"
ORG = [
    (CITY, "南阳市", "city", None),
    (WANCHENG, "宛城区", "county", CITY),
    (WOLONG, "卧龙区", "county", CITY),
    (WANCHENG_TOWN, "东关街道", "township", WANCHENG),
    (WOLONG_TOWN, "七一街道", "township", WOLONG),
    (CITY_DIRECT, "市公安局", "city_direct", CITY),
]


def pytest_report_header(config: pytest.Config) -> list[str]:
    url = os.environ.get("DATABASE_URL")
    return [f"database: {'PostgreSQL ' + url if url else 'SQLite (set DATABASE_URL for PostgreSQL)'}"]


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if os.environ.get("DATABASE_URL"):
        return database_url(Path("/nonexistent"))
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def sql_engine(db_url: str) -> Iterator[SqlEngine]:
    """The schema comes from the migrations (not create_all), so a missing migration fails the suite."""
    from flask_migrate import downgrade, upgrade

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test"})
    with app.app_context():
        if db_url.startswith("postgresql"):
            from app.extensions import db

            Base.metadata.drop_all(db.engine)
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        db_ext = app.extensions["sqlalchemy"]
        db_ext.engine.dispose()
    engine = create_engine(db_url)
    yield engine
    engine.dispose()
    with app.app_context():
        from app.extensions import db

        downgrade(revision="base")
        db.engine.dispose()


@pytest.fixture
def session_factory(sql_engine: SqlEngine) -> Iterator[sessionmaker[Session]]:
    factory = sessionmaker(bind=sql_engine, expire_on_commit=False)
    yield factory
    with factory() as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(delete(table))
        s.commit()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        for code, name, level, parent in ORG:
            s.add(OrgUnit(code=code, name=name, level=level, parent_code=parent))
        s.flush()
        codes = {code for code, *_ in ORG}  # the issuing organs (文号) of the city and counties above
        load_issuing_organs(s, [r for r in read_organ_rows(ISSUING_ORGANS) if r["org_code"] in codes])
        s.commit()
        yield s
        s.rollback()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 16, 9, 0, tzinfo=CST))


@pytest.fixture(scope="session")
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture
def make_engine(clock: ManualClock, calendar: WorkingCalendar) -> Callable[[Session], Engine]:
    cache = SpecCache()

    def build(s: Session) -> Engine:
        return build_engine(s, calendar, clock=clock, spec_cache=cache)

    return build


@pytest.fixture
def engine(session: Session, make_engine: Callable[[Session], Engine]) -> Engine:
    return make_engine(session)


@pytest.fixture
def deployed(session: Session, engine: Engine) -> Any:
    version = deploy(session, read_project_files(FIXTURES), engine.checks, created_by="test")
    session.commit()
    return version


@pytest.fixture
def fixtures_app(db_url: str, session: Session) -> Iterator[Flask]:
    """The app on the engine tests' database (the fixtures' definitions): for its CLI and migrations."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "t", "DEFINITIONS_ROOT": FIXTURES})
    yield app
    from app.extensions import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def real_definitions(session: Session, engine: Engine) -> Iterator[None]:
    """bpmn/ and forms/ of the checkout, deployed as version 1."""
    deploy(session, read_project_files(ROOT), engine.checks, created_by="test")
    session.commit()
    yield


@pytest.fixture
def case_factory(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    real_definitions: None,
) -> Callable[..., Any]:
    """Start accountability cases on the real definitions (tests/accountability_driver.py drives them)."""
    from tests.accountability_driver import Case  # the driver imports this module's constants

    def make(**kwargs: Any) -> Case:
        return Case(session_factory, make_engine, clock, **kwargs)

    return make


@pytest.fixture
def year(
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    real_definitions: None,
) -> Any:
    """The annual cycle's driver (tests/annual_driver.py ``Year``) on the real definitions, 5 January."""
    from app.indicators.demo import seed_demo_indicator_sets
    from tests.annual_driver import YEAR, Year  # that module imports this one's constants

    with session_factory() as s:  # the 2026 indicator sets init-demo gives every committee (Art. 19)
        seed_demo_indicator_sets(s, year=YEAR)
        s.commit()
    clock.set(datetime(YEAR, 1, 5, 9, 0, tzinfo=CST))
    return Year(session_factory, make_engine, clock)


@contextmanager
def demo_app(db_url: str, root: Path = ROOT, start: datetime | None = None, **config: Any) -> Iterator[Flask]:
    """The real app on the test database with a manual clock, Nanyang's organisation, the demo accounts and
    the definitions under ``root`` deployed (what scripts/run sets up); emptied afterwards."""
    clock = ManualClock(start or datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "SECRET_KEY": "test",
            "DEFINITIONS_ROOT": root,
            "CLOCK": clock,
            **config,
        }
    )
    result = app.test_cli_runner().invoke(args=["init-demo"])
    assert result.exit_code == 0, result.output
    try:
        yield app
    finally:
        with app.app_context():
            from app.extensions import db

            db.session.rollback()
            for table in reversed(Base.metadata.sorted_tables):
                db.session.execute(table.delete())
            db.session.commit()
            db.engine.dispose()


def actor(user: str, *grants: tuple[str, str]) -> Actor:
    return Actor(user, frozenset(grants))


# Holders of the fixture process's lanes for a township of 宛城区 (upper = the county).
COUNTY_OFFICE = actor("wancheng-office", ("office_director", WANCHENG))
COUNTY_COMMITTEE = actor("wancheng-committee", ("committee_director", WANCHENG))
TOWN_LEADER = actor("dongguan-leader", ("unit_principal_leader", WANCHENG_TOWN))
OTHER_COUNTY_OFFICE = actor("wolong-office", ("office_director", WOLONG))
