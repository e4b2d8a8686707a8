"""Shared by the engine benchmarks: the fixtures' organisation and clocks, the sizes, statistics and tables,
the benchmark database and a fresh setup on it."""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from app.extensions import sqlite_pragmas
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import SpecCache, deploy, read_project_files
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST, WorkingCalendar
from workflows.engine.models import Base, OrgUnit
from workflows.regulation.roles import OrgTree, load_org
from workflows.regulation.wiring import build_engine

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
BENCH_DATABASE = "bench_engine"

# The test suite's small organisation (tests/conftest.py): the city, two counties, a township in each.
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
COUNTY_OFFICE = Actor("wancheng-office", frozenset({("office_director", WANCHENG)}))
COUNTY_COMMITTEE = Actor("wancheng-committee", frozenset({("committee_director", WANCHENG)}))
TOWN_LEADER = Actor("dongguan-leader", frozenset({("unit_principal_leader", WANCHENG_TOWN)}))

CASE_START = datetime(2026, 3, 16, 9, 0, tzinfo=CST)  # rectification deadline: 2026-05-16, never reached
WAIT_START = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # + 5 working days = Mon 2026-03-09 23:59:59 +08:00
WAIT_WAKE = datetime(2026, 3, 10, 0, 0, tzinfo=CST)
FAR_START = datetime(2026, 6, 1, 9, 0, tzinfo=CST)  # the template for the not-due bulk rows
FAR_WAKE = datetime(2026, 6, 9, 0, 0, tzinfo=CST)  # bulk rows wake from here on, one minute apart


@dataclass(frozen=True)
class Sizes:
    cycles: int  # completions per variant (half rectify, half accept)
    warmup: int  # untimed completions per variant first
    due: int  # instances woken per wake-up run
    waiting_small: int  # instances waiting in all, first setup
    waiting_large: int  # instances waiting in all, second setup
    wake_runs: int  # wake-up runs per setup (a fresh batch of due instances each)
    query_runs: int  # repetitions of the bare due query
    growth: tuple[int, ...]  # rectify/accept loops after which the growing state is measured


FULL = Sizes(
    cycles=400,
    warmup=20,
    due=1000,
    waiting_small=1000,
    waiting_large=100_000,
    wake_runs=4,
    query_runs=50,
    growth=(0, 10, 25, 50),
)
QUICK = Sizes(
    cycles=20,
    warmup=4,
    due=50,
    waiting_small=50,
    waiting_large=2000,
    wake_runs=2,
    query_runs=5,
    growth=(0, 3),
)


# -- statistics and output ------------------------------------------------------------------------------
def median(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.9 * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    print(f"\n{title}")
    print(
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


# -- database -------------------------------------------------------------------------------------------
def normalise_url(url: str) -> str:
    """As app.config.database_url: psycopg 3 is the installed driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


Namespace = Callable[[str], SqlEngine]


@contextmanager
def bench_database(url: str | None) -> Iterator[Namespace]:
    """Throwaway storage; yields ``namespace(name)``, an engine on a separate set of tables per name.

    SQLite: one file per name in a temporary directory. PostgreSQL: one schema per name in the database
    ``bench_engine``, created next to the URL's database and dropped at the end; the URL's own database (e.g.
    the test suite's ``test``) only serves to issue CREATE/DROP DATABASE.
    """
    engines: list[SqlEngine] = []
    if url is None:
        with tempfile.TemporaryDirectory(prefix="bench_engine_") as tmp:

            def sqlite_namespace(name: str) -> SqlEngine:
                engines.append(create_engine(f"sqlite:///{Path(tmp) / name}.sqlite3"))
                event.listen(engines[-1], "connect", sqlite_pragmas)  # as the app: WAL, synchronous=FULL
                return engines[-1]

            try:
                yield sqlite_namespace
            finally:
                for engine in engines:
                    engine.dispose()
        return
    admin_url = make_url(normalise_url(url))
    if admin_url.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: only PostgreSQL URLs are supported (SQLite is the default)")
    if admin_url.database == BENCH_DATABASE:
        raise SystemExit(
            f"--database-url must name another database; {BENCH_DATABASE!r} is created and dropped"
        )
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    bench_url: URL = admin_url.set(database=BENCH_DATABASE)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')  # a crashed run's
        conn.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')
    # The case search's trigram index (workflows/regulation/case_search.py) needs pg_trgm: once, in public,
    # which every part's search_path ends with; created in the first part's schema, the others lacked it.
    extension = create_engine(bench_url, isolation_level="AUTOCOMMIT")
    with extension.connect() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    extension.dispose()

    def pg_namespace(name: str) -> SqlEngine:
        ddl = create_engine(bench_url, isolation_level="AUTOCOMMIT")
        with ddl.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        ddl.dispose()
        engines.append(create_engine(bench_url, connect_args={"options": f"-csearch_path={name},public"}))
        return engines[-1]

    try:
        yield pg_namespace
    finally:
        for engine in engines:
            engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin.dispose()


@dataclass
class Setup:
    """A fresh schema with the organisation and the fixture definitions deployed."""

    sql: SqlEngine
    factory: sessionmaker[Session]
    clock: ManualClock
    calendar: WorkingCalendar
    cache: SpecCache = field(default_factory=SpecCache)
    org: OrgTree | None = None  # loaded once, as app.runtime.Runtime.org does
    org_per_engine: bool = False  # True: every Engine loads the tree itself (Engine without org=)

    def engine(self, session: Session) -> Engine:
        """As app.runtime.Runtime.engine: a new Engine per session; clock, calendar, spec cache and
        organisation tree shared."""
        if self.org is None and not self.org_per_engine:
            self.org = load_org(session)
        org = None if self.org_per_engine else self.org
        return build_engine(session, self.calendar, clock=self.clock, spec_cache=self.cache, org=org)

    def settle(self) -> None:
        """Untimed: statistics fresh, dead rows vacuumed and dirty pages written, as in a steady state.

        Without it the bulk load and the previous run's updates leave work to autovacuum and the checkpointer
        that would run in the background, on the same two CPUs, during the next timed wake-up.
        """
        if self.sql.dialect.name == "sqlite":
            with self.sql.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            return
        with self.sql.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
            conn.exec_driver_sql("CHECKPOINT")


def fresh_setup(sql: SqlEngine, calendar: WorkingCalendar, start: datetime) -> Setup:
    Base.metadata.drop_all(sql)
    Base.metadata.create_all(sql)
    setup = Setup(sql, sessionmaker(bind=sql, expire_on_commit=False), ManualClock(start), calendar)
    with setup.factory() as s:
        for code, name, level, parent in ORG:
            s.add(OrgUnit(code=code, name=name, level=level, parent_code=parent))
        s.commit()
        with clockmod.activated(setup.clock):
            deploy(s, read_project_files(FIXTURES), setup.engine(s).checks, created_by="bench")
        s.commit()
    return setup
