"""Refuse regular expressions that can backtrack for minutes (ReDoS), before a form carrying them deploys.

A form's ``pattern`` runs on every submission through Python's backtracking ``re`` (jsonschema calls
``re.search``): ``^(a+)+$`` against ``"a" * 30 + "!"`` tries 2^30 ways to split the a's before failing,
holding a request thread meanwhile (issue 16 point 3). The exponential cases are a repeat that can run
many times (``+``, ``*``, ``{2,}``…) whose body can match the same text in more than one way:

* nested quantifiers: a variable repeat inside it that cannot tell from the next character whether to
  go on or stop — ``(a+)+``, ``(\\w+\\s?)*``, ``(a{1,3})+``, ``(.*a){20}`` (``([a-z]+,)*`` can, and passes);
* a body that can match the empty string: ``(a*)*``, ``(a?)*``, ``(|a)+``;
* a choice whose alternatives can start alike, or an optional part that can start like what follows it:
  ``(a|aa)+`` (Python's parser turns it into ``a(|a)``), ``(aa?)+``, ``(\\w|\\d\\d)+``.

In other words every choice inside such a repeat must be decided by the next character (an LL(1) test);
then a wrong choice fails at the next character and backtracking cannot multiply.

The check reads Python's own parse tree (``re._parser``, the parser ``re.compile`` uses), so what is checked
is what runs. It is conservative: character classes are compared on a sample alphabet (ASCII and a few CJK and
other characters) and anything not in it counts as overlapping, so a safe pattern is sometimes refused
(``(ab|a)*b`` must be rewritten) but an exponential one of the kinds above never passes. Polynomial
cases (``\\d+\\d+``) are not refused; the length bound keeps them short. Libraries were considered:
``regexploit`` does this more thoroughly but is unmaintained since 2021 and imports the deprecated
``sre_parse``; a linear-time engine (RE2) would change the regex dialect the forms' patterns are written in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from workflows.engine.phrase import Phrase

MAX_LENGTH = 200  # characters of one pattern; the forms' own are about 10

OTHER = ""  # marks "characters outside the sample alphabet" in a first-character set
ALPHABET = frozenset(chr(i) for i in range(128)) | frozenset("éΩ中省٣\u00a0\u3000")
EVERYTHING = ALPHABET | {OTHER}
REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT))
CATEGORIES = {
    sre.CATEGORY_DIGIT: str.isdecimal,
    sre.CATEGORY_WORD: lambda ch: ch.isalnum() or ch == "_",
    sre.CATEGORY_SPACE: str.isspace,
}
NEGATED = {
    sre.CATEGORY_NOT_DIGIT: sre.CATEGORY_DIGIT,
    sre.CATEGORY_NOT_WORD: sre.CATEGORY_WORD,
    sre.CATEGORY_NOT_SPACE: sre.CATEGORY_SPACE,
}

NESTED = Phrase("含嵌套的量词（如 (a+)+、(a*)*），可能导致回溯爆炸，请改写为不嵌套的形式")
EMPTY = Phrase("重复的部分可以匹配空串（如 (a?)*），可能导致回溯爆炸，请改写")
AMBIGUOUS = Phrase("重复的部分有多种匹配方式（如 (a|aa)+），可能导致回溯爆炸，请改写")

Chars = frozenset[str]


class _Unsafe(Exception):
    def __init__(self, reason: Phrase) -> None:
        self.reason = reason


def regex_problem(pattern: str) -> Phrase | None:
    """Why ``pattern`` may not be used (Chinese, for the deploy's problem list), or ``None`` if it may."""
    if len(pattern) > MAX_LENGTH:
        return Phrase("正则表达式过长（{n} 个字符，上限 {limit}）", n=len(pattern), limit=MAX_LENGTH)
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return Phrase("不是有效的正则表达式：{error}", error=str(getattr(exc, "msg", None) or exc))
    try:
        _check(list(parsed), frozenset(), in_repeat=False)
    except _Unsafe as unsafe:
        return unsafe.reason
    return None


# -- first characters -------------------------------------------------------------------------------------


def _lower(chars: Iterable[str]) -> Chars:
    return frozenset(ch.lower() for ch in chars)  # case-blind: (?i) can only add overlaps


def _class(items: Sequence[tuple[Any, Any]]) -> Chars:
    """The sample characters a class (``[...]``, ``\\d``, ``\\w``…) matches; OTHER if it reaches beyond."""
    negate = bool(items) and items[0][0] is sre.NEGATE
    found: set[str] = set()
    beyond = negate
    for op, av in items:
        if op is sre.LITERAL:
            found.add(chr(av))
        elif op is sre.RANGE:
            found |= {ch for ch in ALPHABET if av[0] <= ord(ch) <= av[1]}
            beyond = beyond or av[1] > 127  # the sample holds all of ASCII and only a few others
        elif op is sre.CATEGORY and av in CATEGORIES:
            found |= {ch for ch in ALPHABET if CATEGORIES[av](ch)}
            beyond = True
        elif op is sre.CATEGORY and av in NEGATED:
            found |= {ch for ch in ALPHABET if not CATEGORIES[NEGATED[av]](ch)}
            beyond = True
        elif op is not sre.NEGATE:
            return EVERYTHING  # anything unexpected: assume it matches everything
    chars = (ALPHABET - found) if negate else frozenset(found)
    return _lower(chars | ({OTHER} if beyond else set()))


def _first(seq: Sequence[tuple[Any, Any]]) -> tuple[Chars, bool]:
    """The characters ``seq`` can start with, and whether it can match the empty string."""
    chars: Chars = frozenset()
    for node in seq:
        node_chars, nullable = _first_of(node)
        chars |= node_chars
        if not nullable:
            return chars, False
    return chars, True


def _first_of(node: tuple[Any, Any]) -> tuple[Chars, bool]:
    op, av = node
    if op is sre.LITERAL:
        return _lower(chr(av)), False
    if op is sre.NOT_LITERAL or op is sre.ANY:
        return EVERYTHING, False
    if op is sre.IN:
        return _class(av), False
    if op is sre.AT or op is sre.ASSERT or op is sre.ASSERT_NOT:
        return frozenset(), True
    if op is sre.SUBPATTERN:
        return _first(av[3])
    if op is sre.ATOMIC_GROUP:
        return _first(av)
    if op in REPEATS:
        chars, nullable = _first(av[2])
        return chars, nullable or av[0] == 0
    if op is sre.BRANCH:
        firsts = [_first(alt) for alt in av[1]]
        return frozenset().union(*(c for c, _ in firsts)), any(n for _, n in firsts)
    if op is sre.GROUPREF_EXISTS:
        yes, no = _first(av[1]), _first(av[2]) if av[2] is not None else (frozenset(), True)
        return yes[0] | no[0], yes[1] or no[1]
    return EVERYTHING, True  # a back-reference or anything unexpected


def _overlap(a: Chars, b: Chars) -> bool:
    if a & b:
        return True
    a_beyond = OTHER in a or any(ch not in ALPHABET for ch in a)
    b_beyond = OTHER in b or any(ch not in ALPHABET for ch in b)
    return (OTHER in a and b_beyond) or (OTHER in b and a_beyond)


# -- the walk ---------------------------------------------------------------------------------------------


def _check(seq: Sequence[tuple[Any, Any]], follow: Chars, in_repeat: bool) -> None:
    """Raise :class:`_Unsafe` for the first exponential construct in ``seq``; ``follow`` is what can come
    right after it, ``in_repeat`` whether ``seq`` sits in a repeat that can run more than once."""
    for i, node in enumerate(seq):
        rest, rest_nullable = _first(seq[i + 1 :])
        _check_node(node, rest | follow if rest_nullable else rest, in_repeat)


def _check_node(node: tuple[Any, Any], follow: Chars, in_repeat: bool) -> None:
    op, av = node
    if op in REPEATS:
        low, high, body = av
        first, nullable = _first(body)
        if high > 1 and nullable:
            raise _Unsafe(EMPTY)
        if in_repeat and low != high and (nullable or _overlap(first, follow)):  # go on or stop: both fit
            raise _Unsafe(NESTED if high > 1 else AMBIGUOUS)
        _check(body, follow | first if high > 1 else follow, in_repeat or high > 1)
    elif op is sre.BRANCH:
        alternatives = [(alt, *_first(alt)) for alt in av[1]]
        if in_repeat:
            starts = [first | follow if nullable else first for _, first, nullable in alternatives]
            if sum(nullable for _, _, nullable in alternatives) > 1:
                raise _Unsafe(AMBIGUOUS)  # two ways to match nothing
            for i, a in enumerate(starts):
                if any(_overlap(a, b) for b in starts[i + 1 :]):
                    raise _Unsafe(AMBIGUOUS)
        for alt, _, _ in alternatives:
            _check(alt, follow, in_repeat)
    elif op is sre.SUBPATTERN:
        _check(av[3], follow, in_repeat)
    elif op is sre.ATOMIC_GROUP:
        _check(av, follow, in_repeat)
    elif op is sre.ASSERT or op is sre.ASSERT_NOT:
        _check(av[1], EVERYTHING, in_repeat)  # a lookaround consumes nothing
    elif op is sre.GROUPREF_EXISTS:
        for branch in (av[1], av[2]):
            if branch is not None:
                _check(branch, follow, in_repeat)
