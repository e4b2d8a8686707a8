"""Tables of the yearly indicator system (考核评价标准和指标体系, Art. 19, O19.1).

* ``indicator_set`` — one per year and committee (``committee_code``: the unit whose committee assesses the
  units below it: the city assesses counties and city-direct units, a county its townships). It holds the
  grade rule as data (``thresholds``, vocabulary in :mod:`workflows.regulation.indicator_rules`), the year it
  was copied from when the office started from last year's set, and when and by whom it was frozen: once the
  year's assessment starts the set no longer changes, so every unit is graded by the same rule.
* ``indicator`` — one line of the set: code (what the assessment form's ``scores`` rows name), Chinese name,
  description, weight (the weights of a set sum to 100), maximum score, display order, and ``source``:
  ``manual`` (the office scores it) or ``letter`` (completion of the responsibility letter, Art. 13: a unit
  that never signed its letter cannot earn it, issue 11 item 9).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.engine.models import Base

SOURCES: dict[str, str] = {
    "manual": "综治办评分",
    "letter": "目标管理责任书完成情况（未签订责任书的单位不得分）",
}
#: a unit that never signed its letter: the letter indicator counts 0 with this reason (issue 11 item 9)
UNSIGNED_LETTER = "未签订目标管理责任书"


class IndicatorSet(Base):
    __tablename__ = "indicator_set"
    __table_args__ = (UniqueConstraint("year", "committee_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    copied_from_year: Mapped[int | None] = mapped_column(Integer)
    frozen_at: Mapped[datetime | None]
    frozen_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(100))

    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="indicator_set",
        order_by="(Indicator.sort_order, Indicator.id)",
        cascade="all, delete-orphan",
    )

    @property
    def frozen(self) -> bool:
        return self.frozen_at is not None


class Indicator(Base):
    __tablename__ = "indicator"
    __table_args__ = (UniqueConstraint("set_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("indicator_set.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    weight: Mapped[float] = mapped_column(Float)
    max_score: Mapped[float] = mapped_column(Float)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(20), default="manual")

    indicator_set: Mapped[IndicatorSet] = relationship(back_populates="indicators")
