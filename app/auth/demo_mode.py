"""Whether this database holds demo data, and the demo password kept out of every other database.

The demo accounts (``app/auth/demo.py``) all log in with the password ``demo``; they are for trying the
system out. A database knows it holds them because the demo loader says so in the audit log: one
``audit_log`` row with ``action = 'demo_data'`` (written by :func:`mark_demo_loaded`, which
``seed_demo_users`` calls; ``scripts/run`` runs it through ``flask init-demo``). No other start writes it,
so on a database without that row:

* logging in with the password ``demo`` fails like a wrong password (``app/auth/services.authenticate``);
* no account can be created with it or have its password changed to it (``services.set_password``);
* the application says so loudly at start-up when accounts there still have it (:func:`warn_at_start`):
  demo accounts were copied into a database that was not loaded as demo data, or someone chose ``demo``.

Why the audit log and not a settings table: there is none, and the fact "the demo loader ran here, at this
time" is exactly what the log records (no new table or migration).
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import create_engine, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from werkzeug.security import check_password_hash

from app.audit import AuditEntry, audit
from app.auth.models import User

DEMO_PASSWORD = "demo"
DEMO_ACTION = "demo_data"
# At start-up only the hashes of accounts that share theirs with another account (the demo loader hashes
# its password once for all) or are named like a demo account are checked: hashing is slow on purpose.
MAX_HASHES_CHECKED = 10  # a check costs ~0.1–0.5 s (scrypt)

log = logging.getLogger(__name__)


def is_demo_password(password: str) -> bool:
    return password.strip().lower() == DEMO_PASSWORD


def demo_loaded(session: Session) -> bool:
    """True once the demo loader has run on this database."""
    found = session.scalar(select(AuditEntry.id).where(AuditEntry.action == DEMO_ACTION).limit(1))
    return found is not None


def mark_demo_loaded(session: Session, accounts: int, at: datetime | None = None) -> None:
    """Record (once) that this database holds the demo data; the caller commits."""
    if not demo_loaded(session):
        audit(session, at or datetime.now(UTC), "init-demo", DEMO_ACTION, accounts=accounts)


def accounts_with_demo_password(session: Session, suffixes: tuple[str, ...] = ()) -> list[str]:
    """Usernames whose password is ``demo``, among the accounts worth checking (see MAX_HASHES_CHECKED)."""
    shared = select(User.password_hash).group_by(User.password_hash).having(func.count() > 1)
    named = [User.username.endswith("." + s, autoescape=True) for s in suffixes]
    rows = session.execute(
        select(User.username, User.password_hash).where(
            or_(User.password_hash.in_(shared), *named) if named else User.password_hash.in_(shared)
        )
    ).all()
    hashes: dict[str, list[str]] = {}
    for username, password_hash in rows:
        hashes.setdefault(password_hash, []).append(username)
    demo: list[str] = []
    for password_hash in list(hashes)[:MAX_HASHES_CHECKED]:
        if check_password_hash(password_hash, DEMO_PASSWORD):
            demo += hashes[password_hash]
    return sorted(demo)


def warn_at_start(app: Flask) -> list[str]:
    """Say loudly (log and standard error) when a database not loaded as demo data has accounts whose
    password is ``demo``; return them. Silent while the tables do not exist (before ``flask db upgrade``)."""
    from app.auth.demo import SEATS

    suffixes = tuple(sorted({seat.suffix for seats in SEATS.values() for seat in seats}))
    # A connection of its own, closed at once: the app's pool stays untouched until the first request.
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    try:
        with Session(engine) as session:
            if demo_loaded(session):
                return []
            found = accounts_with_demo_password(session, suffixes)
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()
    if found:
        shown = ", ".join(found[:5]) + (f" … ({len(found)} in all)" if len(found) > 5 else "")
        message = (
            f"SECURITY: {len(found)} account(s) have the demo password 'demo' but this database was not "
            f"loaded as demo data ({shown}). Logging in with 'demo' is refused here: give these accounts "
            "real passwords, or remove them."
        )
        log.error(message)
        print(f"\n{'!' * 100}\n{message}\n{'!' * 100}\n", file=sys.stderr, flush=True)
    return found
