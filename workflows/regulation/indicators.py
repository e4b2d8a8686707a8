"""The yearly indicator system as data (Art. 19, O19.1): find, edit and freeze a committee's set.

Art. 19 leaves the assessment standard and the indicators to the party committee and government, year by
year; Art. 20 says what is assessed and names the grades. Nothing about grading is in code: a committee's
set for a year (tables in :mod:`workflows.regulation.indicator_models`) lists the indicators with their
weights and maximum scores, and its ``thresholds`` say when a unit is proposed 优秀 or 不合格 (vocabulary in
:mod:`workflows.regulation.indicator_rules`); :mod:`workflows.regulation.indicator_grading` grades by it.

* :func:`indicator_set_for` — the set a committee grades a year by; a year without one starts as a draft
  copy of the nearest earlier year's set (the office then edits it), and no set at all is a clear error
  (:class:`NoIndicatorSet`). :func:`preview_set` answers the same without storing the copy.
* :func:`save_set` — the office's edit (UI and API): validated (weights sum to 100, thresholds in the
  vocabulary; :class:`FormInvalid` keyed ``indicators/N/weight`` …), refused once the set is frozen
  (:class:`IndicatorSetFrozen`).
* :func:`freeze` — when the year's assessment starts (the cycle calls ``freeze_indicators``); idempotent.

No commits here: callers (views, CLI, the engine's transaction) own them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeGuard

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.errors import Conflict, FormInvalid, NotFound
from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import OrgUnit
from workflows.regulation.indicator_models import SOURCES, Indicator, IndicatorSet
from workflows.regulation.indicator_rules import num, threshold_problems

CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
MAX_INDICATORS = 30
MAX_ORDER = 10_000  # a display position; larger ones would not fit the INTEGER column either
CYCLE_ACTOR = "annual_cycle"


class NoIndicatorSet(NotFound):
    """Neither the year nor any earlier year has an indicator set for the committee."""

    code = "no_indicator_set"


class IndicatorSetFrozen(Conflict):
    """The set is frozen (the year's assessment has started): it can no longer be edited."""

    code = "indicator_set_frozen"


# -- finding the set ------------------------------------------------------------------------------------


def find_set(session: Session, year: int, committee_code: str) -> IndicatorSet | None:
    return session.scalar(
        select(IndicatorSet).where(IndicatorSet.year == year, IndicatorSet.committee_code == committee_code)
    )


def earlier_set(session: Session, year: int, committee_code: str) -> IndicatorSet | None:
    """The committee's set of the nearest year before ``year``, if any."""
    return session.scalar(
        select(IndicatorSet)
        .where(IndicatorSet.committee_code == committee_code, IndicatorSet.year < year)
        .order_by(IndicatorSet.year.desc())
        .limit(1)
    )


def unit_name(session: Session, code: str) -> str:
    unit = session.get(OrgUnit, code)
    return unit.name if unit is not None else code


def _no_set(session: Session, year: int, committee_code: str) -> NoIndicatorSet:
    return NoIndicatorSet(
        f"{unit_name(session, committee_code)}（{committee_code}）没有{year}年的考核评价指标体系，"
        "此前年度也没有可沿用的：请综治办先制定本年度指标体系（Art. 19）"
    )


def indicator_set_for(
    session: Session, year: int, committee_code: str, *, actor: str = CYCLE_ACTOR, now: datetime | None = None
) -> IndicatorSet:
    """The committee's set for ``year``; when it has none, a draft copy of the nearest earlier year's set is
    stored (flushed) and returned; :class:`NoIndicatorSet` when no year before has one either."""
    found = find_set(session, year, committee_code)
    if found is not None:
        return found
    source = earlier_set(session, year, committee_code)
    if source is None:
        raise _no_set(session, year, committee_code)
    at = now or clock.now()
    copy = IndicatorSet(
        year=year,
        committee_code=committee_code,
        thresholds=_plain(source.thresholds),
        copied_from_year=source.year,
        created_at=at,
        created_by=actor,
        updated_at=at,
        updated_by=actor,
    )
    copy.indicators = [
        Indicator(
            code=i.code,
            name=i.name,
            description=i.description,
            weight=i.weight,
            max_score=i.max_score,
            sort_order=i.sort_order,
            source=i.source,
        )
        for i in source.indicators
    ]
    session.add(copy)
    session.flush()
    return copy


def _plain(value: Any) -> Any:
    """A deep copy of JSON data (never share a mutable JSON value between two rows)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def set_as_dict(session: Session, s: IndicatorSet, *, stored: bool = True) -> dict[str, Any]:
    """A set as plain data (the API's answer, the pages' model, the script helper's answer)."""
    return {
        "id": s.id if stored else None,
        "year": s.year,
        "committee_code": s.committee_code,
        "committee_name": unit_name(session, s.committee_code),
        "stored": stored,
        "copied_from_year": s.copied_from_year,
        "frozen": s.frozen,
        "frozen_at": s.frozen_at,
        "frozen_by": s.frozen_by,
        "created_at": s.created_at if stored else None,
        "updated_at": s.updated_at if stored else None,
        "updated_by": s.updated_by if stored else None,
        "thresholds": _plain(s.thresholds),
        "indicators": [
            {
                "code": i.code,
                "name": i.name,
                "description": i.description or "",
                "weight": i.weight,
                "max_score": i.max_score,
                "order": i.sort_order,
                "source": i.source,
            }
            for i in s.indicators
        ],
    }


def preview_set(session: Session, year: int, committee_code: str) -> dict[str, Any]:
    """What :func:`indicator_set_for` would answer, without storing anything: the year's set, or the copy
    of the nearest earlier year's (``stored`` false, ``copied_from_year`` set)."""
    found = find_set(session, year, committee_code)
    if found is not None:
        return set_as_dict(session, found)
    source = earlier_set(session, year, committee_code)
    if source is None:
        raise _no_set(session, year, committee_code)
    data = set_as_dict(session, source, stored=False)
    data.update(year=year, copied_from_year=source.year, frozen=False, frozen_at=None, frozen_by=None)
    return data


# -- editing ----------------------------------------------------------------------------------------------


def _problems(data: Mapping[str, Any]) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The indicators of an edit, normalised, and what is wrong with the edit (keys: field paths)."""
    problems: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        problems.setdefault(path, []).append(message)

    rows = data.get("indicators")
    if not isinstance(rows, list) or not rows:
        return [], {"indicators": ["至少需要一项指标"]}
    if len(rows) > MAX_INDICATORS:
        add("indicators", f"最多{MAX_INDICATORS}项指标")
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, row in enumerate(rows):
        where = f"indicators/{n}"
        if not isinstance(row, Mapping):
            add(where, "须为对象")
            continue
        code = row.get("code")
        if not isinstance(code, str) or not CODE.match(code):
            add(f"{where}/code", "代码须以字母开头，由字母、数字、下划线组成，最长32个字符")
        elif code in seen:
            add(f"{where}/code", f"指标代码“{code}”重复")
        else:
            seen.add(code)
        name = row.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            add(f"{where}/name", "须填写指标名称（最长100个字符）")
        description = row.get("description") or ""
        if not isinstance(description, str) or len(description) > 2000:
            add(f"{where}/description", "说明须为文字，最长2000个字符")
        for key, upper in (("weight", 100), ("max_score", 1000)):
            value = row.get(key)
            if not is_number(value) or not 0 < value <= upper:
                add(f"{where}/{key}", f"须为大于0、不超过{upper}的数字")
        order = row.get("order", n + 1)
        if not isinstance(order, int) or isinstance(order, bool) or not 0 <= order <= MAX_ORDER:
            add(f"{where}/order", f"须为0至{MAX_ORDER}的整数")  # an INTEGER column (issue 16)
        source = row.get("source") or "manual"
        if source not in SOURCES:
            add(f"{where}/source", f"须为 {'、'.join(SOURCES)} 之一")
        clean.append(
            {
                "code": code,
                "name": name.strip() if isinstance(name, str) else name,
                "description": description,
                "weight": row.get("weight"),
                "max_score": row.get("max_score"),
                "order": order,
                "source": source,
            }
        )
    weights = [r["weight"] for r in clean if is_number(r["weight"])]
    if len(weights) == len(rows) and abs(sum(weights) - 100) > 1e-6:
        add("indicators", f"各项指标权重合计须为100，现为{num(sum(weights))}")
    for path, messages in threshold_problems(data.get("thresholds"), seen).items():
        problems.setdefault(path, []).extend(messages)
    return clean, problems


def is_number(value: Any) -> TypeGuard[float]:
    """A JSON number (not a boolean, not NaN)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def _refuse_frozen(session: Session, s: IndicatorSet) -> None:
    if s.frozen:
        raise IndicatorSetFrozen(
            f"{unit_name(session, s.committee_code)}{s.year}年考核评价指标体系已于"
            f"{to_cst(s.frozen_at):%Y-%m-%d %H:%M} 冻结（年度考核已开始），不能再修改"
            if s.frozen_at is not None
            else "指标体系已冻结"
        )


def save_set(
    session: Session,
    year: int,
    committee_code: str,
    data: Mapping[str, Any],
    actor: str,
    *,
    now: datetime | None = None,
) -> IndicatorSet:
    """Store the office's edit of the committee's set for ``year`` (``{"indicators": [...], "thresholds":
    {...}}``, each indicator ``{code, name, description, weight, max_score, order, source}``), replacing
    the indicators and thresholds. :class:`FormInvalid` (keys such as ``indicators/2/weight``) when the edit
    is not valid, :class:`IndicatorSetFrozen` once the set is frozen; nothing is written in either case."""
    existing = find_set(session, year, committee_code)
    if existing is not None:
        _refuse_frozen(session, existing)
    if session.get(OrgUnit, committee_code) is None:
        raise NotFound(f"unknown organisation unit {committee_code!r}")
    clean, problems = _problems(data)
    if problems:
        raise FormInvalid(problems)
    at = now or clock.now()
    if existing is None:
        existing = IndicatorSet(
            year=year, committee_code=committee_code, created_at=at, created_by=actor, thresholds={}
        )
        session.add(existing)
    existing.thresholds = _plain(data["thresholds"])
    existing.updated_at, existing.updated_by = at, actor
    by_code = {i.code: i for i in existing.indicators}
    kept: list[Indicator] = []
    for row in clean:
        indicator = by_code.get(row["code"]) or Indicator(code=row["code"])
        indicator.name, indicator.description = row["name"], row["description"]
        indicator.weight, indicator.max_score = float(row["weight"]), float(row["max_score"])
        indicator.sort_order, indicator.source = row["order"], row["source"]
        kept.append(indicator)
    existing.indicators = kept  # codes no longer listed are deleted (delete-orphan)
    session.flush()
    session.refresh(existing, ["indicators"])
    return existing


def freeze(
    session: Session, year: int, committee_code: str, actor: str, *, now: datetime | None = None
) -> IndicatorSet:
    """Freeze the set the committee grades ``year`` by (copying last year's first if the year has none):
    from now on every unit is graded by the same rule. Freezing a frozen set changes nothing."""
    s = indicator_set_for(session, year, committee_code, actor=actor, now=now)
    if not s.frozen:
        s.frozen_at, s.frozen_by = now or clock.now(), actor
        session.flush()
    return s
