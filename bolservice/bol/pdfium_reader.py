"""PDF → page lines with pypdfium2, character by character, as pdfplumber would read them.

pdfium finds each printed character with its Unicode value and its box about ten times
faster than pdfminer. The characters are placed the way pdfminer places them and handed to
``lines.text_lines``, which applies pdfplumber's rules, so the lines are pdfplumber's:

- ``x0``/``x1`` are pdfium's loose box: the character's origin and its advance width, as in
  pdfminer.
- pdfminer's box spans ``descent`` to ``descent + font size`` above the baseline, where the
  descent is the font descriptor's, or the built-in metrics' for a standard font named by
  its base name (pdfium has its own descent for those: Helvetica −224 against −207). pdfium's
  loose box spans its own descent to its ascent, so the vertical extent is recomputed.
- Characters pdfium makes up (spaces and line breaks between text objects) have no text
  object and are dropped. pdfium leaves out of its text layer a text object narrower than
  0.01 pt, which is how some browsers print a word gap; pdfminer keeps it as a space that
  splits words, so such objects are found among the page objects and put back as spaces.
- A rotated page (``/Rotate``) is turned as pdfminer turns it.

The functions are bound here without ctypes argument conversion: one call per character
and attribute is the cost of this reader, and the converting wrappers of ``pypdfium2.raw``
take four times as long. pdfium is not thread-safe: use one thread per process.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from dataclasses import dataclass

import pypdfium2
import pypdfium2.raw as pdfium_c
from pdfminer.fontmetrics import FONT_METRICS

from .errors import UnreadablePdfError
from .lines import Char, text_lines
from .pdffile import PageText, PdfSource, check_page_count, checked_stream, unreadable


def _bind(name: str, restype):
    function = getattr(pdfium_c, name)
    fast = type(function)(ctypes.cast(function, ctypes.c_void_p).value)
    fast.restype = restype
    return fast


_text_object = _bind("FPDFText_GetTextObject", ctypes.c_void_p)
_unicode = _bind("FPDFText_GetUnicode", ctypes.c_uint)
_loose_box = _bind("FPDFText_GetLooseCharBox", ctypes.c_int)
_origin = _bind("FPDFText_GetCharOrigin", ctypes.c_int)
_count_chars = _bind("FPDFText_CountChars", ctypes.c_int)
_char_matrix = _bind("FPDFText_GetMatrix", ctypes.c_int)
_object_font = _bind("FPDFTextObj_GetFont", ctypes.c_void_p)
_object_font_size = _bind("FPDFTextObj_GetFontSize", ctypes.c_int)
_is_generated = _bind("FPDFText_IsGenerated", ctypes.c_int)
_object_bounds = _bind("FPDFPageObj_GetBounds", ctypes.c_int)
_object_matrix = _bind("FPDFPageObj_GetMatrix", ctypes.c_int)
_object_type = _bind("FPDFPageObj_GetType", ctypes.c_int)
_page_object_count = _bind("FPDFPage_CountObjects", ctypes.c_int)
_page_object = _bind("FPDFPage_GetObject", ctypes.c_void_p)
_form_object_count = _bind("FPDFFormObj_CountObjects", ctypes.c_int)
_form_object = _bind("FPDFFormObj_GetObject", ctypes.c_void_p)
_font_descent = _bind("FPDFFont_GetDescent", ctypes.c_int)
_font_base_name = _bind("FPDFFont_GetBaseFontName", ctypes.c_size_t)

# pdfium leaves text objects narrower than this out of its text layer.
_DROPPED_WIDTH = 0.01
# What pdfium generates: spaces and line breaks. Only these need the extra call to ask.
_GENERATED_KINDS = frozenset({0x20, 0x0D, 0x0A})
# pdfium marks a hyphen that ends a line of text as a hyphenation mark; it is printed text.
_HYPHEN_MARKS = {0x02: "-", 0xFFFE: "-"}


def pdfium_pages(source: PdfSource, *, max_pages: int | None = None) -> Iterator[PageText]:
    """Each page's lines, in page order, one page in memory at a time."""
    with checked_stream(source) as stream:
        try:
            document = pypdfium2.PdfDocument(stream)
        except pypdfium2.PdfiumError as error:
            message = str(error)
            raise unreadable(message, encrypted="password" in message.lower()) from error
        try:
            check_page_count(len(document), max_pages)
            for index in range(len(document)):
                yield _read_page(document, index)
        finally:
            document.close()


