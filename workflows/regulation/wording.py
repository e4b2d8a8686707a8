"""``N_``: marks a Chinese label of the regulation's domain for the English catalogue (gettext_noop).

The domain names its codes in Chinese, the officials' language (levels of unit, kinds of post, the kinds of
a performance record's entries). It has no Flask and no locale; the app shows such a label through its
``t`` filter (``app/labels.py``), which looks the Chinese up in ``app/translations/en``. ``pybabel extract``
collects every string marked here (``-k N_``), so ``tests/test_translations.py`` names a label left without
its English.
"""

from __future__ import annotations


def N_(text: str) -> str:
    """The text itself: only the extractor sees the mark."""
    return text
