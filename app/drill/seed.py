"""Making a database a drill (``scripts/drill new``): the mark with the drill's starting instant, and the
instructor's account. Plain functions; the caller commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.demo import DEMO_PASSWORD
from app.auth.models import User
from app.auth.services import create_user, grant
from app.drill import DRILL_ROLE
from app.drill.moves import mark_drill
from workflows.engine.models import OrgUnit

INSTRUCTOR = "{city}.drill_admin"  # like the demo accounts: <organisation code>.<role>


def add_instructor(session: Session, password: str = DEMO_PASSWORD) -> User:
    """The city's drill instructor (``drill_admin``), created once; a drill database holds demo data only,
    so its accounts share the demo password."""
    city = session.scalar(select(OrgUnit.code).where(OrgUnit.level == "city"))
    if city is None:
        raise ValueError("no city in the organisation: load it before adding the instructor")
    username = INSTRUCTOR.format(city=city)
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = create_user(session, username, "演练管理员（示例）", password)
    grant(session, user, DRILL_ROLE, city)
    return user


def make_drill(session: Session, name: str, now: datetime, seeded_from: str) -> User:
    """Mark the database as the drill ``name`` whose clock starts at ``now``, with its instructor."""
    instructor = add_instructor(session)
    mark_drill(session, name, now, seeded_from)
    return instructor
