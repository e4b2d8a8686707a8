"""The tamper-evident working file (issue 16 point 6): every event hash-chained as it is written; an event
edited, deleted or two reordered with SQL are each named by ``flask audit verify`` (instance, case number,
seq, what is wrong) with a non-zero exit; a document's hash changed is caught; a chain rewritten consistently
is caught by the sealed daily root; normal flows verify; the case page shows the check."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date, datetime
from itertools import pairwise
from types import SimpleNamespace
from typing import Any, cast

import pytest
from click.testing import Result
from flask import render_template
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.extensions import db
from tests.accountability_driver import Case, verify
from tests.conftest import COUNTY_OFFICE, WANCHENG, WANCHENG_TOWN
from tests.test_engine import run_to_rectify, start_case
from workflows.engine import audit_roots
from workflows.engine.audit_chain import (
    BROKEN_LINK,
    DOCUMENT_MISMATCH,
    GAP,
    HASH_MISMATCH,
    MISSING_ROOT,
    REORDER,
    ROOT_MISMATCH,
    chain_rows,
    event_hash,
    stored_events,
    verify_chain,
)
from workflows.engine.audit_roots import AuditRoot, last_sealable_day
from workflows.engine.core import Engine
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import InstanceEvent, ProcessInstance
from workflows.regulation.document_models import IssuedDocument
from workflows.regulation.file_integrity import case_integrity, office_of, seal, verify_working_files
from workflows.regulation.roles import load_org

Factory = sessionmaker[Session]
MakeEngine = Callable[[Session], Engine]
EVENTS = cast(Table, InstanceEvent.__table__)


@pytest.fixture
def audit(db_url: str, clock: ManualClock, session: Session) -> Iterator[Callable[..., Result]]:
    """``flask audit …`` on the test database, on the test clock."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test", "CLOCK": clock})
    runner = app.test_cli_runner()
    yield lambda *args: runner.invoke(args=["audit", *args])
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def case_id(session_factory: Factory, make_engine: MakeEngine, deployed: Any) -> int:
    """A rectification case of 东关街道 with a dozen events (the fixture process)."""
    iid = start_case(session_factory, make_engine, key="追责-2026-0007")
    run_to_rectify(session_factory, make_engine, iid)
    return iid


def events_of(factory: Factory, instance_id: int) -> list[Any]:
    with factory() as s:
        return stored_events(s, instance_id)


def execute(factory: Factory, *statements: Any) -> None:
    with factory() as s:
        for statement in statements:
            s.execute(statement)
        s.commit()


def failed(result: Result, *words: str) -> str:
    assert result.exit_code != 0, result.output
    for word in words:
        assert word in result.output, f"{word!r} not in {result.output}"
    return result.output


# -- writing -----------------------------------------------------------------------------------------------
def test_every_event_is_chained_as_written_and_a_normal_flow_verifies(
    session_factory: Factory, case_id: int, audit: Callable[..., Result]
) -> None:
    events = events_of(session_factory, case_id)
    assert len(events) >= 8
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash is None
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    assert all(event_hash(e) == e.hash and len(e.hash) == 64 for e in events)
    assert [e.id for e in events] == sorted(e.id for e in events)  # the file's order is the chain's
    assert verify_chain(events) is None
    result = audit("verify")
    assert result.exit_code == 0, result.output
    assert f"{len(events)} event(s)" in result.output and "verified" in result.output


def test_the_working_file_is_append_only_through_the_orm(session_factory: Factory, case_id: int) -> None:
    with session_factory() as s:
        ev = s.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == case_id)).first()
        assert ev is not None
        ev.actor = "someone-else"
        with pytest.raises(ValueError, match="append-only"):
            s.flush()
        s.rollback()
        ev = s.scalars(select(InstanceEvent).where(InstanceEvent.instance_id == case_id)).first()
        s.delete(ev)
        with pytest.raises(ValueError, match="append-only"):
            s.flush()


def test_a_second_event_at_the_same_place_fails_loudly(session_factory: Factory, case_id: int) -> None:
    """What bypasses the chaining (raw SQL, a lost race) cannot fork the chain: (instance, seq) is unique."""
    head = events_of(session_factory, case_id)[-1]
    row = {c.name: getattr(head, c.name) for c in EVENTS.columns if c.name != "id"}
    with session_factory() as s, pytest.raises(IntegrityError):
        s.execute(insert(EVENTS).values(**{**row, "kind": "forged"}))
        s.commit()


