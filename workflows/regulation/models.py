"""The regulation's own tables beside the engine's: the sanctions in force while a unit is listed or vetoed
(Art. 35 para 4, Art. 37). (Organisation units are the engine's: every instance and task belongs to one.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base


class Sanction(Base):
    """Restrictions in force while a unit is listed (Art. 35, O35.3): no comprehensive honours for the
    unit; no commendation or promotion for its principal, in-charge and responsible leaders. A veto's row
    covers its year (Art. 37)."""

    __tablename__ = "sanction"
    __table_args__ = (Index("ix_sanction_unit_period", "unit_code", "start_at", "end_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    kind: Mapped[str] = mapped_column(String(30))  # listing | veto
    article: Mapped[str] = mapped_column(String(50))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None]
    # The year the sanction belongs to: a veto's consequences are that year's (Art. 37, 宛办〔2009〕28号).
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
