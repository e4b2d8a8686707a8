"""The English catalogue (``app/translations/en/LC_MESSAGES/messages.po``) is complete and up to date.

Chinese is the source language; English is the second locale. Two things can go wrong without any other test
noticing, because an untranslated string quietly falls back to its Chinese msgid on the English pages:

* an entry of the catalogue has no ``msgstr``, or its ``msgstr`` loses or invents a placeholder (``%(n)s``,
  ``{role}``) — a lost one drops a number from the page, an invented one raises ``KeyError`` when rendered;
* a string was added to the sources (``_()``, ``_l()``, ``gettext()`` in ``app/**.py``, ``{{ _() }}`` in
  ``app/templates/**.html``) but the catalogue was not refreshed.

The second check extracts the messages as ``pybabel extract -F app/babel.cfg -k _l -k N_ -k Phrase`` does,
with babel's API, and names every missing msgid. To fix it, run from the project root::

    .venv/bin/pybabel extract -F app/babel.cfg -k _l -k N_ -k Phrase -o /tmp/messages.pot .
    .venv/bin/pybabel update -i /tmp/messages.pot -d app/translations -l en --no-fuzzy-matching

then fill in the empty ``msgstr`` entries of the English catalogue.

Reads files only (no database, no app).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "app" / "babel.cfg"
CATALOGUE = ROOT / "app" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "N_": None, "Phrase": None}  # -k _l -k N_ -k Phrase
HOW_TO_FIX = """
To refresh the catalogue, run from the project root:
    .venv/bin/pybabel extract -F app/babel.cfg -k _l -k N_ -k Phrase -o /tmp/messages.pot .
    .venv/bin/pybabel update -i /tmp/messages.pot -d app/translations -l en --no-fuzzy-matching
then give every empty msgstr of app/translations/en/LC_MESSAGES/messages.po its English."""

CHINESE = re.compile(r"[\u3400-\u9fff]")
# %(name)s as gettext's keyword arguments fill it, and str.format's {name}.
PLACEHOLDER = re.compile(r"%\(\w+\)[#0 +\-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{\w*(?:[.!:][^{}]*)?\}")
# A literal percent sign is "%%" wherever the string goes through "%": always in a template (Jinja's
# newstyle gettext formats every string), and in Python when it has named placeholders (python-format).
LONE_PERCENT = re.compile(r"%(?!%|\(\w+\))")


@functools.cache
def catalogue() -> Catalog:
    with CATALOGUE.open("rb") as f:
        return read_po(f, locale="en")


def entries() -> Iterator[Message]:
    """The catalogue's live entries: not the header, not the obsolete ``#~`` ones."""
    return (m for m in catalogue() if m.id)


def forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    """A message's singular and plural forms (or its translations), as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def translated(message: Message) -> bool:
    return bool(forms(message.string)) and all(s.strip() for s in forms(message.string))


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def formatted(message: Message) -> bool:
    """Whether the string is %-formatted when shown (see LONE_PERCENT)."""
    return "python-format" in message.flags or any(
        path.endswith(".html") for path, _line in message.locations
    )


def describe(message: Message) -> str:
    where = ", ".join(f"{path}:{line}" for path, line in message.locations[:2])
    return f"{forms(message.id)[0]!r}" + (f" ({where})" if where else "")


def test_every_entry_is_translated() -> None:
    missing = [describe(m) for m in entries() if not translated(m)]
    assert not missing, (
        f"{len(missing)} entries of {CATALOGUE.relative_to(ROOT)} have no English:\n" + "\n".join(missing)
    )


def test_translations_keep_the_placeholders() -> None:
    wrong = []
    for m in entries():
        if not translated(m):
            continue  # reported by test_every_entry_is_translated
        expected = set().union(*(placeholders(i) for i in forms(m.id)))
        for s in forms(m.string):
            if placeholders(s) != expected:
                wrong.append(f"{describe(m)}: {sorted(expected)} but {s!r} has {sorted(placeholders(s))}")
            elif (
                formatted(m)
                and LONE_PERCENT.search(s)
                and not any(LONE_PERCENT.search(i) for i in forms(m.id))
            ):
                wrong.append(f"{describe(m)}: {s!r} has a lone '%' (write '%%')")
    assert not wrong, "msgstr placeholders or percent signs do not match the msgid:\n" + "\n".join(wrong)


def keep_directory(path: str) -> bool:
    """pybabel's own rule (no hidden or underscore directories, so no .venv or __pycache__), and no
    node_modules: the mapping never matches there, and walking it is most of the time."""
    name = os.path.basename(path)
    return not name.startswith((".", "_")) and name != "node_modules"


def extracted() -> dict[tuple[str, str | None], list[str]]:
    """Every Chinese msgid (with its context) the sources use, and where."""
    with BABEL_CFG.open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f, str(BABEL_CFG))
    found: dict[tuple[str, str | None], list[str]] = {}
    for path, line, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, directory_filter=keep_directory
    ):
        msgid = forms(message)[0]
        if CHINESE.search(msgid):
            where = found.setdefault((msgid, context), [])
            if f"{path}:{line}" not in where:
                where.append(f"{path}:{line}")
    return found


def test_the_catalogue_is_up_to_date_with_the_sources() -> None:
    found = extracted()
    assert len(found) > 100, (
        f"the extraction found only {len(found)} Chinese messages: is app/babel.cfg read?"
    )
    missing, untranslated = [], []
    for (msgid, context), where in sorted(found.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        message = catalogue().get(msgid, context)
        if message is None:
            missing.append(f"{msgid!r} ({', '.join(where[:2])})")
        elif not translated(message):
            untranslated.append(f"{msgid!r} ({', '.join(where[:2])})")
    problems = []
    if missing:
        problems.append(
            f"{len(missing)} msgids used in the sources are not in the catalogue:\n" + "\n".join(missing)
        )
    if untranslated:
        problems.append(
            f"{len(untranslated)} msgids used in the sources have no English:\n" + "\n".join(untranslated)
        )
    assert not problems, "\n".join(problems) + HOW_TO_FIX
