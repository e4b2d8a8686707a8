"""Grading by the year's indicator system (Art. 19, 20; O19.1, O20.2) and the script helpers of the cycle.

* :func:`propose_grades` — scores → total, proposed grade and the reasons, per unit, by the committee's set
  for the year (:mod:`workflows.regulation.indicators`; the rule's vocabulary is
  :mod:`workflows.regulation.indicator_rules`). The scores name indicators by code
  (``forms/annual_assessment.json``: ``scores`` rows ``{indicator, score, basis}``): unknown, repeated or
  missing indicators and scores outside 0…max are refused as :class:`FormInvalid` keyed ``scores/N/…``.
* A unit whose responsibility letter for the year is not signed (``responsibility_letter.status`` other
  than ``signed``, or no letter at all) gets 0 on every ``letter`` indicator, whatever was entered, with the
  reason 未签订目标管理责任书 (issue 11, item 9: it cannot earn the letter's score).
* :func:`indicator_helpers` — the same as plain-JSON script helpers for the BPMN, handed to the engine by
  ``workflows/regulation/wiring.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime.legal_time import to_cst
from workflows.regulation.annual_models import ResponsibilityLetter
from workflows.regulation.indicator_models import UNSIGNED_LETTER, IndicatorSet
from workflows.regulation.indicator_rules import Scored, grade, num
from workflows.regulation.indicators import (
    CYCLE_ACTOR,
    freeze,
    indicator_set_for,
    is_number,
    preview_set,
    set_as_dict,
    unit_name,
)


def _letter_signed(session: Session, year: int, unit_codes: list[str]) -> set[str]:
    rows = session.execute(
        select(ResponsibilityLetter.unit_code).where(
            ResponsibilityLetter.year == year,
            ResponsibilityLetter.unit_code.in_(unit_codes),
            ResponsibilityLetter.status == "signed",
        )
    )
    return {code for (code,) in rows}


def _score_problems(
    s: IndicatorSet, scores: Any, who: str, problems: dict[str, list[str]]
) -> dict[str, tuple[float, str]]:
    """The entered scores by indicator code (score, basis); problems added under ``scores/N/…``."""

    def add(path: str, message: str) -> None:
        problems.setdefault(path, []).append(f"{who}：{message}" if who else message)

    indicators = {i.code: i for i in s.indicators}
    known = "、".join(f"{i.code}（{i.name}）" for i in s.indicators)
    entered: dict[str, tuple[float, str]] = {}
    named: set[str] = set()
    if not isinstance(scores, list):
        add("scores", "须为评分列表")
        return entered
    for n, row in enumerate(scores):
        if not isinstance(row, Mapping):
            add(f"scores/{n}", "须为 {indicator, score, basis} 对象")
            continue
        code, score = str(row.get("indicator")), row.get("score")
        indicator = indicators.get(code) if isinstance(row.get("indicator"), str) else None
        if indicator is None:
            add(f"scores/{n}/indicator", f"未知指标“{code}”，{s.year}年的指标为：{known}")
            continue
        if code in named:
            add(f"scores/{n}/indicator", f"指标“{code}”重复评分")
            continue
        named.add(code)
        if not is_number(score) or not 0 <= score <= indicator.max_score:
            add(f"scores/{n}/score", f"“{indicator.name}”的得分须在0至{num(indicator.max_score)}之间")
            continue
        basis = row.get("basis")
        entered[code] = (float(score), basis if isinstance(basis, str) else "")
    missing = [i for i in s.indicators if i.code not in named]
    if missing:
        add("scores", "缺少指标的得分：" + "、".join(f"{i.code}（{i.name}）" for i in missing))
    return entered


def check_scores(session: Session, year: int, committee_code: str, scores: Any) -> None:
    """Refuse (:class:`FormInvalid`) the scores of one unit that name unknown, repeated or missing
    indicators or exceed an indicator's maximum — what :func:`propose_grades` would refuse."""
    problems: dict[str, list[str]] = {}
    _score_problems(indicator_set_for(session, year, committee_code), scores, "", problems)
    if problems:
        raise FormInvalid(problems)


