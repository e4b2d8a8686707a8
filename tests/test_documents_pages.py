"""Issued documents (公文) through the pages, as each reader: the draft's preview from its task, the issued
document with its hash and downloads, 收文 and 签收, PDF without LibreOffice, and a case exported as a ZIP."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from tests.accountability_driver import Case, verify
from tests.conftest import WANCHENG, WANCHENG_TOWN, demo_app
from tests.test_openapi import login
from workflows.engine.legaltime.legal_time import CST
from workflows.engine.models import ProcessInstance
from workflows.regulation.document_models import IssuedDocument


@pytest.fixture(scope="module")
def web(db_url: str, sql_engine: object) -> Iterator[Flask]:
    with demo_app(db_url, start=datetime(2026, 3, 2, 9, 0, tzinfo=CST)) as app:
        yield app


def test_pages_show_preview_document_downloads_and_receipt(web: Flask) -> None:
    from app.extensions import db
    from app.runtime import runtime

    with web.app_context():
        clock: Any = web.config["CLOCK"]
        factory = sessionmaker(bind=db.engine, expire_on_commit=False)
        case = Case(factory, lambda s: runtime().engine(s), clock)
        case.intake(verify("ordinary"))
        case.approve_level("propose_notification", "approve_notification")
        draft_task = case.ready()["draft_document"]
    staff, _ = login(web, f"{WANCHENG}.office_staff")
    page = staff.get(f"/tasks/{draft_task.id}").get_data(as_text=True)
    assert "通报 · 第三十三条" in page and "宛城区东关街道党工委、办事处" in page
    assert "各乡镇（街道）综治办" in page
    preview = staff.get(f"/documents/draft/{draft_task.id}").get_data(as_text=True)
    assert "宛城区社会治安综合治理委员会文件" in preview and "宛区综治委〔2026〕  号" in preview
    with web.app_context():
        notice = case.issue()
    director, _ = login(web, f"{WANCHENG}.office_director")
    shown = director.get(f"/documents/{notice.id}").get_data(as_text=True)
    assert notice.number in shown and notice.sha256 in shown and "中共宛城区委" in shown
    assert notice.number in director.get(f"/cases/{case.id}").get_data(as_text=True)
    word = director.get(f"/documents/{notice.id}.docx")
    assert word.status_code == 200 and hashlib.sha256(word.data).hexdigest() == notice.sha256
    leader, headers = login(web, "411302001.unit_principal_leader")
    inbox = leader.get("/documents").get_data(as_text=True)
    assert notice.number in inbox and "待签收" in inbox
    receipt = {"json": {"unit_code": WANCHENG_TOWN}, "headers": headers}
    signed = leader.post(f"/api/v1/documents/{notice.id}/receipt", **receipt)  # type: ignore[arg-type]
    assert signed.status_code == 200, signed.json
    again = leader.post(f"/api/v1/documents/{notice.id}/receipt", **receipt)  # type: ignore[arg-type]
    assert again.status_code == 422 and "已于" in again.json["errors"]["unit_code"][0]  # type: ignore[index]
    other, _ = login(web, "411303.office_director")  # another county: neither the case nor an addressee
    assert other.get(f"/documents/{notice.id}").status_code == 403
    assert other.get(f"/documents/{notice.id}.docx").status_code == 403


def test_without_libreoffice_the_page_says_pdf_is_unavailable(
    web: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.extensions import db

    with web.app_context():
        doc = db.session.scalars(select(IssuedDocument).order_by(IssuedDocument.id)).first()
        assert doc is not None  # issued by the test above
        doc_id, number = doc.id, doc.number
    monkeypatch.setattr("workflows.regulation.gongwen.shutil.which", lambda _name: None)
    director, _ = login(web, f"{WANCHENG}.office_director")
    with web.app_context():  # no rendition kept from an earlier download
        db.session.get(IssuedDocument, doc_id).pdf = None  # type: ignore[union-attr]
        db.session.commit()
    answer = director.get(f"/documents/{doc_id}.pdf", follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "暂不能生成 PDF" in page and number in page
    assert director.get(f"/documents/{doc_id}.docx").status_code == 200  # everything else works


def test_a_case_exports_as_a_zip_of_its_documents_dossier_and_working_file(web: Flask) -> None:
    from app.extensions import db

    with web.app_context():
        doc = db.session.scalars(select(IssuedDocument).order_by(IssuedDocument.id)).first()
        assert doc is not None  # issued by the page test above
        case_id, number, sha = doc.instance_id, doc.number, doc.sha256
        key = db.session.get(ProcessInstance, case_id).business_key  # type: ignore[union-attr]
    director, _ = login(web, f"{WANCHENG}.office_director")
    answer = director.get(f"/documents/case/{case_id}.zip")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    files = {name.removeprefix(f"{key}/"): archive.read(name) for name in archive.namelist()}
    [word] = [name for name in files if name.startswith("公文/")]
    assert number in word and hashlib.sha256(files[word]).hexdigest() == sha  # the frozen file itself
    assert "辖区内阶段性刑事治安案件多发" in files["案卷.html"].decode()
    rows = list(csv.reader(io.StringIO(files["工作档案.csv"].decode("utf-8-sig"))))
    assert rows[0] == ["时间", "事项", "环节", "办理人", "说明"] and any("公文印发" in r[1] for r in rows[1:])
    for line in files["SHA256SUMS.txt"].decode().splitlines():  # every file checks against its sum
        digest, path = line.split("  ", 1)
        assert hashlib.sha256(files[path]).hexdigest() == digest
    other, _ = login(web, "411303.office_director")  # another county may not take it
    assert other.get(f"/documents/case/{case_id}.zip").status_code == 403
