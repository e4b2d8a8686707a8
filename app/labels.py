"""Words for codes (levels, statuses, events, roles) in the reader's language, and the +08:00 date filter."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.i18n import is_english
from workflows.engine.legaltime.legal_time import to_cst
from workflows.regulation.roles import ROLES
from workflows.regulation.traceability import article_zh

LEVELS = {
    "intake": _l("受理核实"),
    "notification": _l("通报"),
    "interview": _l("约谈"),
    "listing": _l("挂牌督办"),
    "veto": _l("一票否决"),
}
STATUSES = {
    "overdue": _l("已逾期"),
    "due_today": _l("今日到期"),
    "due_soon": _l("即将到期"),
    "on_track": _l("正常"),
}
OUTCOMES = {
    "rectified": _l("整改到位"),
    "not_rectified": _l("未按期整改"),
    "not_approved": _l("未批准"),
    "vetoed": _l("一票否决"),
    "not_established": _l("不予追究"),
}
EVENTS = {
    "started": _l("立案"),
    "task_created": _l("任务到达"),
    "task_completed": _l("办理完成"),
    "task_cancelled": _l("任务撤销"),
    "task_reopened": _l("任务重新打开"),
    "timer_fired": _l("期限届满"),
    "completed": _l("办结"),
    "case_opened": _l("立卷"),
    "case_verified": _l("核实确定追究方式"),
    "level_started": _l("进入追究方式"),
    "level_entered": _l("决定生效"),
    "level_closed": _l("追究方式办结"),
    "escalated": _l("升级"),
    "listing_started": _l("挂牌督办开始"),
    "listing_ended": _l("挂牌督办结束"),
    "veto_imposed": _l("实施一票否决"),
    "measures_reported": _l("报告整改措施"),
    "progress_reported": _l("报告整改进展"),
    "case_concluded": _l("追究办结"),
    "sent_back": _l("驳回"),
    "transferred": _l("转办"),
    "urged": _l("催办"),
    "comment": _l("审批意见"),
    "attachment": _l("附件"),
    "personal_measure": _l("个人责任处理结果"),
    "personal_measures_proposed": _l("提出追究个人责任"),
    "report_forwarded": _l("转送有管辖权的综治办"),
    "levels_started": _l("开始办理"),
    "interview_held": _l("约谈，起算整改期限"),
    "listing_prepared": _l("组织调查"),
    "listing_received": _l("签收挂牌督办决定"),
    "listing_continues": _l("挂牌督办继续"),
    "rectification_continued": _l("继续整改"),
    "circumstance_recorded": _l("情节记录在案"),
    "level_change_decided": _l("决定调整追究方式"),
    "level_change_refused": _l("决定不调整追究方式"),
    "level_changed": _l("调整追究方式"),
    "selection_opened": _l("开始遴选重点督办单位"),
    "key_townships_selected": _l("确定重点督办单位"),
    "deadlines_recomputed": _l("期限重算"),
    "task_unassigned": _l("无人办理，已提醒综治办"),
    "task_released": _l("职务变动，任务退回岗位"),
}
ROLES_EN = {
    "office_director": "Office director",
    "office_staff": "Office staff",
    "committee_director": "Committee director",
    "joint_meeting_member": "Joint meeting member",
    "joint_meeting_convener": "Joint meeting convener",
    "county_committee": "County committee",
    "unit_principal_leader": "Principal leader",
    "unit_in_charge_leader": "In-charge leader",
    "responsible_leader": "Responsible leader",
    "inspector": "Inspector",
    "investigation_team": "Investigation team",
    "organization_personnel": "Organization/personnel dept.",
    "discipline_supervision": "Discipline inspection",
    "finance": "Finance department",
    "member_unit": "Member unit",
    "designer": "Process designer",
    "supervisor": "Supervisor",
    "admin": "Administrator",
}


def level_label(code: str | None) -> str:
    return str(LEVELS.get(code or "", code or "—"))


def status_label(code: str | None) -> str:
    return str(STATUSES.get(code or "", code or ""))


def outcome_label(code: str | None) -> str:
    return str(OUTCOMES.get(code or "", code or ""))


def event_label(code: str) -> str:
    return str(EVENTS.get(code, code))


def role_label(role: str) -> str:
    from app.i18n import is_english

    base, _sep, qualifier = role.partition("/")
    label = ROLES_EN.get(base, base) if is_english() else ROLES.get(base, base)
    return f"{label} ({qualifier})" if qualifier else label


def cst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return to_cst(value).strftime(fmt) if value else ""


def countdown(due: datetime | None) -> str:
    """ "还剩3天" / "逾期2天" from the application's clock (which tests and simulations move)."""
    if due is None:
        return ""
    from app.runtime import runtime

    delta = due - runtime().clock.now()
    days = int(abs(delta.total_seconds()) // 86400)
    if delta.total_seconds() < 0:
        return _("逾期 %(n)s 天", n=days) if days else _("已逾期")
    return _("还剩 %(n)s 天", n=days) if days else _("今日到期")


_CITED = re.compile(r"Art\.\s*(\d+(?:\(\d+\))?)")


def article_label(cited: str | None) -> str:
    """ "Art. 33 (O33.1)" as an official writes it, 第三十三条 (obligation ids are for machines); in English
    the article alone, "Art. 33"."""
    articles = list(dict.fromkeys(_CITED.findall(cited or "")))
    if not articles:
        return cited or ""
    if is_english():
        return ", ".join(f"Art. {a}" for a in articles)
    return "、".join(article_zh(a) for a in articles)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["cst"] = cst
    app.jinja_env.filters["article_zh"] = article_label
    app.jinja_env.globals.update(
        level_label=level_label,
        status_label=status_label,
        outcome_label=outcome_label,
        event_label=event_label,
        role_label=role_label,
        countdown=countdown,
    )
