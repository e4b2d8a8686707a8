"""Demo accounts: one per role and level for the real city's structure (README lists them).

Usernames are ``<organisation code>.<role>`` (e.g. ``411302.office_director`` = 宛城区综治办主任); every
demo password is ``demo``. They are for trying the system out: never load them into production.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from app.auth.models import RoleGrant, User
from workflows.engine.models import OrgUnit
from workflows.regulation.roles import ROLES

DEMO_PASSWORD = "demo"
DEPARTMENTS = ("governance", "discipline", "organization", "personnel", "supervision")
_LEVEL_ROLES = (
    "office_director",
    "office_staff",
    "committee_director",
    "joint_meeting_convener",
    "investigation_team",
    "organization_personnel",
    "discipline_supervision",
    "supervisor",
    "inspector",
)
ROLES_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "city": (*_LEVEL_ROLES, "designer", "admin", *(f"joint_meeting_member/{d}" for d in DEPARTMENTS)),
    "county": (
        *_LEVEL_ROLES,
        "county_committee",
        "unit_principal_leader",
        "unit_in_charge_leader",
        *(f"joint_meeting_member/{d}" for d in DEPARTMENTS),
    ),
    "township": ("unit_principal_leader", "unit_in_charge_leader"),
    "city_direct": ("unit_principal_leader", "unit_in_charge_leader"),
}
DEPARTMENT_LABELS = {
    "governance": "综治",
    "discipline": "纪检",
    "organization": "组织",
    "personnel": "人事",
    "supervision": "监察",
}


def _label(role: str) -> str:
    base, _, dept = role.partition("/")
    return ROLES[base] + (f"（{DEPARTMENT_LABELS[dept]}）" if dept else "")


def seed_demo_users(session: Session) -> int:
    """Create the demo accounts that do not exist yet; return how many were created."""
    existing = set(session.scalars(select(User.username)))
    password_hash = generate_password_hash(DEMO_PASSWORD)  # one hash for all: hashing 800 times is slow
    created = 0
    for org in session.scalars(select(OrgUnit).order_by(OrgUnit.code)):
        for role in ROLES_BY_LEVEL.get(org.level, ()):
            username = f"{org.code}.{role}"
            if username in existing:
                continue
            user = User(
                username=username, display_name=f"{org.name}{_label(role)}", password_hash=password_hash
            )
            user.grants.append(RoleGrant(role=role, org_code=org.code))
            session.add(user)
            created += 1
    session.flush()
    return created
