"""What a request may carry, bounded in one place (issue 16 point 3): numbers in the address, the query and
forms, and the size and nesting of JSON bodies.

A number from outside reaches SQL, where ``?page=861103122672075776`` overflowed (SQLite takes 64-bit
integers only: ``OverflowError``, a 500) and an id past 32 bits in ``/cases/<id>`` did the same on
PostgreSQL (``integer out of range``); a JSON body of
100,000 ``[`` blew Python's recursion limit. So:

* web pages clamp what only steers a listing (:func:`page_arg`: garbage → 1, too large → :data:`MAX_PAGE`)
  and treat any other out-of-range number as absent (:func:`to_int`);
* the API refuses with 422 and the field named, through the marshmallow fields below (:class:`Page`,
  :class:`PerPage`, :class:`Id`, :class:`Year`), which the OpenAPI document shows with their bounds;
* ``<int:…>`` in a route matches only up to :data:`MAX_ID` (a longer number is a 404, like any unknown id);
* a JSON body larger than ``MAX_JSON_BYTES`` is a 413 and one nested deeper than ``MAX_JSON_DEPTH`` a 400,
  before any view sees it (:class:`BoundedJSONProvider`; the depth check is
  :mod:`workflows.engine.deploy.jsonsafe`, which form files go through too).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from marshmallow import fields, validate
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, ValidationError

from workflows.engine.deploy import jsonsafe

MAX_PAGE = 100_000
MAX_PER_PAGE = 200
# Ids and version numbers are INTEGER columns: PostgreSQL refuses to bind a larger value (DataError, a
# 500), SQLite anything past 64 bits (OverflowError). No row can have a larger id, so none is looked up.
MAX_ID = 2**31 - 1
FIRST_YEAR, LAST_YEAR = 2000, 2100  # the span the document numbers accept (workflows/regulation/doc_numbers)
MAX_JSON_BYTES = 4 * 1024 * 1024  # a whole definition set deployed as JSON is about 1 MB
MAX_JSON_DEPTH = jsonsafe.MAX_DEPTH

_INTEGER = re.compile(r"\s*[+-]?[0-9]{1,40}\s*")  # no int() of a 5,000-digit string, no '²' or '١'


def _integer(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value) if isinstance(value, str) and _INTEGER.fullmatch(value) else None


def to_int(value: object, low: int, high: int) -> int | None:
    """``value`` (a query or form string, or an int) as an int in ``low..high``; ``None`` otherwise."""
    number = _integer(value)
    return number if number is not None and low <= number <= high else None


def clamp_int(value: object, default: int, low: int, high: int) -> int:
    """``value`` as an int pulled into ``low..high``; ``default`` when it is no integer at all."""
    number = _integer(value)
    return default if number is None else min(max(number, low), high)


def page_arg(args: Any, name: str = "page") -> int:
    """The page of a listing: 1 for garbage, clamped to ``1..MAX_PAGE`` (a page past the end is empty)."""
    return clamp_int(args.get(name), 1, 1, MAX_PAGE)


def year_arg(value: object, default: int) -> int:
    """A year from the query or a form, ``default`` unless it is within ``FIRST_YEAR..LAST_YEAR``."""
    year = to_int(value, FIRST_YEAR, LAST_YEAR)
    return default if year is None else year


def id_list(text: str) -> list[int]:
    """Ids typed as ``"12, 15 17"``; what is not an id in range is left out."""
    found = (to_int(part, 1, MAX_ID) for part in re.split(r"[,\s]+", text))
    return [number for number in found if number is not None]


# -- the API's fields -----------------------------------------------------------------------------------


class Page(fields.Integer):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", 1)
        super().__init__(validate=validate.Range(min=1, max=MAX_PAGE), **kwargs)


class PerPage(fields.Integer):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("load_default", 50)
        super().__init__(validate=validate.Range(min=1, max=MAX_PER_PAGE), **kwargs)


class Id(fields.Integer):
    """A row id or a version number: positive and small enough for SQL."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


class Year(fields.Integer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Range(min=FIRST_YEAR, max=LAST_YEAR), **kwargs)


# -- the address and the body ---------------------------------------------------------------------------


def digits_up_to(n: int) -> str:
    r"""A regex of the decimal numbers from 0 to ``n`` (leading zeros allowed): 2147483647 → ``\d{1,9}`` or
    ``[0-1]\d{9}`` or ``20\d{8}`` … or ``214748364[0-6]`` or ``2147483647``."""
    text = str(n)
    shorter = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    same_length = [
        text[:i]
        + (f"[0-{int(digit) - 1}]" if digit != "1" else "0")
        + (rf"\d{{{len(text) - i - 1}}}" if i < len(text) - 1 else "")
        for i, digit in enumerate(text)
        if digit != "0"
    ]
    return "|".join([*shorter, *same_length, text])


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` up to :data:`MAX_ID`; a larger number does not match the route (404). The regex bounds
    the value itself so that the router never finds such a path at all: a converter that only refused the
    value (or a regex that bounded only the digits) left the router answering 405 when another method's
    rule had the same path (PUT ``/api/v1/indicator-sets/2784451562/…``, found by the API contract test)."""

    regex = f"(?:{digits_up_to(MAX_ID)})"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        if len(value) > len(str(MAX_ID)):
            raise ValidationError()
        return int(super().to_python(value))


class BoundedJSONProvider(DefaultJSONProvider):
    """Request bodies (``request.get_json``) are parsed here: bounded in size and depth first. The answers
    are HTTP errors, not ``ValueError``: a view's ``get_json(silent=True)`` would turn that into an empty
    body and a misleading "field missing"."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        limit = self._app.config.get("MAX_JSON_BYTES", MAX_JSON_BYTES)
        if len(s) > limit:
            raise RequestEntityTooLarge(_("请求正文过大：JSON 不能超过 %(n)s KB。", n=limit // 1024))
        depth = self._app.config.get("MAX_JSON_DEPTH", MAX_JSON_DEPTH)
        try:
            return jsonsafe.loads(s, max_depth=depth, **kwargs)
        except jsonsafe.JsonTooDeep:
            raise BadRequest(_("请求正文的 JSON 嵌套过深：不能超过 %(n)s 层。", n=depth)) from None


def init_app(app: Flask) -> None:
    """Before any blueprint: a route's converters are fixed when the route is added."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.json = BoundedJSONProvider(app)
