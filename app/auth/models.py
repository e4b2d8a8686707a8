"""Accounts and the roles they hold at organisation units (DOMAIN.md, "Roles"; scope is always an org)."""

from __future__ import annotations

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from workflows.engine.actors import Actor
from workflows.engine.models import Base
from workflows.regulation.people import Person


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The person who logs in with this account (workflows/regulation/people.py); their posts give the grants
    # that carry a post_id (app/org/grants.py). Empty for system accounts (designer, admin, supervisor).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    person: Mapped[Person | None] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RoleGrant.id"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: a deactivated user cannot log in or keep a session
        return self.active

    def set_password(self, password: str) -> None:
        if len(password) < 4:
            raise ValueError("password too short")
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def actor(self) -> Actor:
        """The engine's view of this person: who they are and which (role, organisation) they hold."""
        return Actor(self.username, frozenset((g.role, g.org_code) for g in self.grants))


class RoleGrant(Base):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", "org_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(80))  # e.g. office_director, joint_meeting_member/discipline
    org_code: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    # The post this grant follows (kept in line by app/org/grants.py); empty for a grant given by hand.
    post_id: Mapped[int | None] = mapped_column(ForeignKey("post.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship(back_populates="grants")
