"""Parse untrusted JSON (request bodies, form files) with a bound on size and nesting depth.

The standard parser recurses once per ``[`` or ``{``: 100,000 of them raise ``RecursionError`` (a 500
before issue 16), and a document a few hundred levels deep parses but then breaks whatever walks it
recursively (JSON Schema checks, marshmallow, the workflow serializer). Real documents here are at most 9
levels deep (``forms/*.json``), so a generous depth bound costs nothing legitimate. The parse itself stays
the C parser: a pre-scan for brackets would have to skip strings, and a regular expression that does so
is quadratic on an unterminated string full of escaped quotes; walking the parsed value is linear.
"""

from __future__ import annotations

import json
from typing import Any

MAX_DEPTH = 64  # the deepest real document here (a form) is 9 levels


class JsonTooDeep(ValueError):
    """The document nests arrays/objects deeper than allowed; ``depth`` is the bound."""

    def __init__(self, depth: int) -> None:
        super().__init__(f"JSON nested deeper than {depth} levels")
        self.depth = depth


def depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists/dicts more than ``limit`` levels (iterative: no recursion to blow)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if level > limit:
            return True
        stack.extend((child, level + 1) for child in children if isinstance(child, (dict, list)))
    return False


def loads(text: str | bytes, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` that raises :class:`JsonTooDeep` (a ``ValueError``) instead of ``RecursionError``
    or a value nested more than ``max_depth`` levels. Syntax errors stay ``json.JSONDecodeError``."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise JsonTooDeep(max_depth) from None
    if isinstance(value, (dict, list)) and depth_exceeds(value, max_depth):
        raise JsonTooDeep(max_depth)
    return value