def _read_page(document: pypdfium2.PdfDocument, index: int) -> PageText:
    try:
        page = document[index]
    except pypdfium2.PdfiumError as error:
        raise UnreadablePdfError(
            f"page {index + 1} of the PDF could not be read ({error}); it may be damaged, so export it again"
        ) from error
    try:
        textpage = page.get_textpage()
        try:
            chars = _PageReader(page, textpage).chars()
        finally:
            textpage.close()
        return PageText(text_lines(chars), scanned=not chars and _has_image(page.raw))
    finally:
        page.close()


@dataclass(frozen=True, slots=True)
class _Placement:
    """What every character of one text object shares: how pdfminer extends it vertically."""

    a: float
    b: float
    c: float
    d: float
    size: float          # the font size, in text space
    descent: float       # pdfminer's, per unit of font size
    pdfium_descent: float
    upright: bool


class _PageReader:
    def __init__(self, page: pypdfium2.PdfPage, textpage: pypdfium2.PdfTextPage) -> None:
        self.page = ctypes.c_void_p(ctypes.cast(page.raw, ctypes.c_void_p).value)
        self.text = ctypes.c_void_p(ctypes.cast(textpage.raw, ctypes.c_void_p).value)
        self.turn = _Turn(page)
        self.placements: dict[int, _Placement] = {}
        self.box = pdfium_c.FS_RECTF()
        self.box_ref = ctypes.byref(self.box)

    def chars(self) -> list[Char]:
        """The page's printed characters in content order, pdfium's own additions left out."""
        chars: list[Char] = []
        last_of_object: dict[int, int] = {}
        for index in range(_count_chars(self.text)):
            obj = _text_object(self.text, index)
            if not obj:
                continue  # generated by pdfium: a space or line break between text objects
            code = _unicode(self.text, index)
            if code in _GENERATED_KINDS and _is_generated(self.text, index):
                continue  # generated too, though pdfium names the text object it follows
            text = _HYPHEN_MARKS.get(code) or chr(code)
            chars.append(self._char(index, obj, text))
            last_of_object[obj] = len(chars) - 1
        self._restore_lost_spaces(chars, last_of_object)
        return chars

    def _char(self, index: int, obj: int, text: str) -> Char:
        place = self.placements.get(obj) or self._placement(index, obj)
        _loose_box(self.text, index, self.box_ref)
        box = self.box
        if place.b == 0 and place.c == 0:
            # Upright (or mirrored): the loose box's sides are pdfminer's; its bottom is the
            # baseline plus pdfium's descent, from which pdfminer's extent follows.
            base = box.bottom - place.d * place.size * place.pdfium_descent
            low = base + place.d * place.size * place.descent
            x0, y0, x1, y1 = box.left, low, box.right, low + place.d * place.size
        elif place.a == 0 and place.d == 0:
            x, _ = self._origin(index)
            low = x + place.c * place.size * place.descent
            x0, y0, x1, y1 = low, box.bottom, low + place.c * place.size, box.top
        else:
            x0, y0, x1, y1 = box.left, box.bottom, box.right, box.top
        return self.turn.char(text, x0, y0, x1, y1, place.upright)

    def _origin(self, index: int) -> tuple[float, float]:
        x, y = ctypes.c_double(), ctypes.c_double()
        _origin(self.text, index, ctypes.byref(x), ctypes.byref(y))
        return x.value, y.value

    def _placement(self, index: int, obj: int) -> _Placement:
        matrix = pdfium_c.FS_MATRIX()
        _char_matrix(self.text, index, ctypes.byref(matrix))
        placement = _placement_of(ctypes.c_void_p(obj), matrix, self.turn)
        self.placements[obj] = placement
        return placement

    def _restore_lost_spaces(self, chars: list[Char], last_of_object: dict[int, int]) -> None:
        """Put back whitespace text objects pdfium left out, after the object printed before them."""
        inserts: list[tuple[int, Char]] = []
        position = -1
        for obj in _text_objects(self.page):
            if obj in last_of_object:
                position = last_of_object[obj]
                continue
            space = self._lost_space(obj)
            if space is not None:
                inserts.append((position + 1, space))
        for at, space in reversed(inserts):
            chars.insert(at, space)

    def _lost_space(self, obj: int) -> Char | None:
        """A space where pdfium dropped a text object for having (next to) no width.

        Its text cannot be asked of pdfium once dropped; a glyph of no width is taken for a
        space, as pdfminer reads the space glyphs that browsers print this way.
        """
        handle = ctypes.c_void_p(obj)
        left, bottom, right, top = (ctypes.c_float() for _ in range(4))
        _object_bounds(handle, *map(ctypes.byref, (left, bottom, right, top)))
        if min(right.value - left.value, top.value - bottom.value) >= _DROPPED_WIDTH:
            return None
        matrix = pdfium_c.FS_MATRIX()
        _object_matrix(handle, ctypes.byref(matrix))
        place = _placement_of(handle, matrix, self.turn)
        x, y = matrix.e, matrix.f  # the object's origin: where its baseline starts
        if place.b == 0 and place.c == 0:
            low = y + place.d * place.size * place.descent
            return self.turn.char(" ", x, low, x, low + place.d * place.size, place.upright)
        low = x + place.c * place.size * place.descent
        return self.turn.char(" ", low, y, low + place.c * place.size, y, place.upright)


