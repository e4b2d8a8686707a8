#!/usr/bin/env python
"""Generate Henan province from Nanyang's real structure and load it into a PostgreSQL database (issue 17).

    .venv/bin/python scripts/gen_province.py --csv /tmp/henan.csv            # the units only, as CSV
    DATABASE_URL=postgresql://postgres@127.0.0.1/henan .venv/bin/python scripts/gen_province.py --load

Henan has 17 prefecture-level cities plus 济源 (province-administered), ~157 county-level units and
~2,450 townships. 南阳 is taken as it is (/work/shared/data/nanyang-divisions.csv, the same as
app/org/nanyang-divisions.csv); every other city gets its real code and name and its number of county-level
units, each county modelled on one of 南阳's (cycling through them) with its number of townships scaled so
the province has ~2,450. Codes follow the national scheme: city ``41XX00``, county ``41XXYY`` (districts
from 02, counties from 21, county-level cities from 81), township ``41XXYYNNN``; 济源 is city ``419000``
with its one county-level unit ``419001``. Every city and county gets its two issuing organs (发文机关) and
every city ``--city-direct`` city-direct units, so its committee can issue letters.

``--load`` (into a database already migrated: ``flask db upgrade``, as scripts/serve does) also creates the
demo-like people of every unit (``app/auth/demo.seed_demo_users``: leaders, office staff, committee
seats; password ``demo``) and each committee's indicator set, as ``flask init-demo`` does for 南阳.

What the app cannot model yet: it has one city at the top of its organisation tree (``OrgTree.city_code``,
the first city by code); lanes naming "the city" resolve to that one. The province is loaded as 18 city
trees side by side, which is the load the issue asks to measure, not a province-level committee.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NANYANG = Path("/work/shared/data/nanyang-divisions.csv")
if not NANYANG.exists():
    NANYANG = ROOT / "app" / "org" / "nanyang-divisions.csv"
MEMBER_UNITS = ROOT / "app" / "org" / "demo-units.csv"  # 南阳's committees' member units (成员单位)
NANYANG_CODE = "411300"
TOWNSHIPS_TARGET = 2450

# (code prefix, name, county-level units): the 17 cities' real codes; counts close to the real divisions.
CITIES: list[tuple[str, str, int]] = [
    ("4101", "郑州市", 12),
    ("4102", "开封市", 9),
    ("4103", "洛阳市", 13),
    ("4104", "平顶山市", 10),
    ("4105", "安阳市", 9),
    ("4106", "鹤壁市", 5),
    ("4107", "新乡市", 12),
    ("4108", "焦作市", 10),
    ("4109", "濮阳市", 6),
    ("4110", "许昌市", 6),
    ("4111", "漯河市", 5),
    ("4112", "三门峡市", 6),
    ("4113", "南阳市", 15),  # taken as it is
    ("4114", "商丘市", 9),
    ("4115", "信阳市", 10),
    ("4116", "周口市", 10),
    ("4117", "驻马店市", 9),
    ("4190", "济源市", 1),  # province-administered: one county-level unit
]
KIND_NAMES = {"district": "区", "county": "县", "city": "市"}
LEVELS = ("city", "county", "township", "city_direct", "member_unit")


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    parent_code: str | None


def read_nanyang(path: Path = NANYANG) -> list[Unit]:
    with path.open(encoding="utf-8") as fh:
        return [Unit(r["code"], r["name"], r["level"], r["parent_code"] or None) for r in csv.DictReader(fh)]


def read_members(path: Path = MEMBER_UNITS) -> dict[str, list[Unit]]:
    """南阳's member units by their committee's unit (the city's 18, most counties 12, the zones 5)."""
    with path.open(encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["level"] == "member_unit"]
    members: dict[str, list[Unit]] = {}
    for r in rows:
        members.setdefault(r["parent_code"], []).append(
            Unit(r["code"], r["name"], r["level"], r["parent_code"])
        )
    return members


def _members_like(model: list[Unit], code: str, names: list[tuple[str, str]]) -> list[Unit]:
    """The committee ``code``'s member units, one for each of its model's (``<code>-Mnn``, as the system
    hands them out), named by the model's names with ``names``' (old, new) parts replaced in order."""
    out = []
    for i, unit in enumerate(model, start=1):
        name = unit.name
        for old, new in names:
            name = name.replace(old, new)
        out.append(Unit(f"{code}-M{i:02d}", name, "member_unit", code))
    return out


def _county_kind(code: str) -> str:
    """District (02–20), county (21–80) or county-level city (81–): from the national code's digits 5–6."""
    n = int(code[4:6])
    return "district" if n < 21 else "county" if n < 81 else "city"


def province(
    city_direct: int = 5, townships: int = TOWNSHIPS_TARGET, cities: int | None = None, members: bool = True
) -> list[Unit]:
    """Every unit of the generated province, parents before children; codes unique and well-formed.

    ``cities``: only the first so many of :data:`CITIES` (small runs; townships scaled as for all 18).
    ``members``: every committee's member units (成员单位), modelled on 南阳's: 南阳's own 184 as they are,
    a generated city's like 南阳's city committee's, a generated county's like its model county's."""
    nanyang = read_nanyang()
    member_models = read_members() if members else {}
    models = [u for u in nanyang if u.level == "county"]
    towns_of = {c.code: [u for u in nanyang if u.parent_code == c.code] for c in models}
    generated = sum(n for _, _, n in CITIES) - len(models)
    nanyang_towns = sum(len(v) for v in towns_of.values())
    # Townships per generated county, scaled from its model so the province has ~``townships``.
    model_total = sum(len(towns_of[models[i % len(models)].code]) for i in range(generated))
    factor = (townships - nanyang_towns) / model_total
    units: list[Unit] = []
    slot = 0
    for prefix, name, counties in CITIES[:cities]:
        city = f"{prefix}00"
        if city == NANYANG_CODE:
            units += nanyang
            units += [u for code in sorted(member_models) for u in member_models[code]]
        else:
            units.append(Unit(city, name, "city", None))
            units += _members_like(
                member_models.get(NANYANG_CODE, []), city, [("南阳市", name), ("南阳", name[:-1])]
            )
            numbers = {"district": 2, "county": 21, "city": 81}
            for i in range(counties):
                model = models[slot % len(models)]
                slot += 1
                kind = "county" if prefix == "4190" else _county_kind(model.code)
                number = 1 if prefix == "4190" else numbers[kind]
                numbers[kind] = number + 1
                code = f"{prefix}{number:02d}"
                county_name = (
                    "济源产城融合示范区" if prefix == "4190" else f"{name[:-1]}第{i + 1}{KIND_NAMES[kind]}"
                )
                units.append(Unit(code, county_name, "county", city))
                units += _members_like(
                    member_models.get(model.code, []),
                    code,
                    [
                        (model.name, county_name),
                        (model.name[:-1], county_name[:-1]),
                        ("南阳市", name),
                        ("南阳", name[:-1]),
                    ],
                )
                model_towns = towns_of[model.code]
                for j in range(max(3, round(len(model_towns) * factor))):
                    town = model_towns[j % len(model_towns)].name
                    units.append(Unit(f"{code}{j + 1:03d}", town, "township", code))
        units += [
            Unit(f"{city}D{i:02d}", f"{name}市直单位{i:02d}", "city_direct", city)
            for i in range(1, city_direct + 1)
        ]
    return units


def check(units: list[Unit]) -> None:
    """Codes unique, parents present and of the right level, codes shaped as their level says."""
    codes = [u.code for u in units]
    if len(codes) != len(set(codes)):
        raise ValueError("duplicate unit codes")
    by_code = {u.code: u for u in units}
    parent_level = {"county": "city", "township": "county", "city_direct": "city"}
    for u in units:
        if u.level == "city":
            assert len(u.code) == 6 and u.code.startswith("41") and u.code.endswith("00"), u
        elif u.level == "county":
            assert len(u.code) == 6 and u.code[:4] == u.parent_code[:4], u  # type: ignore[index]
        elif u.level == "township":
            assert len(u.code) == 9 and u.code[:6] == u.parent_code, u
        elif u.level == "member_unit":  # <committee's unit>-Mnn (workflows/regulation/org_units.py)
            assert re.fullmatch(r"41\d{4}-M\d{2}", u.code) and u.code[:6] == u.parent_code, u
            parent = by_code.get(u.parent_code or "")
            assert parent is not None and parent.level in ("city", "county"), u
        if u.level in parent_level:
            parent = by_code.get(u.parent_code or "")
            assert parent is not None and parent.level == parent_level[u.level], u


def issuing_organs(units: Iterable[Unit]) -> list[dict[str, str]]:
    """Each city's and county's office and committee as issuing organs (南阳's real rows kept as they are)."""
    from workflows.regulation.doc_numbers import read_organ_rows

    units = list(units)
    present = {u.code for u in units}
    real = [
        r for r in read_organ_rows(ROOT / "app" / "org" / "issuing-organs.csv") if r["org_code"] in present
    ]
    have = {r["org_code"] for r in real}
    rows = list(real)
    for u in units:
        if u.level not in ("city", "county") or u.code in have:
            continue
        for kind, body, mark in (("office", "委员会办公室", "综治办"), ("committee", "委员会", "综治委")):
            rows.append(
                {
                    "code": f"{u.code}-{kind}",
                    "org_code": u.code,
                    "kind": kind,
                    "name": f"{u.name}社会治安综合治理{body}",
                    "short_mark": f"{u.name}{mark}",  # unique, as the table requires
                    "organ_mark": f"{u.name}社会治安综合治理{body}文件",
                }
            )
    return rows


def load(url: str, units: list[Unit], progress: bool = True) -> dict[str, int]:
    """Units, issuing organs, demo-like people and indicator sets into the (migrated, empty) database."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session
    from tqdm import tqdm

    from app.auth.demo import seed_demo_users
    from app.auth.models import User
    from app.indicators.demo import seed_demo_indicator_sets
    from workflows.engine.models import OrgUnit
    from workflows.regulation.doc_numbers import load_issuing_organs

    db = create_engine(url)
    with Session(db) as s:
        chunk = 500
        for start in tqdm(range(0, len(units), chunk), desc="units", unit="×500", disable=not progress):
            s.add_all(
                OrgUnit(code=u.code, name=u.name, level=u.level, parent_code=u.parent_code)
                for u in units[start : start + chunk]
            )
            s.flush()
        load_issuing_organs(s, issuing_organs(units))
        s.commit()
        people = seed_demo_users(s)
        sets = seed_demo_indicator_sets(s)
        s.commit()
        users = s.scalar(select(func.count()).select_from(User)) or 0
    db.dispose()
    return {"units": len(units), "accounts": people, "users": users, "indicator_sets": sets}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, help="write the units as code,name,level,parent_code")
    parser.add_argument("--load", action="store_true", help="load into DATABASE_URL (migrated, empty)")
    parser.add_argument("--city-direct", type=int, default=5)
    parser.add_argument("--townships", type=int, default=TOWNSHIPS_TARGET)
    parser.add_argument("--cities", type=int, help="only the first N cities (small runs)")
    parser.add_argument("--no-members", action="store_true", help="no committee member units")
    args = parser.parse_args(argv)
    units = province(args.city_direct, args.townships, args.cities, not args.no_members)
    check(units)
    levels = {lv: sum(1 for u in units if u.level == lv) for lv in LEVELS}
    print(f"Henan: {levels}")
    if args.csv:
        with args.csv.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["code", "name", "level", "parent_code"])
            writer.writerows([u.code, u.name, u.level, u.parent_code or ""] for u in units)
    if args.load:
        url = os.environ.get("GOVERNANCE_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
        if not url.startswith("postgresql"):
            print("set DATABASE_URL to the PostgreSQL database to load", file=sys.stderr)
            return 2
        print(load(url, units))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
