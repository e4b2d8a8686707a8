"""Import people, their posts, accounts and role grants from a table, with a dry run first (issue 15).

One row is one person's post and/or one account's role (columns: :data:`HEADERS`). The same function makes
the preview and the import: :func:`plan_import` applies every row to the session (flush, no commit) and
reports, per line, what it did (新增人员 / 新任职 / 新建账号 / 授予角色 …) or why the line is refused. The
preview view rolls the session back; the confirm view runs it again on the same bytes (checked by digest) and
commits only when no line is refused. **All or nothing**: a file with one bad line imports nothing, because
rows depend on each other (a person's post on one line, their account and role on the next) and a half
import would leave a unit's leadership or someone's access half changed; the preview lists every bad line
with its reason at once, so one correction of the file is enough.

Which person a row means follows ``app/org/imports.py`` (人员编号, then the account's person, then the same
name at the same unit, then a new person; the same name twice in a file is one person). A post that exists
(same person, unit, kind and start) is updated. A role (``角色``) is a grant given by hand to the row's
account at ``授权单位代码`` (default: ``单位代码``); roles that posts carry follow the posts by themselves
(``app/org/grants.py``) and are listed as such. A new account needs an initial password, which may not be
``demo`` outside a demo database (``app/auth/demo_mode.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.demo_mode import demo_loaded, is_demo_password
from app.auth.models import User
from app.auth.services import AccountError, grant, set_password
from app.org.grants import sync_post_grants
from app.org.table_upload import Table
from app.params import MAX_ID, to_int
from workflows.engine.models import OrgUnit
from workflows.regulation import people
from workflows.regulation.org_units import LEVELS, is_active
from workflows.regulation.people import GENDERS, JOINT_MEETING, POST_KINDS, PeopleError, Person, Post
from workflows.regulation.roles import ROLES

HEADERS: dict[str, tuple[str, ...]] = {  # the first Chinese name is the template's header
    "name": ("姓名",),
    "gender": ("性别",),
    "username": ("账号", "用户名"),
    "password": ("初始密码", "密码"),
    "org_code": ("单位代码", "代码"),
    "kind": ("职务类别", "岗位类别"),
    "title": ("职务",),
    "start_on": ("任职日期", "任职时间", "开始日期"),
    "end_on": ("离任日期", "离任时间", "结束日期"),
    "role": ("角色",),
    "grant_org_code": ("授权单位代码", "角色单位代码"),
    "person_id": ("人员编号",),
    "notes": ("备注",),
}
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,79}")
ROLE_SEPARATORS = re.compile(r"[、;；,，\s]+")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class ImportPlan:
    changes: dict[int, list[str]] = field(default_factory=dict)  # line → what it does
    names: dict[int, str] = field(default_factory=dict)  # line → who (姓名 or 账号)
    errors: dict[int, list[str]] = field(default_factory=dict)  # line → why it is refused
    post_grants: list[str] = field(default_factory=list)  # roles that follow the posts, added or removed
    counts: Counter[str] = field(default_factory=Counter)
    ignored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def role_names() -> dict[str, str]:
    """Every way a role may be written in the 角色 column → the role: its id or its Chinese name; the joint
    meeting's members with their department (五部门联席会议成员（纪检）, joint_meeting_member/discipline)."""
    names = {role: role for role in ROLES} | {label: role for role, label in ROLES.items()}
    for dept, label in JOINT_MEETING.items():
        qualified = f"joint_meeting_member/{dept}"
        names |= {qualified: qualified, f"{ROLES['joint_meeting_member']}（{label}）": qualified}
    names.pop("joint_meeting_member", None)  # needs its department
    names.pop(ROLES["joint_meeting_member"], None)
    return names


def kind_names() -> dict[str, str]:
    return {kind: kind for kind in POST_KINDS} | {spec.label: kind for kind, spec in POST_KINDS.items()}


def _date(text: str, column: str, problems: list[str]) -> date | None:
    if not text:
        return None
    try:
        from app.org.imports import parse_date

        return parse_date(text, column)
    except PeopleError:
        problems.append(_("「%(col)s」%(v)s 不是日期（应为 2026-03-01）", col=column, v=text))
        return None


