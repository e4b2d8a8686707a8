"""Incidents (issue 16 point 2): one poisoned instance among 100 due ones — 99 fire, one incident naming the
failing element; retries after the backoff steps, then parked (and the administrators told); a parked
instance is no longer picked up; a retry re-arms the wake-up and resolves the incident when it succeeds;
cancelling cancels the instance (administrators do both through the API and the page:
tests/test_incidents_admin.py). The schema migration turns the old ``status='error'`` marks into parked
incidents and back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.auth.models import RoleGrant, User
from app.config import incident_backoff
from app.extensions import db
from app.inbox.models import Notification
from app.jobs import WakeReport, wake_due
from tests.conftest import CITY, WANCHENG_TOWN
from workflows.engine import incidents
from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.deploy.definitions import deploy
from workflows.engine.errors import ProcessFailed
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Incident, InstanceEvent, ProcessInstance

# Waits 5 PRC working days, then divides by the instance's ``divisor``: 0 poisons the wake-up.
POISON_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="poison_after_wait" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="等待五个工作日">
      <bpmn:timerEventDefinition id="td"><bpmn:timeDate>working_days_after(now(), 5)</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="compute"/>
    <bpmn:scriptTask id="compute" name="计算得分">
      <bpmn:script>score = 10 // divisor</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="compute" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
FILES = {"bpmn/poison_after_wait.bpmn": POISON_BPMN}
PROCESS = "poison_after_wait"
START = datetime(2026, 3, 2, 9, 0, tzinfo=CST)  # + 5 working days = Monday 9 March, 23:59:59
DUE = datetime(2026, 3, 10, 0, 0, tzinfo=CST)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))
ADMIN = Actor("411300.admin", frozenset({("admin", CITY)}))


def start_batch(
    session_factory: sessionmaker[Session], make_engine: Callable[[Session], Engine], divisors: list[int]
) -> list[int]:
    with session_factory() as s:
        engine = make_engine(s)
        deploy(s, FILES, engine.checks, created_by="test")
        ids = [
            engine.start(PROCESS, business_key=f"p{n}", unit_code=WANCHENG_TOWN, data={"divisor": d}).id
            for n, d in enumerate(divisors)
        ]
        s.commit()
    return ids


def fired(s: Session) -> set[int]:
    return set(s.scalars(select(InstanceEvent.instance_id).where(InstanceEvent.kind == "timer_fired")))


def only_incident(s: Session) -> Incident:
    rows = list(s.scalars(select(Incident)))
    assert len(rows) == 1, [(r.instance_id, r.status, r.message[:200]) for r in rows]
    return rows[0]


@pytest.fixture
def batch(
    session: Session,
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
) -> Callable[[list[int]], list[int]]:
    clock.set(START)

    def make(divisors: list[int]) -> list[int]:
        return start_batch(session_factory, make_engine, divisors)

    return make


# -- the scheduler -----------------------------------------------------------------------------------------
def test_one_poisoned_instance_among_100_due_gives_99_fired_and_one_incident(
    batch: Callable[[list[int]], list[int]],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
) -> None:
    ids = batch([1] * 42 + [0] + [1] * 57)
    poisoned = ids[42]
    clock.set(DUE)
    with session_factory() as s:
        report = wake_due(s, make_engine, backoff=BACKOFF)
    assert sorted(report.woken) == sorted(set(ids) - {poisoned}) and len(report.woken) == 99
    assert list(report.failed) == [poisoned] and "ZeroDivisionError" in report.failed[poisoned]
    with session_factory() as s:
        assert fired(s) == set(ids) - {poisoned}
        done = s.scalars(select(ProcessInstance.status).where(ProcessInstance.id != poisoned))
        assert set(done) == {"complete"}
        incident = only_incident(s)
        assert report.incidents == {poisoned: incident.id}
        assert (incident.instance_id, incident.kind, incident.status) == (poisoned, "timer", "open")
        assert (incident.element_id, incident.element_name) == ("compute", "计算得分")
        assert "ZeroDivisionError" in incident.message or "division" in incident.message
        assert (incident.created_at, incident.retries_left, incident.failures) == (DUE, 3, 1)
        assert incident.next_retry_at == DUE + BACKOFF[0]
        inst = s.get(ProcessInstance, poisoned)
        assert inst is not None and inst.status == "running"  # its deadline stays what it was
        assert inst.next_wake_at == datetime(2026, 3, 9, 23, 59, 59, tzinfo=CST)
    clock.set(DUE + timedelta(seconds=30))  # the next pass: held until its retry, not first in the batch
    with session_factory() as s:
        assert wake_due(s, make_engine, backoff=BACKOFF) == WakeReport()


def test_retries_follow_the_backoff_then_the_incident_is_parked_and_admins_told(
    batch: Callable[[list[int]], list[int]],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
) -> None:
    [poisoned] = batch([0])
    with session_factory() as s:
        admin = User(username="411300.admin", display_name="管理员", password_hash="x")
        admin.grants.append(RoleGrant(role="admin", org_code=CITY))
        s.add(admin)
        s.commit()
        admin_id = admin.id
    at = DUE
    clock.set(at)
    seen: list[tuple[str, int, datetime | None]] = []
    for step in [*BACKOFF, None]:
        with session_factory() as s:
            report = wake_due(s, make_engine, backoff=BACKOFF)
            assert list(report.failed) == [poisoned] and not report.woken
            incident = only_incident(s)
            seen.append((incident.status, incident.retries_left, incident.next_retry_at))
            assert incident.last_failed_at == at
        if step is not None:
            clock.set(at + step - timedelta(seconds=1))  # a second early: still held
            with session_factory() as s:
                assert wake_due(s, make_engine, backoff=BACKOFF) == WakeReport()
            at += step
            clock.set(at)
    t1, t2, t3 = DUE + BACKOFF[0], DUE + BACKOFF[0] + BACKOFF[1], DUE + sum(BACKOFF, timedelta())
    assert seen == [
        ("open", 3, t1),
        ("retrying", 2, t2),
        ("retrying", 1, t3),
        ("parked", 0, None),
    ]
    clock.set(at + timedelta(days=30))  # parked: never picked up again by itself
    with session_factory() as s:
        assert wake_due(s, make_engine, backoff=BACKOFF) == WakeReport()
        incident = only_incident(s)
        assert (incident.failures, incident.attempts, incident.created_at) == (4, 4, DUE)
        told = list(s.scalars(select(Notification).where(Notification.kind == "incident")))
        assert [(n.user_id, n.instance_id) for n in told] == [(admin_id, poisoned)]  # once, when parked
        assert "p0" in told[0].message and "计算得分" in told[0].message
        assert fired(s) == set()


def test_an_empty_backoff_parks_at_once() -> None:
    assert incident_backoff("") == ()
    assert incident_backoff("60, 300,1800") == BACKOFF
    with pytest.raises(ValueError):
        incident_backoff("-5")


def test_a_transient_failure_is_resolved_by_its_automatic_retry(
    batch: Callable[[list[int]], list[int]],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not a script: a bug or an outage below the engine, gone by the retry (no element in the error,
    so the incident names the due timer)."""
    ids = batch([1, 1])
    flaky, wake = ids[0], Engine.wake
    broken = [True]

    def flaky_wake(self: Engine, instance_id: int, actor: Actor = SYSTEM) -> bool:
        if instance_id == flaky and broken[0]:
            raise RuntimeError("database hiccup")
        return wake(self, instance_id, actor)

    monkeypatch.setattr(Engine, "wake", flaky_wake)
    clock.set(DUE)
    with session_factory() as s:
        report = wake_due(s, make_engine, backoff=BACKOFF)
        assert report.woken == [ids[1]] and report.failed == {flaky: "RuntimeError: database hiccup"}
        incident = only_incident(s)
        assert (incident.element_id, incident.element_name) == ("wait", "等待五个工作日")
    broken[0] = False
    clock.set(DUE + BACKOFF[0])
    with session_factory() as s:
        report = wake_due(s, make_engine, backoff=BACKOFF)
        assert report.woken == [flaky] and report.resolved == [incident.id]
        incident = only_incident(s)
        assert (incident.status, incident.closed_by, incident.closed_at) == (
            "resolved",
            "system",
            clock.now(),
        )
        assert incident.next_retry_at is None
        assert fired(s) == set(ids)


