"""Excel's wildcards in criteria and lookups (COUNTIF, SUMIFS, MATCH):
``*`` any run of characters, ``?`` one character, ``~`` escapes the next;
case-insensitive, whole text. Shared by the headless calculation and the
workbook builders that reproduce a lookup's result.
"""
from __future__ import annotations

import re
from typing import Callable

__all__ = ["wildcard"]


def wildcard(pattern: str) -> Callable[[str], bool]:
    """Excel's * and ? (escaped with ~) as a case-insensitive test of a whole text.

    In linear time, without backtracking: the pattern is cut at each * into
    pieces of fixed length (characters and ?); the first piece must start
    the text, the last end it, and each middle one is taken at its leftmost
    place after the previous one (leftmost is never worse for what follows).
    A regular expression with many .* would try every split: a 40-character
    text and a 25-star criterion would never finish.

    >>> test = wildcard("a*b?d*")
    >>> test("AxxBcDzz"), test("abd"), wildcard("~*")("*"), wildcard("~*")("x")
    (True, False, True, False)
    """
    pieces: list[list[str]] = [[]]
    escape = False
    for char in pattern:
        if escape:
            pieces[-1].append(re.escape(char))
            escape = False
        elif char == "~":
            escape = True
        elif char == "*":
            pieces.append([])
        elif char == "?":
            pieces[-1].append(".")
        else:
            pieces[-1].append(re.escape(char))
    # each piece matches exactly len(piece) characters: no quantifier, so no backtracking
    compiled = [(re.compile("".join(piece), re.IGNORECASE | re.DOTALL), len(piece)) for piece in pieces]
    if len(compiled) == 1:
        whole = compiled[0][0]
        return lambda text: whole.fullmatch(text) is not None
    first, middle, (last, last_length) = compiled[0][0], compiled[1:-1], compiled[-1]

    def matches(text: str) -> bool:
        found = first.match(text)
        if found is None:
            return False
        position = found.end()
        for piece, length in middle:
            if length:
                found = piece.search(text, position)
                if found is None:
                    return False
                position = found.end()
        start = len(text) - last_length
        return start >= position and last.fullmatch(text, start) is not None

    return matches
