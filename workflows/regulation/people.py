"""People and their posts: the named cadres the regulation holds responsible (Art. 9, 10, 13, 22).

A ``person`` holds ``post`` s at organisation units, each from ``start_on`` until ``end_on`` (the day they
left; empty while in post): a township's party secretary (``party_principal``) and its head of government
(``government_principal``) are both its 主要负责同志 (党政, Art. 9), its 分管负责同志 is ``in_charge``
(Art. 10), a member unit's leaders are ``member_principal`` / ``member_in_charge`` (Art. 15, 16, 22).
Each kind of post carries workflow roles (``roles.ROLES``) at the post's unit, held only while in post:
a diagram's lane ``unit_principal_leader@own`` reaches both principal leaders of the unit,
``member_unit@own`` the member unit's leaders. Login accounts point at a person; the app keeps their role
grants in line with the person's posts (``app/org/grants.py``), so a change of post moves the person's
future tasks while the tasks they completed keep their name.

Plain functions over the session; nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Date, ForeignKey, Index, Integer, String, Text, and_, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.models import Base, OrgUnit
from workflows.regulation.org_units import is_active
from workflows.regulation.wording import N_

TERRITORIAL = frozenset({"city", "county", "township"})  # a party committee and a government (党政)
COMMITTEES = frozenset({"city", "county"})  # a 综治委 with its office (Art. 12)
DEPARTMENT_LEVELS = frozenset({"city_direct", "system_unit"})  # a department, not 党政
JOINT_MEETING = {
    "governance": N_("综治"),
    "discipline": N_("纪检"),
    "organization": N_("组织"),
    "personnel": N_("人事"),
    "supervision": N_("监察"),
}

JOINT_MEETING_POSTS = {  # the post of each department's member of the five-department joint meeting (Art. 24)
    "governance": N_("五部门联席会议成员（综治）"),
    "discipline": N_("五部门联席会议成员（纪检）"),
    "organization": N_("五部门联席会议成员（组织）"),
    "personnel": N_("五部门联席会议成员（人事）"),
    "supervision": N_("五部门联席会议成员（监察）"),
}


@dataclass(frozen=True)
class PostKind:
    label: str
    roles: tuple[str, ...]  # workflow roles held at the post's unit while in post
    levels: frozenset[str]  # levels of unit the post exists at


POST_KINDS: dict[str, PostKind] = {
    # Both are 主要负责同志 (党政, Art. 9); the qualifier gives each their own hearing (Art. 9(3)).
    "party_principal": PostKind(
        N_("党委主要负责同志"), ("unit_principal_leader", "unit_principal_leader/party"), TERRITORIAL
    ),
    "government_principal": PostKind(
        N_("政府主要负责同志"), ("unit_principal_leader", "unit_principal_leader/government"), TERRITORIAL
    ),
    "principal": PostKind(N_("单位主要负责同志"), ("unit_principal_leader",), DEPARTMENT_LEVELS),
    "in_charge": PostKind(N_("分管负责同志"), ("unit_in_charge_leader",), TERRITORIAL | DEPARTMENT_LEVELS),
    "member_principal": PostKind(
        N_("成员单位主要负责同志"), ("member_unit", "unit_principal_leader"), frozenset({"member_unit"})
    ),
    "member_in_charge": PostKind(
        N_("成员单位分管负责同志"), ("member_unit", "unit_in_charge_leader"), frozenset({"member_unit"})
    ),
    "committee_director": PostKind(N_("综治委主任"), ("committee_director",), COMMITTEES),
    "committee_deputy": PostKind(N_("综治委副主任"), ("committee_director",), COMMITTEES),
    "county_committee": PostKind(
        N_("县(区)综治委负责同志（初审）"), ("county_committee",), frozenset({"county"})
    ),
    "office_director": PostKind(N_("综治办主任"), ("office_director",), COMMITTEES),
    "office_staff": PostKind(N_("综治办工作人员"), ("office_staff",), COMMITTEES),
    "joint_meeting_convener": PostKind(N_("联席会议召集人"), ("joint_meeting_convener",), COMMITTEES),
    **{
        f"joint_meeting_member/{dept}": PostKind(
            JOINT_MEETING_POSTS[dept], (f"joint_meeting_member/{dept}",), COMMITTEES
        )
        for dept in JOINT_MEETING
    },
    "inspector": PostKind(N_("督导检查人员"), ("inspector",), COMMITTEES),
    "investigation_team": PostKind(N_("调查组成员"), ("investigation_team",), COMMITTEES),
    "organization_personnel": PostKind(N_("组织人事部门负责同志"), ("organization_personnel",), COMMITTEES),
    "discipline_supervision": PostKind(N_("纪检监察机关负责同志"), ("discipline_supervision",), COMMITTEES),
    "finance": PostKind(N_("财政部门负责同志"), ("finance",), COMMITTEES),  # Art. 28, 30: the reward fund
}
GENDERS = {"male": N_("男"), "female": N_("女")}
#: Art. 22: the committee keeps records of the lower level's party and government leaders and of its own
#: member units' leaders.
LOWER_CADRES = ("party_principal", "government_principal", "in_charge")
MEMBER_CADRES = ("member_principal", "member_in_charge")


class PeopleError(ValueError):
    """A person or post that cannot be recorded as asked; the message says why."""


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    gender: Mapped[str | None] = mapped_column(String(10))  # male | female
    notes: Mapped[str] = mapped_column(Text, default="")
    posts: Mapped[list[Post]] = relationship(back_populates="person", order_by="Post.start_on")


class Post(Base):
    """One person in one post at one unit from ``start_on`` to ``end_on`` (exclusive; empty: in post)."""

    __tablename__ = "post"
    __table_args__ = (Index("ix_post_org_kind", "org_code", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    org_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    kind: Mapped[str] = mapped_column(String(60))  # a key of POST_KINDS
    title: Mapped[str] = mapped_column(String(100), default="")  # 职务 as printed, e.g. 区委书记
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)
    person: Mapped[Person] = relationship(back_populates="posts")

    @property
    def label(self) -> str:
        return self.title or kind_label(self.kind)

    def held_on(self, day: date) -> bool:
        return self.start_on <= day and (self.end_on is None or day < self.end_on)


def kind_label(kind: str) -> str:
    found = POST_KINDS.get(kind)
    return found.label if found else kind


def kinds_for_role(role: str) -> list[str]:
    """The kinds of post that carry ``role`` (unit_principal_leader: party, government, unit principal)."""
    return [kind for kind, spec in POST_KINDS.items() if role in spec.roles]


def day_of(at: date | datetime) -> date:
    """The Nanyang calendar day of an instant (a date stays as it is)."""
    return to_cst(at).date() if isinstance(at, datetime) else at


def in_post_on(at: date | datetime) -> ColumnElement[bool]:
    day = day_of(at)
    return and_(Post.start_on <= day, or_(Post.end_on.is_(None), Post.end_on > day))


# -- people and posts ---------------------------------------------------------------------------------------
def create_person(session: Session, name: str, gender: str | None = None, notes: str = "") -> Person:
    name = name.strip()
    if not name or len(name) > 50:
        raise PeopleError("a person needs a name of at most 50 characters")
    if gender and gender not in GENDERS:
        raise PeopleError(f"gender is one of {', '.join(GENDERS)} or empty")
    person = Person(name=name, gender=gender or None, notes=notes)
    session.add(person)
    session.flush()
    return person


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise PeopleError(f"no person {person_id}")
    return person


def start_post(
    session: Session,
    person: Person,
    org_code: str,
    kind: str,
    start_on: date,
    *,
    title: str = "",
    end_on: date | None = None,
) -> Post:
    """Record that ``person`` holds a post of ``kind`` at ``org_code`` from ``start_on`` (to ``end_on``)."""
    spec = POST_KINDS.get(kind)
    if spec is None:
        raise PeopleError(f"unknown kind of post {kind!r}; known: {', '.join(POST_KINDS)}")
    unit = session.get(OrgUnit, org_code)
    if unit is None:
        raise PeopleError(f"unknown unit {org_code!r}")
    if unit.level not in spec.levels:
        raise PeopleError(
            f"a {kind} post exists at {'/'.join(sorted(spec.levels))} units, not at {unit.level}"
        )
    if not is_active(session, org_code):
        raise PeopleError(f"unit {org_code} is deactivated")
    if end_on is not None and end_on <= start_on:
        raise PeopleError("a post ends after it starts")
    post = Post(
        person=person,
        org_code=org_code,
        kind=kind,
        title=title.strip()[:100],
        start_on=start_on,
        end_on=end_on,
    )
    session.add(post)
    session.flush()
    return post


def end_post(session: Session, post: Post, end_on: date) -> Post:
    """The person leaves the post on ``end_on`` (the first day they no longer hold it)."""
    if end_on <= post.start_on:
        raise PeopleError(f"post {post.id} started on {post.start_on}: it cannot end on {end_on}")
    if post.end_on is not None and post.end_on < end_on:
        raise PeopleError(f"post {post.id} already ended on {post.end_on}")
    post.end_on = end_on
    session.flush()
    return post


def change_post(
    session: Session,
    post: Post,
    on: date,
    *,
    org_code: str | None = None,
    kind: str | None = None,
    title: str | None = None,
) -> Post:
    """A change of post (调任、转任): ``post`` ends on ``on`` and the same person starts the new one
    that day, at ``org_code`` and of ``kind`` (each defaulting to the old post's). Returns the new post.
    The old post stays in the person's history; the roles move with the posts from ``on``."""
    new_org, new_kind = org_code or post.org_code, kind or post.kind
    if (new_org, new_kind) == (post.org_code, post.kind):
        raise PeopleError("a change of post names another unit or another kind of post")
    end_post(session, post, on)
    return start_post(
        session, post.person, new_org, new_kind, on, title=post.title if title is None else title
    )


def end_posts_at(session: Session, org_code: str, on: date) -> list[Post]:
    """End every post at a unit that is going out of service (from ``on``); returns the posts ended."""
    ended = list(
        session.scalars(
            select(Post).where(Post.org_code == org_code, or_(Post.end_on.is_(None), Post.end_on > on))
        )
    )
    for post in ended:
        post.end_on = max(on, post.start_on)  # a post not started yet ends the day it would have started
    session.flush()
    return ended


def post_history(session: Session, person: Person) -> list[Post]:
    """Every post ``person`` held or holds, oldest first."""
    return list(
        session.scalars(select(Post).where(Post.person_id == person.id).order_by(Post.start_on, Post.id))
    )


# -- who holds what -----------------------------------------------------------------------------------------
def holders(session: Session, role: str, org_code: str, at: date | datetime) -> list[Person]:
    """The persons who hold ``role`` at ``org_code`` on the day of ``at`` through a post, in post order."""
    return [post.person for post in holder_posts(session, role, org_code, at)]


def holder_posts(session: Session, role: str, org_code: str, at: date | datetime) -> list[Post]:
    kinds = kinds_for_role(role)
    if not kinds:
        return []
    posts = session.scalars(
        select(Post)
        .where(Post.org_code == org_code, Post.kind.in_(kinds), in_post_on(at))
        .order_by(Post.start_on, Post.id)
    )
    seen: set[int] = set()
    found = []
    for post in posts:
        if post.person_id not in seen:
            seen.add(post.person_id)
            found.append(post)
    order = {kind: i for i, kind in enumerate(kinds)}
    return sorted(found, key=lambda p: order[p.kind])


def display_holders(session: Session, role: str, org_code: str, at: date | datetime) -> list[str]:
    """Names for a role where the role is shown, e.g. ``["张三（区委书记）", "李四（区长）"]``."""
    return [f"{post.person.name}（{post.label}）" for post in holder_posts(session, role, org_code, at)]


def posts_at(session: Session, org_codes: Iterable[str], at: date | datetime) -> dict[str, list[Post]]:
    """The posts held at each of ``org_codes`` on the day of ``at`` (a tree of units with their people)."""
    codes = list(org_codes)
    result: dict[str, list[Post]] = {code: [] for code in codes}
    if not codes:
        return result
    kinds = {kind: i for i, kind in enumerate(POST_KINDS)}
    rows = session.scalars(select(Post).where(Post.org_code.in_(codes), in_post_on(at)).join(Post.person))
    for post in sorted(rows, key=lambda p: (kinds.get(p.kind, 99), p.start_on, p.id)):
        result[post.org_code].append(post)
    return result


def grants_in_force(
    session: Session, at: date | datetime, person_ids: Iterable[int] | None = None
) -> dict[int, dict[tuple[str, str], int]]:
    """Per person: the (role, organisation) pairs their posts carry on the day of ``at``, each with the id of
    a post that carries it. What the app's role grants follow."""
    query = select(Post.person_id, Post.kind, Post.org_code, Post.id).where(in_post_on(at)).order_by(Post.id)
    if person_ids is not None:
        query = query.where(Post.person_id.in_(list(person_ids)))
    result: dict[int, dict[tuple[str, str], int]] = {}
    for person_id, kind, org_code, post_id in session.execute(query):
        spec = POST_KINDS.get(kind)
        for role in spec.roles if spec else ():
            result.setdefault(person_id, {}).setdefault((role, org_code), post_id)
    return result


def record_subjects(session: Session, committee_code: str, at: date | datetime) -> list[Post]:
    """Art. 22 (O22.1): whose performance records a committee keeps — the party and government principal
    leaders and in-charge leaders of the level below (a city's counties, a county's townships) and the
    principal and in-charge leaders of its own member units — as the posts held on the day of ``at``."""
    children = select(OrgUnit.code, OrgUnit.level).where(OrgUnit.parent_code == committee_code)
    lower = [code for code, level in session.execute(children) if level in ("county", "township")]
    members = [code for code, level in session.execute(children) if level == "member_unit"]
    posts = session.scalars(
        select(Post)
        .where(
            in_post_on(at),
            or_(
                and_(Post.org_code.in_(lower), Post.kind.in_(LOWER_CADRES)),
                and_(Post.org_code.in_(members), Post.kind.in_(MEMBER_CADRES)),
            ),
        )
        .order_by(Post.org_code, Post.kind, Post.id)
    )
    return list(posts)
