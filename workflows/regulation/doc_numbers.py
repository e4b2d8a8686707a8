"""Document numbers (发文字号, GB/T 9704-2012 7.2.3) per issuing organ and year: gapless, never
shared, voidable.

An issuing organ (发文机关) is data, not code: the city's and each county's office (综治办) and
committee (综治委), with its name, its 机关代字 (``宛综治办``) and the red mark line of its documents.
``app/org/issuing-organs.csv`` holds Nanyang's; :func:`load_issuing_organs` inserts or updates them.

A number is ``宛综治办〔2026〕7号``: the organ's 机关代字, the year in hexagonal brackets, the sequence
without leading zeros and without 第. :func:`assign` takes the next one inside the caller's transaction
by the engine's counter mechanism (:func:`workflows.engine.counters.increment`, the same one case numbers
use): ``UPDATE … SET last_seq = last_seq + 1 … RETURNING`` on the (organ, year) counter row, which holds
the row lock until the transaction ends, so two documents issued at once wait for each other instead of
sharing a number, and a transaction that rolls back gives its number back, so numbers have no gaps. (The
earlier read-then-write could hand SQLite's two writers the same value; the increment inside the
statement cannot.) A number once committed is never reused: :func:`void` marks it voided
with a reason, and the counter never goes back.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.counters import increment
from workflows.engine.legaltime import clock
from workflows.engine.models import Base, OrgUnit

ORGAN_KINDS = {"office": "综治办", "committee": "综治委"}
STATUSES = ("assigned", "voided")
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a typo guard, not a rule of the regulation
ORGAN_COLUMNS = ("code", "org_code", "kind", "name", "short_mark", "organ_mark")


class DocumentNumberError(ValueError):
    """Refused: unknown organ, bad year, empty title or void reason, a number already voided."""


class IssuingOrgan(Base):
    """An organ that issues documents (发文机关): the office or the committee of the city or a county."""

    __tablename__ = "issuing_organ"
    __table_args__ = (
        UniqueConstraint("org_code", "kind", name="uq_issuing_organ_org_kind"),
        UniqueConstraint("short_mark", name="uq_issuing_organ_short_mark"),  # one mark, one organ
    )

    code: Mapped[str] = mapped_column(String(40), primary_key=True)  # e.g. "411302-office"
    org_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))  # the city or the county
    kind: Mapped[str] = mapped_column(String(20))  # office | committee
    name: Mapped[str] = mapped_column(String(100))  # 宛城区社会治安综合治理委员会办公室
    short_mark: Mapped[str] = mapped_column(String(20))  # 机关代字: 宛区综治办
    organ_mark: Mapped[str] = mapped_column(String(100))  # 发文机关标志: 南阳市…办公室文件


class DocumentNumberCounter(Base):
    """The last sequence number taken per organ and year; its row is the lock that serialises assignment."""

    __tablename__ = "document_number_counter"

    organ_code: Mapped[str] = mapped_column(ForeignKey("issuing_organ.code"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(Integer)


class DocumentNumber(Base):
    """One number taken: assigned to a document, or voided with a reason (and then never given again)."""

    __tablename__ = "document_number"
    __table_args__ = (
        UniqueConstraint("organ_code", "year", "seq", name="uq_document_number_organ_year_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organ_code: Mapped[str] = mapped_column(ForeignKey("issuing_organ.code"))
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(100))  # 宛综治办〔2026〕7号
    status: Mapped[str] = mapped_column(String(20))  # assigned | voided
    title: Mapped[str] = mapped_column(String(300))
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id"), index=True, nullable=True
    )
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(100))
    voided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    voided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    void_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


def format_number(short_mark: str, year: int, seq: int) -> str:
    """``宛综治办〔2026〕7号``: hexagonal brackets (〔〕), no leading zeros, no 第."""
    return f"{short_mark}〔{year}〕{seq}号"


def _organ(session: Session, organ_code: str) -> IssuingOrgan:
    organ = session.get(IssuingOrgan, organ_code)
    if organ is None:
        raise DocumentNumberError(f"unknown issuing organ {organ_code!r}")
    return organ


def _next_seq(session: Session, organ_code: str, year: int) -> int:
    """The next sequence of the (organ, year) counter, whose row stays locked until the caller's transaction
    ends; the row is created at the year's first number."""
    table = DocumentNumberCounter.__table__
    return increment(session, table, {"organ_code": organ_code, "year": year}, "last_seq")  # type: ignore[arg-type]


