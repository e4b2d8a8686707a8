"""The drill's mark and clock: one row in the drill database (issue 15, drill mode).

A database with this row is a drill: its "now" is the row's ``now``, moved only by the instructor, and shared
by every process serving the drill because it lives in the database, not in a process. A production
database never has the row (``app.drill.guard`` refuses to start either way round).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base

DRILL_ROW = 1  # the one row


class DrillState(Base):
    __tablename__ = "drill_clock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    seeded_from: Mapped[str] = mapped_column(String(20))  # demo | year | empty
    started_at: Mapped[datetime]  # the drill's "now" when it was created
    now: Mapped[datetime]  # the drill's "now": only ever moves forward
    moved_from: Mapped[datetime | None]  # where the last move started (the page lists what happened since)
    moved_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]  # wall-clock time the drill database was made
