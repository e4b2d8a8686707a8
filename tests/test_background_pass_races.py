"""Two schedulers on one database (issue 17: ``scripts/serve`` starts two) run the same background pass at
the same moment; each once-a-year step of the pass must come out once and neither pass may fail. CI found
the plenary check (Art. 25, O25.1) failing on a duplicate flag when two passes overlapped; the new year's
cycle (Art. 13, O13.1) had the same check-then-insert shape.

The two-session races (the first pass has written, not committed, when the second looks) run on SQLite and
PostgreSQL; the free-running full passes need PostgreSQL and are skipped loudly on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.engine import Engine as SqlEngine

from app.extensions import db
from app.jobs import run_background_pass, start_year_cycle
from app.runtime import runtime
from tests.conftest import demo_app
from tests.race import needs_postgresql, race, together
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.regulation.annual import CYCLE_PROCESS
from workflows.regulation.meetings import MeetingDutyFlag, flag_missing_plenaries

NEW_YEAR = datetime(2026, 1, 5, 9, 0, tzinfo=CST)  # a Monday in the first days of January
COMMITTEES = 16  # the city's committee and the 15 county-level ones (shared/data)


@pytest.fixture()
def app(db_url: str, sql_engine: SqlEngine) -> Iterator[Flask]:
    pool = {"pool_pre_ping": True, "pool_size": 4, "max_overflow": 4}
    with demo_app(db_url, start=NEW_YEAR, SQLALCHEMY_ENGINE_OPTIONS=pool) as app:
        yield app


def _flags(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(select(MeetingDutyFlag.committee_code, MeetingDutyFlag.year)).all()
        return sorted((code, year) for code, year in rows)


def _cycles(app: Flask) -> list[str]:
    with app.app_context():
        query = select(ProcessInstance.business_key).where(ProcessInstance.process_id == CYCLE_PROCESS)
        return list(db.session.scalars(query))


def test_two_plenary_checks_racing_flag_each_committee_once(app: Flask) -> None:
    """Art. 25 (O25.1): the second check waits for the first one's flags and adds none of its own."""
    with app.app_context():
        org, now = runtime().org(db.session()), runtime().clock.now()
    first, second = race(app, lambda s: flag_missing_plenaries(s, org, 2025, now))
    assert len(first) == COMMITTEES and second == []
    assert _flags(app) == sorted((code, 2025) for code in first)


def test_two_new_year_checks_racing_start_one_cycle(app: Flask, sql_engine: SqlEngine) -> None:
    """Art. 13 (O13.1): on 1 January (or the first pass after it) one annual cycle starts, whichever of two
    schedulers gets there first; the other finds the year taken and starts nothing. ``start_year_cycle``
    commits itself, so the two run free, released together."""
    needs_postgresql(sql_engine, "two new-year checks at once")
    assert _cycles(app) == []
    with app.app_context():
        make_engine = runtime().engine
    started = together(app, lambda s: start_year_cycle(s, make_engine))
    assert sorted((None if i is None else i.business_key for i in started), key=str) == [
        None,
        "年度-2026-411300",
    ]
    assert _cycles(app) == ["年度-2026-411300"]


def test_two_full_passes_at_the_new_year_never_fail(app: Flask, sql_engine: SqlEngine) -> None:
    """Free-running: two whole passes released at the same instant on the first Monday of January, twice.
    Neither raises; one annual cycle, one plenary flag per committee."""
    needs_postgresql(sql_engine, "two free-running background passes")
    with app.app_context():
        rt = runtime()
    for _round in range(2):
        together(app, lambda s: run_background_pass(s, rt))
    assert _cycles(app) == ["年度-2026-411300"]
    flags = _flags(app)
    assert len(flags) == COMMITTEES == len(set(flags)) and {year for _, year in flags} == {2025}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(MeetingDutyFlag)) == COMMITTEES