def _placement_of(obj: ctypes.c_void_p, matrix, turn: _Turn) -> _Placement:
    size = ctypes.c_float()
    _object_font_size(obj, ctypes.byref(size))
    font = ctypes.c_void_p(_object_font(obj))
    descent, pdfium_descent = _descents(font)
    a, b, c, d = turn.matrix(matrix.a, matrix.b, matrix.c, matrix.d)
    return _Placement(matrix.a, matrix.b, matrix.c, matrix.d, size.value, descent, pdfium_descent,
                      upright=a * d > 0 and b * c <= 0)


def _descents(font: ctypes.c_void_p) -> tuple[float, float]:
    """(pdfminer's, pdfium's) descent of a font, per unit of font size."""
    value = ctypes.c_float()
    _font_descent(font, ctypes.c_float(1.0), ctypes.byref(value))
    pdfium_descent = value.value
    length = _font_base_name(font, None, 0)
    name = ctypes.create_string_buffer(length)
    _font_base_name(font, name, length)
    metrics = FONT_METRICS.get(name.value.decode("latin-1"))
    if metrics is not None:
        return -abs(float(metrics[0]["Descent"])) / 1000, pdfium_descent
    # pdfminer takes the descriptor's /Descent as pdfium does, forced negative.
    return -abs(pdfium_descent), pdfium_descent


class _Turn:
    """pdfminer's view of a rotated page: the page's /Rotate applied to every coordinate."""

    def __init__(self, page: pypdfium2.PdfPage) -> None:
        self.rotation = page.get_rotation()
        left, bottom, right, top = page.get_mediabox()
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


def _text_objects(page: ctypes.c_void_p) -> Iterator[int]:
    """The page's text objects in content order, those inside forms included."""
    yield from _objects_of_kind(page, _page_object_count, _page_object, pdfium_c.FPDF_PAGEOBJ_TEXT)


def _objects_of_kind(parent, count, get, kind: int) -> Iterator[int]:
    for index in range(count(parent)):
        obj = get(parent, index)
        if not obj:
            continue
        found = _object_type(ctypes.c_void_p(obj))
        if found == kind:
            yield obj
        elif found == pdfium_c.FPDF_PAGEOBJ_FORM:
            yield from _objects_of_kind(ctypes.c_void_p(obj), _form_object_count, _form_object, kind)


def _has_image(page) -> bool:
    handle = ctypes.c_void_p(ctypes.cast(page, ctypes.c_void_p).value)
    return next(_objects_of_kind(handle, _page_object_count, _page_object, pdfium_c.FPDF_PAGEOBJ_IMAGE),
                None) is not None
