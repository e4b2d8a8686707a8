"""What each decision of Ch. 5 says as a 公文, and to whom it goes: the kinds of document, their drafts
from the case's facts, and the distribution rules of Art. 33–35 and 39 over the organisation.

A draft is a proposal the office staff edit before the director reviews it (documents.py issues it): the
title, 主送, 抄送 and body are plain strings here, computed from the case and the organisation tree so that
nobody types a circulation list from memory. The units that also get the issued document in their inbox
(``addressees``) come from the same rule; party committees, discipline commissions and organisation
departments are not units of the organisation tree, so they are named in 主送/抄送 and served on paper.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from workflows.engine.legaltime.legal_time import CST
from workflows.regulation.document_addressing import DraftError, full_name
from workflows.regulation.gongwen import chinese_date
from workflows.regulation.indicator_rules import GRADE_LABELS
from workflows.regulation.personal_measures import MEASURES
from workflows.regulation.roles import OrgTree
from workflows.regulation.traceability import chinese_number

REGULATION = "《南阳市社会治安综合治理领导责任制实施办法》"
VETO_RULES = "《南阳市社会治安综合治理一票否决制实施办法》（宛办〔2009〕28号）"
FORMS = Path(__file__).resolve().parents[2] / "forms"


@dataclass(frozen=True)
class DocumentKind:
    """One kind of document: who issues it (the committee or its office), the article, the rule."""

    key: str
    label: str  # 文种 as the office names it: 通报, 约谈通知书 …
    article: str  # machine citation, e.g. "Art. 33 (O33.1)"
    organ: str  # committee | office (doc_numbers.ORGAN_KINDS)
    rule: str  # circulate | listing | subject | referral
    title: Callable[[str, Mapping[str, Any]], str]
    body: Callable[[OrgTree, str, Mapping[str, Any]], list[str]]


# -- what the documents say ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _art31_titles() -> tuple[str, ...]:
    """The Art. 31 items' wording, from the report form that offers them (one source for both)."""
    schema = json.loads((FORMS / "case_report.json").read_text(encoding="utf-8"))
    return tuple(schema["properties"]["art31_items"]["items"]["x-enum-titles"])


def art31_clause(items: Sequence[Any]) -> str:
    """第三十一条第（二）项所列“区域性治安秩序……”情形."""
    titles = _art31_titles()
    numbers = sorted({int(i) for i in items if str(i).isdigit() and 1 <= int(i) <= len(titles)})
    if not numbers:
        return "第三十一条所列情形"
    cited = "、".join(f"第（{chinese_number(n)}）项" for n in numbers)
    said = "；".join(titles[n - 1] for n in numbers)
    return f"第三十一条{cited}所列“{said}”的情形"


def _day(value: Any) -> str:
    """An ISO date or instant as 2026年3月16日 (+08:00); empty when absent."""
    if not value:
        return ""
    text = str(value)
    if len(text) == 10:
        return chinese_date(date.fromisoformat(text))
    moment = datetime.fromisoformat(text)
    return chinese_date((moment.astimezone(CST) if moment.tzinfo else moment).date())


def _people(rows: Any) -> str:
    """张三（党委书记）、李四（镇长）."""
    names = []
    for row in rows or []:
        if isinstance(row, Mapping) and row.get("name"):
            post = str(row.get("position") or "").strip()
            names.append(f"{row['name']}（{post}）" if post else str(row["name"]))
    return "、".join(names)


def _facts(name: str, facts: Mapping[str, Any]) -> str:
    found = str(facts.get("facts") or "").strip().rstrip("。")
    clause = art31_clause(facts.get("art31_items") or [])
    return f"经核实，{name}存在{REGULATION}{clause}。{found + '。' if found else ''}"


