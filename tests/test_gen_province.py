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
