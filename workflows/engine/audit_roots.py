"""Daily roots: each office's working files sealed once a day, kept apart from the chains (issue 16 point 6).

Why: a hash chain shows an edited event unless everything after it is rewritten too, and whoever can write
the database can do that. A daily root commits to the head of every chain that moved that day; with the roots
copied elsewhere (printed, sent to the office above), a rewritten chain no longer matches its sealed head, a
deleted last event is missing from it, and an event written later but dated a sealed day is not in it.

One row per office and (Beijing-time) day, from the office's first day with events on: ``heads`` =
``[[instance id, seq, hash], …]`` — the last event that day of each of the office's instances with events that
day — and ``root_hash`` = SHA-256 of the office, the day, the office's previous root and the heads, so an
office's roots are a chain too and a deleted day breaks it. Which office: the regulation says
(``office_of(unit_code)``; for Nanyang the county-level office of the case's unit). A day is sealed once it
ended :data:`SEAL_GRACE` ago, so an event stamped just before midnight is committed before its day is sealed.
Nothing here commits; :func:`seal_days` runs from ``flask audit roots`` and the background pass.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import Date, Integer, String, UniqueConstraint, and_, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.audit_chain import (
    MISSING_ROOT,
    ROOT_MISMATCH,
    Problem,
    StoredEvent,
    verify_chain,
)
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import Base, InstanceEvent, ProcessInstance

SEAL_GRACE = timedelta(minutes=10)
Heads = dict[int, tuple[int, str]]  # instance id → (seq, hash) of its last event of a day


class AuditRoot(Base):
    """One office's root hash of one day (see the module's docstring)."""

    __tablename__ = "audit_root"
    __table_args__ = (UniqueConstraint("office_code", "day", name="uq_audit_root_office_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    office_code: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date, index=True)
    heads: Mapped[list[Any]]
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    root_hash: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime]


def root_hash(office_code: str, day: date, prev_hash: str | None, heads: Iterable[Iterable[Any]]) -> str:
    body = {
        "office": office_code,
        "day": day.isoformat(),
        "prev": prev_hash,
        "heads": [list(h) for h in heads],
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def day_of(at: datetime) -> date:
    """The Beijing-time day of an instant (SQLite hands UTC back naive)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(CST).date()


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CST)


def last_sealable_day(now: datetime) -> date:
    """The last day that ended at least SEAL_GRACE before ``now``."""
    return (now.astimezone(CST) - SEAL_GRACE).date() - timedelta(days=1)


def sealed_through(session: Session) -> date | None:
    return session.scalar(select(func.max(AuditRoot.day)))


# -- sealing ------------------------------------------------------------------------------------------------
def seal_days(session: Session, office_of: Callable[[str], str], now: datetime) -> int:
    """Seal every day after the last sealed one up to :func:`last_sealable_day`; the number of roots
    written. Idempotent, and two schedulers sealing at once write the same rows (the second's are ignored)."""
    until = last_sealable_day(now)
    last = sealed_through(session)
    if last is None:
        first = session.scalar(select(func.min(InstanceEvent.at)))
        if first is None:
            return 0
        start = day_of(first)
    else:
        start = last + timedelta(days=1)
    if start > until:
        return 0
    table = InstanceEvent.__table__
    moved: dict[date, Heads] = defaultdict(dict)
    events = session.execute(
        select(table.c.instance_id, table.c.seq, table.c.hash, table.c.at)
        .where(table.c.at >= _start(start), table.c.at < _start(until + timedelta(days=1)))
        .order_by(table.c.instance_id, table.c.seq)
    )
    for instance_id, seq, digest, at in events:
        moved[day_of(at)][instance_id] = (seq, digest)  # by seq: the day's last event wins
    units = {
        iid: unit for iid, unit in session.execute(select(ProcessInstance.id, ProcessInstance.unit_code))
    }
    latest = (
        select(AuditRoot.office_code, func.max(AuditRoot.day).label("day"))
        .group_by(AuditRoot.office_code)
        .subquery()
    )
    last_roots = select(AuditRoot.office_code, AuditRoot.root_hash).join(
        latest, and_(AuditRoot.office_code == latest.c.office_code, AuditRoot.day == latest.c.day)
    )
    previous: dict[str, str] = {office: digest for office, digest in session.execute(last_roots)}
    rows: list[dict[str, Any]] = []
    day = start
    while day <= until:
        by_office: dict[str, list[list[Any]]] = defaultdict(list)
        for instance_id, (seq, digest) in moved.get(day, {}).items():
            by_office[office_of(units[instance_id])].append([instance_id, seq, digest])
        for office in sorted(set(previous) | set(by_office)):
            heads = sorted(by_office.get(office, []))
            digest = root_hash(office, day, previous.get(office), heads)
            rows.append(
                {
                    "office_code": office,
                    "day": day,
                    "heads": heads,
                    "prev_hash": previous.get(office),
                    "root_hash": digest,
                    "computed_at": now,
                }
            )
            previous[office] = digest
        day += timedelta(days=1)
    if rows:
        session.execute(_insert_new(session), rows)
        session.flush()
    return len(rows)


