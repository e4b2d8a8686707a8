"""Demo accounts and the fictitious people behind them, for the real city's structure (README lists them).

Usernames are ``<organisation code>.<role>`` (e.g. ``411302.office_director`` = 宛城区综治办主任,
``411302001.unit_principal_leader`` = 东关街道党工委书记); every demo password is ``demo``. Each account that
stands for a cadre is linked to a person holding a post (``workflows/regulation/people.py``), and its grants
come from that post (``app/org/grants.py``): every county and township has two principal leaders (党委 and
政府, the second one's account is ``<code>.government_principal``) and an in-charge leader, every member unit
a principal (``<code>.member_unit``) and an in-charge leader, every committee its director, office director
and staff, and so on. The people are invented: names drawn from a fixed list, marked 示例 in their notes,
never real officials. Accounts for system roles (designer, admin, supervisor) have grants given by hand and
no person. For trying the system out only: never load them into production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.auth.demo_mode import DEMO_PASSWORD, mark_demo_loaded
from app.auth.models import RoleGrant, User
from app.org.grants import sync_post_grants
from workflows.engine.models import OrgUnit
from workflows.regulation.people import JOINT_MEETING, Person, Post
from workflows.regulation.roles import ROLES

DEMO_NOTE = "示例数据：虚构人物，姓名取自固定名单，与真实人员无关"
DEPARTMENTS = tuple(JOINT_MEETING)
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于"
    "董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范"
)
GIVEN_NAMES = (
    ("建国", "male"), ("海燕", "female"), ("志强", "male"), ("春梅", "female"), ("文博", "male"),
    ("红霞", "female"), ("晓东", "male"), ("丽娟", "female"), ("振华", "male"), ("秀英", "female"),
    ("卫东", "male"), ("桂芳", "female"), ("明辉", "male"), ("淑珍", "female"), ("永刚", "male"),
    ("玉兰", "female"), ("立新", "male"), ("晓燕", "female"), ("德胜", "male"), ("慧敏", "female"),
    ("学军", "male"), ("雪梅", "female"), ("宏伟", "male"), ("静怡", "female"), ("长青", "male"),
    ("秋菊", "female"), ("广平", "male"), ("艳红", "female"), ("世杰", "male"), ("婉清", "female"),
    ("俊峰", "male"), ("美玲", "female"), ("家豪", "male"), ("佳琪", "female"), ("兴华", "male"),
    ("彩云", "female"), ("子健", "male"), ("若兰", "female"), ("天佑", "male"), ("思雨", "female"),
)  # fmt: skip


@dataclass(frozen=True)
class Seat:
    """One demo account at a unit: ``<code>.<suffix>``, held through a post of ``kind`` (None: a system
    role ``suffix`` granted by hand)."""

    suffix: str
    kind: str | None
    label: str  # what the account's display name adds to the unit's name


def _role_label(role: str) -> str:
    base, _, dept = role.partition("/")
    return ROLES[base] + (f"（{JOINT_MEETING[dept]}）" if dept else "")


def _same(*roles: str) -> tuple[Seat, ...]:
    """Seats whose username suffix, post kind and role are one word (office_director, …)."""
    return tuple(Seat(r, r, _role_label(r)) for r in roles)


_LEADERS = (
    Seat("unit_principal_leader", "party_principal", ROLES["unit_principal_leader"]),
    Seat("government_principal", "government_principal", "政府主要负责同志"),
    Seat("unit_in_charge_leader", "in_charge", ROLES["unit_in_charge_leader"]),
)
_COMMITTEE = _same(
    "office_director",
    "office_staff",
    "committee_director",
    "joint_meeting_convener",
    "investigation_team",
    "organization_personnel",
    "discipline_supervision",
    "finance",
    "inspector",
    *(f"joint_meeting_member/{d}" for d in DEPARTMENTS),
)
_SYSTEM = {role: Seat(role, None, ROLES[role]) for role in ("supervisor", "designer", "admin")}
_DEPARTMENT = (
    Seat("unit_principal_leader", "principal", ROLES["unit_principal_leader"]),
    Seat("unit_in_charge_leader", "in_charge", ROLES["unit_in_charge_leader"]),
)
SEATS: dict[str, tuple[Seat, ...]] = {
    "city": (*_LEADERS, *_COMMITTEE, _SYSTEM["supervisor"], _SYSTEM["designer"], _SYSTEM["admin"]),
    "county": (*_LEADERS, *_COMMITTEE, *_same("county_committee"), _SYSTEM["supervisor"]),
    "township": _LEADERS,
    "city_direct": _DEPARTMENT,
    "system_unit": _DEPARTMENT,
    "member_unit": (
        Seat("member_unit", "member_principal", "主要负责同志"),
        Seat("unit_in_charge_leader", "member_in_charge", ROLES["unit_in_charge_leader"]),
    ),
}
_HEADS = (  # a member unit's principal and deputy by the kind of body its name ends with
    ("政法委员会", "书记", "副书记"),
    ("人民法院", "院长", "副院长"),
    ("人民检察院", "检察长", "副检察长"),
    ("宣传部", "部长", "副部长"),
    ("共青团", "书记", "副书记"),
    ("联合会", "主席", "副主席"),
    ("总工会", "主席", "副主席"),
    ("委员会", "主任", "副主任"),
    ("办公室", "主任", "副主任"),
)
_COMMITTEE_TITLES = {
    "committee_director": "综治委主任",
    "county_committee": "综治委副主任",
    "office_director": "综治办主任",
    "office_staff": "综治办干事",
    "joint_meeting_convener": "综治办副主任",
    "investigation_team": "综治委调查组组长",
    "organization_personnel": "组织部副部长",
    "discipline_supervision": "纪委监委副主任",
    "finance": "财政局副局长",
    "inspector": "综治委督导组组长",
    "joint_meeting_member/governance": "综治办副主任",
    "joint_meeting_member/discipline": "纪委常委",
    "joint_meeting_member/organization": "组织部副部长",
    "joint_meeting_member/personnel": "人力资源和社会保障局副局长",
    "joint_meeting_member/supervision": "监委委员",
}


def title_for(kind: str, name: str, level: str) -> str:
    """The post as it would be printed (职务) for a demo person."""
    if kind in _COMMITTEE_TITLES:
        return _COMMITTEE_TITLES[kind]
    if level in ("city", "county", "township"):
        if name.endswith("区") and level == "county" and ("高新" in name or "示范区" in name):
            party, government = "党工委书记", "管委会主任"
        elif level == "township":
            suffix = "街道" if name.endswith("街道") else name[-1]
            party = f"{suffix}党工委书记" if suffix == "街道" else f"{suffix}党委书记"
            government = "街道办事处主任" if suffix == "街道" else f"{suffix}长"
        else:
            party, government = f"{name[-1]}委书记", f"{name[-1]}长"
        in_charge = "政法委员" if level == "township" else "政法委书记"
        return {"party_principal": party, "government_principal": government, "in_charge": in_charge}[kind]
    if level == "member_unit":
        head, deputy = next(((h, d) for end, h, d in _HEADS if end in name), ("局长", "副局长"))
        return head if kind == "member_principal" else deputy
    if level == "city_direct":
        return "党组书记、局长" if kind == "principal" else "副局长"
    return "主要负责人" if kind == "principal" else "分管负责人"


def _names() -> list[tuple[str, str]]:
    """Every surname × given name once, in a fixed shuffled order (the same on every machine)."""
    combos = [(s + g, gender) for s in SURNAMES for g, gender in GIVEN_NAMES]
    random.Random(2017).shuffle(combos)
    return combos


def seed_demo_users(session: Session, now: datetime | None = None) -> int:
    """Create the demo accounts, people and posts that do not exist yet; return how many accounts were
    created. Idempotent and fast on a second run (one query when everything is there). Accounts created
    before people existed are linked to a new person, and their grants become that person's post's."""
    now = now or datetime.now(UTC)
    units = session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.level).order_by(OrgUnit.code)).all()
    plan = [
        (f"{code}.{seat.suffix}", code, name, level, seat)
        for code, name, level in units
        for seat in SEATS.get(level, ())
    ]
    existing = {
        u: (uid, pid) for uid, u, pid in session.execute(select(User.id, User.username, User.person_id))
    }
    missing = [p for p in plan if p[0] not in existing]
    if missing:
        password_hash = generate_password_hash(DEMO_PASSWORD)  # one hash for all: hashing 1500 times is slow
        rows = [
            {
                "username": u,
                "display_name": f"{name}{seat.label}",
                "password_hash": password_hash,
                "locale": "zh_CN",
                "active": True,
            }
            for u, _code, name, _level, seat in missing
        ]
        for uid, username in session.execute(
            insert(User).returning(User.id, User.username, sort_by_parameter_order=True), rows
        ):
            existing[username] = (uid, None)
        manual = [
            {"user_id": existing[u][0], "role": seat.suffix, "org_code": code}
            for u, code, _name, _level, seat in missing
            if seat.kind is None
        ]
        if manual:
            session.execute(insert(RoleGrant), manual)
    unlinked = [(i, p) for i, p in enumerate(plan) if p[4].kind is not None and existing[p[0]][1] is None]
    if unlinked:
        names = _names()
        persons = [
            {"name": names[i % len(names)][0], "gender": names[i % len(names)][1], "notes": DEMO_NOTE}
            for i, _ in unlinked
        ]
        ids = list(
            session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), persons)
        )
        session.execute(
            insert(Post),
            [
                {
                    "person_id": pid,
                    "org_code": code,
                    "kind": seat.kind,
                    "title": title_for(seat.kind or "", name, level),
                    "start_on": date(2020 + i % 3, 1 + (i * 5) % 12, 1 + i % 28),
                    "end_on": None,
                }
                for pid, (i, (_u, code, name, level, seat)) in zip(ids, unlinked, strict=True)
            ],
        )
        session.execute(
            update(User),
            [{"id": existing[p[0]][0], "person_id": pid} for pid, (_i, p) in zip(ids, unlinked, strict=True)],
        )
        sync_post_grants(session, now, ids, adopt=True)
    mark_demo_loaded(session, len(plan), now)  # this database now holds demo data (app/auth/demo_mode.py)
    session.flush()
    return len(missing)
