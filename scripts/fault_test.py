#!/usr/bin/env python3
"""Fault test (issue 16 point 9): kill -9 an app process and a scheduler mid-burst, restart, check.

On a scratch PostgreSQL database (``fault_test_<pid>``, dropped at the end unless ``--keep``): migrate, load
the demo organisation and definitions, deploy one extra process (``fault_wait``: a timer at the instant in
its start data ``wake_at``), start two app processes (waitress, as ``scripts/run``) and two scheduler
processes (waitress with ``GOVERNANCE_SCHEDULER=1``, interval 1 s), all on the system clock. Then:

* ``--timers`` instances of ``fault_wait`` are started with ``wake_at`` spread from 2 s before the planned
  kill to 4 s after the planned restart (a third of them due together 1 s before the kill, so the scheduler
  is busy when it dies);
* worker threads open ``--cases`` accountability cases over HTTP and drive each through the six steps up to
  the unit's measures (register → verify → approve → draft 通报 → review/issue → measures), every request
  sent to app A or B in turn, a refused connection retried on the other one;
* ``--kill-after`` seconds into the burst, app A and scheduler S1 get ``SIGKILL``; ``--outage`` seconds
  later both are started again on the same ports.

Checked afterwards (any failure → exit 1): every completion answered 2xx has its task completed in the
database with exactly one ``task_completed`` event; every instance's serialized state loads in the engine;
``flask audit verify`` passes (the hash chains); every ``fault_wait`` timer fired exactly once (one
``timer_fired`` event, instance complete) — reported separately for those due while S1 was down — and no
incident was raised.

    .venv/bin/python scripts/fault_test.py [--cases 40] [--threads 10] [--timers 60] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG = "postgresql://postgres@127.0.0.1:5432"
CST = ZoneInfo("Asia/Shanghai")
COUNTY, TOWN = "411302", "411302001"
REPORT = {
    "source": "member_unit",
    "reporter": "市公安局",
    "art31_items": [2],
    "facts": "辖区内刑事治安案件多发。",
}
WAIT_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="fault_wait" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="等待">
      <bpmn:timerEventDefinition id="td"><bpmn:timeDate>wake_at</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


# -- processes ---------------------------------------------------------------------------------------------
@dataclass
class Server:
    """One waitress process (an app, or a scheduler when ``scheduler``), in its own process group."""

    name: str
    port: int
    scheduler: bool
    env: dict[str, str]
    logs: Path
    proc: subprocess.Popen[bytes] | None = None
    groups: list[int] = field(default_factory=list)  # every process group we started, for the clean-up

    def start(self) -> float:
        """Start and wait for ``/api/v1/health``; returns the seconds it took."""
        env = {**self.env, "GOVERNANCE_SCHEDULER": "1" if self.scheduler else "0"}
        log = (self.logs / f"{self.name}.log").open("ab")
        started = time.monotonic()
        self.proc = subprocess.Popen(
            [str(BIN / "waitress-serve"), "--host", "127.0.0.1", "--port", str(self.port), "--threads", "8",
             "--call", "app:create_app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.groups.append(self.proc.pid)
        while time.monotonic() - started < 60:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        return time.monotonic() - started
            except (OSError, HTTPException):
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /api/v1/health within 60 s (see {log.name})")

    def kill9(self) -> None:
        """SIGKILL the server process alone, as a crash would (its script workers see their pipe close)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        for pgid in self.groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGTERM)
        if self.proc is not None:
            self.proc.wait(timeout=15)


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True)


# -- the HTTP side -----------------------------------------------------------------------------------------
class Unanswered(Exception):
    """The request may have reached the server but no answer came back (the server died meanwhile)."""


@dataclass
class Client:
    """Sends each request to the apps in turn; a refused connection (never delivered) goes to the next."""

    ports: list[int]
    turn: itertools.count[int] = field(default_factory=itertools.count)

    def send(self, desk: Desk, method: str, path: str, body: Any = None) -> tuple[int, Any, int]:
        for _ in range(20):
            port = self.ports[next(self.turn) % len(self.ports)]
            data = None if body is None else json.dumps(body).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
            request.add_header("Content-Type", "application/json")
            if desk.token:
                request.add_header("X-CSRFToken", desk.token)
            try:
                with desk.opener.open(request, timeout=60) as response:
                    return response.status, json.loads(response.read() or b"null"), port
            except urllib.error.HTTPError as err:
                return err.code, json.loads(err.read() or b"null"), port
            except urllib.error.URLError as err:
                if isinstance(err.reason, ConnectionRefusedError):
                    time.sleep(0.05)
                    continue  # not delivered: safe to send to the other app
                raise Unanswered(str(err)) from err
            except (HTTPException, ConnectionError, TimeoutError) as err:
                raise Unanswered(repr(err)) from err
        raise Unanswered("every app refused the connection")