def _insert_new(session: Session) -> Any:
    """INSERT … ON CONFLICT DO NOTHING where the database has it: a root once written is never replaced."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(AuditRoot).on_conflict_do_nothing(index_elements=["office_code", "day"])
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(AuditRoot).on_conflict_do_nothing(index_elements=["office_code", "day"])
    return insert(AuditRoot)


# -- verifying everything -----------------------------------------------------------------------------------
@dataclass
class Report:
    instances: int = 0
    events: int = 0
    roots: int = 0
    sealed_through: date | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_all(session: Session, chunk: int = 5000) -> Report:
    """Every chain (first problem of each instance), then every sealed day against the events."""
    report = Report(sealed_through=sealed_through(session))
    keys = {
        iid: key for iid, key in session.execute(select(ProcessInstance.id, ProcessInstance.business_key))
    }
    moved: dict[date, Heads] = defaultdict(dict)
    broken: set[int] = set()
    table = InstanceEvent.__table__
    rows = session.execute(
        select(table).order_by(table.c.instance_id, table.c.seq, table.c.id),
        execution_options={"yield_per": chunk},
    )
    for instance_id, group in groupby(rows, key=lambda row: row.instance_id):
        events: list[StoredEvent] = list(group)
        report.instances += 1
        report.events += len(events)
        problem = verify_chain(events, keys.get(instance_id))
        if problem is not None:
            report.problems.append(problem)
            broken.add(instance_id)
        if report.sealed_through is not None:
            for ev in events:
                day = day_of(ev.at)
                if day <= report.sealed_through:
                    moved[day][instance_id] = (ev.seq, ev.hash)
    report.roots, problems = verify_roots(session, moved, keys, skip=broken)
    report.problems.extend(problems)
    return report


def verify_roots(
    session: Session, moved: dict[date, Heads], keys: dict[int, str], skip: Iterable[int] = ()
) -> tuple[int, list[Problem]]:
    """Each office's roots chained day after day and matching their heads; each sealed day's heads equal
    to those recomputed from the events (``moved``). Instances in ``skip`` were already reported."""
    problems: list[Problem] = []
    sealed: dict[date, dict[int, tuple[int, str, str]]] = defaultdict(dict)
    roots = session.scalars(select(AuditRoot).order_by(AuditRoot.office_code, AuditRoot.day)).all()
    through = max((r.day for r in roots), default=None)
    for office, office_roots in groupby(roots, key=lambda r: r.office_code):
        prev: AuditRoot | None = None
        for row in office_roots:
            for instance_id, seq, digest in row.heads:
                sealed[row.day][int(instance_id)] = (int(seq), str(digest), office)
            expected_day = prev.day + timedelta(days=1) if prev else row.day
            if row.day != expected_day:
                problems.append(Problem(MISSING_ROOT, f"office {office}: no root for {expected_day}"))
            elif row.prev_hash != (prev.root_hash if prev else None):
                problems.append(
                    Problem(MISSING_ROOT, f"office {office}: the root of {row.day} does not follow")
                )
            if root_hash(office, row.day, row.prev_hash, row.heads) != row.root_hash:
                problems.append(
                    Problem(ROOT_MISMATCH, f"office {office}: the root of {row.day} != its heads")
                )
            prev = row
        if prev is not None and through is not None and prev.day < through:
            problems.append(
                Problem(MISSING_ROOT, f"office {office}: no root after {prev.day} (sealed to {through})")
            )
    reported = set(skip)
    for day in sorted(set(sealed) | {d for d in moved if through is not None and d <= through}):
        stored, now = sealed.get(day, {}), moved.get(day, {})
        for instance_id in sorted(set(stored) | set(now)):
            if instance_id in reported:
                continue
            message, seq = _head_difference(day, stored.get(instance_id), now.get(instance_id))
            if message:
                reported.add(instance_id)
                problems.append(Problem(ROOT_MISMATCH, message, instance_id, keys.get(instance_id), seq))
    return len(roots), problems


def _head_difference(
    day: date, sealed: tuple[int, str, str] | None, now: tuple[int, str] | None
) -> tuple[str, int | None]:
    """What differs between the head sealed for ``day`` and the one the events give now ("" if nothing)."""
    if now is not None and (sealed is None or now[0] > sealed[0]):
        return f"seq {now[0]} is dated {day} but not in that day's sealed root (written later?)", now[0]
    if sealed is not None and now is None:
        return f"seq {sealed[0]} sealed on {day} (office {sealed[2]}) is gone from the file", sealed[0]
    if sealed is not None and now is not None and now[0] < sealed[0]:
        message = (
            f"the head sealed on {day} was seq {sealed[0]}; that day now ends at seq {now[0]} (deleted?)"
        )
        return message, sealed[0]
    if sealed is not None and now is not None and sealed[1] != now[1]:
        return (
            f"seq {sealed[0]} differs from its hash sealed on {day} (office {sealed[2]}): rewritten",
            sealed[0],
        )
    return "", None
