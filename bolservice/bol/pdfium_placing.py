"""Where pdfminer puts a character, in the terms pdfium gives: fonts' metrics, the placement
shared by a text object's characters, and the turn of a rotated page."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

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
    number: int

    @property
    def level(self) -> bool:
        return self.b == 0 and self.c == 0


@dataclass
class Known:
    """What a document's pages share, worked out once: fonts, placements by font, size,
    matrix and page rotation, and glyphs' widths."""

    fonts: dict[int, Font] = field(default_factory=dict)
    placements: dict[tuple, Placement] = field(default_factory=dict)
    widths: dict[tuple[int, float, int], float | None] = field(default_factory=dict)
    # A glyph's advance along the baseline, by placement number << 21 | code point.
    advances: dict[int, float] = field(default_factory=dict)

    def glyph_width(self, font: Font, size: float, code: int) -> float | None:
        """The advance of the font's glyph for a code point at a size, in text space; None
        where pdfium cannot map the code point back to a glyph of the font."""
        key = (font.address, size, code)
        if key not in self.widths:
            width = ctypes.c_float()
            found = calls.glyph_width(ctypes.c_void_p(font.address), ctypes.c_uint32(code), ctypes.c_float(size),
                                      ctypes.byref(width))
            self.widths[key] = width.value if found else None
        return self.widths[key]


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