@dataclass
class Desk:
    """One demo account logged in (the session cookie is valid on both apps: same secret key)."""

    username: str
    opener: urllib.request.OpenerDirector = field(init=False)
    token: str = ""

    def __post_init__(self) -> None:
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def login(self, client: Client) -> Desk:
        status, body, _ = client.send(
            self, "POST", "/api/v1/auth/login", {"username": self.username, "password": "demo"}
        )
        if status != 200:
            raise RuntimeError(f"login {self.username}: {status} {body}")
        self.token = body["csrf_token"]
        return self


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempted: int = 0
    ok: dict[str, str] = field(default_factory=dict)  # task id → element, answered 2xx
    refused: Counter[int] = field(default_factory=Counter)  # status → count (4xx, 5xx)
    unanswered: list[str] = field(default_factory=list)  # task ids whose completion got no answer
    opened: int = 0
    seconds: float = 0.0  # the burst's duration
    cases_finished: int = 0
    errors: list[str] = field(default_factory=list)


TODAY = datetime.now(CST).date().isoformat()  # "not after today" on the servers' (system) clock
LEADERS = [{"name": "张三", "position": "党工委书记", "responsibility": "principal_leader"}]
VERIFY = {"established": True, "severity": "ordinary", "aggravating": [], "mitigating": [], "mitigate": False,
          "reason": "经核实，情况属实。"}  # fmt: skip
MEASURES = {"measures": "加强巡防，完善网格化管理。", "responsible_person": "张三"}
# The six steps up to the unit's measures (as tests/test_api_accountability.py): who, with what data.
STEPS: dict[str, tuple[str, dict[str, Any] | None]] = {
    "register_report": (f"{COUNTY}.office_staff", {**REPORT, "report_date": TODAY, "leaders": LEADERS}),
    "verify_case": (f"{COUNTY}.office_director", VERIFY),
    "approve_notification": (f"{COUNTY}.committee_director", {"approved": True, "opinion": "同意通报。"}),
    "draft_document": (f"{COUNTY}.office_staff", None),  # the 通报 as drafted from the case
    "review_document": (f"{COUNTY}.office_director", {"doc_review_approved": True}),
    "report_measures_notification": (f"{TOWN}.unit_principal_leader", MEASURES),
}


def drive_case(client: Client, desks: dict[str, Desk], tally: Tally) -> None:
    """Open one case and complete its steps; after an unanswered request, re-read the case and go on."""
    staff = desks[f"{COUNTY}.office_staff"]
    status, body, _ = client.send(staff, "POST", "/api/v1/cases", {**REPORT, "unit_code": TOWN})
    if status != 201:
        raise RuntimeError(f"opening a case: {status} {body}")
    case = body["id"]
    with tally.lock:
        tally.opened += 1
    open_steps: list[dict[str, Any]] = [{}]
    for _ in range(40):  # six steps, plus re-reads after unanswered requests
        try:
            status, detail, _ = client.send(staff, "GET", f"/api/v1/cases/{case}")
            open_steps = [t for t in detail.get("tasks", []) if t["element_id"] in STEPS]
            if status != 200 or not open_steps:
                break
            task = open_steps[0]
            desk, data = desks[STEPS[task["element_id"]][0]], STEPS[task["element_id"]][1]
            if data is None:  # take the form's prefilled values
                data = client.send(desk, "GET", f"/api/v1/tasks/{task['id']}")[1]["values"]
        except Unanswered:
            continue
        with tally.lock:
            tally.attempted += 1
        try:
            status, answer, _ = client.send(
                desk, "POST", f"/api/v1/tasks/{task['id']}/complete", {"data": data}
            )
        except Unanswered:
            with tally.lock:
                tally.unanswered.append(task["id"])
            continue
        with tally.lock:
            if 200 <= status < 300:
                tally.ok[task["id"]] = task["element_id"]
            else:
                tally.refused[status] += 1
                tally.errors.append(f"case {case} {task['element_id']}: {status} {str(answer)[:200]}")
        if status >= 300:
            return
    with tally.lock:
        tally.cases_finished += not open_steps


def burst(client: Client, cases: int, threads: int, tally: Tally) -> None:
    desks = {user: Desk(user).login(client) for user in sorted({user for user, _ in STEPS.values()})}
    jobs: queue.Queue[int] = queue.Queue()
    for n in range(cases):
        jobs.put(n)

    def work() -> None:
        while True:
            try:
                jobs.get_nowait()
            except queue.Empty:
                return
            try:
                drive_case(client, desks, tally)
            except (RuntimeError, Unanswered, KeyError) as exc:
                with tally.lock:
                    tally.errors.append(repr(exc)[:300])

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