def _notification_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    return [
        _facts(name, facts),
        f"经{facts.get('committee_name', '综治委')}研究同意，"
        f"根据{REGULATION}第三十三条的规定，现对{name}予以通报。",
        f"一、{name}要认真分析原因，于{_day(facts.get('rectify_due'))}前完成整改。"
        "整改措施和整改效果及时报告综治办。",
        "二、整改期满后，书面申请综治办检查验收。逾期未完成整改目标的，依照第三十四条的规定进行约谈。",
        "三、各地、各单位要引以为戒，举一反三，切实落实社会治安综合治理领导责任制。",
    ]


def _interview_notice_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    who = (
        _people(facts.get("leaders")) or "党政主要领导干部、综治工作分管领导干部和负有责任的其他领导班子成员"
    )
    return [
        _facts(name, facts),
        f"根据{REGULATION}第三十四条的规定，经综治委批准，决定对你单位{who}进行约谈。",
        "一、约谈时间、地点另行通知，被约谈人应当按时参加，不得委托他人代替。",
        "二、被约谈人应当准备书面材料，说明存在的问题、原因分析和整改措施。",
    ]


def _interview_report_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    who = _people(facts.get("interviewees")) or "党政主要领导干部"
    minutes = str(facts.get("minutes") or "").strip().rstrip("。")
    return [
        f"根据{REGULATION}第三十四条的规定，{_day(facts.get('held_on'))}，"
        f"{facts.get('interviewer') or '综治办主任'}对{name}{who}进行了约谈。",
        f"一、约谈情况。{minutes + '。' if minutes else ''}",
        f"二、整改要求。{name}应当在约谈后10个工作日内报告整改措施，每月报告整改情况，"
        f"于{_day(facts.get('rectify_due'))}前完成整改，整改期满后书面申请综治办检查验收。",
    ]


def _listing_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    return [
        _facts(name, facts),
        f"经调查组核实，综治、纪检、组织、人事、监察五部门联席会议研究提出意见，根据{REGULATION}第三十五条的规定，"
        f"决定对{name}挂牌督办，督办期限至{_day(facts.get('rectify_due'))}。",
        f"一、{name}党委、政府（党组、党委）应当在收到本决定后10个工作日内报告整改措施，"
        "对存在的问题专题研究、认真整改，每两个月报告1次整改情况。",
        "二、挂牌督办期间，取消该地方、单位评选综合性荣誉称号的资格和该地方、单位主要领导干部、主管领导干部、"
        "分管领导干部和相关责任人评先评优、晋职晋级的资格。",
        "三、整改期满后书面申请综治委检查验收，验收合格的解除挂牌督办。",
    ]


def _delisting_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    cited = str(facts.get("listing_number") or "").strip()
    decision = f"《挂牌督办决定书》（{cited}）" if cited else "挂牌督办决定"
    findings = str(facts.get("findings") or "").strip().rstrip("。")
    return [
        f"{name}自{decision}印发以来，按照要求进行整改。{_day(facts.get('inspected_on'))}，"
        f"综治委组织检查验收，{findings + '，' if findings else ''}验收合格。",
        f"根据{REGULATION}第三十五条、第三十六条的规定，决定解除对{name}的挂牌督办。",
        "挂牌督办期间所取消的评选综合性荣誉称号和评先评优、晋职晋级的资格，自本通知印发之日起不再受限。",
    ]


def _veto_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    year = facts.get("year") or ""
    reason = str(facts.get("opinion") or "").strip().rstrip("。")
    return [
        _facts(name, facts),
        f"根据{REGULATION}第三十七条和{VETO_RULES}的规定，经综治委研究，决定对{name}{year}年度"
        "社会治安综合治理和平安建设工作实行一票否决。" + (f"理由：{reason}。" if reason else ""),
        f"一、{name}及其主要领导干部、分管领导干部{year}年度不得评选综合性荣誉称号，不得评先评优、晋职晋级。",
        "二、有关部门按照管理权限执行本决定。",
    ]


