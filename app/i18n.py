"""Chinese first, English second (Flask-Babel). Message ids are the Chinese texts; ``translations/en``
gives the English. The .mo file is compiled from the .po at start-up when missing or older, so a checkout
needs no build step."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, has_request_context, request, session
from flask_babel import Babel, get_locale
from flask_login import current_user

LOCALES = ("zh_CN", "en")
TRANSLATIONS = Path(__file__).with_name("translations")

babel = Babel()


def select_locale() -> str:
    if not has_request_context():  # a CLI command or a background job: the messages' own language
        return "zh_CN"
    chosen = session.get("locale")
    if chosen in LOCALES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return current_user.locale
    if request.args.get("lang") in LOCALES:
        return request.args["lang"]
    return "zh_CN"


def compile_translations() -> None:
    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po:
            catalog = read_po(po)
        with mo_path.open("wb") as mo:
            write_mo(mo, catalog)


def is_english() -> bool:
    return str(get_locale()) == "en"


def pick(zh: str | None, en: str | None) -> str:
    """A label from a form or diagram that carries both languages (JSON Schema title / x-title-en)."""
    return (en or zh or "") if is_english() else (zh or en or "")


def init_app(app: Flask) -> None:
    compile_translations()
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))
    app.jinja_env.globals.update(pick=pick, is_english=is_english, get_locale=get_locale)
