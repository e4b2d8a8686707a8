"""The working file made tamper-evident (issue 16 point 6; the working file of Art. 32): every
``instance_event`` is a link of a hash chain per instance.

Why: a review under Art. 40/41 rests on the working file — who did what, when, and which documents were
issued. Each event carries ``seq`` (1, 2, … within its instance), ``prev_hash`` (the hash of the instance's
previous event, none for the first) and ``hash``, the SHA-256 of :func:`canonical`: stable JSON (sorted keys,
no whitespace, UTF-8, UTC times to the microsecond) of instance id, seq, kind, actor, time, step, task, detail
and the previous hash. Editing, deleting or reordering an event with SQL therefore breaks the chain at that
event, and :func:`verify_chain` names it. Issued documents are in the chain through their ``document_frozen``
event, which carries the file's SHA-256.

Every writer is chained without knowing it: a ``before_flush`` listener numbers and hashes each new event
(the engine, organisation upkeep, tests alike); events are append-only through the ORM. Two transactions
adding events to one instance: on PostgreSQL the listener first takes the instance's row lock (``FOR NO KEY
UPDATE``, what an UPDATE of the row takes anyway), so the second waits, then reads the head the first
committed — and a completion that lost the race still fails on ``lock_version`` as before (``Conflict``).
Whatever bypasses the lock (raw SQL, SQLite's deferred transactions) meets the unique (instance, seq)
constraint and fails loudly instead of forking the chain. The daily roots over the chains' heads are
:mod:`workflows.engine.audit_roots`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, Protocol

from sqlalchemy import bindparam, event, inspect, select
from sqlalchemy.orm import Session, SessionTransaction

from workflows.engine.models import InstanceEvent, ProcessInstance

# What verification reports (the first problem of each instance; see Problem.what).
HASH_MISMATCH = "hash_mismatch"  # an event's content no longer gives its hash: edited
GAP = "gap"  # a seq is missing: deleted
REORDER = "reorder"  # events moved: an event sits at another place than the one it was chained at
BROKEN_LINK = "broken_link"  # an event does not follow the hash of the event before it
ROOT_MISMATCH = "root_mismatch"  # a chain head or a day's root differs from what was sealed
MISSING_ROOT = "missing_root"  # a day's root of an office is missing or out of its chain
DOCUMENT_MISMATCH = "document_mismatch"  # an issued document's file or hash differs from the working file


@dataclass(frozen=True)
class Problem:
    """One thing verification found wrong, named so an operator can find the row."""

    what: str
    message: str
    instance_id: int | None = None
    business_key: str | None = None
    seq: int | None = None

    def __str__(self) -> str:
        where = []
        if self.instance_id is not None:
            where.append(f"instance {self.instance_id}")
        if self.business_key:
            where.append(f"case {self.business_key}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        return f"{', '.join(where) or 'roots'}: {self.what}: {self.message}"


class ChainedEvent(Protocol):
    """What hashing reads of an event: a mapped ``InstanceEvent`` or a row selected from its table."""

    instance_id: int
    seq: int
    kind: str
    actor: str
    at: datetime
    element_id: str | None
    task_id: str | None
    detail: Any
    prev_hash: str | None


# -- the canonical form -------------------------------------------------------------------------------------
def utc_text(at: datetime) -> str:
    """``2026-03-16T01:00:00.000000Z``: one spelling of an instant, whatever zone it was written in."""
    if at.tzinfo is None:  # SQLite hands UTC back naive (models.UTCDateTime stores it so)
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_stored(detail: Any) -> Any:
    """The detail as the JSON column will hand it back (tuples become lists...), so the hash written now is
    the hash recomputed from the row later."""
    return json.loads(json.dumps({} if detail is None else detail, allow_nan=False))


def canonical(ev: ChainedEvent, seq: int | None = None) -> bytes:
    """The bytes an event's hash is taken over (``seq`` overrides the event's own, to test a reordering)."""
    body = {
        "instance": ev.instance_id,
        "seq": ev.seq if seq is None else seq,
        "kind": ev.kind,
        "actor": ev.actor,
        "at": utc_text(ev.at),
        "element": ev.element_id,
        "task": ev.task_id,
        "detail": ev.detail,
        "prev": ev.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def event_hash(ev: ChainedEvent, seq: int | None = None) -> str:
    return hashlib.sha256(canonical(ev, seq)).hexdigest()


# -- writing ------------------------------------------------------------------------------------------------
# Built once: a step's flush pays for the round trip, not for building and caching the statement again.
_HEAD = (
    select(InstanceEvent.seq, InstanceEvent.hash)
    .where(InstanceEvent.instance_id == bindparam("instance_id"))
    .order_by(InstanceEvent.seq.desc())
    .limit(1)
)
_LOCK = (
    select(ProcessInstance.id)
    .where(ProcessInstance.id.in_(bindparam("ids", expanding=True)))
    .order_by(ProcessInstance.id)
    .with_for_update(key_share=True)
)


def heads(session: Session, instance_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """The last event (seq, hash) of each instance's chain, as this transaction sees it (one index probe of
    the unique (instance, seq) key each; a transaction rarely writes to more than one instance)."""
    found: dict[int, tuple[int, str]] = {}
    for instance_id in sorted(set(instance_ids)):
        row = session.execute(_HEAD, {"instance_id": instance_id}).first()
        if row is not None:
            found[instance_id] = (row[0], row[1])
    return found


def _lock_instances(session: Session, instance_ids: Iterable[int]) -> None:
    """PostgreSQL: serialize writers of one instance's chain (in id order, so two multi-instance writers
    cannot deadlock on each other here). SQLite has one writer at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_LOCK, {"ids": sorted(set(instance_ids))})