def propose_grades(
    session: Session, year: int, committee_code: str, assessments: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The proposed grade of each assessed unit by the committee's set for ``year``.

    ``assessments``: ``[{"unit_code": str, "scores": [{"indicator": code, "score": number, "basis": str}]}]``
    (other keys are passed through). Answer, per unit sorted by code: ``{"unit_code", "unit_name", "scores",
    "total", "grade", "reasons"}`` where each score row is ``{"indicator", "name", "score" (counted),
    "entered", "max_score", "weight", "points", "basis"}`` in the set's order, ``grade`` is excellent /
    qualified / unqualified and ``reasons`` explain it in Chinese."""
    s = indicator_set_for(session, year, committee_code)
    problems: dict[str, list[str]] = {}
    units: list[tuple[Mapping[str, Any], str, dict[str, tuple[float, str]]]] = []
    seen: set[str] = set()
    for a in assessments:
        code = a.get("unit_code") if isinstance(a, Mapping) else None
        if not isinstance(code, str) or not code or code in seen:
            problems.setdefault("unit_code", []).append(f"被考核单位缺失或重复：{code!r}")
            continue
        seen.add(code)
        name = unit_name(session, code)
        units.append((a, name, _score_problems(s, a.get("scores"), f"{name}（{code}）", problems)))
    if problems:
        raise FormInvalid(problems)
    signed = _letter_signed(session, year, sorted(seen))
    proposals = []
    for a, name, entered in sorted(units, key=lambda u: str(u[0]["unit_code"])):
        unit_code = str(a["unit_code"])
        reasons: list[str] = []
        rows: list[dict[str, Any]] = []
        scored: list[Scored] = []
        for i in s.indicators:
            score, basis = entered[i.code]
            counted = score
            if i.source == "letter" and unit_code not in signed:
                counted = 0.0
                reasons.append(UNSIGNED_LETTER)
            one = Scored(i.code, i.name, counted, i.max_score, i.weight)
            scored.append(one)
            rows.append(
                {
                    "indicator": i.code,
                    "name": i.name,
                    "score": counted,
                    "entered": score,
                    "max_score": i.max_score,
                    "weight": i.weight,
                    "points": round(one.points, 2),
                    "basis": basis,
                }
            )
        total, proposed, why = grade(scored, s.thresholds)
        proposals.append(
            {
                **a,
                "unit_code": unit_code,
                "unit_name": name,
                "scores": rows,
                "total": total,
                "grade": proposed,
                "reasons": [*dict.fromkeys(reasons), *why],
            }
        )
    return proposals


# -- script helpers (BPMN) --------------------------------------------------------------------------------


def indicator_helpers(session: Session | None) -> dict[str, Callable[..., Any]]:
    """Plain-JSON helpers for the annual cycle's scripts, over the engine's session:

    * ``propose_grades(year, committee_code, assessments)`` → the list :func:`propose_grades` answers;
    * ``freeze_indicators(year, committee_code)`` → the frozen set as :func:`set_as_dict` answers, with
      instants as ISO 8601 strings (frozen by ``annual_cycle`` at the engine's clock);
    * ``check_scores(year, committee_code, scores)`` → ``True``, or :class:`FormInvalid` for one unit's
      scores (for the scoring step's post-script, so the office that entered them hears of it);
    * ``indicators_of(year, committee_code)`` → the set's indicators (code, name, weight, max score,
      order, source), nothing stored.

    Without a session (deploy checks only) the names exist and calling one raises."""

    def need() -> Session:
        if session is None:
            raise RuntimeError("indicator helpers need the engine's database session (build_engine)")
        return session

    def propose(year: int, committee_code: str, assessments: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return propose_grades(need(), int(year), str(committee_code), list(assessments))

    def freeze_indicators(year: int, committee_code: str) -> dict[str, Any]:
        s = freeze(need(), int(year), str(committee_code), CYCLE_ACTOR)
        return _json(set_as_dict(need(), s))

    def check(year: int, committee_code: str, scores: list[Mapping[str, Any]]) -> bool:
        check_scores(need(), int(year), str(committee_code), scores)
        return True

    def indicators_of(year: int, committee_code: str) -> list[dict[str, Any]]:
        return list(preview_set(need(), int(year), str(committee_code))["indicators"])

    return {
        "propose_grades": propose,
        "freeze_indicators": freeze_indicators,
        "check_scores": check,
        "indicators_of": indicators_of,
    }


def _json(data: dict[str, Any]) -> dict[str, Any]:
    return {k: to_cst(v).isoformat() if isinstance(v, datetime) else v for k, v in data.items()}
