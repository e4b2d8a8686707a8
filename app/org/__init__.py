"""Organisation data: the city's real divisions (from the national statistics codes) for demo and load."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy.orm import Session

from workflows.engine.models import OrgUnit

DIVISIONS_CSV = Path(__file__).with_name("nanyang-divisions.csv")

# A few city-direct units (市直单位) so cases at that level can be demonstrated; codes are ours, not official.
CITY_DIRECT_UNITS = [
    ("CD01", "市公安局"),
    ("CD02", "市教育局"),
    ("CD03", "市民政局"),
    ("CD04", "市司法局"),
    ("CD05", "市卫生健康委员会"),
]


def load_divisions(session: Session) -> int:
    """Insert or update the city, its counties and townships, and demo city-direct units. Idempotent."""
    count = 0
    with DIVISIONS_CSV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    city = next(r["code"] for r in rows if r["level"] == "city")
    for r in rows:
        session.merge(
            OrgUnit(code=r["code"], name=r["name"], level=r["level"], parent_code=r["parent_code"] or None)
        )
        count += 1
    for code, name in CITY_DIRECT_UNITS:
        session.merge(OrgUnit(code=code, name=name, level="city_direct", parent_code=city))
        count += 1
    session.flush()
    return count
