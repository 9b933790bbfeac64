"""Where pdfminer puts a character, in the terms pdfium gives: fonts' metrics, the placement
shared by a text object's characters, and the turn of a rotated page."""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

import numpy as np
from pdfminer.fontmetrics import FONT_METRICS

from . import pdfium_calls as calls
from .lines import Char

# Standard symbol fonts: pdfium reads their built-in encodings (Greek, dingbats), pdfminer
# reads the codes as Latin letters.
_SYMBOL_FONTS = frozenset({b"Symbol", b"ZapfDingbats"})


@dataclass(frozen=True, slots=True)
class Font:
    """What the reader needs of a font; metrics per unit of font size."""

    address: int
    descent: float         # pdfminer's
    pdfium_ascent: float   # pdfium's, the top and bottom of its loose box when no ink widens it
    pdfium_descent: float
    doubtful: bool         # pdfminer maps its codes otherwise (Symbol, ZapfDingbats)


@dataclass(frozen=True, slots=True)
class Placement:
    """What every character of one text object shares.

    ``a b c d`` are the object's matrix and ``size`` its font size in text space. ``inline``
    says the reader places the characters from their loose boxes: level text (b = c = 0, as
    in nearly every BOL) on an unrotated page. ``scale`` is pdfminer's signed box height.
    ``number`` tells it from the document's other placements.
    """

    a: float
    b: float
    c: float
    d: float
    size: float
    font: Font
    upright: bool
    inline: bool
    scale: float

    @property
    def level(self) -> bool:
        return self.b == 0 and self.c == 0


class PlacementColumns(NamedTuple):
    """The placements' fields the reader computes on, one array each, by placement number."""

    inline: np.ndarray
    level: np.ndarray
    upright: np.ndarray
    forwards: np.ndarray  # a > 0: the text runs left to right
    metric: np.ndarray    # the font has pdfium metrics, so the loose box is not just the ink
    doubtful: np.ndarray
    scale: np.ndarray
    descent: np.ndarray

    @classmethod
    def of(cls, placements: list[Placement]) -> PlacementColumns:
        flags = [np.array(values, dtype=bool) for values in zip(*(
            (p.inline, p.level, p.upright, p.a > 0, p.font.pdfium_ascent != p.font.pdfium_descent,
             p.font.doubtful) for p in placements))] or [np.zeros(0, dtype=bool)] * 6
        return cls(*flags, np.array([p.scale for p in placements], dtype=np.float64),
                   np.array([p.font.descent for p in placements], dtype=np.float64))


# A character's step along the baseline is kept in a table by placement number and code
# point for the first placements and the commonest code points, in a dict beyond them.
_TABLE_PLACEMENTS, _TABLE_CODES = 256, 0x250
_UNSEEN = np.inf


