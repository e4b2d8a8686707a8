"""The tamper-evident working file in the application (issue 16 point 6): ``flask audit verify``,
``flask audit roots``, the daily sealing the background pass runs, and the check the case page shows
(``app/templates/cases/_integrity.html`` calls :func:`working_file_integrity`).

The rules are in ``workflows/engine/audit_chain.py`` (chains), ``audit_roots.py`` (daily roots per office) and
``workflows/regulation/file_integrity.py`` (documents, which office); this module only owns transactions and
output.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from app.extensions import db
from app.runtime import Runtime, runtime
from workflows.engine.audit_roots import sealed_through
from workflows.regulation.file_integrity import CaseIntegrity, case_integrity, seal, verify_working_files

audit_cli = AppGroup("audit", help="The tamper-evident working file: verify chains, seal daily roots.")


def seal_working_files(session: Session, rt: Runtime) -> int:
    """Seal every day that ended (one root per office and day) and commit: what the background pass runs
    every interval (nothing to do but one query until a day has ended). The number of roots written."""
    try:
        written = seal(session, rt.org(session), rt.clock.now())
        session.commit()
    except Exception:
        session.rollback()
        raise
    return written


@audit_cli.command("verify")
def verify_command() -> None:
    """Check every event's hash chain, every sealed day's root and every issued document; name the first
    broken or missing event of each case and exit non-zero if anything is wrong."""
    report = verify_working_files(db.session())
    db.session.rollback()
    click.echo(
        f"{report.instances} working file(s), {report.events} event(s), {report.roots} daily root(s) "
        f"(sealed through {report.sealed_through or 'no day yet'})"
    )
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    if report.problems:
        raise click.ClickException(f"{len(report.problems)} problem(s); the first: {report.problems[0]}")
    click.echo("verified: every chain, sealed day and issued document matches")


@audit_cli.command("roots")
def roots_command() -> None:
    """Seal the days that ended: each office's daily root over its working files' chain heads."""
    written = seal_working_files(db.session(), runtime())
    through = sealed_through(db.session())
    click.echo(f"{written} daily root(s) written; sealed through {through or 'no day yet'}")


def working_file_integrity(inst: Any) -> CaseIntegrity:
    """The case page's check of one case's chain and documents (a template global)."""
    return case_integrity(db.session(), inst)


def init_app(app: Flask) -> None:
    app.cli.add_command(audit_cli)
    app.add_template_global(working_file_integrity)
