"""A step's working-file events, written together at its end.

Every step puts a few events on its instance's working file (task completed, task created, what the
scripts stated…). As ORM objects each was its own ``INSERT … RETURNING`` and unit-of-work bookkeeping; here
they are kept as rows while the step runs and written with one executemany, chained (seq, hash) by
:func:`~workflows.engine.audit_chain.chain_rows` exactly as the flush listener chains ORM events (issue 17).
Outside a step (a comment, a transfer) an event is an ORM object as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from workflows.engine.audit_chain import chain_rows
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.models import InstanceEvent, Task

_EVENTS = cast(Table, InstanceEvent.__table__)  # Core: no ORM unit of work, no RETURNING


class StepEvents:
    def __init__(self, session: Session) -> None:
        self.session = session
        self._pending: list[dict[str, Any]] | None = None  # None: no step is running

    @contextmanager
    def step(self) -> Iterator[None]:
        """Collect the events of the step inside; write them when it ends without an error (an error
        discards them with the step). Nested steps write with the outermost."""
        if self._pending is not None:
            yield
            return
        self._pending = []
        try:
            yield
            self.write()
        finally:
            self._pending = None

    def add(
        self,
        instance_id: int,
        actor: str,
        kind: str,
        task: Task | None = None,
        element_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        row = {
            "instance_id": instance_id,
            "at": clockmod.now(),
            "actor": actor,
            "kind": kind,
            "element_id": task.element_id if task else element_id,
            "task_id": task.id if task else None,
            "detail": detail or {},
        }
        if self._pending is None:
            self.session.add(InstanceEvent(**row))
        else:
            self._pending.append(row)

    def write(self) -> None:
        """The events collected so far (e.g. before a record handler that reads the working file)."""
        if self._pending:
            rows, self._pending = self._pending, []
            chain_rows(self.session, rows)
            self.session.execute(insert(_EVENTS), rows)