def test_bulk_loaders_chain_their_rows_too(
    session_factory: Factory, clock: ManualClock, case_id: int
) -> None:
    """A loader inserting with Core (benchmarks) numbers and hashes its rows with ``chain_rows``."""
    rows = [
        {
            "instance_id": case_id,
            "at": clock.now(),
            "actor": "bench",
            "kind": "comment",
            "detail": {"text": t},
        }
        for t in ("一", "二")
    ]
    with session_factory() as s:
        chain_rows(s, rows)
        s.execute(insert(EVENTS), rows)
        s.commit()
    events = events_of(session_factory, case_id)
    assert [e.detail for e in events[-2:]] == [{"text": "一"}, {"text": "二"}]
    assert verify_chain(events) is None


def test_two_writers_of_one_file_are_serialized(
    session_factory: Factory, make_engine: MakeEngine, case_id: int
) -> None:
    """Two transactions adding to one case's file at once (comments: no lock_version check): on PostgreSQL
    the second waits for the first and chains after it; SQLite lets one writer in at a time. Either way
    the chain stays one line."""
    first, second = session_factory(), session_factory()
    errors: list[BaseException] = []
    try:
        make_engine(first).note(case_id, COUNTY_OFFICE, "comment", {"text": "第一条"})  # flushed: holds it

        def other() -> None:
            try:
                make_engine(second).note(case_id, COUNTY_OFFICE, "comment", {"text": "第二条"})
                second.commit()
            except Exception as exc:  # SQLite: "database is locked" while the first holds the write lock
                errors.append(exc)
                second.rollback()

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.5)  # the second is waiting (PostgreSQL) or failed (SQLite) — never ahead of the first
        first.commit()
        thread.join(30)
        if errors:
            make_engine(second).note(case_id, COUNTY_OFFICE, "comment", {"text": "第二条"})
            second.commit()
    finally:
        first.close()
        second.close()
    if first.get_bind().dialect.name == "postgresql":
        assert errors == []  # it waited for the first, then chained after it
    else:  # SQLite: it lost the race loudly (locked, or its seq taken), never forked the chain
        assert len(errors) == 1
    events = events_of(session_factory, case_id)
    comments = [e.detail["text"] for e in events if e.kind == "comment"]
    assert comments == ["第一条", "第二条"]
    assert verify_chain(events) is None


# -- tampering, each named ------------------------------------------------------------------------------
def test_an_event_edited_with_sql_is_named(
    session_factory: Factory, case_id: int, audit: Callable[..., Result]
) -> None:
    third = events_of(session_factory, case_id)[2]
    execute(
        session_factory,
        update(EVENTS).where(EVENTS.c.id == third.id).values(detail={"data": {"facts": "没有发生案件"}}),
    )
    failed(audit("verify"), f"instance {case_id}", "case 追责-2026-0007", "seq 3", HASH_MISMATCH)
    problem = verify_chain(events_of(session_factory, case_id))
    assert problem is not None and (problem.what, problem.seq) == (HASH_MISMATCH, 3)


def test_an_event_deleted_with_sql_is_named(
    session_factory: Factory, case_id: int, audit: Callable[..., Result]
) -> None:
    execute(session_factory, delete(EVENTS).where(EVENTS.c.instance_id == case_id, EVENTS.c.seq == 4))
    failed(audit("verify"), f"instance {case_id}", "case 追责-2026-0007", "seq 4", GAP, "missing")


@pytest.mark.parametrize(("column", "named"), [("seq", "seq 3"), ("id", "seq 4")])
def test_two_events_reordered_with_sql_are_named(
    session_factory: Factory, case_id: int, audit: Callable[..., Result], column: str, named: str
) -> None:
    """Swapped places in the chain (seq), or in the order the file lists them (row ids)."""
    a, b = events_of(session_factory, case_id)[2:4]
    col = EVENTS.c[column]
    execute(
        session_factory,
        update(EVENTS).where(EVENTS.c.id == a.id).values({col: -1}),
        update(EVENTS).where(EVENTS.c.id == b.id).values({col: getattr(a, column)}),
        update(EVENTS).where(col == -1).values({col: getattr(b, column)}),
    )
    failed(audit("verify"), f"instance {case_id}", "case 追责-2026-0007", named, REORDER)


