"""The grade rule of a year's indicator system, as data (Art. 19, 20; O19.1, O20.2).

Art. 19 leaves the standard and the indicators to the party committee and government, year by year, and
Art. 20 names the three grades. A set's ``thresholds`` says when a unit is proposed 不合格 or 优秀, in this
small vocabulary and nothing else (every other key is refused when the set is saved)::

    {
      "unqualified": {"below_total": 60, "below": {"letters": 60}},
      "excellent":   {"min_total": 90, "min_each": 80, "min": {"overall": 85}}
    }

* ``unqualified`` (不合格) — proposed when **any** of its conditions holds; checked first:

  - ``below_total``: the total is below this number;
  - ``below``: ``{indicator code: percent}``, that indicator's score is below this percentage of its
    maximum score (for a 100-point indicator: below this many points).

* ``excellent`` (优秀) — proposed when **all** of its conditions hold and the unit is not unqualified:

  - ``min_total``: the total is at least this number;
  - ``min_each``: every indicator's score is at least this percentage of its maximum;
  - ``min``: ``{indicator code: percent}``, that indicator's score is at least this percentage of its maximum.

* ``qualified`` (合格) — everything else; it has no conditions of its own.

Both grades need at least one condition, every number is 0–100 and every code names an indicator of the
set. The **total** is Σ weight × score / max score over the set's indicators (the weights sum to 100, so the
total is 0–100), rounded to one decimal before it is compared, as the assessment reports it.

This module is pure: :func:`threshold_problems` checks a rule, :func:`grade` applies one and says why, in
Chinese, for the reviewers (joint meeting, committee) who see the proposal.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

GRADE_KEYS: dict[str, tuple[str, ...]] = {
    "unqualified": ("below_total", "below"),
    "excellent": ("min_total", "min_each", "min"),
}
GRADE_LABELS = {"excellent": "优秀", "qualified": "合格", "unqualified": "不合格"}
_PER_INDICATOR = ("below", "min")


@dataclass(frozen=True)
class Scored:
    """One indicator's counted score for a unit."""

    code: str
    name: str
    score: float
    max_score: float
    weight: float

    @property
    def rate(self) -> float:
        """The score as a percentage of the indicator's maximum (得分率)."""
        return self.score / self.max_score * 100

    @property
    def points(self) -> float:
        """What the indicator adds to the total."""
        return self.weight * self.score / self.max_score


def num(value: float) -> str:
    """92.5 → "92.5", 90.0 → "90" (labels and reasons)."""
    return f"{round(value, 1):g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def threshold_problems(thresholds: Any, codes: Collection[str]) -> dict[str, list[str]]:
    """What is wrong with ``thresholds`` for a set holding the indicators ``codes``; keys are paths such as
    ``thresholds/excellent/min/overall`` (empty when the rule is usable)."""
    problems: dict[str, list[str]] = {}

    def add(path: str, message: str) -> None:
        problems.setdefault(path, []).append(message)

    def percent(path: str, value: Any) -> None:
        if not _is_number(value) or not 0 <= value <= 100:
            add(path, "须为0至100之间的数字")

    if not isinstance(thresholds, Mapping):
        return {"thresholds": ['须为对象：{"unqualified": {...}, "excellent": {...}}']}
    for extra in sorted(set(thresholds) - set(GRADE_KEYS)):
        add(f"thresholds/{extra}", "未知的等次（只能是 unqualified 不合格、excellent 优秀）")
    for grade_key, allowed in GRADE_KEYS.items():
        where = f"thresholds/{grade_key}"
        rule = thresholds.get(grade_key)
        if not isinstance(rule, Mapping):
            add(where, f"须规定{GRADE_LABELS[grade_key]}的条件")
            continue
        for extra in sorted(set(rule) - set(allowed)):
            add(f"{where}/{extra}", f"未知的条件（可用：{'、'.join(allowed)}）")
        conditions = 0
        for key in allowed:
            if key not in rule:
                continue
            value = rule[key]
            if key in _PER_INDICATOR:
                if not isinstance(value, Mapping):
                    add(f"{where}/{key}", "须为 {指标代码: 得分率} 对象")
                    continue
                for code, limit in value.items():
                    if code not in codes:
                        add(f"{where}/{key}/{code}", f"指标“{code}”不在本指标体系中")
                    percent(f"{where}/{key}/{code}", limit)
                    conditions += 1
            else:
                percent(f"{where}/{key}", value)
                conditions += 1
        if conditions == 0:
            add(where, f"{GRADE_LABELS[grade_key]}至少需要一个条件")
    return problems


def total_of(scored: list[Scored]) -> float:
    return round(sum(s.points for s in scored), 1)


def grade(scored: list[Scored], thresholds: Mapping[str, Any]) -> tuple[float, str, list[str]]:
    """The total, the proposed grade and the reasons for it (Chinese, one condition per line)."""
    total = total_of(scored)
    by_code = {s.code: s for s in scored}
    unqualified = thresholds.get("unqualified", {})
    failed: list[str] = []
    if "below_total" in unqualified and total < unqualified["below_total"]:
        failed.append(f"总分{num(total)}分，低于不合格线{num(unqualified['below_total'])}分")
    for code, limit in unqualified.get("below", {}).items():
        s = by_code.get(code)
        if s is not None and s.rate < limit:
            failed.append(f"{_label(s)}，低于不合格线{_limit(s, limit)}")
    if failed:
        return total, "unqualified", failed

    excellent = thresholds.get("excellent", {})
    met: list[str] = []
    missed: list[str] = []
    if "min_total" in excellent:
        line = f"总分{num(total)}分，%s优秀线{num(excellent['min_total'])}分"
        if total >= excellent["min_total"]:
            met.append(line % "达到")
        else:
            missed.append(line % "低于")
    if "min_each" in excellent:
        low = [s for s in scored if s.rate < excellent["min_each"]]
        missed.extend(f"{_label(s)}，低于优秀要求的{_limit(s, excellent['min_each'])}" for s in low)
        if not low:
            met.append(f"各项指标得分率均不低于{num(excellent['min_each'])}%")
    for code, limit in excellent.get("min", {}).items():
        s = by_code.get(code)
        if s is not None:
            verdict = "达到" if s.rate >= limit else "低于"
            (met if s.rate >= limit else missed).append(f"{_label(s)}，{verdict}优秀要求的{_limit(s, limit)}")
    if not missed:
        return total, "excellent", met
    return (
        total,
        "qualified",
        [f"总分{num(total)}分，未触及不合格条件", *(f"未评为优秀：{m}" for m in missed)],
    )


def _limit(s: Scored, percent: float) -> str:
    """A percentage limit as the reader knows it: points for a 100-point indicator, else a percentage."""
    return f"{num(percent)}分" if s.max_score == 100 else f"{num(percent)}%"


def _label(s: Scored) -> str:
    if s.max_score == 100:
        return f"“{s.name}”得分{num(s.score)}分"
    return f"“{s.name}”得分{num(s.score)}分（满分{num(s.max_score)}分，得分率{num(s.rate)}%）"
