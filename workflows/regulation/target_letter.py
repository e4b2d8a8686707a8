"""The 目标管理责任书 (Art. 13, O13.1) as the document both parties sign: the year's key tasks and targets,
the indicators of the year's indicator system (Art. 19) they will be assessed on, what follows a failure
(Art. 31–37), and both parties' signature blocks.

It is not a numbered 公文: the upper committee issues it and the unit signs it. When the unit signs
(``annual_letter``'s ``letter_signed`` step records ``letter_frozen``), the letter is laid out in the
national format's page and fonts (gongwen.py), frozen with its SHA-256 like an issued document and put in
the unit's 收文, so both parties hold the same file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH

from workflows.engine.core import Engine
from workflows.engine.legaltime import clock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.engine.records import Record
from workflows.regulation.document_addressing import DraftError, leadership_of
from workflows.regulation.document_models import DocumentDelivery, IssuedDocument
from workflows.regulation.documents import organ_for
from workflows.regulation.gongwen import (
    HEITI,
    SIZE_2,
    XIAOBIAOSONG,
    add_blank,
    add_line,
    chinese_date,
    indent_first_line,
    page_numbers,
    page_setup,
)
from workflows.regulation.indicators import find_set
from workflows.regulation.roles import org_of

KIND, ARTICLE = "target_letter", "Art. 13 (O13.1)"
REGULATION = "《南阳市社会治安综合治理领导责任制实施办法》"


@dataclass(frozen=True)
class TargetLetter:
    year: int
    issuer: str  # 甲方: the upper committee
    signer: str  # 乙方: the unit's leadership (中共宛城区委、宛城区人民政府)
    key_tasks: Sequence[str]
    targets: Sequence[str]
    security_target_percent: float | None
    indicators: Sequence[tuple[str, float, float]]  # name, weight, maximum score
    issued_on: date
    signatory: str
    signed_on: date

    def paragraphs(self) -> list[str]:
        """The letter's body, headings 一、 … as in a 公文 (also the HTML page's text)."""
        lines = [
            f"为落实社会治安综合治理领导责任制，根据{REGULATION}第十三条的规定，甲乙双方签订本责任书。",
            "一、重点工作。",
            *(f"{n}.{task}" for n, task in enumerate(self.key_tasks, start=1)),
            "二、工作目标。",
            *(f"{n}.{target}" for n, target in enumerate(self.targets, start=1)),
        ]
        if self.security_target_percent:
            lines.append(f"{len(self.targets) + 1}.公众安全感达到{self.security_target_percent:g}%以上。")
        lines.append(f"三、考核指标。按照{self.year}年度考核指标体系（第十九条）考核评价：")
        lines += [
            f"{n}.{name}（权重{weight:g}，满分{score:g}分）"
            for n, (name, weight, score) in enumerate(self.indicators, start=1)
        ]
        lines += [
            "四、责任追究。未完成年度目标或者考核不合格、不达标的，按照第三十一条第（八）项和第三十三条至第三十七条的"
            "规定进行责任督导和追究。",
            f"五、本责任书一式两份，甲乙双方各执一份，自签订之日起生效，有效期至{self.year}年12月31日。",
        ]
        return lines


def render_letter_docx(letter: TargetLetter) -> bytes:
    """The letter on the national format's page (A4, 22 lines of 28 characters, 仿宋_GB2312 3号)."""
    document = docx.Document()
    page_setup(document)
    body = document.element.body
    for empty in list(body.iterchildren("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}p")):
        body.remove(empty)
    add_blank(document, 2)
    title = f"{letter.year}年度社会治安综合治理和平安建设目标管理责任书"
    add_line(document, title, font=XIAOBIAOSONG, size=SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER)
    add_blank(document)
    add_line(document, f"甲方：{letter.issuer}")
    add_line(document, f"乙方：{letter.signer}")
    add_blank(document)
    for text in letter.paragraphs():
        heading = text[:2] in {"一、", "二、", "三、", "四、", "五、"}
        indent_first_line(add_line(document, text, font=HEITI if heading else "仿宋_GB2312"))
    add_blank(document, 2)
    for line in (
        f"甲方（盖章）：{letter.issuer}",
        "负责人（签字）：",
        chinese_date(letter.issued_on),
        "",
        f"乙方（盖章）：{letter.signer}",
        f"负责人（签字）：{letter.signatory}",
        chinese_date(letter.signed_on),
    ):
        add_line(document, line)
    page_numbers(document)
    document.core_properties.title, document.core_properties.author = title, letter.issuer
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def _day(value: object, default: date) -> date:
    text = str(value or "")
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text).astimezone(CST).date()
    except ValueError:
        return default


def _frozen(engine: Engine, inst: ProcessInstance, rec: Record) -> None:
    """Signed: lay the letter out, freeze it with its hash, put it in the unit's 收文 (and the case file)."""
    session, org = engine.session, org_of(engine)
    detail, today = rec.detail, clock.now().astimezone(CST).date()
    year = int(str(detail["year"]))
    upper = org.upper(inst.unit_code)
    try:
        organ = organ_for(session, org, upper, "committee")
    except DraftError as exc:  # missing data must not refuse the unit's signature: say so in the file
        engine.event(
            inst, engine.acting, "letter_not_frozen", detail={"reason": str(exc), "article": ARTICLE}
        )
        return
    indicator_set = find_set(session, year, upper)
    indicators = [
        (i.name, i.weight, i.max_score)
        for i in sorted(indicator_set.indicators if indicator_set else [], key=lambda i: i.sort_order)
    ]
    letter = TargetLetter(
        year=year,
        issuer=organ.name,
        signer=leadership_of(org, inst.unit_code),
        key_tasks=[str(t) for t in detail.get("key_tasks") or []],
        targets=[str(t) for t in detail.get("targets") or []],
        security_target_percent=float(detail["security_target_percent"])
        if detail.get("security_target_percent")
        else None,
        indicators=indicators,
        issued_on=_day(detail.get("issued_at"), today),
        signatory=str(detail.get("signatory") or ""),
        signed_on=_day(detail.get("signed_on"), today),
    )
    data = render_letter_docx(letter)
    row = IssuedDocument(
        instance_id=inst.id,
        unit_code=inst.unit_code,
        kind=KIND,
        article=ARTICLE,
        draft_ref=f"{KIND}-{inst.id}",
        organ_code=organ.code,
        number_id=None,
        number="",
        title=f"{year}年度社会治安综合治理和平安建设目标管理责任书",
        main_recipients=[letter.signer],
        copied_to=[],
        body=letter.paragraphs(),
        attachments=[],
        issuer=organ.name,
        doc_date=letter.signed_on,
        issued_at=clock.now(),
        issued_by=engine.acting.user_id,
        docx=data,
        sha256=hashlib.sha256(data).hexdigest(),
    )
    session.add(row)
    session.flush()
    signed = clock.now()  # the unit holds what it signed: delivered and received at once
    session.add(
        DocumentDelivery(
            document_id=row.id,
            unit_code=inst.unit_code,
            role="main",
            delivered_at=signed,
            received_at=signed,
            received_by=engine.acting.user_id,
        )
    )
    engine.event(
        inst,
        engine.acting,
        "document_frozen",
        detail={
            "document_id": row.id,
            "kind": KIND,
            "title": row.title,
            "sha256": row.sha256,
            "article": ARTICLE,
        },
    )


TARGET_LETTER_HANDLERS = {"letter_frozen": _frozen}
