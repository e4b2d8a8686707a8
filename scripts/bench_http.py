#!/usr/bin/env python3
"""What a step costs over HTTP, measured from outside (issue 17: "a completion over HTTP ≤ 4 ms median").

A real server process — waitress, as ``scripts/run`` serves, 4 threads — on a SQLite file in a temp dir,
and one keep-alive client (``http.client``, one connection, session cookie and CSRF token like a browser's
script). The diagram is ``tests/fixtures/three_steps`` (three user tasks in one lane, each with a form), on
Nanyang's organisation and demo accounts (``flask init-demo`` with that folder as the definitions root).
Each round: start an instance, complete its three tasks one after the other — each completion's response
names the next task (``next_tasks``), so there is no second GET — the task list, and a floor (the cheapest
authenticated GET, ``/api/v1/auth/me``). Medians and p90 per kind, SQL statements per request counted in
the server (a SQLAlchemy ``before_cursor_execute`` listener installed only by this script's ``--serve``
mode, sent back in a response header), the load average at start and end.

    .venv/bin/python scripts/bench_http.py                    # 300 rounds (+30 warm-up), port 5060
    .venv/bin/python scripts/bench_http.py --rounds 50 --port 5061
Starting goes through the API's start endpoint, ``POST /api/v1/processes/three_steps/instances`` (the fixture
is startable by ``office_staff`` and its lane is the starter's own office). Besides the wall time seen by the
client, the server reports each request's CPU time in its thread (``time.thread_time``) in a header: on a
shared machine the wall time grows with the load, the CPU time much less, so it says what the request
itself costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIXTURE = ROOT / "tests" / "fixtures" / "three_steps"
PROCESS_ID = "three_steps"
USER, UNIT = "411302.office_staff", "411302"  # 宛城区's office starts the procedure and works its lane
FORMS = [{"summary": "基准测试事由"}, {"confirmed": True}, {"note": "办结"}]
SQL_HEADER, COMMIT_HEADER, CPU_HEADER = "X-Bench-Statements", "X-Bench-Commits", "X-Bench-CPU-ms"
KINDS = ("start", "complete", "task list", "floor (GET /auth/me)")
Sample = tuple[float, int, int, float]  # wall ms at the client, statements, commits, CPU ms in the server


# -- server side (only in the --serve child process) ---------------------------------------------------------
def serve(args: argparse.Namespace) -> None:
    """The app under waitress, with the bench's statement and CPU-time counters."""
    import waitress
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db

    app = create_app(_config(args))
    counts = threading.local()

    def _count(*_args: Any) -> None:
        if getattr(counts, "on", False):
            counts.statements += 1

    def _commit(*_args: Any) -> None:
        if getattr(counts, "on", False):
            counts.commits += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _count)
        event.listen(db.engine, "commit", _commit)

    @app.before_request
    def _reset() -> None:
        counts.on, counts.statements, counts.commits = True, 0, 0
        counts.cpu = time.thread_time()

    @app.after_request
    def _report(response: Any) -> Any:
        response.headers[SQL_HEADER] = str(getattr(counts, "statements", 0))
        response.headers[COMMIT_HEADER] = str(getattr(counts, "commits", 0))
        response.headers[CPU_HEADER] = f"{(time.thread_time() - getattr(counts, 'cpu', 0.0)) * 1000:.3f}"
        counts.on = False
        return response

    waitress.serve(app, host="127.0.0.1", port=args.port, threads=4, _quiet=True)


def _config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": args.database_url,
        "SECRET_KEY": "bench-http",
        "DEFINITIONS_ROOT": Path(args.definitions_root),
        "SCHEDULER_ENABLED": False,
    }


def prepare(args: argparse.Namespace) -> None:
    """Migrate the empty database and run init-demo on the fixture's folder (what scripts/run does)."""
    from app import create_app
    from app.extensions import db

    app = create_app(_config(args))
    runner = app.test_cli_runner()
    for command in (["db", "upgrade"], ["init-demo"]):
        result = runner.invoke(args=command)
        if result.exit_code != 0:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{result.output}\n{result.exception!r}")
    with app.app_context():
        db.engine.dispose()


