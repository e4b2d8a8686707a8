"""Exact counts of instances per (process, unit, status, level), kept in the transaction that changes them
(issue 17: a case list's pager total and the counts beside it must not scan every case in scope).

``instance_tally`` holds one row per key with its number of instances. A list at 10,000 cases then sums a
few hundred tally rows (units × statuses × levels that have cases) instead of counting 10,000 rows, and
the figures stay exact: a supervisor sees 1,237, not "1,000+", and never a cached figure from minutes ago.

* **One place sees every change.** A session listener (``after_flush``) reads the attribute history of
  every ``ProcessInstance`` a flush inserted, changed or deleted — whoever changed it: the engine's start
  and completion, a cancellation (``incidents.cancel``), a migration — and the transaction applies the sum
  just before it commits (``before_commit``), so a rolled-back step leaves the tallies as they were. (The
  transaction does not see its own changes in the tallies before it commits; no page needs that.)
  ``level`` is the case summary's level (``records.SUMMARY_KEYS``), which the regulation's lists filter on;
  what a unit code means (county, township) stays with the regulation.
* **No deadlock between writers.** A transaction's changes go out as its last statement, one ``INSERT …
  ON CONFLICT DO UPDATE SET n = n + excluded.n`` with the keys sorted: a writer holding tally rows waits for
  nothing but other tally rows, which everyone takes in the same order. A step changes at most two keys
  (the old and the new) and most completions none: then there is no statement at all.
* **Writers the listener cannot see** — Core/bulk inserts (benchmarks, imports) and hand-written SQL — leave
  drift, which :func:`recount` reports and repairs (``flask cases tallies [--repair]``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Integer, String, delete, event, func, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.models import Base, ProcessInstance

Key = tuple[str, str, str, str]  # process_id, unit_code, status, level ("" when the summary has none)
_FIELDS = ("process_id", "unit_code", "status", "summary")


class InstanceTally(Base):
    """How many instances of a process are at a unit in a status and at a level (the summary's)."""

    __tablename__ = "instance_tally"

    process_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    unit_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    level: Mapped[str] = mapped_column(String(50), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)


def level_of(summary: Any) -> str:
    level = summary.get("level") if isinstance(summary, dict) else None
    return str(level) if level else ""


def _key(values: tuple[Any, ...]) -> Key:
    process_id, unit_code, status, summary = values
    return (process_id, unit_code, status, level_of(summary))


def _before_and_after(inst: ProcessInstance) -> tuple[Key, Key]:
    """The instance's key as the database had it before this flush and as the flush wrote it."""
    attrs = inspect(inst).attrs
    old, new = [], []
    for name in _FIELDS:
        history = attrs[name].history
        current = getattr(inst, name)
        new.append(current)
        old.append(history.deleted[0] if history.deleted else current)
    return _key(tuple(old)), _key(tuple(new))


def changes(new: Iterable[Any], dirty: Iterable[Any], deleted: Iterable[Any]) -> Counter[Key]:
    """What a flush of these objects does to the tallies (non-instances are ignored)."""
    delta: Counter[Key] = Counter()
    for obj in new:
        if isinstance(obj, ProcessInstance):
            delta[_before_and_after(obj)[1]] += 1
    for obj in dirty:
        if isinstance(obj, ProcessInstance):
            before, after = _before_and_after(obj)
            if before != after:
                delta[before] -= 1
                delta[after] += 1
    for obj in deleted:
        if isinstance(obj, ProcessInstance):
            delta[_before_and_after(obj)[0]] -= 1
    return delta


def add(connection: Connection, delta: Counter[Key]) -> None:
    """Add ``delta`` to the tallies: one upsert, keys in sorted order (the lock order of every writer)."""
    rows = [
        {"process_id": p, "unit_code": u, "status": s, "level": lv, "n": n}
        for (p, u, s, lv), n in sorted(delta.items())
        if n
    ]
    if not rows:
        return
    table = InstanceTally.__table__
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table).values(rows)
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=[table.c.process_id, table.c.unit_code, table.c.status, table.c.level],
            set_={"n": table.c.n + insert.excluded.n},
        )
    )


_PENDING = "instance_tally_pending"


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _ctx: Any) -> None:
    """Every instance the flush wrote moves its tally: collected until the commit, or at once inside a
    savepoint (whose rollback must take its changes back with it)."""
    if not any(isinstance(o, ProcessInstance) for o in (*session.new, *session.dirty, *session.deleted)):
        return
    delta = changes(session.new, session.dirty, session.deleted)
    if session.in_nested_transaction():
        add(session.connection(), delta)
    else:
        session.info.setdefault(_PENDING, Counter()).update(delta)


@event.listens_for(Session, "before_commit")
def _apply(session: Session) -> None:
    """The transaction's changes to the tallies, as its last statement: the tally rows are the last locks
    it takes (in key order) and it holds them only until the commit, so two writers cannot deadlock on them
    and a hot row (every case opened at one township) is held for the least time."""
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending:
        add(session.connection(), pending)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # committed (applied above) or rolled back (nothing to apply)
        session.info.pop(_PENDING, None)


# -- reading -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tally:
    unit_code: str
    status: str
    level: str
    n: int


def tallies(session: Session, process_id: str, units: Collection[str] | None = None) -> list[Tally]:
    """The non-empty tallies of ``process_id`` at ``units`` (``None``: every unit). Cost: the number of
    (unit, status, level) combinations that have instances, whatever the number of instances."""
    query = select(InstanceTally.unit_code, InstanceTally.status, InstanceTally.level, InstanceTally.n).where(
        InstanceTally.process_id == process_id, InstanceTally.n != 0
    )
    rows = session.execute(query)
    wanted = None if units is None else set(units)
    return [Tally(u, s, lv, n) for u, s, lv, n in rows if wanted is None or u in wanted]


# -- checking ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Drift:
    """A key whose tally differs from the instances actually there."""

    key: Key
    tallied: int
    counted: int


def counted(session: Session) -> Counter[Key]:
    """The tallies as a full count of ``process_instance`` gives them (one grouped scan: O(instances))."""
    level = func.coalesce(ProcessInstance.summary["level"].as_string(), "")
    query = select(
        ProcessInstance.process_id, ProcessInstance.unit_code, ProcessInstance.status, level, func.count()
    ).group_by(ProcessInstance.process_id, ProcessInstance.unit_code, ProcessInstance.status, level)
    return Counter({(p, u, s, str(lv or "")): n for p, u, s, lv, n in session.execute(query)})


def recount(session: Session, *, repair: bool = False) -> list[Drift]:
    """Compare the tallies with a full count and name every key that differs; with ``repair``, rewrite the
    tallies from the count (the caller commits). On PostgreSQL the tally table is locked first (writers
    wait, readers do not), so no step commits between the count and the rewrite."""
    if repair and session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE instance_tally IN EXCLUSIVE MODE"))
    actual = counted(session)
    stored = Counter(
        {(p, u, s, lv): n for p, u, s, lv, n in session.execute(select(*InstanceTally.__table__.c))}
    )
    drift = [
        Drift(key, stored.get(key, 0), actual.get(key, 0))
        for key in sorted(set(actual) | set(stored))
        if stored.get(key, 0) != actual.get(key, 0)
    ]
    if repair and drift:
        session.execute(delete(InstanceTally))
        add(session.connection(), actual)
    return drift
