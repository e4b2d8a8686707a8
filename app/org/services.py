"""The administrator's use cases for the organisation and its people, shared by the admin pages and the API.

Each function changes units, people or posts through ``workflows/regulation`` (``org_units``, ``people``)
and then brings the role grants of the people concerned in line (``app/org/grants.py``), so a change of
post moves the person's future tasks at once. Functions flush; the view commits, then calls
``runtime().reload_calendar`` when units changed, so this process's organisation tree is reloaded (other
processes pick it up within ``GOVERNANCE_RUNTIME_RELOAD_SECONDS``, app/runtime.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import User
from app.org.grants import GrantSync, sync_post_grants
from workflows.engine.models import OrgUnit
from workflows.regulation import org_units, people
from workflows.regulation.org_units import OrgUnitError
from workflows.regulation.people import PeopleError, Person, Post
from workflows.regulation.roles import OrgNode, OrgTree

OrgAdminError = (OrgUnitError, PeopleError)


def _sync(session: Session, now: datetime, *person_ids: int, user_ids: tuple[int, ...] = ()) -> GrantSync:
    return sync_post_grants(session, now, set(person_ids), user_ids=user_ids)


# -- units ---------------------------------------------------------------------------------------------------
def create_unit(
    session: Session, name: str, level: str, parent_code: str | None, code: str | None
) -> OrgUnit:
    return org_units.add_unit(session, name, level, parent_code or None, code or None)


def edit_unit(session: Session, code: str, name: str | None, parent_code: str | None) -> OrgUnit:
    return org_units.update_unit(session, code, name=name or None, parent_code=parent_code or None)


def set_unit_active(session: Session, code: str, active: bool, now: datetime, note: str = "") -> list[Post]:
    """Deactivate a unit (its posts end today, its people lose the roles there) or bring it back."""
    today = people.day_of(now)
    org_units.set_active(session, code, active, today, note)
    if active:
        return []
    ended = people.end_posts_at(session, code, today)
    _sync(session, now, *{p.person_id for p in ended})
    return ended


# -- people and posts ----------------------------------------------------------------------------------------
def add_person(session: Session, name: str, gender: str | None = None, notes: str = "") -> Person:
    return people.create_person(session, name, gender or None, notes)


def edit_person(session: Session, person_id: int, name: str, gender: str | None, notes: str) -> Person:
    person = people.get_person(session, person_id)
    if not name.strip() or len(name.strip()) > 50:
        raise PeopleError("a person needs a name of at most 50 characters")
    if gender and gender not in people.GENDERS:
        raise PeopleError(f"gender is one of {', '.join(people.GENDERS)} or empty")
    person.name, person.gender, person.notes = name.strip(), gender or None, notes
    session.flush()
    return person


def assign_post(
    session: Session,
    person_id: int,
    org_code: str,
    kind: str,
    start_on: date,
    now: datetime,
    title: str = "",
    end_on: date | None = None,
) -> Post:
    person = people.get_person(session, person_id)
    post = people.start_post(session, person, org_code, kind, start_on, title=title, end_on=end_on)
    _sync(session, now, person.id)
    return post


def get_post(session: Session, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise PeopleError(f"no post {post_id}")
    return post


def end_post(session: Session, post_id: int, end_on: date, now: datetime) -> Post:
    post = people.end_post(session, get_post(session, post_id), end_on)
    _sync(session, now, post.person_id)
    return post


def change_post(
    session: Session,
    post_id: int,
    on: date,
    now: datetime,
    *,
    org_code: str | None = None,
    kind: str | None = None,
    title: str | None = None,
) -> Post:
    """调任: the old post ends on ``on``, the new one starts; grants (and claimed tasks) move from ``on``."""
    old = get_post(session, post_id)
    new = people.change_post(session, old, on, org_code=org_code or None, kind=kind or None, title=title)
    _sync(session, now, new.person_id)
    return new


def link_account(session: Session, person_id: int, username: str, now: datetime) -> User:
    person = people.get_person(session, person_id)
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        raise PeopleError(f"no account {username!r}")
    if user.person_id not in (None, person.id):
        raise PeopleError(f"account {user.username} belongs to another person ({user.person_id})")
    previous = user.person_id
    user.person_id = person.id
    session.flush()
    _sync(session, now, person.id, *([previous] if previous else []))
    return user


def unlink_account(session: Session, user_id: int, now: datetime) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise PeopleError(f"no account {user_id}")
    previous = user.person_id
    user.person_id = None
    session.flush()
    _sync(session, now, *([previous] if previous else []), user_ids=(user.id,))
    return user


def accounts_of(session: Session, person_id: int) -> list[User]:
    return list(session.scalars(select(User).where(User.person_id == person_id).order_by(User.username)))


def search_people(
    session: Session, q: str = "", org_code: str = "", limit: int = 100, offset: int = 0
) -> list[Person]:
    """People by name (or part of it), or by a unit they hold or held a post at; with their posts."""
    query = _people_query(q, org_code).options(selectinload(Person.posts)).order_by(Person.name, Person.id)
    return list(session.scalars(query.offset(offset).limit(limit)))


def _people_query(q: str, org_code: str) -> Select[Person]:
    query = select(Person)
    if q.strip():
        query = query.where(or_(Person.name.contains(q.strip()), Person.notes.contains(q.strip())))
    if org_code:
        query = query.where(Person.id.in_(select(Post.person_id).where(Post.org_code == org_code)))
    return query


def count_people(session: Session, q: str = "", org_code: str = "") -> int:
    """How many people :func:`search_people` finds in all (every person without a search)."""
    query = _people_query(q, org_code).subquery()
    return session.scalar(select(func.count()).select_from(query)) or 0


# -- the tree ------------------------------------------------------------------------------------------------
@dataclass
class TreeNode:
    unit: OrgNode
    posts: list[Post]
    children: list[TreeNode]

    @property
    def size(self) -> int:
        return 1 + sum(c.size for c in self.children)


CHILD_ORDER = {"county": 0, "city_direct": 1, "member_unit": 2, "township": 3, "system_unit": 4}


def org_tree(session: Session, org: OrgTree, at: date | datetime, root: str | None = None) -> list[TreeNode]:
    """The organisation as nested nodes from ``root`` (the city by default), each with the posts held on the
    day of ``at``: what the admin's tree shows (deactivated units included, marked)."""
    posts = people.posts_at(session, org.nodes, at)
    children: dict[str | None, list[OrgNode]] = {}
    for node in org.nodes.values():
        children.setdefault(node.parent_code, []).append(node)

    def build(node: OrgNode) -> TreeNode:
        kids = sorted(children.get(node.code, []), key=lambda n: (CHILD_ORDER.get(n.level, 9), n.code))
        return TreeNode(node, posts.get(node.code, []), [build(k) for k in kids])

    tops = [org.nodes[root]] if root and root in org.nodes else children.get(None, [])
    return [build(n) for n in sorted(tops, key=lambda n: n.code)]
