"""Tables the engine owns. Plain SQLAlchemy: the Flask app binds the same ``Base`` through Flask-SQLAlchemy.

Why these tables:

* ``definition_version`` / ``definition_file`` — every deploy is an immutable, numbered version holding the
  files as uploaded and the parsed specs serialized once (instances do not carry their spec).
* ``process_instance`` — running state as JSON plus a ``lock_version`` (compare-and-swap: a concurrent
  writer gets :class:`~workflows.engine.errors.Conflict`, never a lost update) and an indexed ``next_wake_at``
  so the timer job touches only instances that are due.
* ``task`` — the projection of user tasks kept in the same transaction as the instance, so inboxes are
  plain indexed queries and never deserialize workflows.
* ``instance_event`` — the working file (Art. 32): who did what, when, on which step.
* ``calendar_schedule`` — official holiday schedules loaded by an admin (e.g. next year's, once published).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no zone support) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Shared by the engine's tables and the app's (Flask-SQLAlchemy is bound with ``model_class=Base``)."""

    registry = registry(type_annotation_map={datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON})


class OrgUnit(Base):
    """An organisation unit: every instance and task belongs to one. The regulation fills the tree and says
    what the levels mean (Nanyang: city, county, township, city_direct)."""

    __tablename__ = "org_unit"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))  # city | county | township | city_direct
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("org_unit.code"), index=True)


class DefinitionVersion(Base):
    __tablename__ = "definition_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    process_ids: Mapped[list[Any]]
    # ~330 KB for the regulation's diagrams: read once per process by the spec cache, never by a page that
    # only needs the newest version's number or processes (the 发起 menu asks on every page).
    specs_json: Mapped[str] = mapped_column(Text, deferred=True)
    files: Mapped[list[DefinitionFile]] = relationship(
        back_populates="version", order_by="DefinitionFile.path", cascade="all, delete-orphan"
    )


class DefinitionFile(Base):
    __tablename__ = "definition_file"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))  # e.g. "bpmn/accountability_case.bpmn", "forms/x.json"
    kind: Mapped[str] = mapped_column(String(10))  # bpmn | form
    content: Mapped[str] = mapped_column(Text)
    version: Mapped[DefinitionVersion] = relationship(back_populates="files")


