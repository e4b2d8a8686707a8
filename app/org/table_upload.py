"""Reading an uploaded table (CSV or .xlsx) defensively, for the import of people and grants.

What an administrator's spreadsheet can hold that must not reach the database or a later export:

* a huge file: refused past :data:`MAX_BYTES` (and :data:`MAX_ROWS` rows), before decoding; an .xlsx whose
  unpacked parts exceed :data:`MAX_UNPACKED` (a "zip bomb") is refused before openpyxl parses it;
* formulas: an .xlsx formula cell (``=HYPERLINK(…)``, read with ``data_only=False`` so the formula is seen,
  not its cached value) or a CSV cell that a spreadsheet would run (``=``, ``@``, ``+``/``-`` before a
  non-digit): the row is refused with the column named — the value a formula showed is not what is stored;
* encodings: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"), otherwise GB18030 (what
  Excel saves a CSV as on a Chinese Windows; a superset of GBK and GB2312);
* headers: field names or their Chinese labels; an unknown column is ignored and said so, a column given
  twice refuses the file.

Every message is Chinese first (``_()``), with the line number as Excel shows it (the header is line 1).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext as _

MAX_BYTES = 2 * 1024 * 1024  # ~20,000 rows of people: ten times the city's accounts
MAX_ROWS = 5000
MAX_UNPACKED = 40 * 1024 * 1024
MAX_CELL = 500  # characters; a name, a title or a note is far shorter
FORMULA_START = ("=", "@", "\t=", "\r=")


class UploadError(ValueError):
    """The file as a whole cannot be read; the message says why, in the reader's language."""


@dataclass
class Table:
    rows: list[tuple[int, dict[str, str]]]  # (line number, {field: text}); line 1 is the header
    cell_errors: dict[int, list[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)  # headers not understood
    encoding: str = ""


def _is_formula_text(text: str) -> bool:
    if text.startswith(FORMULA_START):
        return True
    return len(text) > 1 and text[0] in "+-" and not (text[1].isdigit() or text[1] == ".")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    for encoding, label in (("utf-8-sig", "UTF-8"), ("gb18030", "GB18030")):
        try:
            return data.decode(encoding), label
        except UnicodeDecodeError:
            continue
    raise UploadError(_("无法识别文件编码：请另存为 UTF-8 或 GB18030（GBK）编码的 CSV。"))


def _csv_table(data: bytes) -> tuple[list[list[Any]], str]:
    text, encoding = _decode(data)
    if "\x00" in text:
        raise UploadError(_("文件中有空字符，不是文本格式的 CSV。"))
    try:
        return [list(row) for row in csv.reader(io.StringIO(text))], encoding
    except csv.Error as exc:
        raise UploadError(_("CSV 格式有误：%(e)s", e=str(exc))) from None


def _xlsx_table(data: bytes) -> list[list[Any]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise UploadError(_("不是有效的 Excel（.xlsx）文件。")) from None
    if unpacked > MAX_UNPACKED:
        raise UploadError(_("Excel 文件解压后过大（超过 %(n)s MB）。", n=MAX_UNPACKED // 1024 // 1024))
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = book.worksheets[0]
        table = []
        for row in sheet.iter_rows(values_only=True):
            table.append(list(row))
            if len(table) > MAX_ROWS + 1:
                break
        book.close()
    except Exception:  # openpyxl raises many kinds for a damaged workbook
        raise UploadError(_("不是有效的 Excel（.xlsx）文件。")) from None
    return table


def read_upload(filename: str, data: bytes, headers: Mapping[str, tuple[str, ...]]) -> Table:
    """The rows of an uploaded CSV or .xlsx as fields (see the module); raises :class:`UploadError`."""
    name = filename.lower()
    if len(data) > MAX_BYTES:
        raise UploadError(_("文件过大：不能超过 %(n)s MB。", n=MAX_BYTES // 1024 // 1024))
    if not data.strip():
        raise UploadError(_("文件是空的。"))
    encoding = ""
    if name.endswith(".xlsx"):
        table = _xlsx_table(data)
    elif name.endswith((".csv", ".txt")):
        table, encoding = _csv_table(data)
    elif name.endswith(".xls"):
        raise UploadError(_("不支持旧版 Excel（.xls）：请另存为 .xlsx 或 CSV。"))
    else:
        raise UploadError(_("请上传 CSV 或 Excel（.xlsx）文件。"))
    while table and not any(_text(v) for v in table[0]):
        table.pop(0)
    if not table:
        raise UploadError(_("文件是空的。"))
    if len(table) > MAX_ROWS + 1:
        raise UploadError(_("行数过多：一次最多导入 %(n)s 行，请分批导入。", n=MAX_ROWS))
    aliases = {alias.lower(): key for key, names in headers.items() for alias in (key, *names)}
    head = [_text(h).lstrip("\ufeff") for h in table[0]]
    keys = [aliases.get(h.lower(), "") for h in head]
    if not any(keys):
        raise UploadError(
            _(
                "第 1 行没有可识别的列名（应为：%(cols)s）；若列名是乱码，请确认文件编码。",
                cols=_("、").join(names[0] for names in headers.values()),
            )
        )
    twice = sorted({h for h, k in zip(head, keys, strict=True) if k and keys.count(k) > 1})
    if twice:
        raise UploadError(_("列重复：%(cols)s", cols=_("、").join(twice)))
    result = Table(rows=[], encoding=encoding or "xlsx")
    result.ignored = [h for h, k in zip(head, keys, strict=True) if h and not k]
    for number, raw in enumerate(table[1:], start=2):
        row: dict[str, str] = {}
        for column, key, value in zip(head, keys, raw, strict=False):
            if not key:
                continue
            text = _text(value)
            if type(value).__name__ in ("ArrayFormula", "DataTableFormula") or _is_formula_text(text):
                result.cell_errors.setdefault(number, []).append(
                    _("「%(col)s」列是公式（%(v)s），请粘贴为数值后再导入", col=column, v=text[:40])
                )
            elif len(text) > MAX_CELL:
                result.cell_errors.setdefault(number, []).append(
                    _("「%(col)s」列过长（超过 %(n)s 个字符）", col=column, n=MAX_CELL)
                )
            row[key] = text
        if any(row.values()) or number in result.cell_errors:
            result.rows.append((number, row))
    return result