# -- the database side (this process, on the scratch database) ---------------------------------------------
def start_timers(count: int, kill_at: datetime, restart_at: datetime) -> dict[int, datetime]:
    """Deploy ``fault_wait`` and start ``count`` instances; returns each one's due instant."""
    from app.extensions import db
    from app.runtime import engine
    from workflows.engine.deploy.definitions import deploy

    eng = engine()
    deploy(db.session(), {"bpmn/fault_wait.bpmn": WAIT_BPMN}, eng.checks, created_by="fault_test")
    first, last = kill_at - timedelta(seconds=2), restart_at + timedelta(seconds=4)
    clump = count // 3
    ids = {}
    for n in range(count):
        if n < clump:
            at = kill_at - timedelta(seconds=1)
        else:
            at = first + (last - first) * (n - clump) / max(1, count - clump - 1)
        inst = eng.start("fault_wait", business_key=f"fault-wait-{n}", unit_code=TOWN,
                         data={"wake_at": at.astimezone(CST).isoformat(timespec="milliseconds")})  # fmt: skip
        ids[inst.id] = at
    db.session.commit()
    return ids


def check(
    tally: Tally, timers: dict[int, datetime], down: tuple[datetime, datetime], env: dict[str, str]
) -> dict[str, Any]:
    """What the database says after the run (waits up to 30 s for the timers due by now to settle)."""
    from sqlalchemy import func, select

    from app.extensions import db
    from app.runtime import engine
    from workflows.engine.models import Incident, InstanceEvent, ProcessInstance, Task

    s, ids = db.session(), list(timers)
    out: dict[str, Any] = {}
    for _ in range(30):
        s.rollback()
        running = select(func.count()).where(ProcessInstance.id.in_(ids), ProcessInstance.status == "running")
        if not s.scalar(running):
            break
        time.sleep(1)
    done = {t.id: t for t in s.scalars(select(Task).where(Task.id.in_([*tally.ok, *tally.unanswered])))}
    events = Counter(s.scalars(select(InstanceEvent.task_id).where(InstanceEvent.kind == "task_completed")))
    out["lost"] = [
        t for t in tally.ok if t not in done or done[t].state != "completed" or not done[t].completed_by
    ]
    out["completed_twice"] = [t for t in tally.ok if events[t] != 1]
    out["unanswered_persisted"] = sum(t in done and done[t].state == "completed" for t in tally.unanswered)
    eng, instances, out["corrupt"] = engine(), list(s.scalars(select(ProcessInstance))), []
    for inst in instances:
        try:
            eng.workflow(inst)  # the serialized state loads against its version's specs
        except Exception as exc:  # any failure to load is what we are looking for
            out["corrupt"].append(f"{inst.id}: {exc!r}"[:200])
    out["instances"] = len(instances)
    audit = flask(env, "audit", "verify")
    out["audit_ok"], out["audit_output"] = audit.returncode == 0, (audit.stdout + audit.stderr)[-600:]
    fired = Counter(s.scalars(select(InstanceEvent.instance_id).where(
        InstanceEvent.kind == "timer_fired", InstanceEvent.instance_id.in_(ids))))  # fmt: skip
    status = dict(
        s.execute(select(ProcessInstance.id, ProcessInstance.status).where(ProcessInstance.id.in_(ids))).all()
    )
    once = {i for i in ids if fired[i] == 1 and status[i] == "complete"}
    outage = [i for i, at in timers.items() if down[0] <= at <= down[1]]
    out["timers_missed"] = [i for i in ids if fired[i] == 0 or status[i] != "complete"]
    out["timers_duplicated"] = [i for i in ids if fired[i] > 1]
    missed, twice = len(out["timers_missed"]), len(out["timers_duplicated"])
    gap = (down[1] - down[0]).total_seconds()
    out["timers"] = (
        f"{len(ids)} due, fired once {len(once)}, missed {missed}, duplicated {twice}; "
        f"due while S1 was down ({gap:.1f} s): {len(outage)}, fired once {len(once.intersection(outage))}"
    )
    out["incidents"] = s.scalar(select(func.count()).select_from(Incident))
    return out


