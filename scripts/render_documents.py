#!/usr/bin/env python3
"""Render page 1 of one document (公文) of every kind as PNG, for docs/img and the README.

Usage: scripts/render_documents.py [--out docs/img]

Each document is drafted the way the procedures draft it (workflows/regulation/documents.py: the texts of
document_texts.py, the distribution rules over Nanyang's real organisation and demo member units) about
宛城区东关街道, given sample numbers, laid out as .docx (gongwen.py), converted to PDF with LibreOffice and
rasterised with pdftoppm. Needs ``soffice`` and ``pdftoppm`` (Debian libreoffice-writer-nogui, poppler-utils).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from workflows.engine.legaltime import clock  # noqa: E402
from workflows.engine.legaltime.clock import ManualClock  # noqa: E402
from workflows.engine.legaltime.legal_time import CST  # noqa: E402
from workflows.engine.models import Base, OrgUnit  # noqa: E402
from workflows.regulation import document_models  # noqa: E402, F401  (tables)
from workflows.regulation.doc_numbers import (  # noqa: E402
    IssuingOrgan,
    format_number,
    load_issuing_organs,
    read_organ_rows,
)
from workflows.regulation.document_texts import KINDS  # noqa: E402
from workflows.regulation.documents import draft, gongwen_of  # noqa: E402
from workflows.regulation.gongwen import render_docx, render_pdf  # noqa: E402
from workflows.regulation.roles import load_org  # noqa: E402

TOWN, COUNTY, CITY = "411302001", "411302", "411300"
FACTS = {
    "facts": "辖区内阶段性刑事治安案件多发，群众反映强烈",
    "art31_items": [2],
    "rectify_due": "2026-05-16T23:59:59+08:00",
    "leaders": [{"name": "张示例", "position": "党工委书记"}],
    "held_on": "2026-03-10",
    "interviewer": "宛城区综治办主任",
    "interviewees": [{"name": "张示例", "position": "党工委书记"}],
    "minutes": "分析原因，提出整改要求，明确三个月内完成整改",
    "findings": "整改措施落实到位，治安秩序明显好转",
    "inspected_on": "2026-09-04",
    "year": 2026,
    "opinion": "挂牌督办期满仍未完成整改目标",
    "leader_name": "张示例",
    "leader_position": "党工委书记",
    "measures": ["removal"],
    "case_key": "追责-2026-0001",
    "final_grades": [
        {"unit_code": "411302", "grade": "excellent"},
        {"unit_code": "411303", "grade": "qualified"},
        {"unit_code": "411321", "grade": "unqualified"},
    ],
    "nominations": [
        {"kind": "unit", "unit_code": "411302"},
        {"kind": "person", "unit_code": "411302", "name": "李示例", "post": "区综治办主任"},
    ],
    "cadre_name": "王示例",
    "post": "东关街道党工委书记",
    "cadre_unit_code": TOWN,
    "purpose": "promotion",
    "answer": "defer",
    "reasons": "该街道正在挂牌督办整改期间",
    "request_no": "宛区组函〔2026〕12号",
}
# Who drafts each kind about whom: the annual and Art. 23 documents concern a committee's own level.
SUBJECT = {"assessment_results": CITY, "commendation_decision": COUNTY, "consultation_reply": COUNTY}


def _load(session: Session) -> None:
    for name in ("nanyang-divisions.csv", "demo-units.csv"):
        with (ROOT / "app" / "org" / name).open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                session.add(OrgUnit(**{**row, "parent_code": row["parent_code"] or None}))
    session.flush()
    load_issuing_organs(session, read_organ_rows(ROOT / "app" / "org" / "issuing-organs.csv"))
    session.commit()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="PNG folder (docs/img)")
    args = parser.parse_args(argv)
    if shutil.which("soffice") is None or shutil.which("pdftoppm") is None:
        print("needs soffice (libreoffice-writer-nogui) and pdftoppm (poppler-utils)", file=sys.stderr)
        return 2
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with clock.activated(ManualClock(datetime(2026, 3, 16, 9, 0, tzinfo=CST))), Session(engine) as s:
        _load(s)
        org = load_org(s)
        for number, kind in enumerate(sorted(KINDS), start=1):
            unit = SUBJECT.get(kind, TOWN)
            body = CITY if unit == CITY else COUNTY
            detail = draft(s, org, kind, "追责-2026-0001", unit, body, FACTS)
            organ = s.get(IssuingOrgan, detail["doc_organ"])
            assert organ is not None
            doc = gongwen_of(organ, detail, format_number(organ.short_mark, 2026, number))
            pdf = render_pdf(render_docx(doc, today=date(2026, 3, 16)))
            assert pdf is not None
            with tempfile.TemporaryDirectory() as tmp:
                source = Path(tmp) / "doc.pdf"
                source.write_bytes(pdf)
                target = args.out / f"gongwen-{kind.replace('_', '-')}"
                command = ["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"]
                subprocess.run([*command, str(source), str(target)], check=True)
            print(f"{target}.png: {KINDS[kind].label} {doc.number} {doc.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
