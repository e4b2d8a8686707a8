"""Facts a process states about its case, written by BPMN scripts with ``record(kind, **detail)``.

A diagram knows when a unit becomes listed, when a level is entered or a veto imposed; the application
needs those facts as queryable rows (sanctions with start and end dates, Art. 35; the case's current
level for the supervisor). Scripts call ``record("listing_started", article="Art. 35")``; the engine collects
the calls made during one operation, stores each as an ``instance_event`` and hands it to the handler
registered for its kind, all in the operation's transaction — a failed step records nothing.
Each stored event joins its instance's hash chain as it is written (:mod:`workflows.engine.audit_chain`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from workflows.engine import audit_chain  # noqa: F401  (registers the listener that chains every event)
from workflows.engine.models import ProcessInstance

# Keys of a record's detail that also update the case summary shown in lists (current level, stage...).
SUMMARY_KEYS = ("level", "stage", "outcome", "entry_level")

_SCALARS = (str, int, float, bool, type(None))
MAX_DEPTH = 4


@dataclass(frozen=True)
class Record:
    kind: str
    detail: dict[str, Any]
    element_id: str | None = None


_collector: ContextVar[list[Record] | None] = ContextVar("record_collector", default=None)


@contextlib.contextmanager
def collecting() -> Iterator[list[Record]]:
    records: list[Record] = []
    token = _collector.set(records)
    try:
        yield records
    finally:
        _collector.reset(token)


def _plain(value: Any, depth: int = 0) -> bool:
    """JSON data only (scalars, lists, objects with string keys), a few levels deep: a record is stored as
    JSON and handed to handlers, so it must never carry objects from a script."""
    if isinstance(value, _SCALARS):
        return True
    if depth >= MAX_DEPTH:
        return False
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v, depth + 1) for k, v in value.items())
    return False


def record(kind: str, /, **detail: Any) -> None:
    """The helper BPMN scripts call. Detail values must be JSON data: scalars, lists and objects of them
    (e.g. the leaders a case refers for personal measures, each with their measures)."""
    if not isinstance(kind, str) or not kind.isidentifier():
        raise ValueError(f"record kind must be an identifier, got {kind!r}")
    for key, value in detail.items():
        if not _plain(value):
            raise ValueError(
                f"record detail {key!r} must be JSON data (scalars, lists, objects) at most {MAX_DEPTH} deep"
            )
    records = _collector.get()
    if records is None:
        raise RuntimeError("record() called outside an engine operation")
    records.append(Record(kind, dict(detail)))


def pending() -> list[Record]:
    """The records collected so far in this operation (the engine drains the list when it stores them)."""
    records = _collector.get()
    return records if records is not None else []


def apply_summary(inst: ProcessInstance, rec: Record) -> None:
    updates = {k: rec.detail[k] for k in SUMMARY_KEYS if k in rec.detail}
    if updates:
        inst.summary = {**(inst.summary or {}), **updates}