class _Row:
    """One line checked against the database before anything is written: the problems in Chinese."""

    def __init__(self, session: Session, line: int, row: dict[str, str], demo: bool) -> None:
        self.line, self.row = line, row
        self.problems: list[str] = []
        get = row.get
        self.name, self.username = get("name", ""), get("username", "")
        self.org_code = get("org_code", "")
        self.kind = kind_names().get(get("kind", ""), "")
        self.user = (
            session.scalar(select(User).where(User.username == self.username)) if self.username else None
        )
        p = self.problems
        if not self.name and not self.username:
            p.append(_("姓名和账号至少填写一项"))
        if len(self.name) > 50:
            p.append(_("姓名过长（最多 50 个字）"))
        if get("gender") and get("gender") not in GENDERS and get("gender") not in GENDERS.values():
            p.append(_("性别「%(v)s」应为 男 或 女", v=get("gender")))
        self.person_id = None
        if get("person_id"):
            self.person_id = to_int(get("person_id"), 1, MAX_ID)
            if self.person_id is None or session.get(Person, self.person_id) is None:
                p.append(_("人员编号 %(v)s 不存在", v=get("person_id")))
        self.unit = self._unit(session, self.org_code, _("单位代码"))
        self.has_post = bool(get("kind") or get("title") or get("start_on"))
        self.start_on = _date(get("start_on", ""), _("任职日期"), p)
        self.end_on = _date(get("end_on", ""), _("离任日期"), p)
        if self.has_post:
            self._check_post(get("kind", ""))
        self.roles = self._roles(session, get("role", ""), get("grant_org_code", ""))
        self._check_account(get("password", ""), demo)

    def _unit(self, session: Session, code: str, column: str) -> OrgUnit | None:
        if not code:
            return None
        unit = session.get(OrgUnit, code)
        if unit is None:
            self.problems.append(_("%(col)s %(c)s 不存在", col=column, c=code))
        elif not is_active(session, code):
            self.problems.append(_("单位 %(name)s（%(c)s）已停用", name=unit.name, c=code))
        return unit

    def _check_post(self, kind_text: str) -> None:
        p = self.problems
        if not self.org_code:
            p.append(_("登记任职须填写单位代码"))
        if not kind_text:
            p.append(_("登记任职须填写职务类别"))
        elif not self.kind:
            p.append(_("职务类别「%(v)s」不存在（可选值见模板说明）", v=kind_text))
        elif self.unit is not None and self.unit.level not in POST_KINDS[self.kind].levels:
            level = _(LEVELS.get(self.unit.level, self.unit.level))
            label = _(POST_KINDS[self.kind].label)
            p.append(_("%(unit)s是%(level)s，不设「%(kind)s」", unit=self.unit.name, level=level, kind=label))
        if self.start_on is None and not any(_("任职日期") in x for x in p):
            p.append(_("登记任职须填写任职日期"))
        if self.start_on and self.end_on and self.end_on <= self.start_on:
            p.append(_("离任日期须晚于任职日期"))

    def _roles(self, session: Session, text: str, grant_code: str) -> list[tuple[str, OrgUnit]]:
        if not text:
            if grant_code:
                self.problems.append(_("填写了授权单位代码但没有填写角色"))
            return []
        known, found = role_names(), []
        unit = self._unit(session, grant_code, _("授权单位代码")) if grant_code else self.unit
        if not self.username:
            self.problems.append(_("授予角色须填写账号"))
        if unit is None and not grant_code:
            self.problems.append(_("授予角色须填写单位代码或授权单位代码"))
        for word in filter(None, ROLE_SEPARATORS.split(text)):
            role = known.get(word)
            if role is None:
                self.problems.append(_("角色「%(v)s」不存在（可选值见模板说明）", v=word))
            elif unit is not None:
                found.append((role, unit))
        return found

    def _check_account(self, password: str, demo: bool) -> None:
        p = self.problems
        if not self.username:
            if password:
                p.append(_("填写了初始密码但没有填写账号"))
            return
        if self.user is None:
            if not USERNAME.fullmatch(self.username):
                p.append(_("账号「%(u)s」只能由字母、数字和 . _ - 组成（2–80 个字符）", u=self.username))
            if not password:
                p.append(_("账号 %(u)s 不存在；新建账号须填写初始密码", u=self.username))
            elif len(password) < 4:
                p.append(_("初始密码太短（至少 4 个字符）"))
            elif is_demo_password(password) and not demo:
                p.append(_("不能使用演示密码 demo"))


def plan_import(session: Session, table: Table, now: datetime) -> ImportPlan:
    """Apply the rows to the session and say what each did (see the module). The caller commits only when
    ``plan.ok`` and it is not a preview; otherwise it rolls back."""
    plan = ImportPlan(ignored=list(table.ignored))
    demo = demo_loaded(session)
    seen: dict[str, Person] = {}
    touched: set[int] = set()
    for line, raw in table.rows:
        plan.names[line] = raw.get("name") or raw.get("username", "")
        if line in table.cell_errors:
            plan.errors[line] = list(table.cell_errors[line])
            continue
        row = _Row(session, line, raw, demo)
        if row.problems:
            plan.errors[line] = row.problems
            continue
        try:
            plan.changes[line] = _apply(session, row, seen, touched, plan.counts)
        except (PeopleError, AccountError) as exc:
            plan.errors[line] = [_("无法登记：%(e)s", e=str(exc))]
    if not table.rows:
        plan.errors[1] = [_("文件只有表头，没有数据行")]
    if plan.ok and touched:
        synced = sync_post_grants(session, now, touched)

        def said(sign: str, username: str, role: str, code: str) -> str:
            unit = session.get(OrgUnit, code)
            return f"{sign} {username}：{_role(role)} @ {unit.name if unit else code}"

        plan.post_grants = [said("+", *g) for g in synced.added] + [said("−", *g) for g in synced.removed]
        plan.counts["post_grants"] = len(synced.added) + len(synced.removed)
    return plan


