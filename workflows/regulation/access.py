"""Who may read, work and supervise a case: one rule, used by every page and API call.

DOMAIN.md, "Organisation": a grant at a unit reaches that unit and every unit below it (a county office sees
its own cases and its townships', not another county's). Whoever holds an open or past task of a case (the
unit's own leader, the city committee that accepts a listing) may read the case too.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.actors import Actor
from workflows.engine.models import ProcessInstance, Task
from workflows.regulation.roles import OrgTree


def can_supervise(org: OrgTree, actor: Actor, inst: ProcessInstance) -> bool:
    """Holds a role at the case's unit or above it: may read, comment on and urge (催办) the case."""
    return org.can_oversee(actor, inst.unit_code)


def can_work(actor: Actor, task: Task) -> bool:
    """Holds the task's role in the task's organisation (claiming is checked by the engine)."""
    return actor.holds(task.role, task.org_code)


def can_read(session: Session, org: OrgTree, actor: Actor, inst: ProcessInstance) -> bool:
    """Supervises the case's unit, or holds any task of the case (one query, only when needed)."""
    if can_supervise(org, actor, inst):
        return True
    if not actor.grants:
        return False
    roles = session.execute(select(Task.role, Task.org_code).where(Task.instance_id == inst.id).distinct())
    return any(actor.holds(role, org_code) for role, org_code in roles)


def can_read_document(
    session: Session, org: OrgTree, actor: Actor, inst: ProcessInstance, addressed: set[str]
) -> bool:
    """Reads the case, or works at a unit the document was sent to (an addressee reads what it receives,
    not the case's deliberations)."""
    return bool(addressed & {code for _, code in actor.grants}) or can_read(session, org, actor, inst)
