"""Organisation data: the city's real divisions (from the national statistics codes) for demo and load, and
the demo organisation around them: city-direct units, the committees' member units and the units of the
city-direct systems (``demo-units.csv``, codes as in ``workflows/regulation/org_units.py``)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.models import OrgUnit

DIVISIONS_CSV = Path(__file__).with_name("nanyang-divisions.csv")
# 政法委、公安、法院、检察院、司法、信访、民政、教育、卫健、人社… for the city and each county
# (member_unit), and two units inside each demo city-direct unit's system (system_unit). Departments'
# names, not people's.
DEMO_UNITS_CSV = Path(__file__).with_name("demo-units.csv")

# A few city-direct units (市直单位) so cases at that level can be demonstrated; codes are ours, not official.
CITY_DIRECT_UNITS = [
    ("CD01", "市公安局"),
    ("CD02", "市教育局"),
    ("CD03", "市民政局"),
    ("CD04", "市司法局"),
    ("CD05", "市卫生健康委员会"),
]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_divisions(session: Session, *, demo_units: bool = True) -> int:
    """Insert or update the city, its counties and townships, the demo city-direct units and (unless
    ``demo_units`` is False) the demo member and system units. Idempotent; one query for what exists."""
    rows = _rows(DIVISIONS_CSV)
    city = next(r["code"] for r in rows if r["level"] == "city")
    wanted = [(r["code"], r["name"], r["level"], r["parent_code"] or None) for r in rows]
    wanted += [(code, name, "city_direct", city) for code, name in CITY_DIRECT_UNITS]
    if demo_units:
        wanted += [(r["code"], r["name"], r["level"], r["parent_code"]) for r in _rows(DEMO_UNITS_CSV)]
    existing = {u.code: u for u in session.scalars(select(OrgUnit))}
    for code, name, level, parent in wanted:  # parents come first in both files, and are inserted first
        unit = existing.get(code)
        if unit is None:
            session.add(OrgUnit(code=code, name=name, level=level, parent_code=parent))
        elif (unit.name, unit.level, unit.parent_code) != (name, level, parent):
            unit.name, unit.level, unit.parent_code = name, level, parent
    session.flush()
    return len(wanted)
