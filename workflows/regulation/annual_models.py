"""Rows of the annual cycle (Art. 13–25): what the supervisor, the assessment and later procedures query
without loading a workflow. The diagrams state the facts (``record("letter_signed", ...)``);
:mod:`workflows.regulation.annual` turns them into these rows inside the same transaction.

* ``responsibility_letter`` — one per unit and year (目标责任书, Art. 13, O13.1, O13.2): who issued it,
  whether and when the unit's principal leader signed, whether that was after the Q1 deadline, how often
  the unit asked for amendments, and the unit's own cycle a county starts by signing (层层签订).
* ``inspection_finding`` — what a mid-year or annual inspection found at a unit (Art. 18, O18.1, O18.2),
  with the accountability case it opened, if any (Art. 31).
* ``assessment_result`` — the year-end assessment of a unit (Art. 20, O20.1, O20.2): the scores per
  indicator of the year's set (Art. 19), the grade the rule proposed, the grade the committee
  decided, and the case an unqualified grade opened (Art. 31(8), O31.8).
* ``salary_list_entry`` — units graded excellent: their staff get one extra month's salary (Art. 20, O20.3).
* ``performance_record`` — the year's grade in the performance record of each covered cadre (实绩档案,
  Art. 22, O22.1): the principal and the in-charge leader of every assessed unit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workflows.engine.models import Base

GRADES = ("excellent", "qualified", "unqualified")
CADRE_ROLES = ("principal_leader", "in_charge_leader")


class ResponsibilityLetter(Base):
    __tablename__ = "responsibility_letter"
    __table_args__ = (
        UniqueConstraint("year", "unit_code"),
        Index("ix_responsibility_letter_year_committee", "year", "committee_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))  # the unit that signs
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))  # the committee that issues
    cycle_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    letter_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    status: Mapped[str] = mapped_column(String(30))  # issued | amendment_requested | signed
    issued_at: Mapped[datetime]
    due_at: Mapped[datetime]
    signed_at: Mapped[datetime | None]
    late: Mapped[bool] = mapped_column(Boolean, default=False)  # not signed by the Q1 deadline
    amendments: Mapped[int] = mapped_column(Integer, default=0)
    # The unit's own annual cycle, started when a county signs (层层签订, Art. 13).
    unit_cycle_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))


class InspectionFinding(Base):
    __tablename__ = "inspection_finding"
    __table_args__ = (Index("ix_inspection_finding_year_unit", "year", "unit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    cycle_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # mid_year | annual
    text: Mapped[str] = mapped_column(Text)
    art31_item: Mapped[int | None] = mapped_column(Integer)
    open_case: Mapped[bool] = mapped_column(Boolean, default=False)
    case_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))
    found_at: Mapped[datetime]


class AssessmentResult(Base):
    __tablename__ = "assessment_result"
    __table_args__ = (
        UniqueConstraint("year", "unit_code"),
        Index("ix_assessment_result_year_committee", "year", "committee_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    committee_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    cycle_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    # The year's indicator set decides what is scored (Art. 19): one row per indicator, with the score as
    # entered and as counted (workflows/regulation/indicator_grading.py).
    scores: Mapped[list[Any] | None] = mapped_column(nullable=True)
    # Before indicator sets (2026 data): the three fixed scores; None for results graded by a set.
    overall_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    letter_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    execution_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    total_score: Mapped[float] = mapped_column(Float)
    proposed_grade: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(20))
    decided_at: Mapped[datetime]
    case_instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))


class SalaryListEntry(Base):
    __tablename__ = "salary_list_entry"
    __table_args__ = (UniqueConstraint("year", "unit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    cycle_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    added_at: Mapped[datetime]


class PerformanceRecord(Base):
    __tablename__ = "performance_record"
    __table_args__ = (UniqueConstraint("year", "unit_code", "cadre_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    unit_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    cadre_role: Mapped[str] = mapped_column(String(30))  # principal_leader | in_charge_leader
    grade: Mapped[str] = mapped_column(String(20))
    cycle_instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    recorded_at: Mapped[datetime]
