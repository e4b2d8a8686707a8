"""Organisation units as data an administrator maintains (DOMAIN.md, "Organisation"; Art. 8, 15, 36).

Levels and where each sits:

* ``city`` (南阳市) → ``county`` (县、市、区 and the two functional zones) → ``township`` (乡镇、街道);
* ``city_direct`` (市直单位) under the city, and ``system_unit`` (units inside a city-direct unit's
  system, e.g. a school of the education bureau) under a city-direct unit: when the city lists one, Art. 36
  makes the city-direct unit check first, as a county does for its townships;
* ``member_unit`` (综治委成员单位, Art. 8, 15, 16) under the city or the county whose committee it sits
  on: its upper level (相应的上一级) is that committee's unit, so its reports and summaries go to that office.

Codes: the divisions keep their statistical codes; a member unit is ``<committee code>-M<nn>``
(``411302-M02`` = 宛城区's second member unit), a unit of a city-direct system ``<unit code>-S<nn>``
(``CD02-S01``). A unit is never deleted (cases and tasks keep pointing at it): it is deactivated, which the
``org_unit_status`` table records (no row = active). Plain functions; the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.models import Base, OrgUnit
from workflows.regulation.wording import N_

LEVELS: dict[str, str] = {
    "city": N_("市"),
    "county": N_("县(市、区)"),
    "township": N_("乡镇(街道)"),
    "city_direct": N_("市直单位"),
    "member_unit": N_("成员单位"),
    "system_unit": N_("系统内单位"),
}
#: The levels a unit of each level may sit under.
PARENT_LEVELS: dict[str, tuple[str, ...]] = {
    "city": (),
    "county": ("city",),
    "township": ("county",),
    "city_direct": ("city",),
    "member_unit": ("city", "county"),
    "system_unit": ("city_direct",),
}
#: Levels whose codes the system hands out: ``<parent>-<letter><nn>``.
CHILD_PREFIX = {"member_unit": "M", "system_unit": "S"}
LEVEL_DEPTH = {level: i for i, level in enumerate(LEVELS)}  # parents before children when loading a file
CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z-]{1,31}$")


class OrgUnitError(ValueError):
    """A unit that cannot be added or changed as asked; the message says why."""


class UnitStatus(Base):
    """Whether a unit is in service: a deactivated unit keeps its cases and history, no post starts there."""

    __tablename__ = "org_unit_status"

    code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


def is_active(session: Session, code: str) -> bool:
    status = session.get(UnitStatus, code)
    return status is None or status.active


def inactive_codes(session: Session) -> set[str]:
    return set(session.scalars(select(UnitStatus.code).where(UnitStatus.active.is_(False))))


def next_code(session: Session, parent_code: str, level: str) -> str:
    """The next free code for a member unit or a system unit under ``parent_code`` (``411302-M13``)."""
    prefix = f"{parent_code}-{CHILD_PREFIX[level]}"
    taken = session.scalars(select(OrgUnit.code).where(OrgUnit.code.startswith(prefix)))
    numbers = [int(c[len(prefix) :]) for c in taken if c[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:02d}"


def _check_parent(session: Session, level: str, parent_code: str | None, pending: Mapping[str, str]) -> None:
    allowed = PARENT_LEVELS[level]
    if not allowed:
        if parent_code:
            raise OrgUnitError(f"a {level} unit has no parent")
        return
    if not parent_code:
        raise OrgUnitError(f"a {level} unit needs a parent ({' or '.join(allowed)})")
    parent = session.get(OrgUnit, parent_code)
    parent_level = parent.level if parent is not None else pending.get(parent_code)
    if parent_level is None:
        raise OrgUnitError(f"unknown parent unit {parent_code!r}")
    if parent_level not in allowed:
        raise OrgUnitError(f"a {level} unit sits under a {' or '.join(allowed)} unit, not a {parent_level}")


def add_unit(
    session: Session,
    name: str,
    level: str,
    parent_code: str | None,
    code: str | None = None,
    pending: Mapping[str, str] | None = None,
) -> OrgUnit:
    """Add a unit; a member or system unit without a code gets the next one under its parent."""
    name = name.strip()
    if level not in LEVELS:
        raise OrgUnitError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    if not name or len(name) > 100:
        raise OrgUnitError("a unit needs a name of at most 100 characters")
    _check_parent(session, level, parent_code or None, pending or {})
    if not code:
        if level not in CHILD_PREFIX or not parent_code:
            raise OrgUnitError(f"a {level} unit needs its code")
        code = next_code(session, parent_code, level)
    if not CODE.match(code):
        raise OrgUnitError(f"code {code!r}: 2–32 letters, digits or '-'")
    if session.get(OrgUnit, code) is not None:
        raise OrgUnitError(f"unit {code} exists")
    unit = OrgUnit(code=code, name=name, level=level, parent_code=parent_code or None)
    session.add(unit)
    session.flush()
    return unit


def update_unit(
    session: Session, code: str, *, name: str | None = None, parent_code: str | None = None
) -> OrgUnit:
    """Rename a unit or move it under another parent of an allowed level (a re-division); its level stays."""
    unit = get_unit(session, code)
    if name is not None:
        if not name.strip() or len(name.strip()) > 100:
            raise OrgUnitError("a unit needs a name of at most 100 characters")
        unit.name = name.strip()
    if parent_code is not None and parent_code != unit.parent_code:
        _check_parent(session, unit.level, parent_code, {})
        unit.parent_code = parent_code
    session.flush()
    return unit


def set_active(session: Session, code: str, active: bool, on: date, note: str = "") -> UnitStatus:
    """Deactivate (or reactivate) a unit from ``on``; ending its posts is people.end_posts_at's job."""
    unit = get_unit(session, code)
    if not active and unit.level == "city":
        raise OrgUnitError("the city cannot be deactivated")
    status = session.get(UnitStatus, code)
    if status is None:
        status = UnitStatus(code=code)
        session.add(status)
    status.active, status.changed_on, status.note = active, on, note
    session.flush()
    return status


