"""Issue 17: a completion no longer queries for the documents a step issued (before and after the step); it
sees them as they are written. The units a document is delivered to must still hear of it at once."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import RoleGrant, User
from app.inbox import services
from app.inbox.models import Notification
from tests.accountability_driver import REVIEW, Case, verify
from tests.conftest import WANCHENG_TOWN, WOLONG
from workflows.engine.core import Engine
from workflows.regulation.document_models import DocumentDelivery
from workflows.regulation.documents import DRAFT_FIELDS


def _user(session: Session, name: str, role: str, org_code: str) -> int:
    user = User(username=name, display_name=name, password_hash="-")
    user.grants.append(RoleGrant(role=role, org_code=org_code))
    session.add(user)
    session.flush()
    return user.id


def test_the_addressed_units_hear_of_a_document_the_completion_issued(
    case_factory: Callable[..., Case],
    session_factory: sessionmaker[Session],
    make_engine: Callable[[Session], Engine],
) -> None:
    with session_factory() as s:
        addressee = _user(s, "dongguan-leader", "unit_principal_leader", WANCHENG_TOWN)
        bystander = _user(s, "wolong-director", "office_director", WOLONG)
        s.commit()
    case = case_factory()
    case.intake(verify("ordinary"))
    case.approve_level("propose_notification", "approve_notification")
    draft = {k: v for k, v in case.data("draft_document").items() if k in DRAFT_FIELDS}
    case.do("draft_document", draft)
    review = case.ready()["review_document"]
    with session_factory() as s:
        done = services.complete_task(make_engine(s), case.who(review), review.id, REVIEW)
        assert done.task.id == review.id
        s.commit()
    (document,) = case.documents()
    with session_factory() as s:
        units = set(
            s.scalars(select(DocumentDelivery.unit_code).where(DocumentDelivery.document_id == document.id))
        )
        notices = s.scalars(
            select(Notification).where(Notification.kind == "document", Notification.instance_id == case.id)
        ).all()
    assert WANCHENG_TOWN in units and WOLONG not in units
    assert {n.user_id for n in notices} == {addressee} and bystander not in {n.user_id for n in notices}
    assert [n.message for n in notices] == [f"{document.number} {document.title}"]