def test_two_schedulers_record_one_incident(
    batch: Callable[[list[int]], list[int]],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
) -> None:
    """Both pick the same due set; the poisoned instance is tried once, recorded once, held for both."""
    ids = batch([1] * 9 + [0] + [1] * 10)
    clock.set(DUE)
    reports: list[WakeReport] = []
    barrier = threading.Barrier(2)

    def scheduler() -> None:
        with session_factory() as s:
            barrier.wait()
            reports.append(wake_due(s, make_engine, backoff=BACKOFF))

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(i for r in reports for i in r.woken) == sorted(set(ids) - {ids[9]})
    with session_factory() as s:
        incident = only_incident(s)
        assert incident.failures == sum(1 for r in reports if r.failed) == 1


# -- retry and cancel (engine API) -------------------------------------------------------------------------
def test_retry_re_arms_now_and_a_success_resolves_it_for_the_admin(
    batch: Callable[[list[int]], list[int]],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    [poisoned] = batch([0])
    clock.set(DUE)
    with session_factory() as s:
        wake_due(s, make_engine, backoff=())  # no retries: parked at once
        incident = only_incident(s)
        assert (incident.status, incident.retries_left, incident.next_retry_at) == ("parked", 0, None)
    later = DUE + timedelta(hours=2)
    clock.set(later)
    with session_factory() as s:
        again = incidents.retry(s, incident.id, "411300.admin", now=later, backoff=BACKOFF)
        s.commit()
        assert (again.status, again.retries_left, again.next_retry_at) == ("retrying", 3, later)
        assert (again.retried_by, again.retried_at) == ("411300.admin", later)
    with session_factory() as s:  # still poisoned: the retries start again from the first step
        report = wake_due(s, make_engine, backoff=BACKOFF)
        assert list(report.failed) == [poisoned]
        incident = only_incident(s)
        assert (incident.status, incident.retries_left, incident.next_retry_at) == (
            "retrying",
            3,
            later + BACKOFF[0],
        )
        incidents.retry(s, incident.id, "411300.admin", now=later, backoff=BACKOFF)
        s.commit()
    monkeypatch.setattr(Engine, "wake", lambda self, instance_id, actor=None: True)  # fixed meanwhile
    with session_factory() as s:
        report = wake_due(s, make_engine, backoff=BACKOFF)
        assert report.woken == [poisoned] and report.resolved == [incident.id]
        incident = only_incident(s)
        assert (incident.status, incident.closed_by) == ("resolved", "411300.admin")
        with pytest.raises(incidents.IncidentClosed):
            incidents.retry(s, incident.id, "411300.admin", now=later)


def test_a_retry_due_on_an_instance_that_moved_on_is_resolved(
    batch: Callable[[list[int]], list[int]],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
) -> None:
    [poisoned] = batch([0])
    clock.set(DUE)
    with session_factory() as s:
        wake_due(s, make_engine, backoff=BACKOFF)
        inst = s.get(ProcessInstance, poisoned)
        assert inst is not None
        inst.next_wake_at = DUE + timedelta(days=30)  # e.g. a user's step took the case past that timer
        s.commit()
    clock.set(DUE + BACKOFF[0])
    with session_factory() as s:
        report = wake_due(s, make_engine, backoff=BACKOFF)
        assert report.woken == [] and report.resolved == [only_incident(s).id]
        assert only_incident(s).status == "resolved"


def test_cancel_cancels_the_instance_and_closes_its_incidents(
    batch: Callable[[list[int]], list[int]],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
    clock: ManualClock,
) -> None:
    [poisoned] = batch([0])
    clock.set(DUE)
    with session_factory() as s:
        wake_due(s, make_engine, backoff=BACKOFF)
        incident = only_incident(s)
    with session_factory() as s:
        cancelled = incidents.cancel(make_engine(s), incident.id, ADMIN, "数据错误，已另行立案")
        s.commit()
        assert (cancelled.status, cancelled.closed_by, cancelled.closed_at) == (
            "cancelled",
            ADMIN.user_id,
            DUE,
        )
        assert cancelled.note == "数据错误，已另行立案"
    with session_factory() as s:
        inst = s.get(ProcessInstance, poisoned)
        assert inst is not None
        assert (inst.status, inst.next_wake_at, inst.completed_at) == ("cancelled", None, DUE)
        event = s.scalars(select(InstanceEvent).where(InstanceEvent.kind == "instance_cancelled")).one()
        assert (event.instance_id, event.actor, event.element_id) == (poisoned, ADMIN.user_id, "compute")
        assert event.detail == {"reason": "数据错误，已另行立案", "incident_id": incident.id}
        assert incidents.open_incidents_of(s, poisoned) == []
        with pytest.raises(incidents.IncidentClosed):
            incidents.cancel(make_engine(s), incident.id, ADMIN, "again")
        with pytest.raises(incidents.IncidentClosed):
            incidents.retry(s, incident.id, ADMIN.user_id, now=DUE)
    clock.set(DUE + timedelta(days=1))
    with session_factory() as s:
        assert wake_due(s, make_engine, backoff=BACKOFF) == WakeReport()


def test_other_code_raises_an_incident_for_a_failed_script(
    batch: Callable[[list[int]], list[int]], session_factory: sessionmaker[Session]
) -> None:
    """A run-time failure elsewhere (not a wake-up): the element comes from the error; with no retries it is
    parked at once, and it does not hold the instance's timers."""
    [inst_id] = batch([1])
    cause = RuntimeError("compute failed")
    cause.task_spec = type("Spec", (), {"bpmn_id": "compute", "bpmn_name": "计算得分"})()  # type: ignore[attr-defined]
    try:
        raise ProcessFailed("compute failed") from cause  # what the engine raises from Spiff's error
    except ProcessFailed as exc:
        element_id, element_name = incidents.element_of(exc)
    assert incidents.element_of(RuntimeError("no element")) == (None, None)
    assert (element_id, element_name) == ("compute", "计算得分")
    with session_factory() as s:
        incident = incidents.raise_incident(
            s, inst_id, element_id, "compute failed", now=START, element_name=element_name, kind="script",
            backoff=(),
        )  # fmt: skip
        s.commit()
        assert (incident.status, incident.retries_left) == ("parked", 0)
        assert [i.id for i in incidents.open_incidents_of(s, inst_id)] == [incident.id]
        held = s.scalar(select(func.count()).select_from(ProcessInstance).where(incidents.wake_up_held(DUE)))
        assert held == 0


# -- the migration -----------------------------------------------------------------------------------------
def test_the_migration_turns_error_marks_into_parked_incidents_and_back(tmp_path: Path) -> None:
    """On a database of its own (SQLite): an instance the old job marked ``error`` comes back ``running``
    with a parked incident carrying its message; the downgrade restores the mark."""
    from flask_migrate import downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade(revision="a7c3e9f2b6d1")
        db.engine.dispose()
    sql = create_engine(url)
    with sql.begin() as conn:
        conn.execute(text("INSERT INTO org_unit (code, name, level) VALUES ('411300', '南阳市', 'city')"))
        conn.execute(
            text(
                "INSERT INTO definition_version (id, number, created_at, created_by, comment, content_hash,"
                " process_ids, specs_json) VALUES (1, 1, '2026-03-01 00:00:00', 't', '', 'h', '[]', '{}')"
            )
        )
        for n, (status, error) in enumerate([("error", "RuntimeError: handler bug"), ("running", None)], 1):
            conn.execute(
                text(
                    "INSERT INTO process_instance (id, version_id, process_id, business_key, unit_code,"
                    " status, state_json, lock_version, has_provisional, summary, created_at, updated_at,"
                    " started_by, error) VALUES (:id, 1, 'p', :key, '411300', :status, '{}', 1, false, '{}',"
                    " '2026-03-01 00:00:00', '2026-03-02 01:00:00', 't', :error)"
                ),
                {"id": n, "key": f"k{n}", "status": status, "error": error},
            )
    with app.app_context():
        upgrade(revision="c16a0e1a9b01")
        db.engine.dispose()
    with sql.connect() as conn:
        rows = conn.execute(
            text("SELECT instance_id, kind, message, status, retries_left, next_retry_at FROM incident")
        ).all()
        assert [tuple(r) for r in rows] == [(1, "timer", "RuntimeError: handler bug", "parked", 0, None)]
        instances = conn.execute(text("SELECT id, status, error FROM process_instance ORDER BY id")).all()
        assert [tuple(r) for r in instances] == [(1, "running", None), (2, "running", None)]
    with app.app_context():
        downgrade(revision="a7c3e9f2b6d1")
        db.engine.dispose()
    with sql.connect() as conn:
        instances = conn.execute(text("SELECT id, status, error FROM process_instance ORDER BY id")).all()
        assert [tuple(r) for r in instances] == [
            (1, "error", "RuntimeError: handler bug"),
            (2, "running", None),
        ]
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE name = 'incident'")).all()
        assert tables == []
    sql.dispose()
