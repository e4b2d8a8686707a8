"""Extensions created unbound, bound by ``create_app`` (one place, no import-time side effects)."""

from typing import Any

from flask import Flask
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event

from workflows.engine.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(compare_type=True)
csrf = CSRFProtect()


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """A SQLite file in WAL mode with ``synchronous=FULL``: still durable — a commit returns only after its
    WAL frames are fsynced, so a committed step survives a power cut — but one fsync of the appended log per
    commit instead of the rollback journal's several (journal, database, directory), and readers no longer
    block the writer. The WAL is checkpointed into the database file automatically (every 1,000 pages)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def init_sqlite(app: Flask) -> None:
    """Every connection of the app's engines to a SQLite *file* gets :func:`sqlite_pragmas` (an in-memory
    database has no journal to speak of; PostgreSQL is untouched)."""
    with app.app_context():
        for engine in db.engines.values():
            url = engine.url
            if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
                event.listen(engine, "connect", sqlite_pragmas)
