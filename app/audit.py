"""The audit log: who deployed or migrated what, when (every deploy and migration is recorded)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from workflows.engine.models import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)  # deploy | upload | migrate | ...
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


def audit(session: Session, at: datetime, actor: str, action: str, **detail: Any) -> AuditEntry:
    entry = AuditEntry(at=at, actor=actor, action=action, detail=detail)
    session.add(entry)
    session.flush()
    return entry