def _person(session: Session, row: _Row, seen: dict[str, Person], counts: Counter[str]) -> Person | None:
    if row.person_id is not None:
        return people.get_person(session, row.person_id)
    if row.user is not None and row.user.person_id is not None:
        return people.get_person(session, row.user.person_id)
    if not row.name:
        return None  # an account's role only (a system account: designer, admin)
    if row.name in seen:
        return seen[row.name]
    held_here = select(Post.person_id).where(Post.org_code == row.org_code)
    found = list(session.scalars(select(Person).where(Person.name == row.name, Person.id.in_(held_here))))
    if len(found) > 1:
        raise PeopleError(_("%(unit)s 有多名 %(name)s：请填写人员编号", unit=row.org_code, name=row.name))
    if found:
        person = found[0]
    else:
        gender = {str(v): k for k, v in GENDERS.items()}.get(row.row.get("gender", ""), row.row.get("gender"))
        person = people.create_person(session, row.name, gender or None, row.row.get("notes", ""))
        counts["persons_created"] += 1
    seen[row.name] = person
    return person


def _apply(
    session: Session, row: _Row, seen: dict[str, Person], touched: set[int], counts: Counter[str]
) -> list[str]:
    done: list[str] = []
    new_person = counts["persons_created"]
    person = _person(session, row, seen, counts)
    if person is not None:
        touched.add(person.id)
        if counts["persons_created"] > new_person:
            done.append(_("新增人员 %(name)s", name=person.name))
    if row.has_post and person is not None and row.unit is not None and row.start_on is not None:
        done.append(_post(session, person, row, counts))
    if row.username:
        done += _account(session, row, person, touched, counts)
    for role, unit in row.roles:
        user = row.user
        assert user is not None  # _account created it
        had = any((g.role, g.org_code) == (role, unit.code) for g in user.grants)
        grant(session, user, role, unit.code)
        if had:
            done.append(_("已有角色 %(r)s @ %(o)s（不变）", r=_role(role), o=unit.name))
        else:
            counts["grants_added"] += 1
            done.append(_("授予角色 %(r)s @ %(o)s", r=_role(role), o=unit.name))
    return done or [_("无变化")]


def _role(role: str) -> str:
    from app.labels import role_label

    return role_label(role)


def _post(session: Session, person: Person, row: _Row, counts: Counter[str]) -> str:
    assert row.unit is not None and row.start_on is not None
    title = row.row.get("title", "")
    what = f"{row.unit.name} · {title or _(POST_KINDS[row.kind].label)}"
    existing = session.scalar(
        select(Post).where(
            Post.person_id == person.id,
            Post.org_code == row.unit.code,
            Post.kind == row.kind,
            Post.start_on == row.start_on,
        )
    )
    if existing is None:
        people.start_post(
            session, person, row.unit.code, row.kind, row.start_on, title=title, end_on=row.end_on
        )
        counts["posts_created"] += 1
        return _("新任职：%(what)s（%(d)s 起）", what=what, d=row.start_on.isoformat())
    if (existing.title, existing.end_on) == (title or existing.title, row.end_on):
        return _("任职不变：%(what)s", what=what)
    existing.title, existing.end_on = title or existing.title, row.end_on
    counts["posts_updated"] += 1
    return _("更新任职：%(what)s", what=what)


def _account(
    session: Session, row: _Row, person: Person | None, touched: set[int], counts: Counter[str]
) -> list[str]:
    done = []
    if row.user is None:
        user = User(username=row.username, display_name=row.name or row.username)
        set_password(session, user, row.row.get("password", ""))
        session.add(user)
        session.flush()
        row.user = user
        counts["accounts_created"] += 1
        done.append(_("新建账号 %(u)s", u=user.username))
    elif row.row.get("password"):
        done.append(_("账号 %(u)s 已存在：初始密码未使用，密码不变", u=row.username))
    user = row.user
    if person is not None and user.person_id != person.id:
        if user.person_id is not None:
            raise PeopleError(_("账号 %(u)s 已关联其他人员", u=user.username))
        user.person_id = person.id
        session.flush()
        touched.add(person.id)
        counts["accounts_linked"] += 1
        done.append(_("关联账号 %(u)s", u=user.username))
    return done


def template_csv() -> str:
    """The header row in Chinese, UTF-8 with a BOM so that Excel opens it as Chinese."""
    return "\ufeff" + ",".join(names[0] for names in HEADERS.values()) + "\n"


def template_xlsx() -> bytes:
    """The same header on the first sheet, and a 说明 sheet with what each coded column accepts."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = _("人员与授权")
    sheet.append([names[0] for names in HEADERS.values()])
    notes = book.create_sheet(_("说明"))
    notes.append([_("列"), _("可填写的值")])
    notes.append([_("职务类别"), _("、").join(_(spec.label) for spec in POST_KINDS.values())])
    notes.append([_("角色"), _("、").join(n for n in role_names() if not n.isascii())])
    notes.append([_("性别"), _("男、女")])
    notes.append([_("日期"), "2026-03-01"])
    notes.append([_("单位代码"), _("见“组织机构”页面，如 411302（宛城区）")])
    notes.append([_("账号"), _("已有账号：关联到该人员；新账号：须填写初始密码")])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