def test_an_edited_hash_breaks_the_link_to_the_next_event(session_factory: Factory, case_id: int) -> None:
    """Edit an event and store its new hash too: the next event no longer follows it."""
    second = events_of(session_factory, case_id)[1]
    execute(session_factory, update(EVENTS).where(EVENTS.c.id == second.id).values(actor="forger"))
    forged = events_of(session_factory, case_id)[1]
    execute(session_factory, update(EVENTS).where(EVENTS.c.id == second.id).values(hash=event_hash(forged)))
    problem = verify_chain(events_of(session_factory, case_id))
    assert problem is not None and (problem.what, problem.seq) == (BROKEN_LINK, 3)


# -- daily roots ----------------------------------------------------------------------------------------
def rewrite_chain(factory: Factory, instance_id: int, seq: int, **changes: Any) -> None:
    """What a forger with database access does: change an event and rehash everything after it."""
    with factory() as s:
        rows = stored_events(s, instance_id)
        prev = rows[seq - 2].hash if seq > 1 else None
        for row in rows[seq - 1 :]:
            edit = changes if row.seq == seq else {}
            digest = event_hash(SimpleNamespace(**{**row._mapping, **edit, "prev_hash": prev}))
            s.execute(update(EVENTS).where(EVENTS.c.id == row.id).values(prev_hash=prev, hash=digest, **edit))
            prev = digest
        s.commit()


def test_roots_seal_each_office_daily_and_catch_a_rewritten_chain(
    session_factory: Factory,
    make_engine: MakeEngine,
    clock: ManualClock,
    case_id: int,
    audit: Callable[..., Result],
) -> None:
    clock.set(datetime(2026, 3, 17, 0, 5, tzinfo=CST))  # 16 March ended 5 minutes ago: not yet sealed
    assert audit("roots").output.startswith("0 daily root(s)")
    clock.set(datetime(2026, 3, 18, 9, 0, tzinfo=CST))
    sealed = audit("roots")
    assert sealed.exit_code == 0 and "sealed through 2026-03-17" in sealed.output, sealed.output
    with session_factory() as s:
        roots = s.scalars(select(AuditRoot).order_by(AuditRoot.day)).all()
        # 宛城区's office seals its township's case: 16 March with the case's head, 17 March empty, chained.
        assert [(r.office_code, r.day.isoformat()) for r in roots] == [
            (WANCHENG, "2026-03-16"),
            (WANCHENG, "2026-03-17"),
        ]
        head = events_of(session_factory, case_id)[-1]
        assert roots[0].heads == [[case_id, head.seq, head.hash]] and roots[1].heads == []
        assert roots[0].prev_hash is None and roots[1].prev_hash == roots[0].root_hash
        assert seal(s, load_org(s), clock.now()) == 0  # idempotent
    assert audit("verify").exit_code == 0

    rewrite_chain(session_factory, case_id, 2, actor="forger")  # the chain is consistent again…
    assert verify_chain(events_of(session_factory, case_id)) is None
    failed(audit("verify"), f"instance {case_id}", "case 追责-2026-0007", ROOT_MISMATCH, "rewritten")


def seal_through_18_march(factory: Factory, clock: ManualClock) -> None:
    clock.set(datetime(2026, 3, 19, 9, 0, tzinfo=CST))
    with factory() as s:
        assert seal(s, load_org(s), clock.now()) == 3  # 宛城区's office: 16, 17, 18 March
        s.commit()


def test_a_sealed_last_event_deleted_is_named(
    session_factory: Factory, clock: ManualClock, case_id: int
) -> None:
    """The chain alone cannot tell a deleted last event from a shorter file; the day's root can."""
    seal_through_18_march(session_factory, clock)
    last = events_of(session_factory, case_id)[-1]
    execute(session_factory, delete(EVENTS).where(EVENTS.c.id == last.id))
    with session_factory() as s:
        [problem] = verify_working_files(s).problems
    assert (problem.what, problem.instance_id, problem.seq) == (ROOT_MISMATCH, case_id, last.seq)
    assert (
        f"sealed on 2026-03-16 was seq {last.seq}; that day now ends at seq {last.seq - 1}" in problem.message
    )


