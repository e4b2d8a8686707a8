"""The regulation's own words: 《南阳市社会治安综合治理领导责任制实施办法》 (2017), article by article, so a
page citing 第三十三条 can show what the article says (regulation-2017.txt, the published text)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from workflows.engine.deploy.wording import label
from workflows.engine.process_properties import ProcessDeclaration

TEXT = Path(__file__).with_name("regulation-2017.txt")
_START = re.compile(r"^第([一二三四五六七八九十]+)条\s*")
_CITED = re.compile(r"Art\.\s*(\d+)")
ARTICLE_PROPERTY = "article"  # a task's citation, e.g. "Art. 34 (O34.2)"
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}


def _number(chinese: str) -> int:
    """十三 → 13, 三十四 → 34, 十 → 10, 四十 → 40."""
    if "十" not in chinese:
        return _DIGITS[chinese]
    tens, _, ones = chinese.partition("十")
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


@lru_cache(maxsize=1)
def articles() -> dict[int, str]:
    """Article number → its text (paragraphs joined by newlines), chapter headings left out."""
    found: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in TEXT.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        match = _START.match(text)
        if match:
            current = found.setdefault(_number(match[1]), [])
            current.append(text)
        elif text.startswith("第") and "章" in text[:5]:
            current = None
        elif text and current is not None:
            current.append(text)
    return {n: "\n".join(lines) for n, lines in found.items()}


def cited_texts(cited: str | None) -> list[str]:
    """The texts of the articles a citation names ("Art. 33 (O33.1), Art. 34" → both articles)."""
    numbers = list(dict.fromkeys(int(n) for n in _CITED.findall(cited or "")))
    return [articles()[n] for n in numbers if n in articles()]


def check_citations(declaration: ProcessDeclaration) -> None:
    """Deploy time: every ``article`` property cites articles the regulation has (Art. 1 to Art. 44), in the
    modeller lint's words, naming the element; a citation with no article number is refused too."""
    numbers = articles()
    first, last = min(numbers), max(numbers)
    problems = []
    for element_id, name, tag, cited in declaration.carriers.get(ARTICLE_PROPERTY, ()):
        element = label(element_id, name, tag)
        if not cited.strip():
            continue
        found = [int(n) for n in _CITED.findall(cited)]
        if not found:
            problems.append(f"{element}的条款“{cited}”没有写明条号；请写成 Art. 34 这样")
        problems += [
            f"{element}引用的第{n}条不存在（本办法共第{first}–{last}条）"
            for n in dict.fromkeys(found)
            if n not in numbers
        ]
    if problems:
        raise ValueError("；".join(problems))
