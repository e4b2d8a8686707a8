"""The case's dossier (案卷): its substance in order — the report, each step's submission with the form's
own field names, each decision with its reasons and opinions, the documents issued — for every task page
and the case page, and for each audience.

The working file (``instance_event``) keeps everything as data; here it is read the way an official reads a
file: a step's name instead of its element id, 是/否 and the options' titles instead of ``true`` and enum
keys, tables for repeated rows. Who did each step stays an account id here; the pages name the person and
post (app/auth/services.py), because people live in the application.

Audiences (Art. 33–37 concern the unit; the deliberations are the committee's and its office's): a unit
under supervision sees its own submissions, the documents sent to it and the comments not marked internal
on its own steps — not the office's verifications, proposals, the joint meeting's opinions or internal
comments. Everyone else who may read the case sees the whole dossier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.actors import Actor
from workflows.engine.models import InstanceEvent, ProcessInstance, Task
from workflows.regulation.document_models import DocumentDelivery, IssuedDocument
from workflows.regulation.document_texts import document_label
from workflows.regulation.roles import OrgTree

Label = tuple[str, str]  # (zh, en): the page picks by locale
YES, NO = ("是", "Yes"), ("否", "No")
# Facts the scripts state that a reader of the file needs beside the steps (decisions and their reasons).
DECISIONS = {
    "case_verified": ("核实认定", "Verification"),
    "escalated": ("升级追究", "Escalated"),
    "level_closed": ("本级追究结束", "Level closed"),
    "case_concluded": ("案件办结", "Case concluded"),
    "listing_ended": ("解除挂牌督办", "Delisted"),
    "veto_imposed": ("实行一票否决", "Veto imposed"),
}


@dataclass
class Field:
    label: Label
    text: str | None = None  # a value as written
    choice: Label | None = None  # an option's or a yes/no's title
    rows: list[list[Label]] = field(default_factory=list)  # a table: each cell (Chinese, English)
    columns: list[Label] = field(default_factory=list)


@dataclass
class Entry:
    at: datetime
    kind: str  # submission | decision | document | comment
    title: Label
    actor: str | None = None
    fields: list[Field] = field(default_factory=list)
    document_id: int | None = None
    number: str | None = None
    internal: bool = False
    step: str = ""  # the diagram's name of the step a comment is on (translated by the page)


def _choice(schema: Mapping[str, Any], value: Any) -> Label | None:
    values = schema.get("enum")
    if not isinstance(values, list) or value not in values:
        return None
    index = values.index(value)
    zh = (schema.get("x-enum-titles") or [])[index : index + 1]
    en = (schema.get("x-enum-titles-en") or zh)[index : index + 1]
    return (str(zh[0]) if zh else str(value), str(en[0]) if en else str(value))


def _plain(schema: Mapping[str, Any], value: Any, en: bool = False) -> str:
    """One value as text: an option's title (Chinese, or English with ``en``), 是/否, a list joined."""
    if isinstance(value, bool):
        return (YES if value else NO)[1 if en else 0]
    if isinstance(value, list):
        items = schema.get("items")
        of: Mapping[str, Any] = items if isinstance(items, Mapping) else {}
        return (", " if en else "、").join(_plain(of, v, en) for v in value)
    choice = _choice(schema, value)
    if choice is not None:
        return choice[1 if en else 0]
    if isinstance(value, Mapping):
        return "；".join(f"{k}：{v}" for k, v in value.items())
    return "" if value is None else str(value)