def get_unit(session: Session, code: str) -> OrgUnit:
    unit = session.get(OrgUnit, code)
    if unit is None:
        raise OrgUnitError(f"unknown unit {code!r}")
    return unit


@dataclass
class UnitImport:
    """What loading a file of units did: codes added and updated, and the problems by row (1 = header)."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)


def upsert_units(session: Session, rows: Iterable[tuple[int, Mapping[str, str]]], on: date) -> UnitImport:
    """Add or update units from rows ``{code, name, level, parent_code[, active]}`` keyed by their row number.
    Parents are handled before children whatever the order of the file. The caller rolls back when
    ``errors`` is not empty: a file is loaded whole or not at all."""
    report = UnitImport()
    ordered = sorted(rows, key=lambda r: (LEVEL_DEPTH.get(r[1].get("level", ""), 99), r[0]))
    pending = {r["code"]: r.get("level", "") for _, r in ordered if r.get("code")}
    for number, row in ordered:
        code, level = row.get("code", "").strip(), row.get("level", "").strip()
        try:
            existing = session.get(OrgUnit, code) if code else None
            if existing is None:
                unit = add_unit(
                    session, row.get("name", ""), level, row.get("parent_code") or None, code or None, pending
                )
                report.added.append(unit.code)
            else:
                if level and level != existing.level:
                    raise OrgUnitError(f"unit {code} is a {existing.level}; a level does not change")
                update_unit(
                    session, code, name=row.get("name") or None, parent_code=row.get("parent_code") or None
                )
                report.updated.append(code)
            active = row.get("active", "").strip().lower()
            if active in ("0", "false", "no", "否", "停用"):
                set_active(session, code, False, on, "imported")
            elif active in ("1", "true", "yes", "是", "启用") and not is_active(session, code):
                set_active(session, code, True, on, "imported")
        except OrgUnitError as exc:
            report.errors[number] = str(exc)
    return report
