"""The organisation's step of the background pass (``app/jobs.py``): grants follow the posts of the day, and
a task nobody can work is flagged to the office instead of waiting silently (issue 11, item 9).

A task row names a role and an organisation (``OrgTree.assign``). When no active account holds that role
there — no one in post, or the post is vacant — :func:`flag_unassigned_tasks` writes a ``task_unassigned``
event on the case's working file and notifies the office director one level above the task's organisation
(相应的上一级, who can get the post filled or the work done), or the administrators when there is none; once
per task (a ``task_alert`` row of kind ``unassigned``). No Flask; the pass commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from app.auth.models import RoleGrant, User
from app.inbox.models import Notification, TaskAlert
from app.inbox.notifications import record_alert
from app.org.grants import GrantSync, sync_post_grants
from workflows.engine.models import InstanceEvent, Task
from workflows.regulation.people import JOINT_MEETING
from workflows.regulation.roles import ROLES, OrgTree

UNASSIGNED = "unassigned"


@dataclass
class Upkeep:
    grants: GrantSync = field(default_factory=GrantSync)
    unassigned: list[str] = field(default_factory=list)  # ids of the tasks flagged in this pass


def keep_organisation(session: Session, org: OrgTree, now: datetime) -> Upkeep:
    """Sync every account's post grants to the day of ``now``, then flag the tasks nobody holds; commit."""
    try:
        grants = sync_post_grants(session, now)
        flagged = flag_unassigned_tasks(session, org, now)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return Upkeep(grants, flagged)


def holders_of(session: Session, role: str, org_code: str) -> list[int]:
    """Active accounts holding ``role`` at ``org_code``."""
    return list(
        session.scalars(
            select(User.id)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role == role, RoleGrant.org_code == org_code, User.active.is_(True))
            .order_by(User.id)
        )
    )


def admins(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(User.id)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(RoleGrant.role == "admin", User.active.is_(True))
        )
    )


def role_text(role: str) -> str:
    base, _, dept = role.partition("/")
    return ROLES.get(base, base) + (f"（{JOINT_MEETING.get(dept, dept)}）" if dept else "")


def flag_unassigned_tasks(session: Session, org: OrgTree, now: datetime, limit: int = 500) -> list[str]:
    """Flag each open task whose role no active account holds at its organisation; return their ids."""
    held = exists(
        select(RoleGrant.id)
        .join(User, User.id == RoleGrant.user_id)
        .where(RoleGrant.role == Task.role, RoleGrant.org_code == Task.org_code, User.active.is_(True))
    )
    flagged = exists().where(TaskAlert.task_id == Task.id, TaskAlert.kind == UNASSIGNED)
    tasks = session.scalars(
        select(Task)
        .where(Task.state == "ready", ~held, ~flagged)
        .order_by(Task.created_at, Task.id)
        .limit(limit)
    ).all()
    recorded: list[str] = []
    for task in tasks:
        if not record_alert(session, task.id, UNASSIGNED, now):
            continue  # a concurrent pass (another scheduler) flagged it first (issue 16, point 8)
        recorded.append(task.id)
        office = org.upper(task.org_code) if task.org_code in org.nodes else task.org_code
        recipients = holders_of(session, "office_director", office) or admins(session)
        node = org.nodes.get(task.org_code)
        unit = org.nodes.get(task.unit_code)
        message = (
            f"无人办理：{task.name}——{node.name if node else task.org_code}{role_text(task.role)}无人在岗"
            f"（{unit.name if unit else task.unit_code}），请补充人员或安排办理。"
        )
        for user_id in dict.fromkeys(recipients):
            session.add(
                Notification(
                    user_id=user_id,
                    kind=UNASSIGNED,
                    instance_id=task.instance_id,
                    task_id=task.id,
                    message=message,
                    created_at=now,
                )
            )
        session.add(
            InstanceEvent(
                instance_id=task.instance_id,
                at=now,
                actor="system",
                kind="task_unassigned",
                element_id=task.element_id,
                task_id=task.id,
                detail={"role": task.role, "org_code": task.org_code, "office": office, "text": message},
            )
        )
    session.flush()
    return recorded
