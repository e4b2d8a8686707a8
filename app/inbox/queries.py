"""Inbox queries on the task projection: tabs, filters, colour status, counts and paging, all in SQL so
they stay fast with tens of thousands of open tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.params import page_arg
from workflows.engine.actors import Actor
from workflows.engine.inbox import DUE_SOON, DUE_TODAY, ON_TRACK, OVERDUE, visible_tasks
from workflows.engine.models import ProcessInstance, Task
from workflows.regulation.roles import OrgTree

PROCEDURES = {  # every bpmn/ diagram with user tasks; labels are msgids (templates/dashboard/_labels.html)
    "accountability_case": "责任督导和追究案件",
    "accountability_intake": "受理与核实",
    "accountability_notification": "通报",
    "accountability_interview": "约谈",
    "accountability_listing": "挂牌督办",
    "accountability_veto": "一票否决",
    "accountability_referral": "移送追究个人责任",
    "accountability_key_townships": "年度重点督办乡镇(街道)",
    "annual_cycle": "年度工作",
    "annual_letter": "签订目标管理责任书",
    "annual_assessment": "年度考核评价",
    "annual_report_filing": "成员单位报告工作",
    "inspection": "督促检查",
    "meeting": "综治会议",
    "promotion_consultation": "干部任用奖励征求意见",
    "commendation": "表彰奖励",
    "document_issue": "公文拟制与印发",
}
TABS = ("mine", "group", "all")
SORTS = {
    "due": (Task.due_at.is_(None), Task.due_at, Task.created_at),
    "newest": (Task.created_at.desc(),),
    "unit": (Task.unit_code, Task.due_at),
}


@dataclass
class InboxFilters:
    tab: str = "all"
    procedure: str | None = None
    county: str | None = None
    level: str | None = None
    status: str | None = None
    sort: str = "due"
    page: int = 1
    per_page: int = 25

    @classmethod
    def from_args(cls, args: Any) -> InboxFilters:
        def opt(name: str) -> str | None:
            value = args.get(name) or None
            return value

        tab = args.get("tab", "all")
        sort = args.get("sort", "due")
        return cls(
            tab=tab if tab in TABS else "all",
            procedure=opt("procedure"),
            county=opt("county"),
            level=opt("level"),
            status=opt("status") if opt("status") in (ON_TRACK, DUE_SOON, DUE_TODAY, OVERDUE) else None,
            sort=sort if sort in SORTS else "due",
            page=page_arg(args),
        )

    def args(self, **changes: Any) -> dict[str, Any]:
        values = {k: v for k, v in self.__dict__.items() if v not in (None, "") and k != "per_page"}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "")}


def status_condition(
    status: str, now: datetime, yellow: timedelta = timedelta(days=1)
) -> ColumnElement[bool]:
    if status == OVERDUE:
        return Task.due_at < now
    if status == DUE_TODAY:
        return and_(Task.due_at >= now, Task.due_at <= now + yellow)
    if status == DUE_SOON:
        return and_(Task.due_at > now + yellow, Task.remind_at <= now)
    return or_(
        Task.due_at.is_(None),
        and_(Task.due_at > now + yellow, or_(Task.remind_at.is_(None), Task.remind_at > now)),
    )


def base_query(
    actor: Actor, filters: InboxFilters, org: OrgTree, now: datetime, ignore: str | None = None
) -> Select[Task]:
    query = visible_tasks(actor)
    if filters.tab == "mine":
        query = query.where(Task.claimed_by == actor.user_id)
    elif filters.tab == "group":
        query = query.where(Task.claimed_by.is_(None))
    if filters.procedure and ignore != "procedure":
        query = query.where(Task.process_id == filters.procedure)
    if filters.county and ignore != "county":
        query = query.where(Task.unit_code.in_(sorted(org.subtree({filters.county}))))
    if filters.level and ignore != "level":
        query = query.join(ProcessInstance, ProcessInstance.id == Task.instance_id).where(
            ProcessInstance.summary["level"].as_string() == filters.level
        )
    if filters.status and ignore != "status":
        query = query.where(status_condition(filters.status, now))
    return query


def count(session: Session, query: Select[Task]) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def status_counts(
    session: Session, actor: Actor, filters: InboxFilters, org: OrgTree, now: datetime
) -> dict[str, int]:
    base = base_query(actor, filters, org, now, ignore="status")
    return {
        s: count(session, base.where(status_condition(s, now)))
        for s in (OVERDUE, DUE_TODAY, DUE_SOON, ON_TRACK)
    }


def tab_counts(
    session: Session, actor: Actor, filters: InboxFilters, org: OrgTree, now: datetime
) -> dict[str, int]:
    return {
        tab: count(session, base_query(actor, InboxFilters(**{**filters.__dict__, "tab": tab}), org, now))
        for tab in TABS
    }


def page(
    session: Session, actor: Actor, filters: InboxFilters, org: OrgTree, now: datetime
) -> tuple[list[Task], int]:
    query = base_query(actor, filters, org, now)
    total = count(session, query)
    rows = session.scalars(
        query.order_by(*SORTS[filters.sort])
        .limit(filters.per_page)
        .offset((filters.page - 1) * filters.per_page)
    )
    return list(rows), total
