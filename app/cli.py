"""Command-line operations (``flask ...``): deploy definitions, load organisation and calendar, run timers.

Each command is one transaction boundary: it calls services that flush, then commits once (or rolls back).
Background work (``timers``, the recomputation after ``calendar load``) is :mod:`app.jobs`, which commits per
instance, exactly as when the scheduler runs it.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from app import backup, integrity
from app.auth.demo import seed_demo_users
from app.auth.models import User
from app.auth.services import AccountError, create_user, grant
from app.extensions import db
from app.indicators.demo import seed_demo_indicator_sets
from app.jobs import recompute_provisional_deadlines, run_background_pass
from app.org import DIVISIONS_CSV, load_divisions
from app.runtime import runtime
from workflows.engine.db_lock import exclusive
from workflows.engine.deploy.definitions import deploy, read_project_files
from workflows.engine.errors import DefinitionInvalid
from workflows.engine.legaltime.calendar_store import store_schedule
from workflows.engine.legaltime.holiday_schedule import CalendarError, parse_schedule
from workflows.engine.models import DefinitionVersion
from workflows.regulation.annual import start_cycle
from workflows.regulation.doc_numbers import load_issuing_organs, read_organ_rows
from workflows.regulation.roles import org_of
from workflows.regulation.traceability import build_report, markdown, summary_lines

definitions_cli = AppGroup("definitions", help="Process definitions (BPMN + forms).")


@definitions_cli.command("deploy")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--comment", default="deployed from the checkout")
def deploy_command(root: Path | None, comment: str) -> None:
    """Validate bpmn/ and forms/ and store them as a new version (nothing if unchanged)."""
    version = _deploy_checkout(
        read_project_files(root or current_app.config["DEFINITIONS_ROOT"]), "cli", comment
    )
    click.echo(f"definition version {version.number}: {', '.join(version.process_ids)}")


def _deploy_checkout(files: dict[str, str], created_by: str, comment: str) -> DefinitionVersion:
    """Deploy and commit, or roll back and stop with the problems (file, line, element) on the console."""
    engine = runtime().engine(db.session())
    try:
        version = deploy(db.session(), files, engine.checks, created_by=created_by, comment=comment)
    except DefinitionInvalid as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    return version


org_cli = AppGroup("org", help="Organisation tree.")


@org_cli.command("load-divisions")
def load_divisions_command() -> None:
    """Load Nanyang's city, 15 county-level units and 246 townships (idempotent)."""
    count = load_divisions(db.session())
    db.session.commit()
    click.echo(f"{count} organisation units loaded")


calendar_cli = AppGroup("calendar", help="PRC working-day calendar.")


