"""Finding a case (issue 14, point 5): one row of searchable text per accountability case, and the search.

``case_search`` holds, per case, its business key (追究-2026-0001), the unit's name and code and its county's
name, the reporter, the leaders' names and positions and the text of the facts — from the written report the
case opened with, its registration (``register_report``) and its verification (``verify_case``). Chinese
has no spaces to split words on, so the text is indexed by trigrams (any three consecutive characters):

* SQLite: an FTS5 table ``case_search_fts`` with ``tokenize='trigram'`` (SQLite ≥ 3.34) over ``case_search``
  (external content, kept in step by triggers); a term of three characters or more is a ``MATCH`` phrase.
  A trigram index cannot find a term shorter than three characters (张三, 火灾): those are ``LIKE``
  conditions on ``case_search`` itself, one small row per case, never a scan of the working files.
* PostgreSQL: ``pg_trgm`` and a GIN ``gin_trgm_ops`` index on ``case_search.text``; every term is a
  ``LIKE '%term%'``, which the index can answer (a term of one or two characters has no trigram: PostgreSQL
  reads ``case_search``, still one small row per case). At 10,000 cases and the default
  ``random_page_cost`` (4) the planner still prefers reading the table (about 7 ms); with 1.1, usual on SSDs,
  or more cases, it takes the index (about 1 ms).

The text is stored in lower case and the terms are lowered, so Latin letters (CD01, a name in pinyin) match
either way without ``ILIKE``, which costs twice ``LIKE`` per row of Chinese text.

Both are created by the migration ``a7c3e9f2b6d1`` and, for ``create_all`` (the benchmarks), by the DDL
listeners below. Neither is part of the model's metadata: Alembic's comparison must skip them
(:func:`is_search_object`).

**Where the index is kept current.** :func:`refresh` rebuilds a case's row from the database; it runs after
every flush that wrote a ``started``, ``register_report`` or ``verify_case`` event to a case's working file
(the session listener at the end of this module). That flush is the one moment all three steps share
whoever takes them — the web pages, the API, the scheduler, scripts and tests — and the row is written in
the same transaction as the step, so it can never describe a step that was rolled back. The alternatives
each miss one: the BPMN states no fact (``record()``) when a registration completes, so a record handler
could not see it, and the case services open cases but do not complete tasks (the inbox and the API do).
:func:`backfill` indexes cases that existed before (``flask cases reindex``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, cast

from sqlalchemy import DDL, ForeignKey, Integer, Select, Table, Text, delete, event, insert, select
from sqlalchemy.engine import Result
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, UOWTransaction, mapped_column
from sqlalchemy.sql import column, table

from workflows.engine.models import Base, InstanceEvent, OrgUnit, ProcessInstance
from workflows.regulation.accountability import CASE_PROCESS


class CaseSearch(Base):
    """The searchable text of one accountability case (see the module's docstring)."""

    __tablename__ = "case_search"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


#: The steps whose submission feeds the text: the office's registration and verification of the report.
INDEXED_STEPS = ("register_report", "verify_case")
#: Keys of the report and of those submissions that are searched: who reported, the facts, the reasons.
TEXT_KEYS = ("reporter", "facts", "reason")
#: Lists of people in them, searched by each row's name and position (leaders; leaders referred, Art. 32).
PEOPLE_KEYS = ("leaders", "personal_measures")
#: The shortest term the trigram index can find; shorter terms are LIKE conditions (SQLite).
TRIGRAM = 3
MAX_TERMS = 8

FTS_TABLE = "case_search_fts"
PG_INDEX = "ix_case_search_text_trgm"
_fts = table(FTS_TABLE, column("rowid", Integer), column("text", Text))
_rows = cast(Table, CaseSearch.__table__)

SQLITE_DDL = (
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
    "text, content='case_search', content_rowid='instance_id', tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS case_search_ai AFTER INSERT ON case_search BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.instance_id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS case_search_ad AFTER DELETE ON case_search BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.instance_id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS case_search_au AFTER UPDATE ON case_search BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text) VALUES ('delete', old.instance_id, old.text); "
    f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (new.instance_id, new.text); END",
)
POSTGRESQL_DDL = (f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON case_search USING gin (text gin_trgm_ops)",)

for _statement in SQLITE_DDL:
    event.listen(_rows, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
event.listen(_rows, "before_drop", DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"))
event.listen(
    _rows, "before_create", DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql")
)
for _statement in POSTGRESQL_DDL:
    event.listen(_rows, "after_create", DDL(_statement).execute_if(dialect="postgresql"))


def is_search_object(name: str | None) -> bool:
    """Whether a database object is the search engine's own (the FTS5 table and its shadow tables on SQLite,
    the trigram index on PostgreSQL): not in the model's metadata, so Alembic's comparison skips them."""
    return bool(name) and (str(name).startswith(FTS_TABLE) or name == PG_INDEX)


# -- the text -----------------------------------------------------------------------------------------------
def _strings(data: Mapping[str, Any]) -> list[str]:
    found = [str(data[key]) for key in TEXT_KEYS if isinstance(data.get(key), str)]
    for key in PEOPLE_KEYS:
        people = data.get(key)
        for person in people if isinstance(people, list) else []:
            if isinstance(person, Mapping):
                found += [
                    str(person[k]) for k in ("name", "position", "facts") if isinstance(person.get(k), str)
                ]
    return found


def report_of(state_json: str | None) -> dict[str, Any]:
    """The written report a case was opened with: the start data of its workflow (the root task's data in
    the engine's state JSON, ``workflows/engine/deploy/serializer.py``). The report is kept nowhere else
    until the office registers it; anything unreadable is no report."""
    try:
        state = json.loads(state_json or "")
        data = state["tasks"][state["root"]]["data"]
    except (ValueError, KeyError, TypeError):
        return {}
    return dict(data) if isinstance(data, dict) else {}


def case_text(
    business_key: str,
    unit: str,
    county: str | None,
    report: Mapping[str, Any],
    steps: Iterable[Mapping[str, Any]],
) -> str:
    """The searchable text: each piece once, on a line of its own, in the order a reader meets them."""
    pieces = [business_key, unit, county or "", *_strings(report)]
    for data in steps:
        pieces += _strings(data)
    seen: dict[str, None] = {}
    for piece in pieces:
        text = " ".join(piece.split())
        if text:
            seen.setdefault(text, None)
    return "\n".join(seen).lower()


class _Units:
    """Unit names and counties, read once per refresh (a few hundred rows)."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.parent_code))
        self.nodes = {code: (name, level, parent) for code, name, level, parent in rows}

    def label(self, code: str) -> tuple[str, str | None]:
        """``(unit name and code, its county's name)``; no county for the city and its direct units."""
        name, _level, _parent = self.nodes.get(code, (code, "", None))
        current: str | None = code
        while current is not None and current in self.nodes:
            node_name, level, parent = self.nodes[current]
            if level == "county":
                return f"{name} {code}", node_name
            current = parent
        return f"{name} {code}", None


def texts(session: Session, instance_ids: Iterable[int], units: _Units | None = None) -> dict[int, str]:
    """The searchable text of each accountability case among ``instance_ids`` (other instances: none)."""
    ids = sorted(set(instance_ids))
    if not ids:
        return {}
    units = units or _Units(session)
    cases = session.execute(
        select(
            ProcessInstance.id,
            ProcessInstance.business_key,
            ProcessInstance.unit_code,
            ProcessInstance.state_json,
        ).where(ProcessInstance.id.in_(ids), ProcessInstance.process_id == CASE_PROCESS)
    ).all()
    steps: dict[int, list[Mapping[str, Any]]] = {}
    for instance_id, detail in session.execute(
        select(InstanceEvent.instance_id, InstanceEvent.detail)
        .where(
            InstanceEvent.instance_id.in_([c.id for c in cases]),
            InstanceEvent.kind == "task_completed",
            InstanceEvent.element_id.in_(INDEXED_STEPS),
        )
        .order_by(InstanceEvent.id)
    ):
        data = (detail or {}).get("data")
        if isinstance(data, Mapping):
            steps.setdefault(instance_id, []).append(data)
    result = {}
    for case in cases:
        unit, county = units.label(case.unit_code)
        result[case.id] = case_text(
            case.business_key, unit, county, report_of(case.state_json), steps.get(case.id, [])
        )
    return result


def refresh(session: Session, instance_ids: Iterable[int], units: _Units | None = None) -> int:
    """Rewrite the rows of these cases from the database (Core statements: safe inside a flush); returns
    how many cases were indexed. The FTS5 table follows through its triggers."""
    ids = sorted(set(instance_ids))
    if not ids:
        return 0
    rows = texts(session, ids, units)
    session.execute(delete(_rows).where(_rows.c.instance_id.in_(ids)))
    if rows:
        session.execute(insert(_rows), [{"instance_id": i, "text": t} for i, t in rows.items()])
    return len(rows)


def backfill(session: Session, batch: int = 500) -> int:
    """Index every accountability case (those opened before the migration, or to repair); the caller
    commits."""
    units = _Units(session)
    ids = list(session.scalars(select(ProcessInstance.id).where(ProcessInstance.process_id == CASE_PROCESS)))
    return sum(refresh(session, ids[i : i + batch], units) for i in range(0, len(ids), batch))


# -- the search ---------------------------------------------------------------------------------------------
def search_terms(q: str | None) -> list[str]:
    """The words of a query (split on spaces, the full-width one too), each once, at most ``MAX_TERMS``."""
    terms = dict.fromkeys(t[:100] for t in (q or "")[:200].lower().split())
    return list(terms)[:MAX_TERMS]


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def matching_ids(dialect: str, q: str | None) -> Select[Any] | None:
    """The ids of the cases whose text holds every term of ``q`` (None: no terms, no condition).

    SQLite: terms of three characters or more are one FTS5 ``MATCH`` of quoted phrases (the trigram index);
    shorter ones, which no trigram index can find, ``LIKE`` on ``case_search``. PostgreSQL: ``LIKE`` for
    every term, answered by the ``gin_trgm_ops`` index. Other databases: ``LIKE``."""
    terms = search_terms(q)
    if not terms:
        return None
    if dialect == "sqlite":
        long = [t for t in terms if len(t) >= TRIGRAM]
        short = [t for t in terms if len(t) < TRIGRAM]
        fts = select(_fts.c.rowid).where(_fts.c.text.match(" AND ".join(_phrase(t) for t in long)))
        if not short:
            return fts
        ids = select(CaseSearch.instance_id).where(
            *(CaseSearch.text.like(_like(t), escape="\\") for t in short)
        )
        return ids.where(CaseSearch.instance_id.in_(fts)) if long else ids
    return select(CaseSearch.instance_id).where(*(CaseSearch.text.like(_like(t), escape="\\") for t in terms))


# -- keeping it current -------------------------------------------------------------------------------------
_PENDING = "case_search_pending"


def _feeds(kind: str | None, element_id: str | None) -> bool:
    return kind == "started" or (kind == "task_completed" and element_id in INDEXED_STEPS)


def _feeds_index(obj: object) -> bool:
    return isinstance(obj, InstanceEvent) and _feeds(obj.kind, obj.element_id)


@event.listens_for(Session, "after_flush")
def _note_cases(session: Session, _flush: UOWTransaction) -> None:
    """Which cases this flush gave a working-file event that feeds the text (read before the flush ends)."""
    ids = {obj.instance_id for obj in session.new if _feeds_index(obj)}
    if ids:
        session.info.setdefault(_PENDING, set()).update(ids)


@event.listens_for(Session, "after_flush_postexec")
def _refresh_cases(session: Session, _flush: UOWTransaction) -> None:
    """Rewrite their rows once the flush has written the events (same transaction)."""
    ids = session.info.pop(_PENDING, None)
    if ids:
        refresh(session, ids)


@event.listens_for(Session, "do_orm_execute")
def _refresh_after_core_insert(state: ORMExecuteState) -> Result[Any] | None:
    """The same for events inserted as rows (the engine writes a step's events with one executemany:
    ``workflows/engine/step_events.py``): run the insert, then rewrite the cases it fed."""
    statement = state.statement
    if not (state.is_insert and getattr(statement, "table", None) is InstanceEvent.__table__):
        return None
    params = state.parameters
    rows: list[Mapping[str, Any]] = list(params) if isinstance(params, list) else [cast(dict, params or {})]
    ids = {row["instance_id"] for row in rows if _feeds(row.get("kind"), row.get("element_id"))}
    if not ids:
        return None
    result = state.invoke_statement()
    refresh(state.session, ids)
    return result
