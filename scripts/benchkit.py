"""What the in-process page benchmarks share (``bench_inbox.py``, ``bench_search.py``,
``bench_admin_people.py``): the demo city on a fresh database, served by the test client on a fixed clock, so
that their figures compare (same data, same day: Monday 2 March 2026, 09:00 in China)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from workflows.engine.legaltime.clock import ManualClock  # noqa: E402
from workflows.engine.legaltime.legal_time import CST  # noqa: E402
from workflows.engine.models import Base  # noqa: E402

BENCH_DAY = datetime(2026, 3, 2, 9, 0, tzinfo=CST)


def demo_app(url: str) -> Flask:
    """The app on ``url`` with every table dropped and created again and ``flask init-demo`` loaded (the
    city's units, definitions, demo accounts and the demo-data mark)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "bench",
            "DEFINITIONS_ROOT": ROOT,
            "CLOCK": ManualClock(BENCH_DAY),
        }
    )
    with app.app_context():
        Base.metadata.drop_all(db.engine)
        Base.metadata.create_all(db.engine)  # with the FTS5 table or the pg_trgm index (case_search)
    result = app.test_cli_runner().invoke(args=["init-demo"])
    assert result.exit_code == 0, result.output
    return app
