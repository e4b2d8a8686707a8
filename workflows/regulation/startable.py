"""Procedures a person starts: Art. 42 lets every county and city-direct unit make its own supporting rules,
so a designer may deploy a procedure that people then run, not only the regulation's built-in ones.

A designer marks a process as startable, and by which roles, with a property on the process element itself::

    <bpmn:process id="county_mediation" name="矛盾纠纷排查化解" isExecutable="true">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="startable_by" value="office_staff,office_director"/>
      </spiffworkflow:properties></bpmn:extensionElements>

(comma-separated role ids of :data:`roles.ROLES`); its start form stays where the engine reads it, the start
event's ``formJsonSchemaFilename``. Deploying a ``startable_by`` that names a role that does not exist is
refused (:func:`check_startable`, handed to the engine by ``wiring.regulation_parts``).

Who may start what is read from the newest deployed version (:func:`catalog`). A procedure without rules of
its own (:func:`start_procedure`) belongs to the starter's unit — a unit where they hold one of the roles, the
one they name if they have several, as an office starts an inspection for its committee (``starting.py``) —
and is numbered per procedure, year and unit: ``<short name>-2026-411302-0001``. The built-in procedures keep
their own start rules (``app/processes/services.py`` hands them over). Plain functions; nothing commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.counters import next_business_key
from workflows.engine.deploy.definitions import latest_version
from workflows.engine.deploy.forms import validate_submission
from workflows.engine.errors import FormInvalid, NotAuthorized, NotFound
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import ProcessInstance
from workflows.engine.process_properties import ProcessDeclaration, version_declarations
from workflows.engine.reading import start_form
from workflows.regulation.roles import ROLES, OrgTree, org_of

STARTABLE_PROPERTY = "startable_by"
ARTICLE_PROPERTY = "article"
KEY_LABEL_MAX = 8  # characters of the procedure's name in its business keys


def role_ids(value: str) -> list[str]:
    """``"office_staff, office_director"`` → the role ids, in order, without blanks or repeats."""
    found: list[str] = []
    for part in value.split(","):
        role = part.strip()
        if role and role not in found:
            found.append(role)
    return found


def check_startable(declaration: ProcessDeclaration) -> None:
    """Deploy time: ``startable_by`` names roles that exist (the engine's ``check_process``)."""
    raw = declaration.properties.get(STARTABLE_PROPERTY)
    if raw is None:
        return
    label = f"流程“{declaration.name or declaration.process_id}”（{declaration.process_id}）"
    roles = role_ids(raw)
    if not roles:
        raise ValueError(
            f"{label}的 startable_by 为空：填写可以发起它的角色，如 office_staff,office_director"
        )
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise ValueError(
            f"{label}的 startable_by 含不存在的角色：{'、'.join(unknown)}；可用的角色：{', '.join(ROLES)}"
        )


@dataclass(frozen=True)
class Startable:
    """A procedure people may start, as deployed in the newest version."""

    process_id: str
    name: str
    roles: tuple[str, ...]
    articles: tuple[str, ...]  # the article citations on its elements (``article`` properties)
    version_id: int
    version_number: int

    def may_start(self, actor: Actor) -> bool:
        return any(role in self.roles for role, _org in actor.grants)


def catalog(engine: Engine) -> list[Startable]:
    """Every startable procedure of the newest deployed version, by name (none before a first deploy)."""
    version = latest_version(engine.session, required=False)
    if version is None:
        return []
    found = []
    for declaration in version_declarations(engine.session, version).values():
        raw = declaration.properties.get(STARTABLE_PROPERTY)
        if raw is None or declaration.process_id not in version.process_ids:
            continue
        found.append(
            Startable(
                declaration.process_id,
                declaration.name or declaration.process_id,
                tuple(r for r in role_ids(raw) if r in ROLES),
                declaration.element_properties.get(ARTICLE_PROPERTY, ()),
                version.id,
                version.number,
            )
        )
    return sorted(found, key=lambda s: (s.name, s.process_id))


def startable_for(engine: Engine, actor: Actor) -> list[Startable]:
    """What ``actor`` may start: the procedures whose ``startable_by`` names a role they hold."""
    return [s for s in catalog(engine) if s.may_start(actor)]


def find(engine: Engine, process_id: str) -> Startable:
    """The startable procedure ``process_id``; :class:`NotFound` when it is not deployed or not startable."""
    for startable in catalog(engine):
        if startable.process_id == process_id:
            return startable
    raise NotFound(f"no deployed procedure {process_id!r} may be started")


def allowed(engine: Engine, actor: Actor, process_id: str) -> Startable:
    """``find``, and :class:`NotAuthorized` unless ``actor`` holds one of its roles."""
    startable = find(engine, process_id)
    if not startable.may_start(actor):
        raise NotAuthorized(f"{process_id} may be started by {', '.join(startable.roles)} only")
    return startable


def starter_units(org: OrgTree, actor: Actor, startable: Startable) -> list[str]:
    """The units where ``actor`` holds one of the procedure's roles, by code: where it may belong."""
    return sorted({code for role, code in actor.grants if role in startable.roles and code in org.nodes})


def key_label(startable: Startable) -> str:
    """The short name in a business key: the name's last part (after ``：``), letters and digits only."""
    tail = startable.name.split("：")[-1]
    label = re.sub(r"[\W_]+", "", tail)[:KEY_LABEL_MAX]
    return label or startable.process_id


def owner_unit(org: OrgTree, actor: Actor, startable: Startable, unit_code: str | None) -> str | None:
    """The unit a new instance belongs to: the one named, which must be one of the starter's units
    (:class:`NotAuthorized` otherwise), or their only one; None when they have several and named none."""
    units = starter_units(org, actor, startable)
    if unit_code and unit_code not in units:
        raise NotAuthorized(f"you hold none of {', '.join(startable.roles)} at {unit_code}")
    return unit_code or (units[0] if len(units) == 1 else None)


UNIT_REQUIRED = "required: you may start it for several units"


def start_procedure(
    engine: Engine,
    actor: Actor,
    startable: Startable,
    data: Mapping[str, Any],
    unit_code: str | None = None,
) -> ProcessInstance:
    """Start a procedure without rules of its own for the starter's unit (:func:`owner_unit`), its data
    checked against its start form. Every problem — the unit and the form's fields — comes back at once in
    :class:`FormInvalid`."""
    if not startable.may_start(actor):
        raise NotAuthorized(f"{startable.process_id} may be started by {', '.join(startable.roles)} only")
    unit = owner_unit(org_of(engine), actor, startable, unit_code)
    errors: dict[str, list[str]] = {} if unit else {"unit_code": [UNIT_REQUIRED]}
    codes: dict[str, list[tuple[str, object]]] = {} if unit else {"unit_code": [("unit", None)]}
    clean: dict[str, Any] = {}
    try:
        clean = validate_submission(start_form(engine, startable.process_id), data)
    except FormInvalid as exc:
        errors.update(exc.errors)
        codes.update(exc.codes)
    if errors or not unit:
        raise FormInvalid(errors, codes)
    year = to_cst(engine.now()).year
    key = next_business_key(engine.session, startable.process_id, f"{key_label(startable)}-{year}-{unit}-")
    return engine.start(
        startable.process_id,
        business_key=key,
        unit_code=unit,
        data={"year": year, **clean},
        actor=actor,
    )
