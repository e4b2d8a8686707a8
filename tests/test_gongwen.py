"""公文 in GB/T 9704-2012: render a 通报 (Art. 33) as .docx, open it with python-docx and check the format."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import date
from io import BytesIO

import docx
import pytest
from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import RGBColor
from docx.text.paragraph import Paragraph

from workflows.regulation import gongwen
from workflows.regulation.gongwen import Gongwen, render_docx, render_pdf

TODAY = date(2026, 3, 20)
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

NOTIFICATION = Gongwen(
    organ_mark="南阳市社会治安综合治理委员会办公室文件",
    number="宛综治办〔2026〕7号",
    title="关于对某县社会治安综合治理工作予以通报的通报",
    # Art. 33: the lower-level offices and the member units of the same-level committee
    main_recipients=["各县（市、区）综治办", "市综治委各成员单位"],
    body=[
        "根据《健全落实社会治安综合治理领导责任制规定》第三十三条，现将有关情况通报如下。",
        "一、基本情况。经核查，该县2025年度发生重大刑事案件，社会治安问题突出。",
        "（一）主要问题。责任落实不到位。",
        "1.领导重视不够。",
        "（1）未按期研究部署。",
        "二、整改要求。请于通报之日起2个月内完成整改，并报告整改措施和效果。",
    ],
    attachments=["整改情况报告表", "责任单位名单"],
    issuer="南阳市社会治安综合治理委员会办公室",
    date=date(2026, 3, 16),
    # Art. 33: copied to the party committee with cadre authority
    copied_to=["中共南阳市委组织部"],
    printer="南阳市社会治安综合治理委员会办公室",
    print_date=date(2026, 3, 16),
)


@pytest.fixture(scope="module")
def document() -> Document:
    return docx.Document(BytesIO(render_docx(NOTIFICATION, today=TODAY)))


def _texts(document: Document) -> list[str]:
    return [p.text for p in document.paragraphs]


def _paragraph(document: Document, text: str) -> Paragraph:
    return next(p for p in document.paragraphs if p.text == text)


@pytest.mark.obligation("O33.1")
def test_page_is_a4_with_the_national_margins(document: Document) -> None:
    section = document.sections[0]
    assert section.page_width is not None and section.page_height is not None
    assert section.page_width.mm == pytest.approx(210, abs=0.5)
    assert section.page_height.mm == pytest.approx(297, abs=0.5)
    margins = (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)
    assert [m.mm if m is not None else None for m in margins] == pytest.approx([37, 35, 28, 26], abs=0.5)
    type_width = 210 - 28 - 26
    type_height = 297 - 37 - 35
    assert (type_width, type_height) == (156, 225)
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:type")) == "lines"  # a character grid makes LibreOffice spread CJK text
    body = _paragraph(
        document, "根据《健全落实社会治安综合治理领导责任制规定》第三十三条，现将有关情况通报如下。"
    )
    spacing = body.runs[0]._element.rPr.find(qn("w:spacing"))
    pitch = 16 + int(spacing.get(qn("w:val"))) / 20  # 3号 plus the character spacing, in points
    assert 28 * pitch == pytest.approx(type_width * 72 / 25.4, abs=2)  # 28 characters a line
    assert int(grid.get(qn("w:linePitch"))) / 20 == pytest.approx(225 / 22 * 72 / 25.4, abs=0.1)  # 22 lines


@pytest.mark.obligation("O33.1")
def test_head_number_title_recipients(document: Document) -> None:
    texts = _texts(document)
    mark = _paragraph(document, "南阳市社会治安综合治理委员会办公室文件")
    assert mark.runs[0].font.color.rgb == RGBColor(0xFF, 0x00, 0x00)
    assert mark.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    number = _paragraph(document, "宛综治办〔2026〕7号")
    assert re.fullmatch(r"\S+〔\d{4}〕[1-9]\d*号", number.text)
    rule = number._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert rule.get(qn("w:color")) == "FF0000"  # the red rule under the 发文字号
    title = _paragraph(document, NOTIFICATION.title)
    assert title.runs[0].font.size.pt == 22
    assert title.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    assert texts.index(mark.text) < texts.index(number.text) < texts.index(title.text)
    recipients = texts[texts.index(title.text) + 2]
    assert recipients == "各县（市、区）综治办、市综治委各成员单位："
    assert recipients.endswith("：")  # full-width colon


@pytest.mark.obligation("O33.1")
def test_body_headings_attachments_signature_colophon(document: Document) -> None:
    texts = _texts(document)
    fonts = {
        "一、基本情况。": "黑体",
        "（一）主要问题。": "楷体_GB2312",
        "1.领导重视不够。": "仿宋_GB2312",
        "（1）未按期研究部署。": "仿宋_GB2312",
    }
    for head, font in fonts.items():
        paragraph = next(p for p in document.paragraphs if p.text.startswith(head))
        assert paragraph.runs[0].text == head
        assert paragraph.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == font
        assert paragraph.paragraph_format.first_line_indent.pt == 32  # two characters of 3号
    body = next(p for p in document.paragraphs if p.text.startswith("根据"))
    assert body.runs[0].font.size.pt == 16
    assert "附件：1.整改情况报告表" in texts and "2.责任单位名单" in texts
    issuer = texts.index("南阳市社会治安综合治理委员会办公室")
    assert texts[issuer + 1] == "2026年3月16日"
    assert document.paragraphs[issuer + 1].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert "抄送：中共南阳市委组织部。" in texts
    assert texts[-1] == "南阳市社会治安综合治理委员会办公室\t2026年3月16日印发"
    borders = document.paragraphs[-1]._p.pPr.find(qn("w:pBdr"))
    assert borders.find(qn("w:bottom")) is not None  # the 版记's last rule


@pytest.mark.obligation("O33.1")
def test_every_run_with_chinese_text_names_an_east_asian_font(document: Document) -> None:
    section = document.sections[0]
    paragraphs = [*document.paragraphs, *section.footer.paragraphs, *section.even_page_footer.paragraphs]
    checked = 0
    for paragraph in paragraphs:
        for run in paragraph.runs:
            if CJK.search(run.text):
                checked += 1
                assert run._element.rPr.rFonts.get(qn("w:eastAsia")), run.text
    assert checked > 15


@pytest.mark.obligation("O33.1")
def test_footer_page_number_between_em_dashes(document: Document) -> None:
    settings = document.settings.element
    assert settings.find(qn("w:evenAndOddHeaders")) is not None
    for footer in (document.sections[0].footer, document.sections[0].even_page_footer):
        paragraph = footer.paragraphs[0]
        instructions = [el.text for el in paragraph._p.iter(qn("w:instrText"))]
        assert [i.strip() for i in instructions] == ["PAGE"]
        assert paragraph.text.startswith("— ") and paragraph.text.endswith(" —")
        run = paragraph.runs[0]
        assert run.font.size.pt == 14  # 4号
        assert run._element.rPr.rFonts.get(qn("w:eastAsia")) == "宋体"


def test_dates_in_arabic_numerals_without_padding() -> None:
    assert gongwen.chinese_date(date(2026, 3, 6)) == "2026年3月6日"
    assert gongwen.chinese_date(date(2026, 12, 16)) == "2026年12月16日"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"main_recipients": []}, "主送"),
        ({"main_recipients": ["  "]}, "主送"),
        ({"title": "  "}, "标题"),
        ({"number": "宛综治办〔2026〕07号"}, "发文字号"),
        ({"number": "宛综治办〔2026〕第7号"}, "发文字号"),
        ({"number": "宛综治办[2026]7号"}, "发文字号"),
        ({"number": "宛综治办（2026）7号"}, "发文字号"),
        ({"date": date(2026, 3, 21)}, "成文日期"),
        ({"print_date": date(2026, 3, 15)}, "印发日期"),
        ({"body": []}, "正文"),
    ],
)
def test_bad_input_is_refused(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_docx(dataclasses.replace(NOTIFICATION, **change), today=TODAY)  # type: ignore[arg-type]


def test_a_document_dated_today_is_accepted() -> None:
    today = dataclasses.replace(NOTIFICATION, date=TODAY, print_date=None)
    assert render_docx(today, today=TODAY)[:2] == b"PK"


def test_render_pdf_without_libreoffice_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gongwen.shutil, "which", lambda name: None)
    assert render_pdf(render_docx(NOTIFICATION, today=TODAY)) is None


@pytest.mark.obligation("O33.1")
def test_render_pdf_with_libreoffice() -> None:
    if shutil.which("soffice") is None:
        pytest.skip("LIBREOFFICE NOT INSTALLED (apt-get install libreoffice-writer-nogui): PDF NOT tested")
    pdf = render_pdf(render_docx(NOTIFICATION, today=TODAY))
    assert pdf is not None and pdf.startswith(b"%PDF")
