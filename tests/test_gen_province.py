"""The generated province (scripts/gen_province.py, issue 17): Henan's shape from 南阳's real structure, codes
unique and well-formed, 南阳 itself as it is."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def gen_province() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_province", ROOT / "scripts" / "gen_province.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_henan_has_its_cities_counties_and_townships_with_unique_well_formed_codes() -> None:
    gen = gen_province()
    units = gen.province()
    gen.check(units)  # raises on a duplicate code, a missing parent or a malformed code
    levels = Counter(u.level for u in units)
    assert levels["city"] == 18  # 17 cities and 济源
    assert levels["county"] == 157
    assert 2400 <= levels["township"] <= 2500
    codes = [u.code for u in units]
    assert len(codes) == len(set(codes))
    nanyang = {u.code: u for u in gen.read_nanyang()}
    assert all(u == nanyang[u.code] for u in units if u.code in nanyang)  # 南阳 as it is
    assert len(nanyang.keys() & set(codes)) == len(nanyang)
    cities = {u.code: u.name for u in units if u.level == "city"}
    assert cities["410100"] == "郑州市" and cities["419000"] == "济源市"
    organs = gen.issuing_organs(units)
    assert len({o["short_mark"] for o in organs}) == len(organs)  # the table's unique 机关代字
    assert {o["org_code"] for o in organs} == {u.code for u in units if u.level in ("city", "county")}


def test_every_committee_has_member_units_modelled_on_nanyangs() -> None:
    """10× 南阳's letters needs each committee's member units (成员单位): 南阳's own 184 as they are, a
    generated city's 18 like 南阳's city committee's, a generated county's like its model county's."""
    gen = gen_province()
    units = gen.province()
    gen.check(units)  # <committee>-Mnn under a city or county, codes unique
    by_code = {u.code: u for u in units}
    members = [u for u in units if u.level == "member_unit"]
    real = [u for rows in gen.read_members().values() for u in rows]
    assert len(real) == 184 and all(by_code[u.code] == u for u in real)  # 南阳's as they are
    per_committee = Counter(u.parent_code for u in members)
    assert per_committee.keys() == {u.code for u in units if u.level in ("city", "county")}
    assert {per_committee[c] for c in ("410100", "411300")} == {18}  # 郑州 like 南阳's city committee
    assert set(per_committee.values()) <= {5, 12, 18}
    zhengzhou = [u.name for u in members if u.parent_code == "410102"]
    assert zhengzhou[:3] == ["中共郑州第1区委政法委员会", "郑州市公安局郑州第1分局", "郑州第1区人民法院"]
    assert not [u for u in members if u.parent_code != "411300" and "南阳" in u.name and u.code[:4] != "4113"]
    # 南阳's year: 505 letters = 15 counties + 60 city-direct + 184 members + 246 townships; every city as
    # 南阳's year (60 city-direct units) makes the province's letters more than 10× that.
    letters = sum(1 for u in gen.province(city_direct=60) if u.level != "city")
    assert letters >= 10 * 505
    assert gen.province(cities=2, members=False)[-1].code.startswith("4102")  # a small run: 郑州, 开封
