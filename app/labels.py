"""Words for codes (levels, statuses, events, roles) in the reader's language, and the +08:00 date filter."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context

from app.bpmn_messages import element_name
from app.i18n import is_english
from workflows.engine.errors import Problem
from workflows.engine.legaltime.legal_time import to_cst
from workflows.engine.phrase import reword
from workflows.regulation.document_texts import document_label
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
    "comment": _l("办理意见"),
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
    "migrated": _l("流程版本迁移"),
    "level_change_decided": _l("决定调整追究方式"),
    "level_change_refused": _l("决定不调整追究方式"),
    "level_changed": _l("调整追究方式"),
    "selection_opened": _l("开始遴选重点督办单位"),
    "key_townships_selected": _l("确定重点督办单位"),
    "deadlines_recomputed": _l("期限重算"),
    "task_unassigned": _l("无人办理，已提醒综治办"),
    "task_released": _l("职务变动，任务退回岗位"),
    "assessment_reported": _l("考核结果已报告"),
    "commendation_checked": _l("核对表彰决定"),
    "commendation_closed": _l("表彰办结"),
    "commendation_decided": _l("表彰决定生效"),
    "commendation_nominated": _l("提出表彰建议名单"),
    "commendation_opened": _l("开始评选"),
    "consultation_answered": _l("答复征求意见"),
    "consultation_requested": _l("收到征求意见函"),
    "cycle_closed": _l("年度工作结束"),
    "cycle_stage": _l("年度工作进展"),
    "cycle_started": _l("年度工作开始"),
    "document_drafted": _l("公文草稿核对无误"),
    "document_frozen": _l("公文印发，文件冻结"),
    "document_issued": _l("公文签发"),
    "document_received": _l("签收公文"),
    "duty_done": _l("职责事项完成"),
    "duty_overdue": _l("职责事项逾期"),
    "finding": _l("督查发现问题"),
    "grade_decided": _l("确定考核等次"),
    "indicators_frozen": _l("考核指标冻结"),
    "inspection_done": _l("督查结束"),
    "inspection_finding": _l("督查发现问题"),
    "inspection_planned": _l("督查方案确定"),
    "inspection_started": _l("督查开始"),
    "letter_amendment_requested": _l("提出责任书修改意见"),
    "letter_frozen": _l("责任书签订存档"),
    "letter_not_frozen": _l("责任书未能存档"),
    "letter_opened": _l("责任书送达"),
    "letter_overdue": _l("责任书逾期未签"),
    "letter_revised": _l("责任书修改后重新送达"),
    "letter_signed": _l("责任书签订"),
    "letters_issued": _l("下达责任书"),
    "meeting_convened": _l("召开会议"),
    "meeting_recorded": _l("会议记录"),
    "personal_measure_concluded": _l("个人责任追究办结"),
    "personal_measure_decided": _l("个人责任处理决定"),
    "personal_measure_referred": _l("移送个人责任追究"),
    "priority_promotion_recommended": _l("建议优先提拔使用"),
    "rectification_items": _l("形成整改事项"),
    "report_filed": _l("报送报告"),
    "report_received": _l("收到报告"),
    "report_referred": _l("转办报告"),
    "task_alert": _l("任务提醒"),
    "instance_cancelled": _l("流程终止（运行异常）"),
}
# Incidents: failed background work on an instance (workflows/engine/incidents.py, issue 16 point 2).
INCIDENT_STATUSES = {
    "open": _l("待重试"),
    "retrying": _l("重试中"),
    "parked": _l("已搁置"),
    "resolved": _l("已解决"),
    "cancelled": _l("已取消"),
}

# Sub-roles a task may need (the joint meeting's departments, a unit's party or government leader).
QUALIFIERS = {
    "governance": (_l("综治"), "governance"),
    "discipline": (_l("纪检"), "discipline"),
    "organization": (_l("组织"), "organisation"),
    "personnel": (_l("人事"), "personnel"),
    "supervision": (_l("监察"), "supervision"),
    "party": (_l("党委"), "party"),
    "government": (_l("政府"), "government"),
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
    "drill_admin": "Drill instructor",
}


# 文种 (the documents of workflows/regulation/document_texts.py) as a page names them.
DOCUMENT_KINDS = {
    "notification": _l("通报"),
    "interview_notice": _l("约谈通知书"),
    "interview_report": _l("约谈情况通报"),
    "listing_decision": _l("挂牌督办决定书"),
    "delisting_notice": _l("解除挂牌督办通知"),
    "veto_decision": _l("一票否决决定"),
    "assessment_results": _l("考核结果通报"),
    "commendation_decision": _l("表彰决定"),
    "consultation_reply": _l("征求意见复函"),
    "referral": _l("移送函"),
    "target_letter": _l("目标管理责任书"),
}


def document_kind_label(kind: str) -> str:
    """A document's kind in the reader's language; a kind added to the texts later reads as they name it."""
    found = DOCUMENT_KINDS.get(kind)
    return str(found) if found is not None else document_label(kind)


INSTANCE_STATUSES = {
    "running": _l("办理中"),
    "complete": _l("已办结"),
    "error": _l("异常"),
    "cancelled": _l(
        "已终止"
    ),  # cancelled by an administrator after an incident (app/admin/incident_views.py)
}


def instance_status_label(status: str | None) -> str:
    """A case's (instance's) state as the lists show it."""
    return str(INSTANCE_STATUSES.get(status or "", status or ""))


def level_label(code: str | None) -> str:
    return str(LEVELS.get(code or "", code or "—"))


def status_label(code: str | None) -> str:
    return str(STATUSES.get(code or "", code or ""))


def outcome_label(code: str | None) -> str:
    return str(OUTCOMES.get(code or "", code or ""))


def incident_status_label(code: str) -> str:
    return str(INCIDENT_STATUSES.get(code, code))


def event_label(code: str) -> str:
    """A working-file entry's kind as the office names it; an unknown kind (a designer's own record) reads
    as a generic 办理记录 rather than its machine name."""
    return str(EVENTS.get(code, _("办理记录")))


def role_label(role: str) -> str:
    from app.i18n import is_english

    base, _sep, qualifier = role.partition("/")
    label = ROLES_EN.get(base, base) if is_english() else ROLES.get(base, base)
    if not qualifier:
        return label
    zh, en = QUALIFIERS.get(qualifier, (qualifier, qualifier))
    return f"{label} ({en})" if is_english() else f"{label}（{zh}）"


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


_NUMBER = r"\d+(?:\(\d+\))?"
_CITATION = re.compile(
    rf"Art\.\s*({_NUMBER}(?:\s*,\s*{_NUMBER})*)(?:\s*[–-]\s*(\d+))?((?:\s*,\s*{_NUMBER})*)"
    r"(?:\s*\((?:O\d+\.\d+[,，、\s]*)+\))?"
)
_IDS = re.compile(r"\s*\((?:O\d+\.\d+[,，、\s]*)+\)")
_BETWEEN = re.compile(r"([条款项])\s*[,，]\s*(?=第)")
_COLON = re.compile(r"([条款项])\s*:\s*")


def cited_text(text: str | None) -> str:
    """Free text that cites articles the machine way ("Art. 33 (O33.1): …", a form's description) as an
    official reads it: 第三十三条; obligation ids dropped. English keeps "Art. 33"."""

    def one(match: re.Match[str]) -> str:
        numbers = [n.strip() for n in match[1].split(",")]
        upto, more = match[2], [n.strip() for n in (match[3] or "").split(",") if n.strip()]
        if is_english():
            return (
                "Art. " + ", ".join(numbers) + (f"–{upto}" if upto else "") + "".join(f", {n}" for n in more)
            )
        head = "、".join(article_zh(n) for n in numbers) + (f"至{article_zh(upto)}" if upto else "")
        return "、".join([head, *(article_zh(n) for n in more)])

    cited = _IDS.sub("", _CITATION.sub(one, text or ""))
    if is_english():
        return cited
    return _COLON.sub(r"\1：", _BETWEEN.sub(r"\1、", cited))  # 第四十条、第四十一条：… in Chinese punctuation


@pass_context
def _cited_filter(_context: Any, text: str | None) -> str:
    """``cited_text`` as a Jinja filter. Taking the context keeps Jinja from folding it at compile time on a
    literal (``{{ 'Art. 22'|article_zh }}``), which would freeze the first reader's language into the page."""
    return cited_text(text)


def domain_label(text: str | None) -> str:
    """A Chinese label of the regulation's domain (marked ``N_`` there) in the reader's language."""
    return _(text) if text else ""


def say(message: object) -> str:
    """An engine message (a deploy's problem, a migration's reason, a budget refusal) in the reader's
    language: a :class:`~workflows.engine.phrase.Phrase` is worded again from the English catalogue; its
    Chinese, or any other text, is shown as it is."""
    if not is_english():
        return str(message)
    return reword(message, _, sentence=True)


def problem_dicts(problems: list[Problem]) -> list[dict[str, object]]:
    """A refused deploy's problems for JSON (the designer's deploy button, the API), each message in the
    reader's language."""
    return [{**p.as_dict(), "message": say(p.message)} for p in problems]


def init_app(app: Flask) -> None:
    app.jinja_env.filters["t"] = domain_label  # levels, kinds of post, record entries (workflows' N_)
    app.jinja_env.filters["say"] = say  # the engine's messages (workflows' Phrase)
    app.jinja_env.filters["cst"] = cst
    app.jinja_env.filters["article_zh"] = _cited_filter  # a citation alone (a task's article) or within text
    app.jinja_env.filters["cited"] = _cited_filter
    app.jinja_env.filters["element_name"] = element_name  # a diagram's name in the reader's language
    app.jinja_env.globals.update(
        level_label=level_label,
        status_label=status_label,
        instance_status_label=instance_status_label,
        instance_statuses=INSTANCE_STATUSES,
        outcome_label=outcome_label,
        incident_status_label=incident_status_label,
        event_label=event_label,
        role_label=role_label,
        countdown=countdown,
    )
