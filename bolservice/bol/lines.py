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
from operator import itemgetter
from typing import NamedTuple

X_TOLERANCE = 3.0
Y_TOLERANCE = 3.0

# Written out as pdfplumber writes them (a translation table does it for the whole text).
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"})


class Char(NamedTuple):
    """One printed character, in pdfplumber's coordinates (``top`` grows downwards).

    Any tuple of these six fields in this order serves: the hot loops unpack them.
    """

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    upright: bool = True


def text_lines(chars: Iterable[Char]) -> list[str]:
    """The page's lines as ``page.extract_text().splitlines()`` gives them."""
    words: list[tuple[str, float]] = []  # (text, top)
    for upright, group in groupby(chars, key=itemgetter(5)):
        words += _group_words(list(group), upright)
    ids = _cluster_ids([top for _, top in words])
    text = "\n".join(" ".join(word for word, _ in line)
                     for _, line in groupby(words, key=lambda word: ids[word[1]]))
    # pdfplumber's caller splits its text the same way (str.splitlines knows more breaks).
    return text.translate(LIGATURES).splitlines()


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


def _group_words(chars: list[Char], upright: bool) -> list[tuple[str, float]]:
    if not upright:
        # Turned text reads top to bottom: swap the axes and read it as upright text.
        chars = [(c[0], c[3], c[4], c[1], c[2], False) for c in chars]
    ids = _cluster_ids([c[3] for c in chars])
    lines: dict[int, list[Char]] = {}
    for char in chars:  # a stable bucket sort by cluster
        lines.setdefault(ids[char[3]], []).append(char)
    order = itemgetter(1) if upright else itemgetter(1, 2)
    words = [word for cluster in sorted(lines) for word in _split_words(sorted(lines[cluster], key=order))]
    # A word's top on the page: its highest character; turned, its first (the axes swapped).
    return [(text, top) for text, top, _ in words] if upright else [(text, x0) for text, _, x0 in words]


def _split_words(chars: list[Char]) -> list[tuple[str, float, float]]:
    """One line's characters, in reading order → its words: (text, highest top, first x0)."""
    words: list[tuple[str, float, float]] = []
    texts: list[str] = []
    high = first = last_x0 = last_x1 = last_top = 0.0
    for text, x0, x1, top, _, _ in chars:
        if text.isspace():
            if texts:
                words.append(("".join(texts), high, first))
                texts = []
            continue
        if texts and (x0 < last_x0 or x0 > last_x1 + X_TOLERANCE or abs(top - last_top) > Y_TOLERANCE):
            words.append(("".join(texts), high, first))
            texts = []
        if texts:
            texts.append(text)
            if top < high:
                high = top
        else:
            texts, high, first = [text], top, x0
        last_x0, last_x1, last_top = x0, x1, top
    if texts:
        words.append(("".join(texts), high, first))
    return words