# -- client side ---------------------------------------------------------------------------------------------
class Client:
    """One keep-alive connection with the session cookie and the CSRF token."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie = ""
        self.token = ""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[Any, Sample]:
        """The JSON answer and the (milliseconds, statements, commits, server CPU ms) of one request; a
        non-2xx status aborts."""
        headers = {"Cookie": self.cookie, "X-CSRFToken": self.token, "Connection": "keep-alive"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        raw = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status >= 300:
            raise SystemExit(f"{method} {path}: {response.status} {raw[:500]!r}")
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        statements = int(response.getheader(SQL_HEADER) or -1)
        commits = int(response.getheader(COMMIT_HEADER) or -1)
        cpu = float(response.getheader(CPU_HEADER) or "nan")
        return json.loads(raw), (elapsed, statements, commits, cpu)

    def login(self) -> None:
        me, _ = self.call("POST", "/api/v1/auth/login", {"username": USER, "password": "demo"})
        self.token = me["csrf_token"]


def one_round(client: Client, record: dict[str, list[Sample]]) -> None:
    started, sample = client.call(
        "POST", f"/api/v1/processes/{PROCESS_ID}/instances", {"unit_code": UNIT, "data": {}}
    )
    record["start"].append(sample)
    following = started["next_tasks"]
    for step, data in enumerate(FORMS):
        assert len(following) == 1, f"step {step}: expected one next task, got {following}"
        task = following[0]
        assert task["form_schema"] is not None, "the next task comes with its form"
        done, sample = client.call(
            "POST", f"/api/v1/tasks/{task['id']}/complete", {"data": data, "comment": ""}
        )
        record["complete"].append(sample)
        following = done["next_tasks"]
    assert following == [] and done["case"]["status"] == "complete", done
    _, sample = client.call("GET", "/api/v1/tasks?per_page=20")
    record["task list"].append(sample)
    _, sample = client.call("GET", "/api/v1/auth/me")
    record["floor (GET /auth/me)"].append(sample)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 9 // 10) - 1)]  # nearest rank


def wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not start within 60 s")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--port", type=int, default=5060)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--definitions-root", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return

    from tqdm import tqdm

    tmp = Path(tempfile.mkdtemp(prefix="bench_http_"))
    shutil.copytree(FIXTURE, tmp / "definitions")
    args.database_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    args.definitions_root = str(tmp / "definitions")
    print("preparing the database (migrations, init-demo) …", file=sys.stderr)
    prepare(args)
    command = [sys.executable, __file__, "--serve", "--port", str(args.port)]
    command += ["--database-url", args.database_url, "--definitions-root", args.definitions_root]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "GOVERNANCE_DATABASE_URL")}
    server = subprocess.Popen(command, env={**env, "GOVERNANCE_SCHEDULER": "0"})
    try:
        wait_for(args.port, server)
        load_start = load()
        client = Client(args.port)
        client.login()
        warm: dict[str, list[Sample]] = {k: [] for k in KINDS}
        for _ in tqdm(range(args.warmup), desc="warm-up", unit="round"):
            one_round(client, warm)
        record: dict[str, list[Sample]] = {k: [] for k in KINDS}
        for _ in tqdm(range(args.rounds), desc="rounds", unit="round"):
            one_round(client, record)
        load_end = load()
        journal = _journal(tmp / "bench.sqlite3")
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    report(args, record, load_start, load_end, journal)


def _journal(path: Path) -> str:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return str(conn.execute("pragma journal_mode").fetchone()[0])


def report(
    args: argparse.Namespace,
    record: dict[str, list[Sample]],
    load_start: str,
    load_end: str,
    journal: str,
) -> None:
    import sqlite3

    import SpiffWorkflow  # type: ignore[import-untyped]
    import sqlalchemy
    import waitress  # noqa: F401

    code = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "app", "workflows"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    print(
        f"bench_http | waitress (4 threads, separate process) on 127.0.0.1:{args.port}, one keep-alive client"
    )
    print(
        f"SQLite {sqlite3.sqlite_version} file in a temp dir, journal_mode={journal} | Python "
        f"{platform.python_version()}, SpiffWorkflow {getattr(SpiffWorkflow, '__version__', '?')}, "
        f"SQLAlchemy {sqlalchemy.__version__}"
    )
    print(
        f"code: {code}{' + uncommitted changes' if dirty else ''} | load average {load_start} at start, "
        f"{load_end} at end, {os.cpu_count()} CPUs"
    )
    print(
        f"rounds {args.rounds} (+{args.warmup} warm-up): start, 3 completions (each answers the next task), "
        "task list, floor\n"
    )
    columns = ("median ms", 10), ("p90 ms", 8), ("CPU ms", 7), ("SQL/req", 8), ("commits", 8)
    header = f"{'request':<22} {'n':>5} " + " ".join(f"{name:>{width}}" for name, width in columns)
    print(header)
    print("-" * len(header))
    for kind in KINDS:
        rows = record[kind]
        ms = [r[0] for r in rows]
        sql = statistics.median(r[1] for r in rows)
        commits = statistics.median(r[2] for r in rows)
        median, cpu = statistics.median(ms), statistics.median(r[3] for r in rows)
        print(
            f"{kind:<22} {len(rows):>5} {median:>10.2f} {p90(ms):>8.2f} {cpu:>7.2f} {sql:>8.0f}"
            f" {commits:>8.0f}"
        )
    print("\nSQL statements counted in the server per request (before_cursor_execute; COMMIT not included).")
    print("CPU ms: median CPU time of the request's thread in the server (time.thread_time), from")
    print("before_request to after_request (the response's JSON is built in the view, inside that span).")


if __name__ == "__main__":
    main()
