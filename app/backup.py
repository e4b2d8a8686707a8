"""``flask backup FILE`` / ``flask restore FILE`` (issue 16 point 7): the whole database, working files and
daily roots included, so ``flask audit verify`` passes on the restored copy.

SQLite: the online backup API (``sqlite3.Connection.backup``), a consistent copy page by page while the
server keeps writing. PostgreSQL: ``pg_dump -Fc`` (a consistent snapshot) and ``pg_restore`` in one
transaction; the client tools must be installed (of the server's major version or newer). A restore refuses a
database that already holds data unless ``--force``: restoring over a live database by mistake loses what was
written since the backup. Stop the server (and its scheduler) while restoring.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import inspect, literal, select
from sqlalchemy.engine import URL, Engine
from tqdm import tqdm  # type: ignore[import-untyped]

from app.extensions import db
from workflows.engine.models import Base

CLIENT_HINT = "install the PostgreSQL client tools (Debian: apt install postgresql-client)"


class BackupError(Exception):
    """Said to the operator as is."""


# -- what is in a database ----------------------------------------------------------------------------------
def first_table_with_rows(engine: Engine) -> str | None:
    """The first of the application's tables holding a row in ``engine``'s database (None: empty, even if
    the schema is there, e.g. after ``flask db upgrade``)."""
    existing = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in existing and conn.scalar(select(literal(1)).select_from(table).limit(1)):
                return table.name
    return None


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


def _pg_tool(name: str) -> str:
    tool = shutil.which(name)
    if tool is None:
        raise BackupError(f"{name} not found on PATH: {CLIENT_HINT}")
    return tool


def _pg_target(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI for the tools, and the environment carrying the password (never in argv)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    conninfo = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return conninfo, env


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr.strip()}")


def _pg_size(engine: Engine) -> int | None:
    """The database's size on disk: the scale of the backup's progress bar (the dump is smaller)."""
    try:
        with engine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() or 0)
    except Exception:
        return None


def _run_with_progress(cmd: list[str], env: dict[str, str], output: Path, total: int | None) -> None:
    """``_run``, with a progress bar of the bytes written so far (a long dump shows it is moving)."""
    with (
        subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True) as proc,
        tqdm(desc="backup", total=total, unit="B", unit_scale=True, disable=None, leave=False) as bar,
    ):
        while proc.poll() is None:
            time.sleep(0.5)
            if output.exists():
                bar.update(output.stat().st_size - bar.n)
        stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({proc.returncode}): {stderr.strip()}")


# -- backup -------------------------------------------------------------------------------------------------
def backup(engine: Engine, target: Path, force: bool = False) -> str:
    """Write a backup of ``engine``'s database to ``target`` (refused if it exists, unless ``force``)."""
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose another file or use --force to overwrite it")
    partial = target.with_name(target.name + ".partial")  # a failed backup leaves no good-looking file
    url = engine.url
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(url)
        with (
            closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(partial)) as dst,
            tqdm(desc="backup", unit="page", disable=None, leave=False) as bar,  # off when not a terminal
        ):

            def pages(_status: int, remaining: int, total: int) -> None:
                bar.total = total
                bar.update(total - remaining - bar.n)

            src.backup(dst, pages=1024, progress=pages)
        what = f"SQLite {source}"
    elif url.get_backend_name() == "postgresql":
        conninfo, env = _pg_target(url)
        cmd = [_pg_tool("pg_dump"), "--format=custom", f"--file={partial}", f"--dbname={conninfo}"]
        _run_with_progress(cmd, env, partial, _pg_size(engine))
        what = f"PostgreSQL {url.database}"
    else:
        raise BackupError(f"no backup for {url.get_backend_name()} databases")
    os.replace(partial, target)
    return f"{what} → {target} ({target.stat().st_size} bytes)"


# -- restore ------------------------------------------------------------------------------------------------
def restore(engine: Engine, source: Path, force: bool = False) -> str:
    """Replace ``engine``'s database with the backup in ``source``; refused if it holds data, unless
    ``force``. Pooled connections are closed before and after."""
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    url = engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        _check_sqlite_backup(source)
    elif backend == "postgresql":
        _run([_pg_tool("pg_restore"), "--list", str(source)])  # a custom-format archive, readable
    else:
        raise BackupError(f"no restore for {backend} databases")
    occupied = first_table_with_rows(engine)
    if occupied and not force:
        raise BackupError(
            f"the target database is not empty (table {occupied} has rows): restore into an empty database, "
            "or use --force to replace its contents"
        )
    engine.dispose()
    if backend == "sqlite":
        target = _sqlite_path(url)
        with (
            closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as src,
            closing(sqlite3.connect(target)) as dst,
        ):
            src.backup(dst)
    else:
        conninfo, env = _pg_target(url)
        cmd = [_pg_tool("pg_restore"), f"--dbname={conninfo}", "--no-owner", "--no-privileges"]
        cmd += ["--clean", "--if-exists", "--exit-on-error", "--single-transaction", str(source)]
        _run(cmd, env)
    engine.dispose()
    return f"{source} → {backend} {url.database}"


def _check_sqlite_backup(source: Path) -> None:
    try:
        with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            ok = conn.execute("PRAGMA integrity_check").fetchone()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is not a SQLite backup: {exc}") from None
    if not ok or ok[0] != "ok":
        raise BackupError(f"{source} fails SQLite's integrity check: {ok}")
    if "alembic_version" not in tables:
        raise BackupError(f"{source} is not a backup of this application (no alembic_version table)")


# -- commands -----------------------------------------------------------------------------------------------
@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="overwrite FILE if it exists")
@with_appcontext
def backup_command(file: Path, force: bool) -> None:
    """Back the database up to FILE (SQLite: online backup; PostgreSQL: pg_dump -Fc)."""
    try:
        click.echo(backup(db.engine, file, force))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="replace a database that already holds data")
@with_appcontext
def restore_command(file: Path, force: bool) -> None:
    """Restore the database from FILE (made by `flask backup`); refuses a non-empty database without --force.
    Then run `flask db upgrade` (if the code is newer) and `flask audit verify`."""
    db.session.remove()
    try:
        click.echo(restore(db.engine, file, force))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("restored; next: flask db upgrade, then flask audit verify")


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