@event.listens_for(Session, "before_flush")
def _versions_are_immutable(session: Session, _ctx: Any, _instances: Any) -> None:
    """A deployed version is a legal record of what ran: refuse any change to it."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, DefinitionVersion | DefinitionFile) and session.is_modified(obj):
            raise ValueError("deployed definition versions are immutable; deploy a new version instead")
        if isinstance(obj, DefinitionVersion | DefinitionFile) and obj in session.deleted:
            raise ValueError("deployed definition versions cannot be deleted")


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    __table_args__ = (
        UniqueConstraint("process_id", "business_key"),
        # Case lists sort a procedure's instances by last change, a page at a time (issue 17: 11 → 0.3 ms for
        # a page of 10,000 cases on PostgreSQL, instead of sorting them all). The id breaks ties (cases a
        # batch changed at the same instant), so pages neither repeat nor skip a case; with the unit in the
        # index, a list filtered to a county checks each case's unit in the index while it walks.
        Index("ix_process_instance_process_updated_unit", "process_id", "updated_at", "id", "unit_code"),
        # A procedure's overdue cases (earliest_due_at < now) read in the index alone, unit included: the case
        # list's overdue count costs index entries, not a task and a case row each (issue 17).
        Index("ix_process_instance_process_due_unit", "process_id", "earliest_due_at", "unit_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("definition_version.id"), index=True)
    # active_history on what instance_tally counts by: a change always knows the value it replaces (tally.py).
    process_id: Mapped[str] = mapped_column(String(100), active_history=True)
    business_key: Mapped[str] = mapped_column(String(100))
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True, active_history=True)
    # running | complete | cancelled (incidents.cancel) | error
    status: Mapped[str] = mapped_column(String(20), default="running", index=True, active_history=True)
    state_json: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    next_wake_at: Mapped[datetime | None] = mapped_column(index=True)
    # The earliest deadline of its open tasks (None: none has one), written with them by every step
    # (Engine._write_back) and cleared by a cancellation: the case is overdue once it has passed.
    earliest_due_at: Mapped[datetime | None]
    has_provisional: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # What lists show without loading the workflow: current level, stage, outcome (see records.py).
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, active_history=True)
    parent_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    started_by: Mapped[str] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)

    version: Mapped[DefinitionVersion] = relationship()
    __mapper_args__ = {"version_id_col": lock_version}  # noqa: RUF012  (read once by SQLAlchemy)


class Task(Base):
    """Projection of one user task (READY or finished); the inbox reads only this table."""

    __tablename__ = "task"
    __table_args__ = (
        Index("ix_task_inbox", "state", "role", "org_code", "due_at"),
        Index("ix_task_instance_state", "instance_id", "state"),
        # The overdue open tasks (due_at < now) without reading the others: a case list's overdue count
        # costs the overdue tasks, not every open one (issue 17).
        Index("ix_task_state_due", "state", "due_at", "instance_id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task UUID
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    process_id: Mapped[str] = mapped_column(String(100))  # the (called) process the task belongs to
    element_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(50))
    org_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    form: Mapped[str | None] = mapped_column(String(200))
    article: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime | None]
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # Start of the reminder window: N PRC working days before due_at (Engine.reminder_working_days).
    remind_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(20), default="ready")  # ready | completed | cancelled
    created_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    completed_by: Mapped[str | None] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]

    instance: Mapped[ProcessInstance] = relationship()


class InstanceEvent(Base):
    __tablename__ = "instance_event"
    # One place per seq: two writers racing for the same place fail loudly instead of forking the chain.
    __table_args__ = (UniqueConstraint("instance_id", "seq", name="uq_instance_event_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(30))  # started | task_completed | timer_fired | ...
    element_id: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The hash chain, set when the event is written (workflows/engine/audit_chain.py, issue 16).
    seq: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CalendarSchedule(Base):
    """A year's official holiday schedule as published by the State Council, loaded by an admin."""

    __tablename__ = "calendar_schedule"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[list[Any]]
    workdays: Mapped[list[Any]]
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(64))


class Counter(Base):
    """The last number given per name (``accountability_case:追责-2026-``); its row is the lock that keeps
    two openings at once from sharing a number (``workflows/engine/counters.py``, issue 16)."""

    __tablename__ = "counter"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    """A failure of background work on an instance (a timer wake-up, a run-time script), kept until it is
    retried successfully or cancelled: open → retrying → parked (no retries left) → resolved | cancelled
    (``workflows/engine/incidents.py``, issue 16 point 2)."""

    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_instance_status", "instance_id", "status"),
        Index("ix_incident_status_retry", "status", "next_retry_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    kind: Mapped[str] = mapped_column(String(20))  # timer | script | ...: the work that failed
    element_id: Mapped[str | None] = mapped_column(String(100))
    element_name: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer)  # every failed attempt
    attempts: Mapped[int] = mapped_column(Integer)  # failed attempts since raised or last retried by hand
    retries_left: Mapped[int] = mapped_column(Integer)
    next_retry_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))  # open | retrying | parked | resolved | cancelled
    retried_by: Mapped[str | None] = mapped_column(String(64))
    retried_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))  # who resolved or cancelled it
    closed_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(Text)  # why it was cancelled

    instance: Mapped[ProcessInstance] = relationship()


class TimerFiring(Base):
    """One wake-up of a due instance by a scheduler: when its earliest timer was due, when it fired, and the
    lag between them (issue 17). Written in the wake-up's own transaction, so a rolled-back wake-up leaves
    no row; what ``scripts/bench_province.py`` reports as timer lag (due → fired)."""

    __tablename__ = "timer_firing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    due_at: Mapped[datetime]
    fired_at: Mapped[datetime] = mapped_column(index=True)
    lag_ms: Mapped[int] = mapped_column(BigInteger)  # a timer caught up months late (a restart, a drill)
    scheduler: Mapped[str] = mapped_column(String(64))  # host:pid of the process that fired it
