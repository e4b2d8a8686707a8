"""The administrator's list of accounts: searched, filtered and paged in SQL (issue 15, "Administration").

The page once rendered every account with a grant form holding every unit of the city: 1441 demo accounts
gave 2.5 MB of HTML. Now one page of accounts is read (with their grants, person and posts in two more
queries), and the grant form is rendered once, for the account chosen (``app/admin/__init__.py``).

Search words match, as Chinese substrings (``LIKE '%宛城%'``; ASCII case-insensitively): the account name,
the display name, the linked person's name, the title or kind of a post held today, and the name or code of
a unit where the account holds a grant or its person a post today. Filters: a unit (a grant there) and a
role (a grant of it, any qualifier: ``joint_meeting_member`` finds ``joint_meeting_member/discipline``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.auth.models import RoleGrant, User
from app.params import MAX_PAGE, MAX_PER_PAGE, clamp_int
from workflows.engine.models import OrgUnit
from workflows.regulation.people import POST_KINDS, Person, Post, in_post_on

PER_PAGE_CHOICES = (20, 50, 100, MAX_PER_PAGE)
DEFAULT_PER_PAGE = 50


@dataclass(frozen=True)
class AccountQuery:
    q: str = ""
    org_code: str = ""
    role: str = ""
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AccountQuery:
        """From the query string, bounded (``app/params.py``): page 1..MAX_PAGE, 20..200 a page."""
        get = args.get
        per_page = clamp_int(get("per_page"), DEFAULT_PER_PAGE, PER_PAGE_CHOICES[0], MAX_PER_PAGE)
        return cls(
            q=(get("q") or "").strip()[:100],
            org_code=(get("org_code") or "").strip()[:40],
            role=(get("role") or "").strip()[:80],
            page=clamp_int(get("page"), 1, 1, MAX_PAGE),
            per_page=per_page,
        )


@dataclass(frozen=True)
class AccountPage:
    accounts: list[User]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _matching(q: str, today: date) -> list[ColumnElement[bool]]:
    """Conditions on ``User`` that each make the account a match for the words ``q``."""
    units = select(OrgUnit.code).where(OrgUnit.name.contains(q, autoescape=True) | (OrgUnit.code == q))
    kinds = [kind for kind, spec in POST_KINDS.items() if q in spec.label]
    post = (Post.person_id == User.person_id) & in_post_on(today)
    return [
        User.username.icontains(q, autoescape=True),
        User.display_name.icontains(q, autoescape=True),
        exists().where(Person.id == User.person_id, Person.name.contains(q, autoescape=True)),
        exists().where(post, Post.title.contains(q, autoescape=True) | Post.kind.in_(kinds)),
        exists().where(post, Post.org_code.in_(units)),
        exists().where(RoleGrant.user_id == User.id, RoleGrant.org_code.in_(units)),
    ]


def _filtered(query: AccountQuery, today: date) -> Select[User]:
    stmt = select(User)
    if query.q:
        stmt = stmt.where(or_(*_matching(query.q, today)))
    if query.org_code:
        stmt = stmt.where(exists().where(RoleGrant.user_id == User.id, RoleGrant.org_code == query.org_code))
    if query.role:
        role = RoleGrant.role == query.role
        qualified = RoleGrant.role.startswith(query.role + "/", autoescape=True)
        stmt = stmt.where(exists().where(RoleGrant.user_id == User.id, role | qualified))
    return stmt


def search_accounts(session: Session, query: AccountQuery, today: date) -> AccountPage:
    """One page of accounts by account name, with their grants and their person's posts loaded."""
    stmt = _filtered(query, today)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.options(selectinload(User.grants), selectinload(User.person).selectinload(Person.posts))
        .order_by(User.username)
        .offset((query.page - 1) * query.per_page)
        .limit(query.per_page)
    ).all()
    return AccountPage(list(rows), total, query.page, query.per_page)