def test_a_backdated_event_and_a_missing_day_are_named(
    session_factory: Factory, make_engine: MakeEngine, clock: ManualClock, case_id: int
) -> None:
    seal_through_18_march(session_factory, clock)
    n = len(events_of(session_factory, case_id))
    clock.set(datetime(2026, 3, 16, 18, 0, tzinfo=CST))  # an entry written now, dated a sealed day
    with session_factory() as s:
        make_engine(s).note(case_id, COUNTY_OFFICE, "comment", {"text": "补记"})
        s.commit()
        [problem] = verify_working_files(s).problems
        assert (problem.what, problem.instance_id, problem.seq) == (ROOT_MISMATCH, case_id, n + 1)
        assert "not in that day's sealed root" in problem.message
        s.execute(delete(EVENTS).where(EVENTS.c.instance_id == case_id, EVENTS.c.seq == n + 1))
        s.execute(delete(AuditRoot).where(AuditRoot.day == date(2026, 3, 17)))
        s.commit()
        [problem] = verify_working_files(s).problems
        assert problem.what == MISSING_ROOT and "no root for 2026-03-17" in problem.message


def test_the_day_seals_after_a_grace_period() -> None:
    assert last_sealable_day(datetime(2026, 3, 17, 0, 5, tzinfo=CST)).isoformat() == "2026-03-15"
    assert last_sealable_day(datetime(2026, 3, 17, 0, 11, tzinfo=CST)).isoformat() == "2026-03-16"


def test_the_office_is_the_county_level_office_of_the_unit(session: Session) -> None:
    office = office_of(load_org(session))
    assert office(WANCHENG_TOWN) == WANCHENG and office(WANCHENG) == WANCHENG
    assert office("CD01") == "411300" and office("411300") == "411300"
    assert office("unknown-unit") == "unknown-unit"


# -- documents and a real case --------------------------------------------------------------------------
def test_a_notification_case_verifies_and_a_documents_changed_hash_is_named(
    case_factory: Callable[..., Case], clock: ManualClock, audit: Callable[..., Result]
) -> None:
    clock.set(datetime(2026, 3, 16, 9, 0, tzinfo=CST))
    case = case_factory()
    case.intake(verify("ordinary"))
    case.approve_level("propose_notification", "approve_notification")
    notice = case.issue()
    frozen = case.events("document_frozen")[-1]
    ok = audit("verify")
    assert ok.exit_code == 0, ok.output
    with case.factory() as s:
        inst = s.get(ProcessInstance, case.id)
        integrity = case_integrity(s, inst)
    assert integrity.ok and integrity.documents == 1
    assert integrity.events == len(events_of(case.factory, case.id))
    key = case.instance().business_key
    table = cast(Table, IssuedDocument.__table__)
    execute(case.factory, update(table).where(table.c.id == notice.id).values(sha256="0" * 64))
    failed(audit("verify"), f"instance {case.id}", f"case {key}", f"seq {frozen.seq}", DOCUMENT_MISMATCH)
    execute(case.factory, update(table).where(table.c.id == notice.id).values(sha256=notice.sha256))
    assert audit("verify").exit_code == 0
    execute(case.factory, update(table).where(table.c.id == notice.id).values(docx=b"PK forged"))
    failed(audit("verify"), f"case {key}", DOCUMENT_MISMATCH, "stored file")


def test_the_case_page_shows_the_file_verified_or_what_is_wrong(
    db_url: str, case_factory: Callable[..., Case], clock: ManualClock
) -> None:
    case = case_factory()
    case.intake(verify("ordinary"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test", "CLOCK": clock})
    with app.test_request_context():
        inst = db.session.get(ProcessInstance, case.id)
        page = render_template("cases/_integrity.html", inst=inst)
        assert 'data-ok="true"' in page and "哈希链完整" in page
        second = events_of(case.factory, case.id)[1]
        execute(case.factory, update(EVENTS).where(EVENTS.c.id == second.id).values(actor="forger"))
        page = render_template("cases/_integrity.html", inst=inst)
        assert 'data-ok="false"' in page and "第 2 条记录" in page and "被改动" in page
        db.session.remove()
        db.engine.dispose()


def test_a_day_sealed_twice_at_once_is_written_once(
    session_factory: Factory, clock: ManualClock, case_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two schedulers sealing the same day compute the same rows; the second's insert is ignored."""
    clock.set(datetime(2026, 3, 17, 9, 0, tzinfo=CST))
    with session_factory() as s:
        assert seal(s, load_org(s), clock.now()) == 1
        s.commit()
        first = s.scalars(select(AuditRoot)).one()
    monkeypatch.setattr(audit_roots, "sealed_through", lambda _s: None)  # as if it read before the commit
    with session_factory() as s:
        assert seal(s, load_org(s), clock.now()) == 1
        s.commit()
        again = s.scalars(select(AuditRoot)).one()
    assert (again.id, again.root_hash) == (first.id, first.root_hash)
