"""Issued documents (公文) of a case: drafted from its facts, reviewed, numbered, frozen and delivered.

The ``document_issue`` diagram is called at each step where the regulation issues a document: the 通报
of Art. 33, the 约谈通知书 and 约谈情况通报 of Art. 34, the 挂牌督办决定书 and its 解除 of Art. 35–36, the
一票否决决定 of Art. 37, the 移送函 of Art. 39. Its scripts use two parts from here:

* ``draft_document(kind, business_key, unit_code, body_code, facts)``, a script helper: the prefilled draft
  (title, 主送, 抄送, body, issuing organ) that the office staff edit (document_texts.py says what each says);
* ``record("document_drafted", …)`` and ``record("document_issued", …)``, whose handlers refuse what may
  not be issued (no 主送, a date in the future, an empty body) and, at issue, take the organ's next number
  inside the step's transaction (doc_numbers.py), render the .docx (gongwen.py), freeze it with its SHA-256
  in the case's working file and deliver it to the addressed units' inboxes. An issued document is never
  changed: a second issue of the same draft is refused, a correction is a new document.

A receipt (签收) by an addressed unit is recorded once; the listed unit's receipt of the listing decision is
what its 10 working days run from (Art. 35 para 5).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.actors import Actor
from workflows.engine.core import Engine
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.engine.records import Record
from workflows.regulation import doc_numbers
from workflows.regulation.doc_numbers import IssuingOrgan
from workflows.regulation.document_addressing import DraftError, distribution, full_name
from workflows.regulation.document_models import DocumentDelivery, IssuedDocument, latest_document
from workflows.regulation.document_texts import kind_of
from workflows.regulation.gongwen import Gongwen, chinese_date, render_docx
from workflows.regulation.roles import OrgTree

# The draft as the form and the records carry it (task data names, prefixed: call activities share data).
DRAFT_FIELDS = (
    "doc_title",
    "doc_main_recipients",
    "doc_copied_to",
    "doc_body",
    "doc_attachments",
    "doc_date",
)
DELIVERY_ROLES = {"main": "主送", "copy": "抄送"}


class DocumentError(ValueError):
    """Refused: a receipt by a unit not addressed, a second receipt, an unknown document."""


# -- drafting ------------------------------------------------------------------------------------------------
def organ_for(session: Session, org: OrgTree, body_code: str, organ_kind: str) -> IssuingOrgan:
    """The issuing organ of ``organ_kind`` at the body's level, or the nearest level above that has one."""
    organs = {
        o.org_code: o for o in session.scalars(select(IssuingOrgan).where(IssuingOrgan.kind == organ_kind))
    }
    for code in org.ancestors(body_code):
        if code in organs:
            return organs[code]
    raise DraftError(
        f"no issuing organ ({organ_kind}) at {body_code} or above: see app/org/issuing-organs.csv"
    )


def _instance(session: Session, business_key: str) -> ProcessInstance | None:
    return session.scalars(
        select(ProcessInstance).where(ProcessInstance.business_key == business_key).limit(1)
    ).first()


def draft(
    session: Session,
    org: OrgTree,
    kind_key: str,
    business_key: str,
    unit_code: str,
    body_code: str,
    facts: Mapping[str, Any],
) -> dict[str, Any]:
    """The prefilled draft: the form's fields (``DRAFT_FIELDS``) plus what the office does not edit — the
    kind, the issuing organ, the units whose inboxes get it and the draft's reference."""
    kind = kind_of(kind_key)
    organ = organ_for(session, org, body_code, kind.organ)
    name = full_name(org, unit_code)
    facts = dict(facts)
    committee = organ_for(session, org, body_code, "committee")
    facts.setdefault("committee_name", committee.name)
    if kind.key == "delisting_notice" and not facts.get("listing_number"):
        inst = _instance(session, business_key)
        listing = latest_document(session, inst.id, "listing_decision") if inst else None
        facts["listing_number"] = listing.number if listing else ""
    spread = distribution(org, kind.rule, unit_code, body_code)
    return {
        "doc_kind": kind.key,
        "doc_kind_label": kind.label,
        "doc_article": kind.article,
        "doc_organ": organ.code,
        "doc_issuer": organ.name,
        "doc_title": kind.title(name, facts),
        "doc_main_recipients": spread.main,
        "doc_copied_to": spread.copied,
        "doc_body": "\n".join(kind.body(org, name, facts)),
        "doc_attachments": [],
        "doc_date": clock.now().astimezone(CST).date().isoformat(),
        "doc_addressees": spread.addressees,
        "doc_ref": uuid.uuid4().hex,
    }


