"""``flask backup`` / ``flask restore`` (issue 16 point 7): a backup restored into an empty database — a new
SQLite file, or a second PostgreSQL database next to the test one — holds the same working files and
``flask audit verify`` passes on it; a restore over data is refused without ``--force``; missing PostgreSQL
tools and a file that is no backup are said plainly. And the chain's migration on a database that already
has events: it chains them exactly as they would have been written, and its downgrade works."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, make_url, select
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.backup import BackupError, backup, restore
from app.extensions import db
from tests.conftest import ORG
from tests.test_engine import run_to_rectify, start_case
from workflows.engine.audit_roots import AuditRoot
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy, read_project_files
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, OrgUnit
from workflows.regulation.file_integrity import seal, verify_working_files
from workflows.regulation.roles import load_org

FIXTURES = Path(__file__).parent / "fixtures"
BEFORE_CHAIN = "c16b0c0a7e02"  # the revision before the hash chain's


@pytest.fixture
def scratch_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own: a new SQLite file, or a second PostgreSQL database."""
    if not db_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'scratch.sqlite3'}"
        return
    url = make_url(db_url)
    name = f"{url.database}_scratch"
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


def app_on(url: str, clock: ManualClock) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "CLOCK": clock})


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def chain_rows(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            table = InstanceEvent.__table__
            query = select(table.c.id, table.c.instance_id, table.c.seq, table.c.prev_hash, table.c.hash)
            return [tuple(r) for r in conn.execute(query.order_by(table.c.id))]
    finally:
        engine.dispose()


def dispose(*apps: Flask) -> None:
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_backup_restored_into_an_empty_database_verifies(
    db_url: str,
    scratch_url: str,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    deployed: Any,
    tmp_path: Path,
) -> None:
    for key in ("追责-2026-0001", "追责-2026-0002"):
        run_to_rectify(session_factory, make_engine, start_case(session_factory, make_engine, key=key))
    clock.set(datetime(2026, 3, 18, 9, 0, tzinfo=CST))
    with session_factory() as s:
        assert seal(s, load_org(s), clock.now()) == 2  # 宛城区's office: 16 and 17 March
        s.commit()
    source, target = app_on(db_url, clock), app_on(scratch_url, clock)
    file = tmp_path / "governance.backup"
    try:
        made = run(source, "backup", str(file))
        assert made.exit_code == 0 and file.stat().st_size > 0, made.output
        assert run(source, "backup", str(file)).exit_code != 0  # never overwrites without --force
        verified = run(source, "audit", "verify")
        assert verified.exit_code == 0, verified.output

        restored = run(target, "restore", str(file))
        assert restored.exit_code == 0, restored.output
        again = run(target, "audit", "verify")
        assert again.exit_code == 0, again.output
        assert again.output.splitlines()[0] == verified.output.splitlines()[0]  # same files, events, roots
        assert "2 working file(s)" in again.output and "2 daily root(s)" in again.output
        assert chain_rows(scratch_url) == chain_rows(db_url)

        refused = run(target, "restore", str(file))
        assert refused.exit_code != 0 and "not empty" in refused.output
        forced = run(target, "restore", str(file), "--force")
        assert forced.exit_code == 0, forced.output
        assert run(target, "audit", "verify").exit_code == 0
    finally:
        dispose(source, target)


def test_missing_postgresql_tools_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no pg_dump / pg_restore there
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/nothing")  # never connected to
    with pytest.raises(BackupError, match=r"pg_dump not found.*postgresql-client"):
        backup(engine, tmp_path / "x.dump")
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"PGDMP")
    with pytest.raises(BackupError, match="pg_restore not found"):
        restore(engine, dump)


def test_a_file_that_is_no_backup_is_refused(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'target.sqlite3'}")
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BackupError, match="not a SQLite backup"):
        restore(engine, junk)
    with pytest.raises(BackupError, match="no such file"):
        restore(engine, tmp_path / "missing.backup")
    engine.dispose()


def test_the_migration_chains_existing_events_as_they_would_have_been_written(
    scratch_url: str, make_engine: Callable[[Session], Engine], clock: ManualClock
) -> None:
    """Events written before the chain existed (simulated: written, then the chain's columns dropped by
    the downgrade) get exactly the chain the listener gives; the migration's copy of the canonical form
    agrees with workflows/engine/audit_chain.py."""
    app = app_on(scratch_url, clock)
    engine = create_engine(scratch_url)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        with app.app_context():
            upgrade()
        with factory() as s:
            for code, name, level, parent in ORG:
                s.add(OrgUnit(code=code, name=name, level=level, parent_code=parent))
            s.commit()
            deploy(s, read_project_files(FIXTURES), make_engine(s).checks, created_by="test")
            s.commit()
        for key in ("c-1", "c-2"):
            run_to_rectify(factory, make_engine, start_case(factory, make_engine, key=key))
        written = chain_rows(scratch_url)
        assert len(written) > 10
        with factory() as s:
            assert seal(s, load_org(s), datetime(2026, 3, 18, 9, 0, tzinfo=CST)) == 2
            s.commit()

        with app.app_context():
            downgrade(revision=BEFORE_CHAIN)
        schema = inspect(engine)
        assert {"seq", "prev_hash", "hash"}.isdisjoint(
            c["name"] for c in schema.get_columns("instance_event")
        )
        assert "audit_root" not in schema.get_table_names()

        with app.app_context():
            upgrade()
        assert chain_rows(scratch_url) == written
        with factory() as s:
            assert verify_working_files(s).ok
            assert s.scalars(select(AuditRoot)).all() == []  # the roots went with the downgrade
    finally:
        engine.dispose()
        dispose(app)
