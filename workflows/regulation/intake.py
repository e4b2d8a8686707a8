"""Art. 38 (O38.1): which office a written report about a unit belongs to, and forwarding it there.

A report is handled by the office one level above the unit it is about (相应的上一级, DOMAIN.md,
"Organisation"): a township's county office, a county's or a city-direct unit's city office — the office the
accountability intake's lanes (``office_staff@upper``, ``office_director@upper``) resolve to for that unit.
So a case opened against the unit the report is about lands at the competent office by itself. A report
received by another office is forwarded: the case is still opened against its subject, and the forwarding
(who received it, at which office, which office it went to, when) goes on the case's working file as a
``report_forwarded`` event.

Used by the member-unit report (``workflows.regulation.annual``) and by opening a case on the web page or
through the API (``app.cases.services.open_case``). Plain functions; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.models import ProcessInstance
from workflows.regulation.roles import OrgNode, OrgTree

ARTICLE = "Art. 38 (O38.1)"
FORWARDED = "report_forwarded"
OFFICE_ROLES = frozenset({"office_staff", "office_director"})


def competent_office(org: OrgTree, unit_code: str) -> str:
    """The office competent for a report about ``unit_code``: the one level above it (``OrgTree.upper``)."""
    return org.upper(unit_code)


def units_in_competence(org: OrgTree, office_code: str) -> list[OrgNode]:
    """The units whose competent office is ``office_code``, sorted by code: a county's townships (and county
    departments), the city's counties and city-direct units. A unit is never in its own office's competence:
    the city, its own upper level at the top of the tree, is in nobody's."""
    return sorted(
        (
            n
            for n in org.nodes.values()
            if n.code != office_code and competent_office(org, n.code) == office_code
        ),
        key=lambda n: n.code,
    )


def offices_of(org: OrgTree, actor: Actor) -> list[str]:
    """The offices (their units' codes) where ``actor`` is an office clerk or director, sorted."""
    return sorted({code for role, code in actor.grants if role in OFFICE_ROLES and code in org.nodes})


def receiving_office(org: OrgTree, actor: Actor, unit_code: str) -> str | None:
    """The office of ``actor`` that received a report about ``unit_code`` and must forward it; None when
    ``actor`` holds no office role (the report goes straight to the competent office) or one of the offices
    ``actor`` works at is the competent one."""
    offices = offices_of(org, actor)
    if not offices or competent_office(org, unit_code) in offices:
        return None
    return offices[0]


def registers_itself(org: OrgTree, actor: Actor, unit_code: str, report: Mapping[str, Any]) -> bool:
    """A report the competent office files itself, with its date and the leaders concerned, is registered by
    that act: the case starts at verification instead of asking the same office to register it again."""
    filed = bool(report.get("report_date")) and bool(report.get("leaders"))
    return filed and competent_office(org, unit_code) in offices_of(org, actor)


def office_name(org: OrgTree, code: str) -> str:
    node = org.nodes.get(code)
    return f"{node.name if node else code}综治办"


def forward(
    engine: Engine,
    org: OrgTree,
    case: ProcessInstance,
    received_by: str,
    actor: Actor,
    extra: dict[str, Any] | None = None,
    also_on: Iterable[ProcessInstance] = (),
) -> dict[str, Any] | None:
    """Record on ``case``'s working file (and on ``also_on``, e.g. the report the clerk worked on) that the
    report received by ``received_by`` went to the competent office for the case's unit. Nothing when
    ``received_by`` is the competent office. Returns the event's detail."""
    competent = competent_office(org, case.unit_code)
    if competent == received_by:
        return None
    subject = org.nodes[case.unit_code]
    detail: dict[str, Any] = {
        "article": ARTICLE,
        "unit_code": subject.code,
        "unit_name": subject.name,
        "received_by": received_by,
        "received_by_name": office_name(org, received_by),
        "received_by_user": actor.user_id,
        "forwarded_to": competent,
        "forwarded_to_name": office_name(org, competent),
        "case_id": case.id,
        "case_key": case.business_key,
        **(extra or {}),
    }
    detail["to"] = detail["forwarded_to_name"]  # the working file shows it as "→ …"
    detail["text"] = (
        f"{detail['received_by_name']}收到关于{subject.name}的书面反映，"
        f"不属本级管辖，转{detail['forwarded_to_name']}办理（{case.business_key}）。"
    )
    for inst in (case, *also_on):
        engine.note(inst.id, actor, FORWARDED, dict(detail))
    return detail
