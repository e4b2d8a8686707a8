"""Gapless numbers taken under lock, and inserts that tolerate a concurrent twin (issue 16, point 8).

Numbering by counting the rows already numbered ("count + 1") gives two openings at once the same number:
one of them then fails on the unique business key (510 of 667 openings failed at 10 users). A number comes
from a counter row instead, one per key (for a business key: the process and the key's prefix, which holds
the year and, where numbers count per committee, the unit):

* :func:`increment` bumps the row with one ``UPDATE … SET n = n + 1 … RETURNING n``. On PostgreSQL the
  update takes the row's lock until the caller's transaction ends (what ``SELECT … FOR UPDATE`` would), so
  a second opening waits, then READ COMMITTED re-reads the row and adds one to the first opening's committed
  value. On SQLite the update is a write, so it runs under the database's single write lock, and ``n + 1``
  is computed inside the statement — never from a value read earlier outside that lock.
* The row is created at the key's first number by ``INSERT … ON CONFLICT DO NOTHING``: two first numbers
  at once, the second insert waits for the first one's transaction and then does nothing (or inserts, if
  the first rolled back); no savepoint, no error to catch.
* Nothing here commits: the number is the caller's until its transaction commits, and a rolled-back
  opening gives it back, so numbers have no gaps.

Document numbers (文号, ``workflows/regulation/doc_numbers.py``) keep their own (organ, year) counter
table, with its foreign key to the issuing organ, and take their numbers through :func:`increment` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from workflows.engine.models import Counter


def insert_ignoring_conflicts(session: Session, table: Table) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` (PostgreSQL) / ``INSERT OR IGNORE`` (SQLite) into ``table``: a row
    a concurrent transaction inserted first (same unique key) is skipped instead of failing the batch. Add
    ``.returning(…)`` to learn whether this insert was the one that happened (no row back: it was skipped)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise NotImplementedError(f"no idempotent insert for the {dialect} dialect")


def increment(session: Session, table: Table, key: Mapping[str, Any], column: str) -> int:
    """Add one to ``column`` of the row of ``table`` whose columns equal ``key`` (created at 0 first if
    absent) and return the new value; the row stays locked until the caller's transaction ends."""
    where = [table.c[name] == value for name, value in key.items()]
    bump = update(table).where(*where).values({column: table.c[column] + 1}).returning(table.c[column])
    value = session.execute(bump).scalar_one_or_none()
    if value is None:  # the key's first number
        session.execute(insert_ignoring_conflicts(session, table).values({**key, column: 0}))
        value = session.execute(bump).scalar_one()
    return int(value)


def next_number(session: Session, name: str) -> int:
    """The next number of the counter ``name`` (1 for a new name), inside the caller's transaction."""
    return increment(session, Counter.__table__, {"name": name}, "last_number")  # type: ignore[arg-type]


def counter_name(process_id: str, prefix: str) -> str:
    """The counter of the business keys of ``process_id`` that start with ``prefix``:
    ``accountability_case:追责-2026-``. The migration that seeds counters from existing keys builds the same
    names (``migrations/versions/c16b0c0a7e02_case_number_counters.py``)."""
    return f"{process_id}:{prefix}"


def next_business_key(session: Session, process_id: str, prefix: str, width: int = 4) -> str:
    """``追责-2026-0001``: ``prefix`` and the next number of its counter, zero-padded to ``width`` digits."""
    return f"{prefix}{next_number(session, counter_name(process_id, prefix)):0{width}d}"


def claim_once(session: Session, name: str, mark: int) -> bool:
    """True for the one caller that moves the counter ``name`` up to ``mark`` (e.g. a day as ``20261130``):
    a job that must run once a day whatever the number of schedulers claims its day here. The row stays
    locked until the caller's transaction ends, so a second claimant of the same mark waits, then finds it
    taken; a rolled-back claim gives the mark back. The first claim creates the row at its mark."""
    table = cast(Table, Counter.__table__)
    claim = (
        update(table)
        .where(table.c.name == name, table.c.last_number < mark)
        .values(last_number=mark)
        .returning(table.c.last_number)
    )
    if session.execute(claim).first() is not None:
        return True
    first = insert_ignoring_conflicts(session, table).values(name=name, last_number=mark)
    return session.execute(first.returning(table.c.name)).first() is not None  # no row: it exists, not below