@calendar_cli.command("load")
@click.argument("schedule_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_schedule_command(schedule_file: Path) -> None:
    """Load a year's published holiday schedule (JSON) and recompute provisional deadlines."""
    try:
        schedule = parse_schedule(json.loads(schedule_file.read_text(encoding="utf-8")))
    except (CalendarError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{schedule_file}: {exc}") from None
    store_schedule(db.session(), schedule, loaded_by="cli")
    db.session.commit()
    rt = runtime()
    rt.reload_calendar(db.session())
    report = recompute_provisional_deadlines(db.session(), rt.engine, progress=True)
    click.echo(
        f"{schedule.year}: {len(schedule.holidays)} holidays, {len(schedule.workdays)} make-up working days; "
        f"recomputed {len(report.recomputed)} case(s), {len(report.failed)} failed"
    )
    for instance_id, message in report.failed.items():
        click.echo(f"  instance {instance_id}: {message}", err=True)


@calendar_cli.command("status")
@click.argument("year", type=int)
def calendar_status_command(year: int) -> None:
    """Say whether a year's schedule is official or provisional."""
    calendar = runtime().calendar(db.session())
    try:
        official = calendar.is_official(year)
        calendar.is_working_day(date(year, 1, 1))
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{year}: {'official' if official else 'provisional (statutory holidays only)'}")


@click.command("timers")
@with_appcontext
def timers_command() -> None:
    """Reload the calendar, wake every instance whose timer is due, send the due alerts: what the scheduler
    does every interval."""
    report = run_background_pass(db.session(), runtime(), budget_seconds=None)  # by hand: all that is due
    timers = report.timers
    click.echo(
        f"woke {len(timers.woken)}, skipped {len(timers.skipped)}, failed {len(timers.failed)}; "
        f"{report.alerts_sent} notification(s) sent"
    )
    for instance_id, message in timers.failed.items():
        click.echo(f"  instance {instance_id}: {message}", err=True)


@click.command("init-demo")
@with_appcontext
def init_demo_command() -> None:
    """Organisation + definitions: what scripts/run needs after `flask db upgrade`. Idempotent, and two
    servers starting together take turns (a named database lock, as the migrations do)."""
    with db.engine.connect() as lock, exclusive(lock, "init-demo"):
        _init_demo()


def _init_demo() -> None:
    load_divisions(db.session())
    organs_csv = DIVISIONS_CSV.with_name("issuing-organs.csv")  # 发文机关: names and 机关代字, editable data
    load_issuing_organs(db.session(), read_organ_rows(organs_csv))
    created = seed_demo_users(db.session())
    indicator_sets = seed_demo_indicator_sets(db.session(), now=runtime().clock.now())
    db.session.commit()
    click.echo(f"{created} demo account(s) created (password: demo)")
    click.echo(f"{indicator_sets} demo indicator set(s) created (Art. 19)")
    files = read_project_files(current_app.config["DEFINITIONS_ROOT"])
    if not any(path.endswith(".bpmn") for path in files):
        click.echo("organisation loaded; no diagrams in bpmn/ to deploy")
        return
    version = _deploy_checkout(files, "init-demo", "initial definitions")
    click.echo(f"organisation loaded; definition version {version.number}")


users_cli = AppGroup("users", help="People and their roles (also on the admin page).")


@users_cli.command("create")
@click.argument("username")
@click.argument("display_name")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_command(username: str, display_name: str, password: str) -> None:
    """Create an account."""
    try:
        create_user(db.session(), username, display_name, password)
    except (AccountError, ValueError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"user {username} created")


@users_cli.command("grant")
@click.argument("username")
@click.argument("role")
@click.argument("org_code")
def grant_command(username: str, role: str, org_code: str) -> None:
    """Give USERNAME the ROLE (e.g. office_director, joint_meeting_member/discipline) at ORG_CODE."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    try:
        grant(db.session(), user, role, org_code)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{username}: {role} @ {org_code}")


annual_cli = AppGroup("annual", help="The annual cycle (Art. 7–25).")


@annual_cli.command("start")
@click.option("--year", type=int, default=None, help="default: the current year")
@click.option("--unit", default=None, help="committee unit code (default: the city)")
def start_annual_command(year: int | None, unit: str | None) -> None:
    """Start a committee's annual cycle (idempotent: never a second one for the same year)."""
    engine = runtime().engine(db.session())
    unit = unit or org_of(engine).city_code
    if unit is None:
        raise click.ClickException("no organisation loaded (flask org load-divisions)")
    inst = start_cycle(engine, unit, year or engine.now().year)
    db.session.commit()
    click.echo(f"annual cycle {inst.business_key}: instance {inst.id}")


regulation_cli = AppGroup("regulation", help="The 2017 regulation: obligation → element → test.")


@regulation_cli.command("coverage")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="where to write the page (default: docs/traceability.md)",
)
@click.option("--check", is_flag=True, help="exit non-zero on an unknown id or a carried obligation untested")
def coverage_command(output: Path | None, check: bool) -> None:
    """Print which elements carry and which tests exercise each obligation; write docs/traceability.md."""
    root = Path(current_app.config["PROJECT_ROOT"])
    report = build_report(root)
    for line in summary_lines(report):
        click.echo(line)
    target = output or root / "docs" / "traceability.md"
    target.write_text(markdown(report), encoding="utf-8")
    click.echo(f"wrote {target}")
    for problem in report.problems:
        click.echo(f"  problem: {problem}", err=True)
    if check and report.problems:
        raise click.ClickException(f"{len(report.problems)} traceability problem(s)")


def init_app(app: Flask) -> None:
    for command in (
        definitions_cli,
        org_cli,
        calendar_cli,
        users_cli,
        annual_cli,
        regulation_cli,
        timers_command,
        init_demo_command,
    ):
        app.cli.add_command(command)
    integrity.init_app(app)  # flask audit verify / roots (issue 16 point 6)
    backup.init_app(app)  # flask backup / restore (issue 16 point 7)
