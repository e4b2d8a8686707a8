"""Accounts: create, grant, authenticate. Plain functions; the caller commits."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.demo_mode import demo_loaded, is_demo_password
from app.auth.models import RoleGrant, User
from app.i18n import is_english
from app.labels import role_label
from workflows.engine.models import OrgUnit
from workflows.regulation.people import POST_KINDS
from workflows.regulation.roles import ROLES


class AccountError(ValueError):
    pass


def valid_role(role: str) -> bool:
    base, _, qualifier = role.partition("/")
    return base in ROLES and (not qualifier or qualifier.isidentifier())


def set_password(session: Session, user: User, password: str) -> None:
    """Every password set or changed goes through here: ``demo`` only on a demo database
    (``app/auth/demo_mode.py``)."""
    if is_demo_password(password) and not demo_loaded(session):
        raise AccountError(_("不能使用演示密码 demo：本系统未加载演示数据，请设置其他密码。"))
    try:
        user.set_password(password)
    except ValueError:
        raise AccountError(_("密码太短：至少 4 个字符。")) from None


def create_user(session: Session, username: str, display_name: str, password: str) -> User:
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise AccountError(_("用户名 %(u)s 已存在", u=username))
    user = User(username=username, display_name=display_name)
    set_password(session, user, password)
    session.add(user)
    session.flush()
    return user


def grant(session: Session, user: User, role: str, org_code: str) -> RoleGrant:
    if not valid_role(role):
        raise AccountError(_("未知角色：%(r)s", r=role))
    if session.get(OrgUnit, org_code) is None:
        raise AccountError(_("未知单位代码：%(c)s", c=org_code))
    for existing in user.grants:
        if (existing.role, existing.org_code) == (role, org_code):
            return existing
    row = RoleGrant(role=role, org_code=org_code)
    user.grants.append(row)
    session.flush()
    return row


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The account when the password is right; never with ``demo`` unless this is a demo database."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.check_password(password):
        return None
    if is_demo_password(password) and not demo_loaded(session):
        return None
    return user


def people_named(session: Session, usernames: Iterable[str | None], at: datetime) -> dict[str, str]:
    """How a page names who acted: the person and the post they held (张示例（宛城区综治办主任）), the
    account's display name when it belongs to no person, 系统 for the engine's steps — never an account id."""
    wanted = {u for u in usernames if u}
    names: dict[str, str] = {u: _("系统") for u in wanted if u == "system"}
    users = session.scalars(select(User).where(User.username.in_(sorted(wanted - set(names))))).all()
    for user in users:
        person = user.person
        posts = [p for p in (person.posts if person else []) if p.held_on(at.date())]
        if person is None:
            names[user.username] = user.display_name
        elif not posts:
            names[user.username] = person.name
        elif is_english():  # the post's title is Chinese data; English names the role it carries
            kind = POST_KINDS.get(posts[0].kind)
            names[user.username] = f"{person.name} ({role_label(kind.roles[-1]) if kind else posts[0].kind})"
        else:
            names[user.username] = f"{person.name}（{posts[0].label}）"
    for username in wanted - set(names):
        names[username] = _("未知用户")  # an account since removed, or a test's stand-in
    return names