# -- the run -----------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=60)
    parser.add_argument("--threads", type=int, default=10)
    parser.add_argument("--timers", type=int, default=60)
    parser.add_argument("--kill-after", type=float, default=8.0, help="seconds into the burst")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds before the restart")
    parser.add_argument("--base-port", type=int, default=18600)
    parser.add_argument("--keep", action="store_true", help="keep the database (the logs are always kept)")
    args = parser.parse_args()
    name = f"fault_test_{os.getpid()}"
    logs = Path(tempfile.mkdtemp(prefix=f"{name}_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVERNANCE_") and k != "DATABASE_URL"}
    env |= {"FLASK_APP": "app", "DATABASE_URL": f"{PG}/{name}", "GOVERNANCE_SECRET_KEY": os.urandom(8).hex(),
            "GOVERNANCE_SCHEDULER_INTERVAL": "1",
            "GOVERNANCE_ATTACHMENTS_DIR": str(logs / "files")}  # fmt: skip
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    servers = [
        Server(n, args.base_port + i, n[0] == "S", env, logs) for i, n in enumerate(["A", "B", "S1", "S2"])
    ]
    try:
        return run(args, env, servers, logs)
    finally:
        for server in servers:
            server.stop()
        if not args.keep:
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", name], check=False)
        print(f"database {name} {'kept' if args.keep else 'dropped'}; server logs in {logs}")


def run(args: argparse.Namespace, env: dict[str, str], servers: list[Server], logs: Path) -> int:
    t0 = time.monotonic()
    for command in (["db", "upgrade"], ["init-demo"]):
        if (result := flask(env, *command)).returncode:
            raise RuntimeError(f"flask {' '.join(command)} failed:\n{result.stderr[-2000:]}")
    print(f"{env['DATABASE_URL']}: migrated and demo data loaded in {time.monotonic() - t0:.1f} s")
    os.environ.clear()
    os.environ.update(env)
    from app import create_app

    app, (app_a, _, sched_1, _) = create_app(), servers
    times = {f"start {s.name}": s.start() for s in servers}
    with app.app_context():
        begin = datetime.now(CST)
        kill_at = begin + timedelta(seconds=args.kill_after)
        timers = start_timers(args.timers, kill_at, kill_at + timedelta(seconds=args.outage))
    tally, client = Tally(), Client([servers[0].port, servers[1].port])
    runner = threading.Thread(target=burst, args=(client, args.cases, args.threads, tally))
    runner.start()
    time.sleep(max(0.0, (kill_at - datetime.now(CST)).total_seconds()))
    down_from = datetime.now(CST)
    app_a.kill9()
    sched_1.kill9()
    print(f"{down_from:%H:%M:%S.%f}: kill -9 A and S1 ({tally.attempted} completions attempted so far)")
    time.sleep(args.outage)
    times["restart S1"] = sched_1.start()
    down_to = datetime.now(CST)  # S1 answers again (its first pass runs at start-up)
    times["restart A"] = app_a.start()
    print(f"{datetime.now(CST):%H:%M:%S.%f}: restarted S1 and A")
    runner.join()
    tally.seconds = (datetime.now(CST) - begin).total_seconds()
    with app.app_context():
        r = check(tally, timers, (down_from, down_to), env)
    tracebacks = sum(p.read_text(errors="replace").count("Traceback") for p in logs.glob("*.log"))
    violations = {
        "2xx completions not persisted": r["lost"],
        "2xx completions without exactly one task_completed event": r["completed_twice"],
        "instances whose state does not load": r["corrupt"],
        "flask audit verify failed": [] if r["audit_ok"] else [r["audit_output"]],
        "timers that did not fire": r["timers_missed"],
        "timers fired more than once": r["timers_duplicated"],
    }
    print(f"burst {tally.seconds:.1f} s, {args.threads} threads: cases opened {tally.opened}/{args.cases}, "
          f"all six steps done {tally.cases_finished}\n"
          f"completions: attempted {tally.attempted}, 2xx {len(tally.ok)}, refused {dict(tally.refused)}, "
          f"no answer (in flight at the kill) {len(tally.unanswered)}, "
          f"of which persisted {r['unanswered_persisted']}\n"
          f"2xx persisted: {len(tally.ok) - len(r['lost'])}/{len(tally.ok)}; "
          f"completed twice: {len(r['completed_twice'])}\n"
          f"instances loaded: {r['instances'] - len(r['corrupt'])}/{r['instances']}; "
          f"flask audit verify: {'passed' if r['audit_ok'] else 'FAILED'}\n"
          f"timers: {r['timers']}\nincidents: {r['incidents']}; tracebacks in server logs: {tracebacks}\n"
          + "; ".join(f"{k} {v:.1f} s" for k, v in times.items()))  # fmt: skip
    for error in tally.errors[:10]:
        print("  error:", error)
    bad = {what: items for what, items in violations.items() if items}
    for what, items in bad.items():
        print(f"VIOLATION: {what}: {len(items)}, e.g. {items[:5]}")
    print("FAILED" if bad else "OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