@dataclass
class Known:
    """What a document's pages share, worked out once: fonts, placements (numbered, by
    font, size, matrix and page rotation) and characters' steps."""

    fonts: dict[int, Font] = field(default_factory=dict)
    numbers: dict[tuple, int] = field(default_factory=dict)
    placements: list[Placement] = field(default_factory=list)
    doubtful_fonts: bool = False  # whether any placement's font is doubtful
    _columns: PlacementColumns = field(default_factory=lambda: PlacementColumns.of([]))
    _table: np.ndarray = field(default_factory=lambda: np.full((0, _TABLE_CODES), _UNSEEN))
    _steps: dict[int, float] = field(default_factory=dict)  # by placement number << 21 | code point

    def number(self, key: tuple, turn: Turn) -> int:
        """The number of the placement of a font, size, matrix (a b c d) and page rotation."""
        found = self.numbers.get(key)
        if found is None:
            address = key[0]
            if address not in self.fonts:
                self.fonts[address] = font_of(address)
            found = self.numbers[key] = len(self.placements)
            self.placements.append(_placement(self.fonts[address], *key[1:6], turn))
            self.doubtful_fonts |= self.fonts[address].doubtful
        return found

    @property
    def columns(self) -> PlacementColumns:
        if len(self._columns.inline) != len(self.placements):
            self._columns = PlacementColumns.of(self.placements)
        return self._columns

    def steps(self, numbers: np.ndarray, codes: np.ndarray, sweeps: calls.Sweeps) -> np.ndarray:
        """Each character's step along the baseline, given its placement's number and its
        code point: ``a`` × the glyph's width in the font and size; NaN for text that is not
        level, or a glyph pdfium cannot find. Worked out once per placement and code point."""
        steps = self._kept_steps(numbers, codes)
        unseen = (steps == _UNSEEN).nonzero()[0]
        if len(unseen):
            numbers, codes = numbers[unseen].astype(np.int64), codes[unseen].astype(np.int64)
            self._new_steps(self._distinct(numbers, codes), sweeps)
            steps[unseen] = self._kept_steps(numbers, codes)
        return steps

    def _kept_steps(self, numbers: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The steps worked out so far (``_UNSEEN`` for the others)."""
        table = self._step_table()
        tabled = (numbers < len(table)) & (codes < _TABLE_CODES)
        if tabled.all():
            return table[numbers, codes]
        steps = np.full(len(codes), _UNSEEN)
        steps[tabled] = table[numbers[tabled], codes[tabled]]
        beyond = ((numbers[~tabled].astype(np.int64) << 21) | codes[~tabled]).tolist()
        steps[~tabled] = list(map(self._steps.get, beyond, repeat(_UNSEEN)))
        return steps

    def _distinct(self, numbers: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """The distinct pairs of placement number and code point, as ``number << 21 | code``.
        Marked in a table when they fit one (np.unique sorts, seven times slower)."""
        rows = len(self._table)
        if (numbers < rows).all() and (codes < _TABLE_CODES).all():
            seen = np.zeros(rows * _TABLE_CODES, dtype=bool)
            seen[numbers * _TABLE_CODES + codes] = True
            flat = seen.nonzero()[0]
            return ((flat // _TABLE_CODES) << 21) | (flat % _TABLE_CODES)
        return np.unique((numbers << 21) | codes)

    def _step_table(self) -> np.ndarray:
        rows = min(len(self.placements), _TABLE_PLACEMENTS)
        if rows > len(self._table):
            grown = np.full((min(max(rows, 2 * len(self._table), 8), _TABLE_PLACEMENTS), _TABLE_CODES), _UNSEEN)
            grown[:len(self._table)] = self._table
            self._table = grown
        return self._table

    def _new_steps(self, keys: np.ndarray, sweeps: calls.Sweeps) -> None:
        """Work out and keep the steps of placement numbers and code points (``number << 21
        | code``) not seen before: the glyphs' widths are asked of pdfium in one sweep."""
        numbers, codes = keys >> 21, keys & 0x1FFFFF
        steps = np.full(len(keys), math.nan)
        level = self.columns.level[numbers].nonzero()[0]
        if len(level):
            places = list(map(self.placements.__getitem__, numbers[level].tolist()))
            widths, found = sweeps.widths.ask(calls.glyph_width, len(level),
                                              (ctypes.c_void_p(place.font.address) for place in places),
                                              codes[level].tolist(), (ctypes.c_float(place.size) for place in places))
            a = np.array([place.a for place in places], dtype=np.float64)
            steps[level] = np.where(found != 0, a * widths[:, 0], math.nan)
        tabled = (numbers < len(self._table)) & (codes < _TABLE_CODES)
        self._table[numbers[tabled], codes[tabled]] = steps[tabled]
        self._steps.update(zip(keys[~tabled].tolist(), steps[~tabled].tolist()))


def _placement(font: Font, size: float, a: float, b: float, c: float, d: float, turn: Turn) -> Placement:
    # pdfminer's test of uprightness, on the matrix as it sees it: turned with the page.
    ta, tb, tc, td = turn.matrix(a, b, c, d)
    scale = d * size
    return Placement(a, b, c, d, size, font, upright=ta * td > 0 and tb * tc <= 0,
                     inline=b == 0 and c == 0 and scale != 0 and not turn.rotation, scale=scale)


def font_of(address: int) -> Font:
    font = ctypes.c_void_p(address)
    value = ctypes.c_float()
    calls.font_descent(font, ctypes.c_float(1.0), ctypes.byref(value))
    pdfium_descent = value.value
    calls.font_ascent(font, ctypes.c_float(1.0), ctypes.byref(value))
    pdfium_ascent = value.value
    length = calls.font_base_name(font, None, 0)
    name = ctypes.create_string_buffer(length)
    calls.font_base_name(font, name, length)
    metrics = FONT_METRICS.get(name.value.decode("latin-1"))
    if metrics is not None:
        # pdfminer's built-in metrics; Symbol and ZapfDingbats have no descent there (0).
        descent = -abs(float(metrics[0].get("Descent", 0))) / 1000
    else:
        descent = -abs(pdfium_descent)  # the descriptor's /Descent, forced negative, as pdfium reads it
    return Font(address, descent, pdfium_ascent, pdfium_descent, doubtful=name.value in _SYMBOL_FONTS)


class Turn:
    """pdfminer's view of a rotated page: the page's /Rotate applied to every coordinate."""

    def __init__(self, page: ctypes.c_void_p) -> None:
        self.rotation = calls.page_rotation(page) % 4 * 90
        sides = [ctypes.c_float() for _ in range(4)]
        if not calls.media_box(page, *map(ctypes.byref, sides)):
            sides = [ctypes.c_float(0), ctypes.c_float(0), ctypes.c_float(calls.page_width(page)),
                     ctypes.c_float(calls.page_height(page))]
        left, bottom, right, top = (side.value for side in sides)
        self.box = (left, bottom, right, top)
        self.height = (right - left) if self.rotation in (90, 270) else (top - bottom)

    def point(self, x: float, y: float) -> tuple[float, float]:
        left, bottom, right, top = self.box
        if self.rotation == 90:
            return y - bottom, right - x
        if self.rotation == 180:
            return right - x, top - y
        if self.rotation == 270:
            return top - y, x - left
        return x - left, y - bottom

    def matrix(self, a: float, b: float, c: float, d: float) -> tuple[float, float, float, float]:
        if self.rotation == 90:
            return b, -a, d, -c
        if self.rotation == 180:
            return -a, -b, -c, -d
        if self.rotation == 270:
            return -b, a, -d, c
        return a, b, c, d

    def char(self, text: str, x0: float, y0: float, x1: float, y1: float, upright: bool) -> Char:
        (ax, ay), (bx, by) = self.point(x0, y0), self.point(x1, y1)
        x0, x1, y0, y1 = min(ax, bx), max(ax, bx), min(ay, by), max(ay, by)
        return Char(text, x0, x1, self.height - y1, self.height - y0, upright)
