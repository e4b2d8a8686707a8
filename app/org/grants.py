"""Role grants follow posts.

An account linked to a person (``user_account.person_id``) holds, besides any grant given by hand, exactly
the (role, organisation) pairs its person's posts carry on the day (``people.grants_in_force``): those rows
of ``role_grant`` carry the ``post_id`` they come from and are written only here. Every reader of grants (the
engine's check, inboxes, notifications, transfer) keeps reading ``role_grant``; nothing else changes.

:func:`sync_post_grants` runs after every change of posts (the admin's services, imports, the demo) and in
the background pass (``app/org/upkeep.py``), so a post entered ahead of time takes effect on its first day
and one that ended stops on its last. When a grant goes, the tasks its account had claimed under it are
released to whoever holds the post now (a ``task_released`` event on the case's file): the person's future
tasks move with the post; tasks already completed keep ``completed_by``. Plain functions; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from app.auth.models import RoleGrant, User
from workflows.engine.models import InstanceEvent, Task
from workflows.regulation.people import grants_in_force

Pair = tuple[str, str]  # (role, org_code)


@dataclass
class GrantSync:
    added: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role, org_code)
    removed: list[tuple[str, str, str]] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # task ids whose claim went back to the post

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.released)


def sync_post_grants(
    session: Session,
    now: datetime,
    person_ids: Iterable[int] | None = None,
    *,
    user_ids: Iterable[int] = (),
    adopt: bool = False,
) -> GrantSync:
    """Bring the post grants of the accounts of ``person_ids`` (every person when None) and of ``user_ids``
    (e.g. an account just unlinked from its person) in line with the posts held on the day of ``now``.

    ``adopt``: a grant given by hand that a post now carries becomes that post's grant (used once, when the
    demo links its old accounts to persons); otherwise a hand-given grant is left alone and no second row
    is added for it."""
    persons = None if person_ids is None else set(person_ids)
    desired = grants_in_force(session, now, persons)
    accounts = select(User.id, User.username, User.person_id)
    if persons is not None:
        accounts = accounts.where(User.person_id.in_(persons) | User.id.in_(list(user_ids)))
    users = {uid: (username, pid) for uid, username, pid in session.execute(accounts)}
    grants = select(RoleGrant.id, RoleGrant.user_id, RoleGrant.role, RoleGrant.org_code, RoleGrant.post_id)
    if persons is not None:
        grants = grants.where(RoleGrant.user_id.in_(list(users)))
    held: dict[int, dict[Pair, tuple[int, int | None]]] = {}
    for gid, uid, role, org, post_id in session.execute(grants):
        held.setdefault(uid, {})[(role, org)] = (gid, post_id)
    if persons is None:  # accounts holding post grants without a person any more
        users.update(
            (uid, (username, None))
            for uid, username in session.execute(
                select(User.id, User.username).where(User.person_id.is_(None), User.id.in_(list(held)))
            )
        )

    report = GrantSync()
    to_delete: list[int] = []
    to_insert: list[dict[str, object]] = []
    to_update: list[dict[str, object]] = []
    lost: dict[str, set[Pair]] = {}
    for uid, (username, pid) in users.items():
        want = desired.get(pid, {}) if pid is not None else {}
        have = held.get(uid, {})
        for pair, (gid, post_id) in have.items():
            if post_id is None:
                if adopt and pair in want:
                    to_update.append({"id": gid, "post_id": want[pair]})
            elif pair not in want:
                to_delete.append(gid)
                report.removed.append((username, *pair))
                lost.setdefault(username, set()).add(pair)
            elif want[pair] != post_id:
                to_update.append({"id": gid, "post_id": want[pair]})
        for pair, post_id in want.items():
            if pair not in have:
                to_insert.append({"user_id": uid, "role": pair[0], "org_code": pair[1], "post_id": post_id})
                report.added.append((username, *pair))
    if to_delete:
        session.execute(delete(RoleGrant).where(RoleGrant.id.in_(to_delete)))
    if to_insert:
        session.execute(insert(RoleGrant), to_insert)
    if to_update:
        session.execute(update(RoleGrant), to_update)
    if to_delete or to_insert or to_update:
        for obj in list(session.identity_map.values()):  # accounts loaded in this session see the new rows
            if isinstance(obj, User):
                session.expire(obj, ["grants"])
    report.released = release_claims(session, lost, now)
    session.flush()
    return report


def release_claims(session: Session, lost: dict[str, set[Pair]], now: datetime) -> list[str]:
    """Open tasks claimed by an account under a grant it no longer holds go back to the post's holders."""
    if not lost:
        return []
    still = {
        (username, role, org)
        for username, role, org in session.execute(
            select(User.username, RoleGrant.role, RoleGrant.org_code)
            .join(RoleGrant, RoleGrant.user_id == User.id)
            .where(User.username.in_(list(lost)))
        )
    }
    released = []
    for task in session.scalars(select(Task).where(Task.state == "ready", Task.claimed_by.in_(list(lost)))):
        username = task.claimed_by or ""
        pair = (task.role, task.org_code)
        if pair in lost[username] and (username, *pair) not in still:
            task.claimed_by = None
            session.add(
                InstanceEvent(
                    instance_id=task.instance_id,
                    at=now,
                    actor="system",
                    kind="task_released",
                    element_id=task.element_id,
                    task_id=task.id,
                    detail={
                        "from": username,
                        "reason": "post_changed",
                        "role": task.role,
                        "org": task.org_code,
                    },
                )
            )
            released.append(task.id)
    return released