def _referral_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    measures = "、".join(MEASURES[m].zh if m in MEASURES else str(m) for m in facts.get("measures") or [])
    leader = str(facts.get("leader_name") or "").strip()
    post = str(facts.get("leader_position") or "").strip()
    case = str(facts.get("case_key") or "").strip()
    found = str(facts.get("facts") or "").strip().rstrip("。")
    return [
        f"{name}{post}{leader}具有{REGULATION}第三十一条所列情形"
        + (f"（案件编号{case}）" if case else "")
        + (f"：{found}。" if found else "。"),
        f"根据第三十九条的规定，建议对其采取{measures or '引咎辞职、责令辞职、免职等方式'}问责。"
        "现将有关情况移送你们，请按照管理权限和程序办理，并将办理结果告知我办。",
    ]


def _unit_names(org: OrgTree, codes: Any) -> str:
    return "、".join(full_name(org, str(c)) if str(c) in org.nodes else str(c) for c in codes or [])


def _assessment_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    year = facts.get("year") or ""
    grades: dict[str, list[str]] = {}
    for row in facts.get("final_grades") or []:
        grades.setdefault(str(row.get("grade")), []).append(str(row.get("unit_code")))
    paragraphs = [
        f"根据{REGULATION}第十九条、第二十条的规定，{facts.get('committee_name', '综治委')}对{year}年度"
        "各地、各单位社会治安综合治理和平安建设工作进行了督查考核。经联席会议研究、综治委确定，现将考核结果通报如下。"
    ]
    shown = [(label, grades[grade]) for grade, label in GRADE_LABELS.items() if grades.get(grade)]
    for number, (label, units) in enumerate(shown, start=1):
        paragraphs.append(f"{chinese_number(number)}、{label}等次。{_unit_names(org, units)}。")
    paragraphs.append(
        "考核结果作为评先评优和领导干部实绩评价的重要依据。考核优秀的单位按规定落实奖励；"
        "考核不合格的单位按照第三十一条第（八）项的规定进行责任督导和追究。"
        "对考核中发现的问题，有关单位要认真研究解决，抓好督促整改。"
    )
    return paragraphs


def _commendation_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    year = facts.get("year") or ""
    excluded = {int(n.get("index", -1)) for n in facts.get("not_approved") or [] if isinstance(n, Mapping)}
    units, people = [], []
    for index, n in enumerate(facts.get("nominations") or []):
        if index in excluded or not isinstance(n, Mapping):
            continue
        unit = full_name(org, str(n.get("unit_code"))) if str(n.get("unit_code")) in org.nodes else ""
        if n.get("kind", "unit") == "unit":
            units.append(unit)
        else:
            people.append(f"{n.get('name')}（{n.get('post') or unit}）")
    paragraphs = [
        f"{year}年度，各地、各单位认真落实社会治安综合治理领导责任制，涌现出一批先进单位和先进个人。"
        f"根据{REGULATION}第二十六条、第二十七条的规定，经联席会议研究、综治委决定，予以表彰。"
    ]
    if units:
        paragraphs.append(f"一、授予{'、'.join(units)}“{year}年度平安建设先进单位”称号。")
    if people:
        paragraphs.append(
            f"{'二' if units else '一'}、授予{'、'.join(people)}“{year}年度平安建设先进个人”称号。"
        )
    paragraphs.append(
        "希望受表彰的单位和个人珍惜荣誉，再接再厉。各地、各单位要以先进为榜样，扎实推进平安建设。"
    )
    return paragraphs


