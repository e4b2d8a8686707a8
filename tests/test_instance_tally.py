"""The case counts the lists read (``instance_tally``, issue 17) equal a full count after real engine work —
starts, completions to the end, a cancellation, level changes, a rolled-back step — on SQLite and on
PostgreSQL; a writer that bypasses the ORM leaves drift that ``flask cases tallies`` names and repairs; the
case list's figures from the tallies equal those a full scan gives."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from app.cases.counts import _counted, case_figures, case_total
from app.cases.services import CaseFilters, cases_query, list_page
from app.extensions import db
from app.jobs import daily_upkeep
from tests.accountability_driver import PEOPLE, WOLONG_PEOPLE, Case, verify
from tests.conftest import (
    CITY,
    COUNTY_OFFICE,
    TOWN_LEADER,
    WANCHENG,
    WANCHENG_TOWN,
    WOLONG,
    WOLONG_TOWN,
)
from tests.test_engine import complete, run_to_rectify, start_case
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.incidents import cancel, raise_incident
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.engine.tally import InstanceTally, Key, counted, recount

Factory = sessionmaker[Session]
MakeEngine = Callable[[Session], Engine]
ADMIN = Actor("admin", frozenset({("admin", CITY)}))


def stored(s: Session) -> Counter[Key]:
    rows = s.execute(
        select(
            InstanceTally.process_id,
            InstanceTally.unit_code,
            InstanceTally.status,
            InstanceTally.level,
            InstanceTally.n,
        )
    )
    return Counter({(p, u, st, lv): n for p, u, st, lv, n in rows if n})


def exact(factory: Factory) -> Counter[Key]:
    """The tallies, asserted equal to a full count of the instances."""
    with factory() as s:
        assert recount(s) == []
        tallies = stored(s)
        assert tallies == +counted(s)
        return tallies


def test_tallies_follow_start_completion_to_the_end_and_cancellation(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any, clock: ManualClock
) -> None:
    assert exact(session_factory) == Counter()
    done = start_case(session_factory, make_engine, key="case-1")
    cancelled = start_case(session_factory, make_engine, unit=WOLONG_TOWN, key="case-2")
    start_case(session_factory, make_engine, key="case-3")
    assert exact(session_factory) == {
        ("rectification", WANCHENG_TOWN, "running", ""): 2,
        ("rectification", WOLONG_TOWN, "running", ""): 1,
    }
    run_to_rectify(session_factory, make_engine, done)
    complete(session_factory, make_engine, done, "rectify", {}, TOWN_LEADER)
    inst = complete(session_factory, make_engine, done, "accept", {"accepted": True}, COUNTY_OFFICE)
    assert inst.status == "complete"
    with session_factory() as s:  # an administrator cancels a failing instance (issue 16: incidents)
        incident = raise_incident(s, cancelled, "timer", "boom", now=clock.now())
        cancel(make_engine(s), incident.id, ADMIN, "测试取消")
        s.commit()
    assert exact(session_factory) == {
        ("rectification", WANCHENG_TOWN, "running", ""): 1,
        ("rectification", WANCHENG_TOWN, "complete", ""): 1,
        ("rectification", WOLONG_TOWN, "cancelled", ""): 1,
    }
    with session_factory() as s:  # a step rolled back leaves the tallies as they were
        make_engine(s).start("rectification", business_key="case-4", unit_code=WOLONG_TOWN)
        s.flush()
        s.rollback()
    assert exact(session_factory)[("rectification", WOLONG_TOWN, "running", "")] == 0
    with session_factory() as s:  # inside a savepoint the change is applied at once, and taken back with it
        savepoint = s.begin_nested()
        make_engine(s).start("rectification", business_key="case-5", unit_code=WOLONG_TOWN)
        s.flush()
        assert stored(s)[("rectification", WOLONG_TOWN, "running", "")] == 1
        savepoint.rollback()
        kept = make_engine(s).start("rectification", business_key="case-6", unit_code=WANCHENG_TOWN)
        s.commit()
    assert kept.status == "running"
    assert exact(session_factory) == {
        ("rectification", WANCHENG_TOWN, "running", ""): 2,
        ("rectification", WANCHENG_TOWN, "complete", ""): 1,
        ("rectification", WOLONG_TOWN, "cancelled", ""): 1,
    }


def test_levels_are_tallied_as_cases_move(
    case_factory: Callable[..., Case], session_factory: Factory
) -> None:
    refused = case_factory()
    refused.intake(verify("ordinary"))
    assert exact(session_factory)[("accountability_case", WANCHENG_TOWN, "running", "notification")] == 1
    refused.do("approve_notification", {"approved": False, "opinion": "情节轻微，已当场纠正，不予通报。"})
    case_factory(unit=WOLONG_TOWN)
    assert exact(session_factory) == {
        ("accountability_case", WANCHENG_TOWN, "complete", "notification"): 1,
        ("accountability_case", WOLONG_TOWN, "running", "intake"): 1,
    }


def test_command_names_and_repairs_drift(
    fixtures_app: Flask, session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    start_case(session_factory, make_engine, key="case-1")
    runner = fixtures_app.test_cli_runner()
    checked = runner.invoke(args=["cases", "tallies"])
    assert checked.exit_code == 0 and "0 tallies differed" in checked.output
    with session_factory() as s:  # a bulk load with Core: the listener never sees it
        row = s.execute(select(ProcessInstance.__table__)).mappings().one()
        s.execute(insert(ProcessInstance.__table__), [{**row, "id": row["id"] + 1, "business_key": "bulk"}])
        s.commit()
    drifted = runner.invoke(args=["cases", "tallies"])
    assert drifted.exit_code == 1
    assert f"rectification/{WANCHENG_TOWN}/running/: tallied 1, counted 2" in drifted.output
    repaired = runner.invoke(args=["cases", "tallies", "--repair"])
    assert repaired.exit_code == 0 and "1 tallies differed, repaired" in repaired.output
    assert exact(session_factory) == {("rectification", WANCHENG_TOWN, "running", ""): 2}


def test_the_daily_check_repairs_drift_once_a_day(
    session_factory: Factory, make_engine: MakeEngine, deployed: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The scheduler's pass runs ``jobs.daily_upkeep`` every interval; it checks (and repairs) on the first
    pass of each day of the engine's clock only, whichever scheduler claims the day; on SQLite it also gives
    the query planner its statistics."""
    start_case(session_factory, make_engine, key="case-1")
    with session_factory() as s:  # a bulk load with Core: the listener never sees it
        row = s.execute(select(ProcessInstance.__table__)).mappings().one()
        s.execute(insert(ProcessInstance.__table__), [{**row, "id": row["id"] + 1, "business_key": "bulk"}])
        s.commit()
    day = datetime(2026, 11, 30, 0, 5, tzinfo=CST)
    with session_factory() as s:
        done = daily_upkeep(s, day)
    assert done is not None and [(d.key, d.tallied, d.counted) for d in done.counts] == [
        (("rectification", WANCHENG_TOWN, "running", ""), 1, 2)
    ]
    assert done.deadlines == []  # the bulk row copied a correct earliest deadline
    assert f"rectification/{WANCHENG_TOWN}/running/ tallied 1, counted 2 (repaired)" in caplog.text
    assert exact(session_factory) == {("rectification", WANCHENG_TOWN, "running", ""): 2}
    with session_factory() as s:
        if s.get_bind().dialect.name == "sqlite":  # the planner's statistics, which SQLite keeps only so
            assert s.scalar(text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'process_instance'"))
    with session_factory() as s:  # later that day, another scheduler's pass: already checked
        assert daily_upkeep(s, day.replace(hour=23, minute=59)) is None
        assert daily_upkeep(s, day.replace(day=29, hour=12)) is None  # an earlier day never runs again
    with session_factory() as s:
        later = daily_upkeep(s, day.replace(day=1, month=12))  # the next day: checked, nothing differs
        assert later is not None and later.counts == [] and later.deadlines == []


SUPERVISOR = Actor("supervisor", frozenset({("supervisor", CITY)}))
COUNTY_DIRECTOR = Actor("director", frozenset({("office_director", WANCHENG)}))


def test_list_figures_from_tallies_equal_a_full_count(
    case_factory: Callable[..., Case], session_factory: Factory, make_engine: MakeEngine, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=CST))
    for minute, unit in enumerate((WANCHENG_TOWN, WANCHENG_TOWN, WOLONG_TOWN, WOLONG, WANCHENG)):
        clock.set(datetime(2026, 3, 2, 9, minute, tzinfo=CST))  # the driver's business keys hold the time
        people = WOLONG_PEOPLE if unit in (WOLONG, WOLONG_TOWN) else PEOPLE
        case_factory(unit=unit, people=people).intake(verify("ordinary"))
    case_factory(unit=WOLONG_TOWN, people=WOLONG_PEOPLE)
    refused = case_factory()
    refused.intake(verify("ordinary"))
    refused.do("approve_notification", {"approved": False, "opinion": "不予通报。"})
    clock.set(datetime(2026, 4, 20, 9, 0, tzinfo=CST))  # some steps are overdue by now
    with session_factory() as s:
        engine = make_engine(s)
        overdue = 0
        for actor in (SUPERVISOR, COUNTY_DIRECTOR):
            for filters in (
                CaseFilters(),
                CaseFilters(status="running"),
                CaseFilters(status="complete"),
                CaseFilters(county=WOLONG),
                CaseFilters(level="notification", status="running"),
                CaseFilters(overdue=True),
                CaseFilters(overdue=False, county=WANCHENG),
            ):
                scanned = select(func.count()).select_from(cases_query(engine, actor, filters).subquery())
                total = s.scalar(scanned)
                assert case_total(engine, actor, filters) == total, (actor, filters)  # the API's pager
                figures = _counted(engine, actor, filters)  # what a search counts, over every case here
                assert case_figures(engine, actor, filters) == (total, figures), (actor, filters)
                overdue = max(overdue, figures["overdue"]["1"])
        assert 0 < overdue < 7  # the overdue figure counted something, and not everything
        assert case_total(engine, SUPERVISOR, replace(CaseFilters(), process_id="no_such")) == 0
        # A county's pages are found by its units, then sorted (list_page): every case of the county once,
        # the most recently changed first, as sorting everything in scope gives them (ties by id).
        for actor, county in ((SUPERVISOR, WANCHENG), (SUPERVISOR, WOLONG), (COUNTY_DIRECTOR, WANCHENG)):
            everything = cases_query(engine, actor, CaseFilters(county=county))
            expected = sorted(s.scalars(everything), key=lambda i: (i.updated_at, i.id), reverse=True)
            paged = [
                i
                for n in (1, 2, 3, 4)
                for i in list_page(engine, actor, CaseFilters(county=county, page=n, per_page=2))
            ]
            assert [i.id for i in paged] == [i.id for i in expected] and expected, (actor, county)
        # A batch (a deadline many cases share, fired in one pass) changes cases at the same instant: the
        # pages without a county break the tie by id as well, so paging on shows each case once.
        s.execute(update(ProcessInstance).values(updated_at=datetime(2026, 4, 20, 1, 0, tzinfo=UTC)))
        s.commit()
        everything = sorted(s.scalars(cases_query(engine, SUPERVISOR, CaseFilters())), key=lambda i: -i.id)
        paged = [
            i for n in range(1, 6) for i in list_page(engine, SUPERVISOR, CaseFilters(page=n, per_page=2))
        ]
        assert [i.id for i in paged] == [i.id for i in everything] and len(everything) > 4


def test_the_migration_counts_the_instances_already_there(
    fixtures_app: Flask, session_factory: Factory, make_engine: MakeEngine, deployed: Any
) -> None:
    from flask_migrate import downgrade, upgrade

    for key, unit in (("case-1", WANCHENG_TOWN), ("case-2", WANCHENG_TOWN), ("case-3", WOLONG_TOWN)):
        start_case(session_factory, make_engine, unit=unit, key=key)
    with fixtures_app.app_context():
        downgrade(revision="c17d1b2c3d04")  # before the tallies: the instances are all there is
        try:
            with session_factory() as s:
                table = ProcessInstance.__table__
                s.execute(
                    table.update().where(table.c.business_key == "case-2").values(summary={"level": "veto"})
                )
                s.commit()
        finally:
            upgrade()
        db.engine.dispose()
    assert exact(session_factory) == {
        ("rectification", WANCHENG_TOWN, "running", ""): 1,
        ("rectification", WANCHENG_TOWN, "running", "veto"): 1,
        ("rectification", WOLONG_TOWN, "running", ""): 1,
    }
