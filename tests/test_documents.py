"""Issued documents (公文, issue 13): every kind drafted from a case and the organisation, in the national
format, numbered, frozen (SHA-256), delivered and received; bad input refused; numbers gapless across two
processes issuing at once on PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.oxml.ns import qn
from sqlalchemy import create_engine, delete, select
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session

from tests.accountability_driver import MEASURES, Case, interview_on, verify
from tests.conftest import CITY, WANCHENG, WANCHENG_TOWN, WOLONG
from tests.test_accountability_listing import RECEIVED
from workflows.engine.actors import Actor
from workflows.engine.errors import FormInvalid
from workflows.engine.legaltime import clock as clockmod
from workflows.engine.legaltime.clock import ManualClock
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.regulation.doc_numbers import DocumentNumber, IssuingOrgan
from workflows.regulation.document_addressing import distribution
from workflows.regulation.document_models import DocumentDelivery, IssuedDocument
from workflows.regulation.document_texts import KINDS
from workflows.regulation.documents import DocumentError, draft, issue, receive
from workflows.regulation.gongwen import NUMBER_PATTERN, render_pdf
from workflows.regulation.roles import load_org
from workflows.regulation.traceability import article_zh

FACTS: dict[str, Any] = {
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈。",
    "art31_items": [2, 6],
    "rectify_due": "2026-05-16T23:59:59+08:00",
    "leaders": [{"name": "张三", "position": "党工委书记"}],
    "held_on": "2026-03-10",
    "interviewer": "宛城区综治办主任",
    "interviewees": [{"name": "张三", "position": "党工委书记"}],
    "minutes": "分析原因，提出整改要求",
    "findings": "整改到位",
    "inspected_on": "2026-09-04",
    "year": 2026,
    "opinion": "挂牌督办期满仍未完成整改目标",
    "leader_name": "张三",
    "leader_position": "党工委书记",
    "measures": ["removal"],
    "case_key": "追责-2026-0001",
    "final_grades": [
        {"unit_code": WANCHENG, "grade": "excellent"},
        {"unit_code": WOLONG, "grade": "qualified"},
    ],
    "nominations": [{"kind": "unit", "unit_code": WANCHENG_TOWN}],
    "cadre_name": "王示例",
    "post": "东关街道党工委书记",
    "cadre_unit_code": WANCHENG_TOWN,
    "purpose": "promotion",
    "answer": "defer",
    "reasons": "该街道正在挂牌督办整改期间",
    "request_no": "宛区组函〔2026〕12号",
}
# The annual and Art. 23 documents concern a committee's own level (its results, awards, its answer).
SUBJECT = {"assessment_results": CITY, "commendation_decision": WANCHENG, "consultation_reply": WANCHENG}
DATE = re.compile(r"^20\d\d年[1-9]\d?月[1-9]\d?日$")
OFFICER = Actor("411302.office_director", frozenset({("office_director", WANCHENG)}))


@pytest.fixture(autouse=True)
def nanyang_clock(clock: ManualClock) -> Iterator[ManualClock]:
    """The domain functions called directly read the active clock: 16 March 2026, as the engines do."""
    with clockmod.activated(clock):
        yield clock


@pytest.fixture
def case_instance(session: Session, engine: Any, real_definitions: None) -> ProcessInstance:
    inst = engine.start("accountability_case", business_key="追责-2026-0001", unit_code=WANCHENG_TOWN)
    session.commit()
    return inst


def texts(document: docx.document.Document) -> list[str]:
    return [p.text for p in document.paragraphs if p.text.strip()]


@pytest.mark.obligation("O33.1", "O34.1", "O35.1", "O37.1", "O39.1", "O20.4", "O23.1", "O27.1")
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_a_numbered_gongwen_in_the_national_format(
    kind: str, session: Session, case_instance: ProcessInstance
) -> None:
    org = load_org(session)
    subject = SUBJECT.get(kind, WANCHENG_TOWN)
    level = CITY if subject == CITY else WANCHENG
    detail = draft(session, org, kind, "追责-2026-0001", subject, level, FACTS)
    row = issue(session, case_instance, detail, OFFICER)
    session.commit()
    document = docx.Document(io.BytesIO(row.docx))
    lines = texts(document)
    place, mark = ("南阳市", "宛综治") if level == CITY else ("宛城区", "宛区综治")
    organ = mark + ("委" if KINDS[kind].organ == "committee" else "办")
    assert lines[0].endswith("文件") and lines[0].startswith(f"{place}社会治安综合治理委员会")
    assert NUMBER_PATTERN.match(lines[1]) and lines[1] == f"{organ}〔2026〕1号" == row.number
    assert lines[2] == row.title and ("东关街道" in row.title or place in row.title or "王示例" in row.title)
    assert lines[3] == "、".join(row.main_recipients) + "："
    assert DATE.match(lines[lines.index(row.issuer) + 1]), lines
    copied = [line for line in lines if line.startswith("抄送：")]
    assert copied == ([f"抄送：{'，'.join(row.copied_to)}。"] if row.copied_to else [])
    assert lines[-1].startswith(row.issuer) and lines[-1].endswith("印发")
    for paragraph in document.paragraphs:  # Chinese text names its East Asian font (Word shows it)
        for run in paragraph.runs:
            if re.search(r"[\u4e00-\u9fff]", run.text):
                assert run._element.rPr.rFonts.get(qn("w:eastAsia")), run.text
    assert row.sha256 == hashlib.sha256(row.docx).hexdigest()
    cited = re.match(r"Art\. (\d+)", KINDS[kind].article)
    assert cited and article_zh(cited[1]) in "".join(row.body)  # the body cites its article


def test_distribution_follows_the_article(session: Session) -> None:
    org = load_org(session)
    notification = distribution(org, "circulate", WANCHENG_TOWN, WANCHENG)  # Art. 33
    assert notification.main == [
        "宛城区东关街道党工委、办事处",
        "各乡镇（街道）综治办",
        "宛城区综治委各成员单位",
    ]
    assert notification.copied == ["中共宛城区委"]  # the party committee with cadre authority
    assert notification.addressees[WANCHENG_TOWN] == "main"
    listing = distribution(org, "listing", WANCHENG_TOWN, CITY)  # Art. 35 para 3, a city listing
    assert listing.main[1:] == ["各县（市、区）综治办", "南阳市综治委各成员单位"]
    assert listing.copied == [
        "中共南阳市纪委、南阳市监委",
        "中共南阳市委组织部",
        "南阳市人力资源和社会保障局",
        "中共宛城区委",
    ]
    assert set(listing.addressees) >= {WANCHENG_TOWN, WANCHENG}
    referral = distribution(org, "referral", WANCHENG_TOWN, WANCHENG)  # Art. 39
    assert referral.main[:2] == ["中共宛城区纪委、宛城区监委", "中共宛城区委组织部"]
    assert distribution(org, "subject", WANCHENG_TOWN, WANCHENG).main == ["宛城区东关街道党工委、办事处"]


def test_bad_input_is_refused(session: Session, case_instance: ProcessInstance, clock: ManualClock) -> None:
    org = load_org(session)
    detail = draft(session, org, "notification", "追责-2026-0001", WANCHENG_TOWN, WANCHENG, FACTS)
    with pytest.raises(FormInvalid) as none:
        issue(session, case_instance, {**detail, "doc_main_recipients": []}, OFFICER)
    assert none.value.errors == {"doc_main_recipients": ["公文必须有主送机关"]}
    with pytest.raises(FormInvalid) as future:
        issue(session, case_instance, {**detail, "doc_date": "2026-03-17"}, OFFICER)  # today is 16 March
    assert "晚于今天" in future.value.errors["doc_date"][0]
    issue(session, case_instance, detail, OFFICER)
    with pytest.raises(FormInvalid, match="不能重复印发"):
        issue(session, case_instance, detail, OFFICER)
    session.commit()
    assert [n.seq for n in session.scalars(select(DocumentNumber))] == [1]  # refusals took no number


def test_receipt_is_recorded_once_and_only_by_an_addressee(
    session: Session, case_instance: ProcessInstance
) -> None:
    org = load_org(session)
    detail = draft(session, org, "listing_decision", "追责-2026-0001", WANCHENG_TOWN, WANCHENG, FACTS)
    row = issue(session, case_instance, detail, OFFICER)
    session.commit()
    received = receive(session, row.id, WANCHENG_TOWN, "411302001.unit_principal_leader")
    assert received.received_at == clockmod.now()
    with pytest.raises(DocumentError, match="已于"):
        receive(session, row.id, WANCHENG_TOWN, "411302001.unit_principal_leader")
    with pytest.raises(DocumentError, match="未发送"):
        receive(session, row.id, "411303001", "someone")


@pytest.mark.obligation("O35.1", "O35.4")
def test_a_listing_issues_its_decision_and_the_units_receipt_starts_the_ten_days(
    case_factory: Callable[..., Case],
) -> None:
    case = case_factory()
    case.intake(verify("especially_serious"))
    case.at(2026, 3, 3, 10, 0)
    case.listing_decision()
    assert case.ready()["draft_document"].org_code == WANCHENG  # the listing committee's office drafts
    returned = case.data("draft_document")
    kept = ("doc_title", "doc_main_recipients", "doc_body", "doc_date")
    case.do("draft_document", {k: returned[k] for k in kept})
    case.do("review_document", {"doc_review_approved": False, "doc_review_opinion": "请补充整改要求。"})
    again = case.data("draft_document")  # back to the drafter with the director's opinion
    assert again["doc_review_opinion"] == "请补充整改要求。"
    decision = case.issue(doc_body=again["doc_body"] + "\n四、请于每月5日前报送整改进展。")
    assert decision.kind == "listing_decision" and decision.body[-1] == "四、请于每月5日前报送整改进展。"
    frozen = case.events("document_frozen")
    assert [(e.detail["number"], e.detail["sha256"]) for e in frozen] == [(decision.number, decision.sha256)]
    case.at(2026, 3, 5, 9, 0)
    case.do("receive_listing", RECEIVED)
    with case.factory() as s:
        [mine] = s.scalars(
            select(DocumentDelivery).where(
                DocumentDelivery.document_id == decision.id, DocumentDelivery.unit_code == WANCHENG_TOWN
            )
        ).all()
        assert mine.received_at is not None and mine.role == "main"
    case.at(2026, 3, 6, 9, 0)
    case.do("interview_listed", interview_on("2026-03-06"))
    case.do("report_measures_listing", MEASURES)


def test_pdf_of_every_kind_renders(session: Session, case_instance: ProcessInstance, tmp_path: Path) -> None:
    if shutil.which("soffice") is None or shutil.which("pdftoppm") is None:
        pytest.skip(
            "LIBREOFFICE/POPPLER NOT INSTALLED (libreoffice-writer-nogui, poppler-utils): PDF untested"
        )
    org = load_org(session)
    for kind in sorted(KINDS):
        detail = draft(session, org, kind, "追责-2026-0001", WANCHENG_TOWN, WANCHENG, FACTS)
        row = issue(session, case_instance, detail, OFFICER)
        pdf = render_pdf(row.docx)
        assert pdf is not None and pdf.startswith(b"%PDF")
        target = tmp_path / f"{kind}.pdf"
        target.write_bytes(pdf)
        command = ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(target), str(tmp_path / kind)]
        subprocess.run(command, check=True)
        [png] = list(tmp_path.glob(f"{kind}-*1.png"))
        assert png.stat().st_size > 2000


def _issue_many(url: str, instance_id: int, worker: int, count: int) -> None:
    """One process: issue ``count`` notifications, one transaction each (its own engine and connections)."""
    engine = create_engine(url)
    try:
        with clockmod.activated(ManualClock(datetime(2026, 3, 16, 9, 0, tzinfo=CST))), Session(engine) as s:
            org = load_org(s)
            inst = s.get(ProcessInstance, instance_id)
            assert inst is not None
            for _i in range(count):
                detail = draft(s, org, "notification", inst.business_key, WANCHENG_TOWN, WANCHENG, FACTS)
                issue(s, inst, detail, Actor(f"worker{worker}"))
                s.commit()
    finally:
        engine.dispose()


def test_200_issues_from_two_processes_are_gapless_and_unique(
    case_instance: ProcessInstance, sql_engine: SqlEngine, db_url: str
) -> None:
    if sql_engine.dialect.name != "postgresql":
        pytest.skip(
            "CONCURRENCY NOT TESTED: two processes issuing at once need PostgreSQL (row locks); "
            "run with DATABASE_URL=postgresql://…"
        )
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_issue_many, args=(db_url, case_instance.id, worker, 100)) for worker in (1, 2)
    ]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=600)
    assert [p.exitcode for p in workers] == [0, 0]
    with Session(sql_engine) as s:
        rows = s.scalars(select(IssuedDocument).where(IssuedDocument.instance_id == case_instance.id)).all()
        seqs = [int(re.fullmatch(r"宛区综治委〔2026〕(\d+)号", r.number)[1]) for r in rows]  # type: ignore[index]
        assert [n for n, c in Counter(seqs).items() if c > 1] == [], "a number was given twice"
        assert sorted(seqs) == list(range(1, 201)), "numbers have gaps"
        assert Counter(r.issued_by for r in rows) == {"worker1": 100, "worker2": 100}


@pytest.mark.obligation("O13.1")
def test_a_signed_target_letter_is_frozen_with_the_years_targets_and_indicators(year: Any) -> None:
    from tests.annual_driver import DRAFT, SIGN, YEAR

    city = year.start()
    year.letters_issued(city)
    year.at(YEAR, 1, 20, 10, 0)
    letter = year.letter(WANCHENG).id
    year.do(letter, "sign_letter", SIGN)
    with year.factory() as s:
        [doc] = s.scalars(select(IssuedDocument).where(IssuedDocument.instance_id == letter)).all()
        assert (doc.kind, doc.number, doc.number_id, doc.organ_code) == (
            "target_letter",
            "",
            None,
            f"{CITY}-committee",
        )
        assert (
            doc.main_recipients == ["中共宛城区委、宛城区人民政府"]
            and doc.doc_date.isoformat() == "2026-01-20"
        )
        [delivery] = s.scalars(select(DocumentDelivery).where(DocumentDelivery.document_id == doc.id)).all()
        assert (delivery.unit_code, delivery.received_at is not None) == (WANCHENG, True)  # it signed
        lines = texts(docx.Document(io.BytesIO(doc.docx)))
    assert lines[0] == f"{YEAR}年度社会治安综合治理和平安建设目标管理责任书"
    assert lines[1:3] == ["甲方：南阳市社会治安综合治理委员会", "乙方：中共宛城区委、宛城区人民政府"]
    assert f"1.{DRAFT['key_tasks'][0]}" in lines and "3.公众安全感达到92%以上。" in lines
    assert any(line.startswith("1.") and "权重" in line and "满分" in line for line in lines)  # Art. 19's set
    assert "负责人（签字）：张三" in lines and "2026年1月20日" in lines
    assert hashlib.sha256(doc.docx).hexdigest() == doc.sha256


def test_a_letter_signed_where_no_issuing_organ_is_configured_is_signed_and_the_file_says_why(
    year: Any,
) -> None:
    from tests.annual_driver import SIGN, YEAR

    with year.factory() as s:
        s.execute(delete(IssuingOrgan).where(IssuingOrgan.org_code == CITY))
        s.commit()
    city = year.start()
    year.letters_issued(city)
    year.at(YEAR, 1, 20, 10, 0)
    letter = year.letter(WANCHENG).id
    year.do(letter, "sign_letter", SIGN)
    [why] = year.events(letter, "letter_not_frozen")
    assert "no issuing organ" in why["reason"] and year.events(letter, "letter_signed")