def readable(schema: Mapping[str, Any] | None, data: Mapping[str, Any]) -> list[Field]:
    """A submission's fields in the form's order, titled as the form titles them; undeclared keys skipped."""
    properties: Mapping[str, Any] = (schema or {}).get("properties") or {}
    fields = []
    for name, prop in properties.items():
        if name not in data or data[name] in (None, "", []):
            continue
        value, label = data[name], (str(prop.get("title") or name), str(prop.get("x-title-en") or name))
        if isinstance(value, bool):
            fields.append(Field(label, choice=YES if value else NO))
        elif prop.get("type") == "array" and (prop.get("items") or {}).get("type") == "object":
            columns = (prop.get("items") or {}).get("properties") or {}
            fields.append(
                Field(
                    label,
                    columns=[
                        (str(c.get("title") or k), str(c.get("x-title-en") or k)) for k, c in columns.items()
                    ],
                    rows=[
                        [
                            (_plain(columns[k], row.get(k)), _plain(columns[k], row.get(k), en=True))
                            for k in columns
                        ]
                        for row in value
                        if isinstance(row, Mapping)
                    ],
                )
            )
        else:
            choice = _choice(prop, value)
            if choice is None and isinstance(value, list) and "enum" in (prop.get("items") or {}):
                choice = (_plain(prop, value), _plain(prop, value, en=True))  # several options, titled
            fields.append(Field(label, choice=choice) if choice else Field(label, text=_plain(prop, value)))
    return fields


def is_unit_audience(org: OrgTree, actor: Actor, inst: ProcessInstance) -> bool:
    """The actor works at the unit under supervision (or below it) and at no level above it."""
    above = set(org.ancestors(inst.unit_code)[1:])
    held = {code for _, code in actor.grants}
    return not (held & above) and bool(held & org.subtree({inst.unit_code}))


def dossier(
    session: Session,
    inst: ProcessInstance,
    forms: Mapping[str, Mapping[str, Any] | None],
    *,
    unit_view: bool = False,
) -> list[Entry]:
    """The case's dossier in order; ``forms`` maps a form file name to its schema (the case's version);
    ``unit_view``: only what concerns the unit under supervision (see the module's docstring)."""
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.instance_id == inst.id))}
    events = session.scalars(
        select(InstanceEvent)
        .where(InstanceEvent.instance_id == inst.id)
        .order_by(InstanceEvent.at, InstanceEvent.id)
    )
    sent = {
        d.document_id
        for d in session.scalars(
            select(DocumentDelivery)
            .join(IssuedDocument, IssuedDocument.id == DocumentDelivery.document_id)
            .where(IssuedDocument.instance_id == inst.id, DocumentDelivery.unit_code == inst.unit_code)
        )
    }
    documents = {
        d.id: d for d in session.scalars(select(IssuedDocument).where(IssuedDocument.instance_id == inst.id))
    }
    entries: list[Entry] = []
    for event in events:
        detail = event.detail or {}
        task = tasks.get(event.task_id or "")
        own_step = task is not None and task.org_code == inst.unit_code
        if event.kind == "task_completed" and task is not None:
            if unit_view and not own_step:
                continue
            fields = readable(forms.get(task.form or ""), detail.get("data") or {})
            entries.append(Entry(event.at, "submission", (task.name, task.name), event.actor, fields))
        elif event.kind == "comment":
            internal = bool(detail.get("internal"))
            if unit_view and (internal or not own_step):
                continue
            text = Field(("意见", "Opinion"), text=str(detail.get("text") or ""))
            title = ("意见", "Comment")  # on the step named by ``step``, in the reader's language
            step = str(detail.get("task") or "")
            entries.append(
                Entry(event.at, "comment", title, event.actor, [text], internal=internal, step=step)
            )
        elif event.kind == "document_frozen":
            doc = documents.get(int(detail.get("document_id") or 0))
            if doc is None or (unit_view and doc.id not in sent):
                continue
            label = document_label(doc.kind)
            fields = [Field(("主送", "To"), text="、".join(doc.main_recipients))]
            if doc.copied_to:
                fields.append(Field(("抄送", "Copied to"), text="、".join(doc.copied_to)))
            entries.append(
                Entry(
                    event.at,
                    "document",
                    (f"{label}：{doc.title}", doc.title),
                    event.actor,
                    fields,
                    doc.id,
                    doc.number,
                )
            )
        elif event.kind in DECISIONS and not unit_view:
            reason = detail.get("reason")
            fields = [Field(("理由", "Reason"), text=str(reason))] if reason else []
            entries.append(Entry(event.at, "decision", DECISIONS[event.kind], event.actor, fields))
    return entries
