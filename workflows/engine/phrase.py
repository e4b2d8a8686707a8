"""Messages that can be worded again in another language.

The engine speaks to Chinese officials: its refusals (a deploy's problems, a migration's reasons, a script
over its budget) are Chinese text, and the logs, the CLI and the tests read them as such. The app also has
English pages, where those sentences would stay Chinese. A :class:`Phrase` is that Chinese text — a ``str``,
so everything that reads a message keeps working — which also keeps its template and its arguments; the
app's ``say`` (``app/labels.py``) looks the template up in the English catalogue and fills it again, with
nested phrases (an element's kind, a reason) worded the same way. ``pybabel extract -k Phrase`` collects the
templates (``app/babel.cfg``), and ``tests/test_translations.py`` names any left without its English.

Arguments that are not phrases (ids, numbers, an expression, a library's own English) are filled in as
they are; a template may give them a format (``{seconds:.1f}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class Phrase(str):
    """A Chinese message (its ``str``) that remembers ``template`` and ``args`` to be worded again."""

    template: str
    args: dict[str, Any]

    def __new__(cls, template: str, **args: Any) -> Phrase:
        phrase = super().__new__(cls, template.format(**args) if args else template)
        phrase.template, phrase.args = template, args
        return phrase

    def __reduce__(self) -> tuple[Any, ...]:  # pickled to and from the script workers: keep the template
        return (_rebuild, (self.template, self.args))

    def __repr__(self) -> str:
        return f"Phrase({self.template!r}, {self.args!r})"


def _rebuild(template: str, args: dict[str, Any]) -> Phrase:
    return Phrase(template, **args)


def reword(message: object, translate: Callable[[str], str], sentence: bool = False) -> str:
    """``message`` in the language ``translate`` (template → template) gives: a phrase's template translated
    and filled with its arguments, phrases among them reworded the same way; anything else as it is.
    ``sentence``: the first letter upper-cased when it is a translated word (service task … → Service task …),
    never a name, an id or a path the message quotes."""
    if not isinstance(message, Phrase):
        return str(message)
    template = translate(message.template) if message.template else ""  # gettext("") is the header
    leading = _LEADING.match(template)
    args = {
        k: reword(v, translate, sentence and leading is not None and leading.group(1) == k)
        if isinstance(v, Phrase)
        else v
        for k, v in message.args.items()
    }
    try:
        text = template.format(**args) if args else template
    except (KeyError, IndexError, ValueError):  # a catalogue entry that lost a placeholder: the original
        return str(message)
    if sentence and leading is None:
        return text[:1].upper() + text[1:]
    return text


_LEADING = re.compile(r"\{(\w+)[^}]*\}")  # a template that starts with a placeholder, and its name


def either(items: list[Phrase]) -> Phrase:
    """Alternatives as one phrase: 字符串或整数 / "string or integer"."""
    phrase = items[0] if items else Phrase("")
    for item in items[1:]:
        phrase = Phrase("{a}或{b}", a=phrase, b=item)
    return phrase