# The heads this transaction knows (it holds their locks): one lock and one query per instance and
# transaction, however many flushes a step makes. Forgotten when any transaction (or savepoint) ends.
_KNOWN = "audit_chain_heads"


def _known_heads(session: Session, instance_ids: set[int]) -> dict[int, tuple[int, str | None]]:
    known: dict[int, tuple[int, str | None]] = session.info.setdefault(_KNOWN, {})
    missing = instance_ids - known.keys()
    if missing:
        _lock_instances(session, missing)  # first, and apart: a statement that waited for the lock still
        found = heads(session, missing)  # reads its own start's snapshot; the next one sees the commit
        known.update({instance_id: found.get(instance_id, (0, None)) for instance_id in missing})
    return known


def begin_chain(session: Session, instance_id: int) -> None:
    """An instance this transaction has just inserted starts with an empty chain: no query for its head and
    no lock (no other transaction can see it yet)."""
    session.info.setdefault(_KNOWN, {})[instance_id] = (0, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_heads(session: Session, transaction: SessionTransaction) -> None:
    """At the end of the transaction or of a savepoint (committed or rolled back: kept it simple), not at
    the end of the subtransaction each flush opens (that cleared the heads at every flush)."""
    if transaction.parent is None or transaction.nested:
        session.info.pop(_KNOWN, None)


def chain(new: Sequence[Any], known: dict[int, tuple[int, str | None]]) -> None:
    """Number and hash ``new`` events (in the order added) after the heads in ``known`` (updated)."""
    for ev in new:
        if ev.instance_id is None:
            raise ValueError("a working-file event needs its instance's id before it is written")
        if ev.at is None:
            raise ValueError("a working-file event needs its time before it is written")
        seq, prev = known.get(ev.instance_id, (0, None))
        ev.detail = as_stored(ev.detail)
        ev.seq, ev.prev_hash = seq + 1, prev
        ev.hash = event_hash(ev)
        known[ev.instance_id] = (ev.seq, ev.hash)


def chain_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """For bulk loaders inserting events with Core (``insert(InstanceEvent.__table__)``, which the listener
    never sees, e.g. benchmarks): give the row dicts their seq, prev_hash and hash, in order, in place."""
    events = [SimpleNamespace(**{"element_id": None, "task_id": None, "detail": {}, **row}) for row in rows]
    chain(events, _known_heads(session, {ev.instance_id for ev in events}))
    for row, ev in zip(rows, events, strict=True):
        row.update(detail=ev.detail, seq=ev.seq, prev_hash=ev.prev_hash, hash=ev.hash)


@event.listens_for(Session, "before_flush")
def _chain_new_events(session: Session, _ctx: Any, _instances: Any) -> None:
    """Every event this flush writes joins its instance's chain; none is changed or removed."""
    for obj in session.dirty:
        if isinstance(obj, InstanceEvent) and session.is_modified(obj):
            raise ValueError("the working file is append-only: an event cannot be changed")
    if any(isinstance(obj, InstanceEvent) for obj in session.deleted):
        raise ValueError("the working file is append-only: an event cannot be deleted")
    new = [obj for obj in session.new if isinstance(obj, InstanceEvent)]
    if not new:
        return
    new.sort(key=lambda ev: inspect(ev).insert_order or 0)
    chain(new, _known_heads(session, {ev.instance_id for ev in new if ev.instance_id is not None}))


# -- verifying ----------------------------------------------------------------------------------------------
class StoredEvent(ChainedEvent, Protocol):
    id: int
    hash: str


def verify_chain(events: Sequence[StoredEvent], business_key: str | None = None) -> Problem | None:
    """The first thing wrong with one instance's chain (``events`` ordered by seq, then id), or None.

    A deleted last event leaves a valid shorter chain: the daily root that sealed it catches that
    (:mod:`workflows.engine.audit_roots`)."""
    if not events:
        return None
    instance_id = events[0].instance_id

    def problem(what: str, seq: int, message: str) -> Problem:
        return Problem(what, message, instance_id, business_key, seq)

    by_hash = {ev.hash: ev.seq for ev in events}
    prev_hash: str | None = None
    prev_id: int | None = None
    for expected, ev in enumerate(events, start=1):
        if ev.seq != expected:
            if ev.seq < expected:
                return problem(REORDER, ev.seq, f"seq {ev.seq} appears twice")
            missing = f"{expected}" if ev.seq == expected + 1 else f"{expected}–{ev.seq - 1}"
            return problem(GAP, expected, f"event seq {missing} is missing (deleted?); the next is {ev.seq}")
        if event_hash(ev) != ev.hash:
            written_as = next((s for s in range(1, len(events) + 2) if event_hash(ev, s) == ev.hash), None)
            if written_as is not None:
                return problem(
                    REORDER, ev.seq, f"the {ev.kind!r} event at seq {ev.seq} was written as seq {written_as}"
                )
            return problem(HASH_MISMATCH, ev.seq, f"the {ev.kind!r} event does not match its hash (edited?)")
        if ev.prev_hash != prev_hash:
            after = by_hash.get(ev.prev_hash or "")
            if after is not None and after >= ev.seq:
                return problem(
                    REORDER, ev.seq, f"seq {ev.seq} was chained after seq {after}, which now follows"
                )
            return problem(BROKEN_LINK, ev.seq, f"seq {ev.seq} does not follow the hash of seq {ev.seq - 1}")
        if prev_id is not None and ev.id < prev_id:
            return problem(
                REORDER,
                ev.seq,
                f"seq {ev.seq} (row {ev.id}) is listed before seq {ev.seq - 1} (row {prev_id})",
            )
        prev_hash, prev_id = ev.hash, ev.id
    return None


def stored_events(session: Session, instance_id: int) -> list[Any]:
    """One instance's events as verification reads them (rows, not mapped objects: nothing is loaded)."""
    table = InstanceEvent.__table__
    return list(
        session.execute(
            select(table).where(table.c.instance_id == instance_id).order_by(table.c.seq, table.c.id)
        )
    )
