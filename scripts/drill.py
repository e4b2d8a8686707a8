#!/usr/bin/env python
"""Drill mode (演练): create a drill database and serve it (called by ``scripts/drill``; README "Drills").

    scripts/drill new NAME [--from demo|year] [--start YYYY-MM-DD] [--database URL]
    scripts/drill serve NAME [--database URL]           # PORT=5001 for another port than 5000

``new`` migrates a new database (``instance/drills/NAME.sqlite3`` unless ``--database`` names an empty one),
seeds it — ``demo``: what ``scripts/run`` loads (Nanyang, the demo accounts, the definitions), its clock at
``--start`` 09:00 (default today); ``year``: a whole year run by ``scripts/simulate_year.py`` on it, then the
demo accounts, its clock where the year stopped — and marks it as a drill with the instructor's account
``411300.drill_admin`` (password ``demo``). ``serve`` starts the app in drill mode (``GOVERNANCE_DRILL=1``)
on it with the timer scheduler, as ``scripts/run`` does for the real one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, inspect, select  # noqa: E402

from app.config import database_url  # noqa: E402
from app.drill.clock import read_mark  # noqa: E402
from workflows.engine.legaltime.clock import ManualClock  # noqa: E402
from workflows.engine.legaltime.legal_time import CST  # noqa: E402
from workflows.engine.models import OrgUnit  # noqa: E402

DRILLS = ROOT / "instance" / "drills"


def drill_url(name: str | None, database: str | None) -> str:
    if database:
        os.environ["GOVERNANCE_DATABASE_URL"] = database
        return database_url(ROOT / "instance")  # postgresql:// → the psycopg driver, as the app does
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        sys.exit(f"drill name {name!r}: use letters, digits, - and _ (it names instance/drills/NAME.sqlite3)")
    return f"sqlite:///{DRILLS / f'{name}.sqlite3'}"


def refuse_unless_empty(url: str) -> None:
    """A drill is made on a new database only: never mark (and so take over) one holding anything."""
    engine = create_engine(url)
    try:
        if read_mark(engine) is not None:
            sys.exit(f"{engine.url!r} is a drill already: `scripts/drill serve` it, or pick another name")
        with engine.connect() as conn:
            if inspect(conn).has_table(OrgUnit.__tablename__) and conn.scalar(select(OrgUnit.code).limit(1)):
                sys.exit(f"{engine.url!r} is not empty: a drill needs a database of its own")
    finally:
        engine.dispose()


def new(name: str, source: str, start_on: str | None, database: str | None) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.auth.demo import seed_demo_users
    from app.drill.seed import make_drill
    from app.extensions import db
    from app.org import load_divisions

    url = drill_url(name, database)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    refuse_unless_empty(url)
    if source == "year" and start_on:
        sys.exit("--start is for --from demo: a year's drill starts where the simulated year stopped")
    day = datetime.strptime(start_on, "%Y-%m-%d") if start_on else datetime.now(CST)
    start = day.replace(hour=9, minute=0, second=0, microsecond=0, tzinfo=CST)
    config = {"SQLALCHEMY_DATABASE_URI": url, "CLOCK": ManualClock(start), "SCHEDULER_ENABLED": False}
    app = create_app(config)
    with app.app_context():
        upgrade()
    if source == "demo":
        result = app.test_cli_runner().invoke(args=["init-demo"])
        print(result.output, end="")
        if result.exit_code != 0:
            sys.exit("init-demo failed")
    else:
        sys.path.insert(0, str(ROOT / "scripts"))
        from simulate_year import simulate_year

        with tempfile.TemporaryDirectory(prefix="drill-year-") as tmp:
            start = simulate_year(Path(tmp), url=url)
        with app.app_context():
            load_divisions(db.session())  # the demo's system units, then every unit's demo accounts
            print(f"{seed_demo_users(db.session())} demo account(s) created (password: demo)")
            db.session.commit()
    with app.app_context():
        instructor = make_drill(db.session(), name, start, source)
        db.session.commit()
        print(f"drill {name!r} ({source}) at {start.isoformat()} in {url}")
        print(
            f"instructor: {instructor.username} (password: demo); serve it with: scripts/drill serve {name}"
        )
        db.engine.dispose()


def serve(name: str, database: str | None) -> None:
    url = drill_url(name, database)
    env = {**os.environ, "GOVERNANCE_DATABASE_URL": url, "GOVERNANCE_DRILL": "1", "GOVERNANCE_SCHEDULER": "1"}
    env["FLASK_APP"] = "app"
    bin_dir = Path(sys.executable).parent
    os.chdir(ROOT)
    import subprocess

    subprocess.run([str(bin_dir / "flask"), "db", "upgrade"], env=env, check=True)
    port = os.environ.get("PORT", "5000")
    print(f"==> drill {name!r} on http://127.0.0.1:{port}/ (演练; instructor page /drill/; Ctrl-C to stop)")
    os.execve(
        str(bin_dir / "waitress-serve"),
        [
            "waitress-serve",
            "--host",
            "127.0.0.1",
            "--port",
            port,
            "--threads",
            "8",
            "--call",
            "app:create_app",
        ],
        env,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("new", help="create a drill database")
    make.add_argument("name")
    make.add_argument("--from", dest="source", choices=("demo", "year"), default="demo")
    make.add_argument("--start", metavar="YYYY-MM-DD", help="the drill's first day (demo; default today)")
    make.add_argument("--database", metavar="URL", help="an empty database instead of instance/drills/NAME")
    run = sub.add_parser("serve", help="serve a drill database in drill mode")
    run.add_argument("name")
    run.add_argument("--database", metavar="URL")
    args = parser.parse_args(argv)
    if args.command == "new":
        new(args.name, args.source, args.start, args.database)
    else:
        serve(args.name, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