def document_helpers(org: OrgTree, session: Session | None) -> dict[str, Callable[..., Any]]:
    """``draft_document(kind, business_key, unit_code, body_code, facts)`` for the document_issue diagram."""

    def draft_document(
        kind: str, business_key: str, unit_code: str, body_code: str, facts: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        if session is None:
            raise RuntimeError("draft_document needs the engine's database session (build_engine)")
        return draft(session, org, str(kind), str(business_key), str(unit_code), str(body_code), facts or {})

    return {"draft_document": draft_document}


# -- checking and issuing ------------------------------------------------------------------------------------
def paragraphs(body: Any) -> list[str]:
    lines = body if isinstance(body, list) else str(body or "").splitlines()
    return [str(line).strip() for line in lines if str(line).strip()]


def names(value: Any) -> list[str]:
    return [str(v).strip() for v in (value or []) if str(v).strip()] if isinstance(value, list) else []


def gongwen_of(organ: IssuingOrgan, detail: Mapping[str, Any], number: str) -> Gongwen:
    """The document a draft describes, with ``number`` (a placeholder before issue)."""
    try:
        day = date.fromisoformat(str(detail.get("doc_date") or ""))
    except ValueError:
        raise FormInvalid(
            {"doc_date": ["成文日期不是有效日期"]}, {"doc_date": [("format", "date")]}
        ) from None
    return Gongwen(
        organ_mark=organ.organ_mark,
        number=number,
        title=str(detail.get("doc_title") or "").strip(),
        main_recipients=names(detail.get("doc_main_recipients")),
        body=paragraphs(detail.get("doc_body")),
        issuer=organ.name,
        date=day,
        attachments=names(detail.get("doc_attachments")),
        copied_to=names(detail.get("doc_copied_to")),
    )


def check(doc: Gongwen, today: date) -> None:
    """Refuse what may not be issued, each problem on its form field."""
    problems: dict[str, list[str]] = {}
    if not doc.title:
        problems["doc_title"] = ["公文标题不能为空"]
    if not doc.main_recipients:
        problems["doc_main_recipients"] = ["公文必须有主送机关"]
    if not doc.body:
        problems["doc_body"] = ["公文正文不能为空"]
    if doc.date > today:
        problems["doc_date"] = [f"成文日期 {chinese_date(doc.date)} 晚于今天 {chinese_date(today)}"]
    if problems:
        raise FormInvalid(problems, {k: [("document", None)] for k in problems})
    try:
        doc.validate(today)
    except ValueError as exc:
        raise FormInvalid({"": [str(exc)]}, {"": [("document", None)]}) from None


def organ_of(session: Session, code: Any) -> IssuingOrgan:
    organ = session.get(IssuingOrgan, str(code or ""))
    if organ is None:
        raise FormInvalid({"": [f"未知的发文机关 {code!r}"]}, {"": [("document", None)]})
    return organ


def nanyang_today() -> date:
    return clock.now().astimezone(CST).date()


def _drafted(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """The staff's draft: refused at once when it could not be issued, so the director reviews a valid one."""
    organ = organ_of(engine.session, rec.detail.get("doc_organ"))
    day = nanyang_today()
    check(gongwen_of(organ, rec.detail, doc_numbers.format_number(organ.short_mark, day.year, 1)), day)


def issue(session: Session, inst: ProcessInstance, detail: Mapping[str, Any], actor: Actor) -> IssuedDocument:
    """Number, render, freeze and deliver the reviewed draft ``detail`` (the record's fields). Runs inside
    the step's transaction: a failure anywhere gives the number back."""
    ref = str(detail.get("doc_ref") or "")
    if not ref:
        raise FormInvalid({"": ["草稿缺少编号，不能印发"]}, {"": [("document", None)]})
    issued = session.scalars(select(IssuedDocument).where(IssuedDocument.draft_ref == ref)).first()
    if issued is not None:
        raise FormInvalid(
            {"": [f"该公文已于{chinese_date(issued.doc_date)}印发（{issued.number}），不能重复印发"]},
            {"": [("document", None)]},
        )
    kind = kind_of(str(detail.get("doc_kind") or ""))
    organ = organ_of(session, detail.get("doc_organ"))
    day = nanyang_today()
    check(gongwen_of(organ, detail, doc_numbers.format_number(organ.short_mark, day.year, 1)), day)
    title = str(detail.get("doc_title")).strip()
    number = doc_numbers.assign(session, organ.code, day.year, title, actor.user_id, inst.id)
    doc = gongwen_of(organ, detail, number.number)
    data = render_docx(doc, today=day)
    row = IssuedDocument(
        instance_id=inst.id,
        unit_code=inst.unit_code,
        kind=kind.key,
        article=kind.article,
        draft_ref=ref,
        organ_code=organ.code,
        number_id=number.id,
        number=number.number,
        title=doc.title,
        main_recipients=list(doc.main_recipients),
        copied_to=list(doc.copied_to),
        body=list(doc.body),
        attachments=list(doc.attachments),
        issuer=doc.issuer,
        doc_date=doc.date,
        issued_at=clock.now(),
        issued_by=actor.user_id,
        docx=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    session.add(row)
    session.flush()
    addressees = detail.get("doc_addressees") or {}
    for code, role in sorted(addressees.items() if isinstance(addressees, Mapping) else []):
        session.add(
            DocumentDelivery(
                document_id=row.id,
                unit_code=str(code),
                role="copy" if role == "copy" else "main",
                delivered_at=clock.now(),
            )
        )
    session.flush()
    return row


def _issued(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Issue the reviewed draft; the frozen file's number and SHA-256 go to the case's working file."""
    row = issue(engine.session, inst, rec.detail, engine.acting)
    engine.event(
        inst,
        engine.acting,
        "document_frozen",
        detail={
            "document_id": row.id,
            "kind": row.kind,
            "number": row.number,
            "title": row.title,
            "sha256": row.sha256,
            "article": row.article,
        },
    )


def receive(session: Session, document_id: int, unit_code: str, actor_id: str) -> DocumentDelivery:
    """Record ``unit_code``'s receipt (签收) of the document: once, and only by an addressed unit."""
    delivery = session.scalars(
        select(DocumentDelivery)
        .where(DocumentDelivery.document_id == document_id, DocumentDelivery.unit_code == unit_code)
        .with_for_update()
    ).first()
    if delivery is None:
        raise DocumentError(f"公文 {document_id} 未发送给 {unit_code}")
    if delivery.received_at is not None:
        raise DocumentError(f"该公文已于 {delivery.received_at.astimezone(CST):%Y-%m-%d %H:%M} 签收")
    delivery.received_at = clock.now()
    delivery.received_by = actor_id
    session.flush()
    return delivery


def _received(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """The unit's receipt task (签收挂牌督办决定) records its receipt of the latest document of that kind."""
    doc = latest_document(engine.session, inst.id, str(rec.detail.get("kind") or ""))
    if doc is None:
        return
    delivery = engine.session.scalars(
        select(DocumentDelivery).where(
            DocumentDelivery.document_id == doc.id, DocumentDelivery.unit_code == inst.unit_code
        )
    ).first()
    if delivery is not None and delivery.received_at is None:
        delivery.received_at = clock.now()
        delivery.received_by = engine.acting.user_id


DOCUMENT_HANDLERS = {"document_drafted": _drafted, "document_issued": _issued, "document_received": _received}
