"""公文 in the national format GB/T 9704-2012 (党政机关公文格式) as .docx, and PDF through LibreOffice.

No Flask, no database: a :class:`Gongwen` holds what the document says, :func:`render_docx` lays it out
(A4; margins 37/35/28/26 mm, so a 156 × 225 mm type area of 22 lines × 28 characters in 3号 = 16 pt;
red issuing-organ mark and red rule; 发文字号 ``宛综治办〔2026〕7号``; title in 2号 小标宋; 主送; body in
3号 仿宋_GB2312 with headings 一、(黑体) /（一）(楷体_GB2312) / 1. /（1）(仿宋_GB2312); 附件说明; issuer
and 成文日期 in Arabic numerals; 版记 with 抄送 and 印发机关 + 印发日期 between rules; page numbers
``— 1 —`` in 4号 宋体, odd pages right, even pages left). :func:`render_pdf` converts the .docx with
``soffice --headless`` when LibreOffice is installed and returns None otherwise.

Every run names its East Asian font (``w:rFonts w:eastAsia``): python-docx's ``run.font.name`` sets only
the Latin one, and Word would then show Chinese text in the theme's font.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from io import BytesIO
from pathlib import Path

import docx
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run

XIAOBIAOSONG = "方正小标宋简体"
FANGSONG = "仿宋_GB2312"
KAITI = "楷体_GB2312"
HEITI = "黑体"
SONGTI = "宋体"
RED = RGBColor(0xFF, 0x00, 0x00)

SIZE_2 = 22.0  # 2号: the title
SIZE_3 = 16.0  # 3号: body, 发文字号, 主送, signature
SIZE_4 = 14.0  # 4号: 版记 and page numbers
LINE_PITCH = 28.95  # 225 mm / 22 lines, in points
TYPE_WIDTH = Mm(156).pt  # the type area's width in points (28 characters of 3号)

_Date = date  # the dataclass below has a field named ``date``

NUMBER_PATTERN = re.compile(r"^\S+〔\d{4}〕[1-9]\d*号$")
HEADINGS = (  # (pattern, font) for the levels 一、 / （一） / 1. / （1）
    (re.compile(r"^[一二三四五六七八九十]+、"), HEITI),
    (re.compile(r"^（[一二三四五六七八九十]+）"), KAITI),
    (re.compile(r"^\d+[.．]"), FANGSONG),
    (re.compile(r"^（\d+）"), FANGSONG),
)


def chinese_date(day: date) -> str:
    """成文日期 in Arabic numerals, no zero padding: ``2026年3月16日``."""
    return f"{day.year}年{day.month}月{day.day}日"


@dataclass(frozen=True)
class Gongwen:
    """One 公文. ``body`` paragraphs starting with 一、/（一）/1./（1） are headings of that level."""

    organ_mark: str  # 发文机关标志, e.g. 南阳市社会治安综合治理委员会办公室文件
    number: str  # 发文字号, e.g. 宛综治办〔2026〕7号
    title: str
    main_recipients: Sequence[str]  # 主送机关
    body: Sequence[str]
    issuer: str  # 发文机关署名
    date: _Date  # 成文日期
    attachments: Sequence[str] = field(default_factory=tuple)  # 附件说明: the attachments' names
    copied_to: Sequence[str] = field(default_factory=tuple)  # 抄送机关
    printer: str = ""  # 印发机关 (default: the issuer)
    print_date: _Date | None = None  # 印发日期 (default: the 成文日期)

    def validate(self, today: _Date) -> None:
        """Refuse what may not be issued, with a ValueError saying why."""
        if not self.organ_mark.strip():
            raise ValueError("公文缺少发文机关标志 (organ_mark is empty)")
        if not NUMBER_PATTERN.match(self.number):
            raise ValueError(
                f"发文字号 {self.number!r} 格式不正确：应为“机关代字〔年份〕序号号”，"
                "用六角括号〔〕，序号不编虚位（无前导0），不加“第”字，例如 宛综治办〔2026〕7号"
            )
        if not self.title.strip():
            raise ValueError("公文标题不能为空 (empty title)")
        if not [name for name in self.main_recipients if name.strip()]:
            raise ValueError("公文必须有主送机关 (no main recipients)")
        if any(not name.strip() for name in (*self.main_recipients, *self.copied_to)):
            raise ValueError("主送或抄送机关中有空名称 (an empty recipient name)")
        if not [para for para in self.body if para.strip()]:
            raise ValueError("公文正文不能为空 (empty body)")
        if not self.issuer.strip():
            raise ValueError("公文缺少发文机关署名 (issuer is empty)")
        if self.date > today:
            raise ValueError(
                f"成文日期 {chinese_date(self.date)} 晚于今天 {chinese_date(today)} (in the future)"
            )
        if self.print_date is not None and self.print_date > today:
            raise ValueError(f"印发日期 {chinese_date(self.print_date)} 晚于今天 (print date in the future)")
        if self.print_date is not None and self.print_date < self.date:
            raise ValueError("印发日期早于成文日期 (print date before the document's date)")


def set_fonts(run: Run, name: str, size: float, *, color: RGBColor | None = None, bold: bool = False) -> Run:
    """Name the font for Latin and East Asian text alike (ascii/hAnsi/eastAsia/cs), and its size."""
    rfonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), name)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)  # a theme font would win over the names above
    run.font.size = Pt(size)
    run.font.bold = bold
    if color is not None:
        run.font.color.rgb = color
    if size == SIZE_3:  # 3号 text: 28 characters fill the 156 mm line (GB/T 9704 7.1)
        _character_spacing(run, TYPE_WIDTH / 28 - SIZE_3)
    return run


def _character_spacing(run: Run, points: float) -> None:
    """w:spacing (twentieths of a point) before w:sz, as the schema orders it. Not a character grid:
    LibreOffice, which makes the filed PDF, spreads CJK text across one."""
    rpr = run._element.get_or_add_rPr()
    spacing = rpr.find(qn("w:spacing"))
    if spacing is None:
        spacing, size = OxmlElement("w:spacing"), rpr.find(qn("w:sz"))
        size.addprevious(spacing) if size is not None else rpr.append(spacing)
    spacing.set(qn("w:val"), str(round(points * 20)))


def add_line(
    document: Document,
    text: str = "",
    *,
    font: str = FANGSONG,
    size: float = SIZE_3,
    align: WD_ALIGN_PARAGRAPH | None = None,
    color: RGBColor | None = None,
) -> Paragraph:
    """A paragraph on the 22-line grid (exact line pitch, no space before/after), one run of ``text``."""
    paragraph = document.add_paragraph()
    fmt = paragraph.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(LINE_PITCH)
    fmt.space_before = fmt.space_after = Pt(0)
    if align is not None:
        paragraph.alignment = align
    if text:
        set_fonts(paragraph.add_run(text), font, size, color=color)
    return paragraph


def add_blank(document: Document, lines: int = 1) -> None:
    for _ in range(lines):
        add_line(document)


def indent_first_line(paragraph: Paragraph, chars: int = 2, size: float = SIZE_3) -> None:
    paragraph.paragraph_format.first_line_indent = Pt(chars * size)
    ind = paragraph._p.get_or_add_pPr().find(qn("w:ind"))
    if ind is not None:
        ind.set(qn("w:firstLineChars"), str(chars * 100))  # snaps to the character grid in Word/WPS


def _border(
    paragraph: Paragraph, side: str, *, size_eighths: int, color: str = "000000", space: int = 1
) -> None:
    """A rule along one side of the paragraph (``w:pBdr``); ``size_eighths`` in eighths of a point."""
    ppr = paragraph._p.get_or_add_pPr()
    bdr = ppr.find(qn("w:pBdr"))
    if bdr is None:
        bdr = OxmlElement("w:pBdr")
        # CT_PPr children have a fixed order: pBdr after these, before shd/tabs/spacing/ind/jc and the rest.
        before = (
            "w:pStyle",
            "w:keepNext",
            "w:keepLines",
            "w:pageBreakBefore",
            "w:framePr",
            "w:widowControl",
            "w:numPr",
            "w:suppressLineNumbers",
        )
        anchors = [child for child in ppr if child.tag in {qn(tag) for tag in before}]
        if anchors:
            anchors[-1].addnext(bdr)
        else:
            ppr.insert(0, bdr)
    line = OxmlElement(f"w:{side}")  # called top before bottom, the schema's order
    line.set(qn("w:val"), "single")
    line.set(qn("w:sz"), str(size_eighths))
    line.set(qn("w:space"), str(space))
    line.set(qn("w:color"), color)
    bdr.append(line)


def _width(text: str, size: float = SIZE_3) -> float:
    """Approximate printed width in points: CJK characters full width, ASCII half width."""
    return sum(size / 2 if ord(ch) < 0x2000 else size for ch in text)


def page_setup(document: Document) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(21)
    grid = section._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        section._sectPr.append(grid)
    grid.set(qn("w:type"), "lines")  # 22 lines a page; the 28 characters a line come from run spacing
    grid.set(qn("w:linePitch"), str(round(LINE_PITCH * 20)))  # twips
    grid.attrib.pop(qn("w:charSpace"), None)
    # Defaults: no theme fonts anywhere; 仿宋_GB2312 3号 for whatever has no run properties of its own.
    for rfonts in document.styles.element.iter(qn("w:rFonts")):
        for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            rfonts.attrib.pop(qn(attr), None)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), FANGSONG)
    normal = document.styles["Normal"]
    normal.font.size = Pt(SIZE_3)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), FANGSONG)


def _head(document: Document, doc: Gongwen) -> None:
    """版头: red organ mark (35 mm below the type area's top), 发文字号 two lines lower, the red rule."""
    size = min(36.0, float(int(TYPE_WIDTH / max(len(doc.organ_mark), 1))))  # never wider than the type area
    mark = add_line(
        document, doc.organ_mark, font=XIAOBIAOSONG, size=size, align=WD_ALIGN_PARAGRAPH.CENTER, color=RED
    )
    mark.paragraph_format.line_spacing = Pt(max(LINE_PITCH, size * 1.3))
    mark.paragraph_format.space_before = Mm(35)
    add_blank(document, 2)
    number = add_line(document, doc.number, align=WD_ALIGN_PARAGRAPH.CENTER)
    _border(number, "bottom", size_eighths=12, color="FF0000", space=11)  # 4 mm below: the red rule


def _main(document: Document, doc: Gongwen) -> None:
    """主体: title, 主送, body with headings, 附件说明, issuer and 成文日期."""
    add_blank(document, 2)
    add_line(document, doc.title, font=XIAOBIAOSONG, size=SIZE_2, align=WD_ALIGN_PARAGRAPH.CENTER)
    add_blank(document)
    recipients = "、".join(name.strip() for name in doc.main_recipients if name.strip())
    add_line(document, f"{recipients}：")
    for text in (para.strip() for para in doc.body):
        if text:
            _body_paragraph(document, text)
    if doc.attachments:
        add_blank(document)
        _attachments(document, doc.attachments)
    add_blank(document)
    _signature(document, doc.issuer, chinese_date(doc.date))


def _body_paragraph(document: Document, text: str) -> None:
    paragraph = add_line(document)
    indent_first_line(paragraph)
    for pattern, font in HEADINGS:
        if pattern.match(text):
            # The heading runs to its first full stop; what follows in the same paragraph is body text.
            head, stop, rest = text.partition("。")
            set_fonts(paragraph.add_run(head + stop), font, SIZE_3)
            if rest:
                set_fonts(paragraph.add_run(rest), FANGSONG, SIZE_3)
            return
    set_fonts(paragraph.add_run(text), FANGSONG, SIZE_3)


def _attachments(document: Document, names: Sequence[str]) -> None:
    """``附件：名称``, or numbered ``附件：1.名称`` with later names aligned under the first one."""
    if len(names) == 1:
        indent_first_line(add_line(document, f"附件：{names[0]}"))
        return
    for index, name in enumerate(names, start=1):
        if index == 1:
            indent_first_line(add_line(document, f"附件：1.{name}"))
        else:
            paragraph = add_line(document, f"{index}.{name}")
            paragraph.paragraph_format.left_indent = Pt(5 * SIZE_3)  # under the first name, after 附件：


def _signature(document: Document, issuer: str, day: str) -> None:
    """发文机关署名 centred over the 成文日期, which stands 4 characters from the right (GB/T 9704 7.3.5)."""
    issuer_w, date_w = _width(issuer), _width(day)
    if issuer_w <= date_w:
        date_right = 4 * SIZE_3
        issuer_right = date_right + (date_w - issuer_w) / 2
    else:
        issuer_right = 2 * SIZE_3
        date_right = issuer_right + (issuer_w - date_w) / 2
    for text, right in ((issuer, issuer_right), (day, date_right)):
        paragraph = add_line(document, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        paragraph.paragraph_format.right_indent = Pt(right)


def _colophon(document: Document, doc: Gongwen) -> None:
    """版记: 抄送 and 印发机关 + 印发日期 in 4号 仿宋, between a thick first/last rule and a thin one."""
    add_blank(document)
    thick, thin = 8, 4  # eighths of a point: ~0.35 mm and ~0.25 mm
    if doc.copied_to:
        names = "，".join(name.strip() for name in doc.copied_to)
        copied = add_line(document, f"抄送：{names}。", size=SIZE_4)
        copied.paragraph_format.left_indent = copied.paragraph_format.right_indent = Pt(SIZE_4)
        _border(copied, "top", size_eighths=thick)
        _border(copied, "bottom", size_eighths=thin)
    printed = chinese_date(doc.print_date or doc.date)
    line = add_line(document, size=SIZE_4)
    fmt = line.paragraph_format
    fmt.left_indent = fmt.right_indent = Pt(SIZE_4)
    fmt.tab_stops.add_tab_stop(Pt(TYPE_WIDTH - SIZE_4), WD_TAB_ALIGNMENT.RIGHT)  # from the margin
    set_fonts(line.add_run(f"{(doc.printer or doc.issuer).strip()}\t{printed}印发"), FANGSONG, SIZE_4)
    if not doc.copied_to:
        _border(line, "top", size_eighths=thick)
    _border(line, "bottom", size_eighths=thick)


def page_numbers(document: Document) -> None:
    """``— 1 —`` in 4号 宋体: odd pages 1 character from the right, even pages 1 character from the left."""
    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
        paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        if align == "right":
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            paragraph.paragraph_format.right_indent = Pt(SIZE_4)
        else:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
            paragraph.paragraph_format.left_indent = Pt(SIZE_4)
        set_fonts(paragraph.add_run("— "), SONGTI, SIZE_4)
        _page_field(paragraph)
        set_fonts(paragraph.add_run(" —"), SONGTI, SIZE_4)


def _page_field(paragraph: Paragraph) -> None:
    """A PAGE field: begin, instruction, separate, the shown value, end, each in a run of its own."""
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = set_fonts(paragraph.add_run(), SONGTI, SIZE_4)
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._element.append(char)
        elif text == " PAGE ":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._element.append(instr)
        else:
            run.text = text or ""


def render_docx(doc: Gongwen, *, today: date) -> bytes:
    """The 公文 as a .docx file (GB/T 9704-2012). ``today`` (the caller's clock) refuses future dates."""
    doc.validate(today)
    document = docx.Document()
    page_setup(document)
    body = document.element.body
    for paragraph in list(body.iterchildren(qn("w:p"))):  # the template's empty paragraph, if any
        body.remove(paragraph)
    _head(document, doc)
    _main(document, doc)
    _colophon(document, doc)
    page_numbers(document)
    document.core_properties.title, document.core_properties.author = doc.title, doc.issuer
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def render_pdf(docx_bytes: bytes, *, timeout: float = 120) -> bytes | None:
    """Convert a .docx to PDF with LibreOffice headless; None when ``soffice`` is not installed.

    A private profile directory per call lets conversions run side by side (LibreOffice locks its profile).
    """
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    with tempfile.TemporaryDirectory(prefix="gongwen-") as tmp:
        work = Path(tmp)
        source = work / "gongwen.docx"
        source.write_bytes(docx_bytes)
        profile = f"-env:UserInstallation={(work / 'profile').as_uri()}"
        command = [soffice, profile, "--headless", "--convert-to", "pdf", "--outdir", str(work), str(source)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        target = work / "gongwen.pdf"
        if result.returncode != 0 or not target.exists():
            raise RuntimeError(
                f"LibreOffice could not convert the document: {result.stderr.strip() or result.stdout}"
            )
        return target.read_bytes()