def _consultation_body(org: OrgTree, name: str, facts: Mapping[str, Any]) -> list[str]:
    answers = {"agree": "同意", "disagree": "不同意", "defer": "暂缓"}
    purposes = {"pre_appointment": "任前考察", "promotion": "晋职晋级", "award": "综合性奖励"}
    asked = str(facts.get("request_no") or "").strip()
    unit = facts.get("cadre_unit_code")
    post = str(facts.get("post") or "")
    cadre_unit = full_name(org, str(unit)) if str(unit) in org.nodes else ""
    if str(unit) in org.nodes and org.nodes[str(unit)].name in post:
        cadre_unit = ""  # the post names the unit already (东关街道党工委书记)
    reasons = str(facts.get("reasons") or "").strip().rstrip("。")
    return [
        f"你部《关于征求{facts.get('cadre_name') or ''}同志意见的函》{f'（{asked}）' if asked else ''}收悉。",
        f"根据{REGULATION}第二十三条的规定，经查阅实绩档案，{cadre_unit}{post}"
        f"{facts.get('cadre_name') or ''}同志{purposes.get(str(facts.get('purpose')), '')}事项，"
        f"我办意见为：{answers.get(str(facts.get('answer')), str(facts.get('answer') or ''))}。"
        + (f"理由：{reasons}。" if reasons else ""),
        "特此函复。",
    ]


KINDS: dict[str, DocumentKind] = {
    kind.key: kind
    for kind in (
        DocumentKind(
            "notification",
            "通报",
            "Art. 33 (O33.1)",
            "committee",
            "circulate",
            lambda name, f: f"关于对{name}社会治安综合治理工作问题的通报",
            _notification_body,
        ),
        DocumentKind(
            "interview_notice",
            "约谈通知书",
            "Art. 34 (O34.1)",
            "office",
            "subject",
            lambda name, f: f"关于对{name}进行约谈的通知",
            _interview_notice_body,
        ),
        DocumentKind(
            "interview_report",
            "约谈情况通报",
            "Art. 34 (O34.1)",
            "office",
            "circulate",
            lambda name, f: f"关于对{name}约谈情况的通报",
            _interview_report_body,
        ),
        DocumentKind(
            "listing_decision",
            "挂牌督办决定书",
            "Art. 35 (O35.1)",
            "committee",
            "listing",
            lambda name, f: f"关于对{name}实行挂牌督办的决定",
            _listing_body,
        ),
        DocumentKind(
            "delisting_notice",
            "解除挂牌督办通知",
            "Art. 35 (O35.4)",
            "committee",
            "listing",
            lambda name, f: f"关于解除对{name}挂牌督办的通知",
            _delisting_body,
        ),
        DocumentKind(
            "veto_decision",
            "一票否决决定",
            "Art. 37 (O37.1)",
            "committee",
            "listing",
            lambda name, f: f"关于对{name}{f.get('year') or ''}年度社会治安综合治理工作实行一票否决的决定",
            _veto_body,
        ),
        DocumentKind(
            "assessment_results",
            "考核结果通报",
            "Art. 20 (O20.4)",
            "committee",
            "committee_wide",
            lambda name, f: (
                f"关于{f.get('year') or ''}年度{name}社会治安综合治理和平安建设工作考核结果的通报"
            ),
            _assessment_body,
        ),
        DocumentKind(
            "commendation_decision",
            "表彰决定",
            "Art. 27 (O27.1)",
            "committee",
            "committee_wide",
            lambda name, f: f"关于表彰{f.get('year') or ''}年度{name}平安建设先进单位和先进个人的决定",
            _commendation_body,
        ),
        DocumentKind(
            "consultation_reply",
            "征求意见复函",
            "Art. 23 (O23.1)",
            "office",
            "requester",
            lambda name, f: f"关于{f.get('cadre_name') or ''}同志有关情况征求意见的复函",
            _consultation_body,
        ),
        DocumentKind(
            "referral",
            "移送函",
            "Art. 39 (O39.1)",
            "office",
            "referral",
            lambda name, f: f"关于移送{name}{f.get('leader_name') or ''}问责有关情况的函",
            _referral_body,
        ),
    )
}


def document_label(key: str) -> str:
    """文种 as shown: the kinds drafted here, and the signed 目标管理责任书 (target_letter.py)."""
    return KINDS[key].label if key in KINDS else {"target_letter": "目标管理责任书"}.get(key, "公文")


def kind_of(key: str) -> DocumentKind:
    try:
        return KINDS[key]
    except KeyError:
        raise DraftError(f"unknown document kind {key!r}; known: {', '.join(sorted(KINDS))}") from None
