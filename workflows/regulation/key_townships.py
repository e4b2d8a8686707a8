"""Key townships (Art. 35 para 2, O35.2): every year the city office picks a few townships whose
public-security problems are most prominent as key listed units. Each pick opens an accountability case that
enters at listing with the city committee as the listing body, so Art. 36 applies (the county names a
responsible leader and checks first; the city committee inspects and delists). The diagram
(``accountability_key_townships``) records the picks; this module turns them into cases and starts the
yearly selection."""

from __future__ import annotations

from sqlalchemy import select

from workflows.engine.actors import SYSTEM, Actor
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock
from workflows.engine.models import ProcessInstance
from workflows.engine.parts import Handler
from workflows.engine.records import Record
from workflows.regulation.accountability import open_child_case
from workflows.regulation.roles import org_of

SELECTION_PROCESS = "accountability_key_townships"


def selection_key(year: int) -> str:
    return f"重点督办-{year}"


def find_selection(engine: Engine, year: int) -> ProcessInstance | None:
    return engine.session.scalar(
        select(ProcessInstance).where(
            ProcessInstance.process_id == SELECTION_PROCESS,
            ProcessInstance.business_key == selection_key(year),
        )
    )


def start_selection(engine: Engine, year: int, actor: Actor = SYSTEM) -> ProcessInstance | None:
    """The city office's selection task for ``year``; None when it exists already or there is no city."""
    city = org_of(engine).city_code
    if city is None or find_selection(engine, year) is not None:
        return None
    return engine.start(
        SELECTION_PROCESS, business_key=selection_key(year), unit_code=city, data={"year": year}, actor=actor
    )


def _selected(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """One case per township picked; a code that is not a township is refused with the field it came from."""
    org = org_of(engine)
    picks = list(rec.detail.get("townships") or [])
    problems = {
        f"townships/{i}/unit_code": ["不是乡镇(街道)"]
        for i, pick in enumerate(picks)
        if getattr(org.nodes.get(str(pick.get("unit_code"))), "level", None) != "township"
    }
    if problems:
        raise FormInvalid(problems, {k: [("unit", None)] for k in problems})
    city = org.city_code
    year = int(rec.detail.get("year") or clock.now().year)
    for pick in picks:
        open_child_case(
            engine,
            inst,
            str(pick["unit_code"]),
            source="key_township",
            reporter=f"{org.nodes[city].name}综治办" if city else "市综治办",
            facts=f"{year}年度重点督办单位（第三十五条第二款）：{pick.get('problems', '')}",
            art31_items=[int(i) for i in pick.get("art31_items") or []],
            origin={"kind": "key_township", "selection": inst.id, "year": year},
            extra={"listing_body_code": city},
        )


KEY_TOWNSHIP_HANDLERS: dict[str, Handler] = {"key_townships_selected": _selected}
