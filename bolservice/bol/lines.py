"""Characters → text lines, by the rules of pdfplumber's ``extract_text()`` at its defaults.

The format contract is written against pdfplumber's lines, so a reader that finds the
characters some other way (``pdfium_reader``) builds its lines here, and they come out the
same line for line. The steps, as pdfplumber takes them:

1. Consecutive characters of the same orientation (upright or not) form a group.
2. In a group, characters are clustered into lines by ``top`` (by ``x0`` when not
   upright): the distinct values, sorted, are chained while each is within 3 pt of the
   previous. Clusters come out top to bottom; inside one, characters keep their order and
   are then sorted by ``x0`` (by ``top`` when not upright).
3. A line is cut into words: a whitespace character ends a word, and a character starts a
   new one when it lies left of the previous character's start, more than 3 pt right of
   its end, or more than 3 pt above or below it.
4. Words (``top`` = their highest character) are clustered by ``top`` the same way, over
   the whole page, and consecutive words of one cluster form an output line, joined by
   single spaces. Ligature characters are written out (``ﬁ`` → ``fi``).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import NamedTuple

X_TOLERANCE = 3.0
Y_TOLERANCE = 3.0

LIGATURES = {"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"}


class Char(NamedTuple):
    """One printed character, in pdfplumber's coordinates (``top`` grows downwards)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    upright: bool = True


class Word(NamedTuple):
    text: str
    top: float


def text_lines(chars: Iterable[Char]) -> list[str]:
    """The page's lines as ``page.extract_text().splitlines()`` gives them."""
    words = [word for _, group in groupby(chars, key=lambda c: c.upright)
             for word in _group_words(list(group))]
    ids = _cluster_ids([word.top for word in words])
    text = "\n".join(" ".join(word.text for word in line)
                     for _, line in groupby(words, key=lambda w: ids[w.top]))
    # pdfplumber's caller splits its text the same way (str.splitlines knows more breaks).
    return text.splitlines()


def _cluster_ids(values: Iterable[float], tolerance: float = Y_TOLERANCE) -> dict[float, int]:
    """Each distinct value → its cluster: sorted values chained while within ``tolerance``."""
    ids: dict[float, int] = {}
    cluster, last = -1, None
    for value in sorted(set(values)):
        if last is None or value > last + tolerance:
            cluster += 1
        ids[value] = cluster
        last = value
    return ids


def _group_words(chars: list[Char]) -> Iterable[Word]:
    upright = chars[0].upright
    # Not upright: lines run top to bottom, so the roles of x and y swap.
    line_key = (lambda c: c.top) if upright else (lambda c: c.x0)
    ids = _cluster_ids(map(line_key, chars))
    ordered = sorted(chars, key=lambda c: ids[line_key(c)])
    for _, line in groupby(ordered, key=lambda c: ids[line_key(c)]):
        in_line = sorted(line, key=(lambda c: c.x0) if upright else (lambda c: (c.top, c.bottom)))
        yield from _line_words(in_line, upright)


def _line_words(chars: list[Char], upright: bool) -> Iterable[Word]:
    word: list[Char] = []
    for char in chars:
        if char.text.isspace():
            if word:
                yield _word(word)
            word = []
        elif word and _begins_new_word(word[-1], char, upright):
            yield _word(word)
            word = [char]
        else:
            word.append(char)
    if word:
        yield _word(word)


def _begins_new_word(previous: Char, char: Char, upright: bool) -> bool:
    if upright:
        start, end, position = previous.x0, previous.x1, char.x0
        across = abs(char.top - previous.top)
        return position < start or position > end + X_TOLERANCE or across > Y_TOLERANCE
    start, end, position = previous.top, previous.bottom, char.top
    across = abs(char.x0 - previous.x0)
    return position < start or position > end + Y_TOLERANCE or across > X_TOLERANCE


def _word(chars: list[Char]) -> Word:
    return Word("".join(LIGATURES.get(c.text, c.text) for c in chars), min(c.top for c in chars))
