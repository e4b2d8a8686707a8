"""The case list's figures — its pager total and the counts beside it (by level, county, status; overdue) —
without scanning every case in scope (issue 17: a page at 10,000 cases costs what it costs at 100).

* Without a search, they are sums of the engine's tallies (``workflows/engine/tally.py``: instances per
  process, unit, status and level, kept in each step's transaction): O(units × statuses × levels that have
  cases), exact. Units become counties here, through the regulation's organisation tree.
* The overdue count is the cases in scope whose earliest open deadline (``earliest_due_at``, written by
  each step) has passed, counted in ``ix_process_instance_process_due_unit`` alone: O(overdue cases) index
  entries, no row read. It cannot be a tally: a case becomes overdue by the clock moving, not by a write.
* With a search (``q``) the matches are already a set (``search_cases``), and the figures count over it:
  O(matches).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from sqlalchemy import case, func, select

from app.cases.services import CaseFilters, case_conditions, cases_query
from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.models import ProcessInstance
from workflows.engine.tally import Tally, tallies
from workflows.regulation.roles import org_of


def _scope(filters: CaseFilters, status: str | None = None) -> CaseFilters:
    """Filters for a count beside the list: the same procedure and search, and ``status``."""
    return CaseFilters(status=status, q=filters.q, hits=filters.hits, process_id=filters.process_id)


def _searching(filters: CaseFilters) -> bool:
    return filters.q is not None or filters.hits is not None


def _tallied(
    engine: Engine, actor: Actor, filters: CaseFilters, read: list[Tally] | None = None
) -> list[Tally]:
    """The tallies of the cases ``actor`` oversees under ``filters`` (procedure, status, county, level):
    read, or narrowed from ``read`` (every tally in the actor's scope, read once for a page)."""
    org = org_of(engine)
    if read is None:
        units = org.subtree({code for _, code in actor.grants})
        read = tallies(engine.session, filters.process_id, None if len(units) >= len(org.nodes) else units)
    status, level = filters.status, filters.level
    county = org.subtree({filters.county}) if filters.county else None
    return [
        t
        for t in read
        if (not status or t.status == status)
        and (not level or t.level == level)
        and (county is None or t.unit_code in county)
    ]


def overdue_count(engine: Engine, actor: Actor, filters: CaseFilters) -> int:
    """The cases under ``filters`` (its ``overdue`` aside) with an open task past its deadline."""
    conditions = case_conditions(engine, actor, replace(filters, overdue=True))
    query = select(func.count()).select_from(ProcessInstance).where(*conditions)
    return engine.session.scalar(query) or 0


def case_figures(engine: Engine, actor: Actor, filters: CaseFilters) -> tuple[int, dict[str, dict[str, int]]]:
    """The pager's total and the counts beside the list, from one read of the tallies."""
    read = None if _searching(filters) else _tallied(engine, actor, _scope(filters))
    return case_total(engine, actor, filters, read), case_counts(engine, actor, filters, read)


def case_total(engine: Engine, actor: Actor, filters: CaseFilters, read: list[Tally] | None = None) -> int:
    """How many cases the list has under ``filters`` (the pager's total)."""
    if _searching(filters):
        query = cases_query(engine, actor, filters)
        return engine.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if filters.overdue:
        return overdue_count(engine, actor, filters)
    total = sum(t.n for t in _tallied(engine, actor, filters, read))
    return total if filters.overdue is None else total - overdue_count(engine, actor, filters)


def case_counts(
    engine: Engine, actor: Actor, filters: CaseFilters, read: list[Tally] | None = None
) -> dict[str, dict[str, int]]:
    """The counts beside the list. Level, county and overdue count within the status filter (and the
    search); the status counts without it (their own filter). Neither narrows by the county or level
    chosen: each list of choices shows what choosing it would give."""
    if _searching(filters):
        return _counted(engine, actor, filters)
    org = org_of(engine)
    by_level: Counter[str] = Counter()
    by_county: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for t in _tallied(engine, actor, _scope(filters), read):
        by_status[t.status] += t.n
        if not filters.status or t.status == filters.status:
            by_level[t.level] += t.n
            by_county[org.county_of(t.unit_code) or "city"] += t.n
    overdue = overdue_count(engine, actor, _scope(filters, status=filters.status))
    return {
        "level": dict(by_level),
        "status": dict(by_status),
        "county": dict(by_county),
        "overdue": {"1": overdue},
    }


def _counted(engine: Engine, actor: Actor, filters: CaseFilters) -> dict[str, dict[str, int]]:
    """:func:`case_counts` over a search's matches: one grouped scan of them for level, county and overdue,
    one for the status counts."""
    session = engine.session
    base = cases_query(engine, actor, _scope(filters, status=filters.status)).subquery()
    level = base.c.summary["level"].as_string()
    late = base.c.earliest_due_at < engine.now()
    grouped = session.execute(
        select(level, base.c.unit_code, func.count(), func.sum(case((late, 1), else_=0))).group_by(
            level, base.c.unit_code
        )
    )
    by_level: Counter[str] = Counter()
    by_county: Counter[str] = Counter()
    overdue = 0
    for level_key, unit_code, n, late_n in grouped:
        by_level[str(level_key or "")] += n
        by_county[org_of(engine).county_of(unit_code) or "city"] += n
        overdue += int(late_n or 0)
    everything = cases_query(engine, actor, _scope(filters)).subquery()
    statuses = select(everything.c.status, func.count()).group_by(everything.c.status)
    by_status: dict[str, int] = {st: n for st, n in session.execute(statuses)}
    return {
        "level": dict(by_level),
        "status": by_status,
        "county": dict(by_county),
        "overdue": {"1": overdue},
    }