def assign(
    session: Session,
    organ_code: str,
    year: int,
    title: str,
    actor_id: str,
    instance_id: int | None = None,
) -> DocumentNumber:
    """Take the next number of ``organ_code`` for ``year`` for the document ``title``. Flushes, does not
    commit: the number is the caller's until its transaction commits (a rollback gives it back, no gap)."""
    organ = _organ(session, organ_code)
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise DocumentNumberError(f"year must be a year from {FIRST_YEAR} to {LAST_YEAR}, not {year!r}")
    if not title or not title.strip():
        raise DocumentNumberError("a document number needs the document's title")
    if not actor_id or not str(actor_id).strip():
        raise DocumentNumberError("a document number needs who assigned it")
    seq = _next_seq(session, organ.code, year)
    row = DocumentNumber(
        organ_code=organ.code,
        year=year,
        seq=seq,
        number=format_number(organ.short_mark, year, seq),
        status="assigned",
        title=title.strip(),
        instance_id=instance_id,
        assigned_at=clock.now(),
        assigned_by=str(actor_id),
    )
    session.add(row)
    session.flush()
    return row


def void(session: Session, number_id: int, reason: str, actor_id: str) -> DocumentNumber:
    """Void a number (the document was withdrawn, or the number taken by mistake). It stays used: the next
    assignment takes the following one. Refused without a reason, or for a number already voided."""
    row = session.get(DocumentNumber, number_id, with_for_update=True)
    if row is None:
        raise DocumentNumberError(f"no document number {number_id}")
    if not reason or not reason.strip():
        raise DocumentNumberError(f"voiding {row.number} needs a reason")
    if row.status == "voided":
        raise DocumentNumberError(f"{row.number} is already voided ({row.void_reason})")
    row.status = "voided"
    row.voided_at = clock.now()
    row.voided_by = str(actor_id)
    row.void_reason = reason.strip()
    session.flush()
    return row


def numbers_of(session: Session, organ_code: str, year: int) -> list[DocumentNumber]:
    """Every number of the organ and year, assigned and voided, in sequence order (the register, 发文登记)."""
    _organ(session, organ_code)
    query = (
        select(DocumentNumber)
        .where(DocumentNumber.organ_code == organ_code, DocumentNumber.year == year)
        .order_by(DocumentNumber.seq)
    )
    return list(session.scalars(query))


def read_organ_rows(path: Path) -> list[dict[str, str]]:
    """The rows of an organs CSV (columns :data:`ORGAN_COLUMNS`)."""
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_issuing_organs(session: Session, rows: Iterable[Mapping[str, str]]) -> int:
    """Insert or update the issuing organs of ``rows`` (idempotent; organs not listed are left alone: their
    numbers still point at them). Each row's city or county must be in the organisation tree. Flushes."""
    rows = list(rows)
    units = set(session.scalars(select(OrgUnit.code)))
    existing = {o.code: o for o in session.scalars(select(IssuingOrgan))}
    for n, raw in enumerate(rows, start=1):
        row = {k: (raw.get(k) or "").strip() for k in ORGAN_COLUMNS}
        missing = [k for k, v in row.items() if not v]
        if missing:
            raise DocumentNumberError(f"issuing organ row {n}: {', '.join(missing)} missing")
        if row["kind"] not in ORGAN_KINDS:
            raise DocumentNumberError(f"issuing organ row {n}: kind must be one of {sorted(ORGAN_KINDS)}")
        if row["org_code"] not in units:
            raise DocumentNumberError(f"issuing organ row {n}: no unit {row['org_code']} in the organisation")
        organ = existing.get(row["code"])
        if organ is None:
            session.add(IssuingOrgan(**row))
        else:
            for key, value in row.items():
                setattr(organ, key, value)
    session.flush()
    return len(rows)
