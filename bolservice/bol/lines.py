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
   single spaces (``page.extract_text()`` keeps the words' order; the module function
   ``pdfplumber.utils.extract_text`` would sort them by cluster). Ligature characters are
   written out (``ﬁ`` → ``fi``).

A page has a thousand characters or more, so each step works on whole columns (numpy)
rather than character by character, and on several pages at once (``pages_lines``), each
clustering kept within its page; the comparisons are pdfplumber's, in the same
double-precision arithmetic, so ties fall the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

import numpy as np

X_TOLERANCE = 3.0
Y_TOLERANCE = 3.0

# Written out as pdfplumber writes them (a translation table does it for the whole text).
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬃ": "ffi", "ﬄ": "ffl", "ﬁ": "fi", "ﬂ": "fl", "ﬆ": "st", "ﬅ": "st"})
_LIGATURE = re.compile("[ﬀﬃﬄﬁﬂﬆﬅ]")

# str.isspace() of every code point up to the last whitespace one (U+3000), and one after
# it that stands for all the higher ones.
_IS_SPACE = np.array([chr(code).isspace() for code in range(0x3002)])
_NEWLINE, _SPACE = ord("\n"), ord(" ")


class Char(NamedTuple):
    """One printed character (a single code point), in pdfplumber's coordinates (``top``
    grows downwards)."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    upright: bool = True


class PageChars(NamedTuple):
    """A page's printed characters in content order, one array per field of ``Char``."""

    codes: np.ndarray  # uint32 code points
    x0: np.ndarray
    x1: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    upright: np.ndarray  # bool

    @classmethod
    def of(cls, chars: Sequence[Char]) -> PageChars:
        text = "".join(char[0] for char in chars)
        if len(text) != len(chars):
            raise ValueError("a character's text must be a single code point")
        columns = [np.array([char[k] for char in chars], dtype=np.float64) for k in range(1, 5)]
        return cls(codes_of(text), *columns, np.array([char[5] for char in chars], dtype=bool))

    def __len__(self) -> int:
        return len(self.codes)


def codes_of(text: str) -> np.ndarray:
    """A string's code points; lone surrogates (pdfium's halves of a pair) kept as they are."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def text_lines(chars: PageChars) -> list[str]:
    """The page's lines as ``page.extract_text().splitlines()`` gives them."""
    return pages_lines(chars, np.array([0, len(chars)]))[0]


def pages_lines(chars: PageChars, starts: np.ndarray) -> list[list[str]]:
    """Each page's lines, for pages whose characters follow one another in ``chars``, page
    ``i``'s from ``starts[i]`` to ``starts[i + 1]``. The pages are worked out together:
    most steps cost the same whatever their length, and are then taken once, not once a page."""
    count = len(starts) - 1
    if not len(chars):
        return [[] for _ in range(count)]
    page = np.arange(count).repeat(starts[1:] - starts[:-1]) if count > 1 else None
    if chars.upright.all():
        codes, word_starts, tops, word_pages = _group_words(chars, 0, len(chars), page)
    else:  # orientation groups, each on one page, taken one at a time
        cuts = np.union1d((chars.upright[1:] != chars.upright[:-1]).nonzero()[0] + 1, starts).tolist()
        spans = [(start, end) for start, end in pairwise(cuts) if end > start]
        groups = [_group_words(chars, start, end, None)[:3] for start, end in spans]
        offsets = np.cumsum([0] + [len(group_codes) for group_codes, _, _ in groups[:-1]])
        sizes = [len(group_starts) for _, group_starts, _ in groups]
        codes, word_starts, tops = (np.concatenate(column) for column in zip(*groups))
        word_starts += np.repeat(offsets, sizes)
        word_pages = None if page is None else np.repeat([page[start] for start, _ in spans], sizes)
    words = len(word_starts)
    line = _clusters(tops, word_pages)
    # Before each word but the first: a line break where the line changes, else a space.
    joined = np.full(len(codes) + max(words - 1, 0), _SPACE, dtype=np.uint32)
    separators = word_starts[1:] + np.arange(words - 1)
    joined[separators[line[1:] != line[:-1]]] = _NEWLINE
    printed = np.ones(len(joined), dtype=bool)
    printed[separators] = False
    joined[printed] = codes
    text = joined.tobytes().decode("utf-32-le", "surrogatepass")  # a code point a character
    # A page's text runs from its first word to the separator before the next page's.
    first_words = [0, words] if word_pages is None else np.searchsorted(word_pages, np.arange(count + 1))
    word_offsets = np.append(word_starts + np.arange(words), len(text) + 1).tolist()
    ligatures = _LIGATURE.search(text) is not None
    # pdfplumber's caller splits its text the same way (str.splitlines knows more breaks).
    return [_written_out(text[word_offsets[begin]:word_offsets[end] - 1], ligatures).splitlines() if end > begin
            else [] for begin, end in pairwise(first_words)]


def _written_out(text: str, ligatures: bool) -> str:
    return text.translate(LIGATURES) if ligatures else text


def _clusters(values: np.ndarray, groups: np.ndarray | None = None, tolerance: float = Y_TOLERANCE) -> np.ndarray:
    """Each value's cluster: the distinct values, sorted, chained while within ``tolerance``
    (a repeated value is within it of itself, so sorting all of them does); with ``groups``,
    within each group apart, the clusters numbered group after group."""
    order = values.argsort() if groups is None else np.lexsort((values, groups))
    ordered = values[order]
    gaps = ordered[1:] > ordered[:-1] + tolerance
    if groups is not None:
        grouped = groups[order]
        gaps |= grouped[1:] != grouped[:-1]
    ids = np.empty(len(values), dtype=np.int64)
    ids[order[:1]] = 0
    ids[order[1:]] = np.cumsum(gaps)
    return ids


def _group_words(chars: PageChars, start: int, end: int, page: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """One orientation group's words: their characters' codes in reading order, where each
    word starts among them, each word's top on its page, and with ``page`` (the page of
    each of ``chars``), each word's page."""
    upright = bool(chars.upright[start])
    # Turned text reads top to bottom: the axes swap, and it is read as upright text.
    x0, x1, top = ((chars.x0, chars.x1, chars.top) if upright else (chars.top, chars.bottom, chars.x0))
    x0, x1, top, codes = x0[start:end], x1[start:end], top[start:end], chars.codes[start:end]
    page = None if page is None else page[start:end]
    # Line numbers run page after page, so sorting by them keeps the pages apart.
    line = _clusters(top, page)
    order = np.lexsort((x0, line) if upright else (x1, x0, line))  # stable, as Python's sort
    x0, x1, top, codes, line = x0[order], x1[order], top[order], codes[order], line[order]
    space = is_space(codes)
    new_word = np.ones(len(codes), dtype=bool)
    new_word[1:] = ((line[1:] != line[:-1]) | space[:-1] | (x0[1:] < x0[:-1])
                    | (x0[1:] > x1[:-1] + X_TOLERANCE) | (np.abs(top[1:] - top[:-1]) > Y_TOLERANCE))
    printed = ~space
    starts = new_word[printed].nonzero()[0]
    if not len(starts):
        return codes[:0], starts, top[:0], None if page is None else page[:0]
    # A word's top on the page: its highest character; turned, its first one's (axes swapped).
    tops = np.minimum.reduceat(top[printed], starts) if upright else x0[printed][starts]
    return codes[printed], starts, tops, None if page is None else page[order][printed][starts]


def is_space(codes: np.ndarray) -> np.ndarray:
    """``str.isspace()`` of each code point."""
    return _IS_SPACE[np.minimum(codes, len(_IS_SPACE) - 1)]
