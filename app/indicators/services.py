"""Indicator-set use cases (Art. 19, O19.1) for the pages and the API: who may read and edit a committee's
set, read it, save the office's edit. Plain functions over the engine's session; the caller commits.

* A committee's set is the city's or a county's (the committee that assesses the units below it).
* Editing: the office (``office_director``, ``office_staff``) of that committee's own unit — the city office
  for the city's set, a county office for its county's. Art. 19 gives each level its own standard.
* Reading: anyone holding a role at that unit or above it (a county's office, the city's supervisors and
  office); a township's leaders see no committee's set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import NotAuthorized, NotFound
from workflows.regulation.indicator_models import IndicatorSet
from workflows.regulation.indicators import NoIndicatorSet, preview_set, save_set, set_as_dict
from workflows.regulation.roles import OrgNode, org_of

COMMITTEE_LEVELS = ("city", "county")
EDIT_ROLES = ("office_director", "office_staff")


def committee(engine: Engine, code: str) -> OrgNode:
    """The unit whose committee owns a set; :class:`NotFound` for an unknown unit or one without a committee
    that assesses others (a township, a city-direct unit)."""
    node = org_of(engine).nodes.get(code)
    if node is None or node.level not in COMMITTEE_LEVELS:
        raise NotFound(f"no committee assesses units under {code!r} (a city or county code is expected)")
    return node


def can_edit(actor: Actor, committee_code: str) -> bool:
    return any(actor.holds(role, committee_code) for role in EDIT_ROLES)


def can_read(engine: Engine, actor: Actor, committee_code: str) -> bool:
    return org_of(engine).can_oversee(actor, committee_code)


def _check_read(engine: Engine, actor: Actor, committee_code: str) -> OrgNode:
    node = committee(engine, committee_code)
    if not can_read(engine, actor, committee_code):
        raise NotAuthorized(f"{actor.user_id} may not see the indicator sets of {node.name}")
    return node


def read_set(engine: Engine, actor: Actor, year: int, committee_code: str) -> dict[str, Any]:
    """The year's set, or the copy of the nearest earlier year's that the year would start from
    (``stored`` false); :class:`NoIndicatorSet` when there is neither."""
    _check_read(engine, actor, committee_code)
    return preview_set(engine.session, year, committee_code)


def read_or_blank(engine: Engine, actor: Actor, year: int, committee_code: str) -> dict[str, Any]:
    """As :func:`read_set`, but a committee with no set at all gets an empty one to start from (the page)."""
    node = _check_read(engine, actor, committee_code)
    try:
        return preview_set(engine.session, year, committee_code)
    except NoIndicatorSet:
        return {
            "id": None,
            "year": year,
            "committee_code": committee_code,
            "committee_name": node.name,
            "stored": False,
            "copied_from_year": None,
            "frozen": False,
            "frozen_at": None,
            "frozen_by": None,
            "thresholds": {},
            "indicators": [],
        }


def save(
    engine: Engine, actor: Actor, year: int, committee_code: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    """The office's edit: the whole set (indicators and thresholds) replaces the year's."""
    node = committee(engine, committee_code)
    if not can_edit(actor, committee_code):
        raise NotAuthorized(f"only the office of {node.name} edits its indicator sets")
    stored = save_set(engine.session, year, committee_code, data, actor.user_id, now=engine.now())
    return set_as_dict(engine.session, stored)


@dataclass(frozen=True)
class SetRow:
    year: int
    committee_code: str
    committee_name: str
    indicators: int
    frozen: bool
    editable: bool


def visible_sets(engine: Engine, actor: Actor) -> list[SetRow]:
    """Every stored set the actor may read, newest year first, then by committee code."""
    org = org_of(engine)
    rows = engine.session.scalars(
        select(IndicatorSet)
        .options(selectinload(IndicatorSet.indicators))
        .order_by(IndicatorSet.year.desc(), IndicatorSet.committee_code)
    )
    return [
        SetRow(
            s.year,
            s.committee_code,
            org.nodes[s.committee_code].name if s.committee_code in org.nodes else s.committee_code,
            len(s.indicators),
            s.frozen,
            can_edit(actor, s.committee_code) and not s.frozen,
        )
        for s in rows
        if can_read(engine, actor, s.committee_code)
    ]


def editable_committees(engine: Engine, actor: Actor) -> list[OrgNode]:
    """The committees whose sets the actor's office edits."""
    org = org_of(engine)
    codes = sorted({code for role, code in actor.grants if role in EDIT_ROLES})
    return [org.nodes[c] for c in codes if c in org.nodes and org.nodes[c].level in COMMITTEE_LEVELS]
