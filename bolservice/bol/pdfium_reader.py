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
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

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


_load_page = _bind("FPDF_LoadPage", ctypes.c_void_p)
_close_page = _bind("FPDF_ClosePage", None)
_load_textpage = _bind("FPDFText_LoadPage", ctypes.c_void_p)
_close_textpage = _bind("FPDFText_ClosePage", None)
_page_rotation = _bind("FPDFPage_GetRotation", ctypes.c_int)
_media_box = _bind("FPDFPage_GetMediaBox", ctypes.c_int)
_page_width = _bind("FPDF_GetPageWidthF", ctypes.c_float)
_page_height = _bind("FPDF_GetPageHeightF", ctypes.c_float)
_text_object = _bind("FPDFText_GetTextObject", ctypes.c_void_p)
_unicode = _bind("FPDFText_GetUnicode", ctypes.c_uint)
_page_text = _bind("FPDFText_GetText", ctypes.c_int)
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
_font_ascent = _bind("FPDFFont_GetAscent", ctypes.c_int)
_font_italic_angle = _bind("FPDFFont_GetItalicAngle", ctypes.c_int)
_font_flags = _bind("FPDFFont_GetFlags", ctypes.c_int)
_tight_box = _bind("FPDFText_GetCharBox", ctypes.c_int)
_glyph_width = _bind("FPDFFont_GetGlyphWidth", ctypes.c_int)
_object_mark_count = _bind("FPDFPageObj_CountMarks", ctypes.c_int)
_object_mark = _bind("FPDFPageObj_GetMark", ctypes.c_void_p)
_mark_value_type = _bind("FPDFPageObjMark_GetParamValueType", ctypes.c_int)

_ITALIC_FLAG = 1 << 6  # the font descriptor's /Flags bit 7
# Standard symbol fonts: pdfium reads their built-in encodings (Greek, dingbats), pdfminer
# reads the codes as Latin letters.
_SYMBOL_FONTS = frozenset({b"Symbol", b"ZapfDingbats"})
# Two loose-box heights closer than this are the same (pdfium works in 32-bit floats).
_EPSILON = 1e-3
# Characters that pdfium and pdfminer map differently, or that no reader can place alike:
# control characters (pdfminer writes an unmapped code as "(cid:N)"), C1 and the soft
# hyphen, pdfium's hyphenation marks and replacement characters, private use, combining
# marks (drawn left of their origin), bullets and dingbats (pdfium's guesses for glyphs
# without a known name). The generated line break \r\n is pdfium's own and fine.
_DOUBTFUL_TEXT = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff"
    "\u20d0-\u20ff\u2022\u2700-\u27bf\ue000-\uf8ff\ufe20-\ufe2f\ufffd-\uffff]")
# pdfium leaves text objects narrower than this out of its text layer.
_DROPPED_WIDTH = 0.01
# What pdfium generates: spaces and line breaks. Only these need the extra call to ask.
_GENERATED_KINDS = frozenset(" \r\n")
# pdfium marks a hyphen that ends a line of text as a hyphenation mark; it is printed text.
_HYPHEN_MARKS = str.maketrans({"\x02": "-", "\ufffe": "-"})
_SURROGATE = re.compile("[\ud800-\udfff]")


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
            known = _Known()
            for index in range(len(document)):
                yield _read_page(document, index, known)
        finally:
            document.close()


def _read_page(document: pypdfium2.PdfDocument, index: int, known: _Known) -> PageText:
    # Raw handles: pypdfium2's page objects cost more to make and close than a short page's read.
    page = _load_page(_handle(document.raw), index)
    if not page:
        raise UnreadablePdfError(
            f"page {index + 1} of the PDF could not be read; it may be damaged, so export it again")
    page = ctypes.c_void_p(page)
    try:
        textpage = _load_textpage(page)
        if not textpage:
            raise UnreadablePdfError(
                f"the text of page {index + 1} could not be read; the PDF may be damaged, so export it again")
        textpage = ctypes.c_void_p(textpage)
        try:
            reader = _PageReader(page, textpage, known)
            chars = reader.chars()
        finally:
            _close_textpage(textpage)
        return PageText(text_lines(chars), scanned=not chars and _has_image(page), doubtful=reader.doubtful)
    finally:
        _close_page(page)


def _handle(pointer) -> ctypes.c_void_p:
    return ctypes.c_void_p(ctypes.cast(pointer, ctypes.c_void_p).value)


@dataclass(frozen=True, slots=True)
class _Font:
    """A font's vertical metrics, per unit of font size."""

    descent: float         # pdfminer's
    pdfium_descent: float  # pdfium's, as its loose boxes use them
    pdfium_ascent: float
    italic: bool           # its glyphs may reach past their advance, which loose boxes include
    doubtful: bool         # pdfminer maps its codes otherwise (Symbol, ZapfDingbats)


@dataclass(frozen=True, slots=True)
class _Placement:
    """What every character of one text object shares.

    ``a b c d`` are the object's matrix and ``size`` its font size in text space; pdfminer's
    box runs from ``descent × size`` to ``(descent + 1) × size`` across the baseline.
    ``inline`` says the reading loop may place the characters itself: level text on an
    unrotated page, in a font with usable metrics. Its box edge (the bottom, or the top when
    the text is flipped) plus ``shift`` is pdfminer's bottom, ``scale`` its signed height,
    and ``span`` the height of a loose box that no glyph's ink has widened.
    """

    a: float
    b: float
    c: float
    d: float
    size: float
    font: _Font
    upright: bool
    inline: bool
    from_top: bool
    shift: float
    scale: float
    span: float

    @property
    def level(self) -> bool:
        """Not turned: x runs along the baseline (b = c = 0), as in nearly every BOL."""
        return self.b == 0 and self.c == 0


@dataclass
class _Known:
    """What a document's pages share, worked out once: fonts, and placements by font, size,
    matrix and page rotation."""

    fonts: dict[int, _Font] = field(default_factory=dict)
    placements: dict[tuple, _Placement] = field(default_factory=dict)


class _PageReader:
    def __init__(self, page: ctypes.c_void_p, textpage: ctypes.c_void_p, known: _Known) -> None:
        self.page, self.text, self.known = page, textpage, known
        self.turn = _Turn(page)
        self.box = pdfium_c.FS_RECTF()
        self.matrix, self.size = pdfium_c.FS_MATRIX(), ctypes.c_float()
        # Set when the page holds something this reader cannot vouch to read as pdfminer does.
        self.doubtful = False

    def chars(self) -> list[Char]:
        """The page's printed characters in content order, pdfium's own additions left out.

        The loop runs once per character, so it binds what it calls and places the common
        case inline: a level text object on an unrotated page, its loose box not widened by
        its glyph's ink (its height is the font's span).
        """
        chars: list[Char] = []
        last_of_object: dict[int, int] = {}
        placements: dict[int, _Placement] = {}
        text, box, box_ref = self.text, self.box, ctypes.byref(self.box)
        text_object, loose_box, append, generated = _text_object, _loose_box, chars.append, _GENERATED_KINDS
        left, top = self.turn.box[0], self.turn.box[3]
        count = _count_chars(text)
        codes = _codes(text, count) or "".join(chr(_unicode(text, i)) for i in range(count))
        self.doubtful = _DOUBTFUL_TEXT.search(codes) is not None
        current = None
        for index, char in enumerate(codes.translate(_HYPHEN_MARKS)):
            obj = text_object(text, index)
            if not obj:
                continue  # generated by pdfium: a space or line break between text objects
            if char in generated and _is_generated(text, index):
                continue  # generated too, though pdfium names the text object it follows
            if obj != current:  # a text object's characters come one after another
                if current is not None:
                    last_of_object[current] = len(chars) - 1
                current = obj
                if obj not in placements:
                    placements[obj] = self._placement(index, obj)
                place = placements[obj]
                inline, from_top, shift, scale, span, upright = (
                    place.inline, place.from_top, place.shift, place.scale, place.span, place.upright)
            loose_box(text, index, box_ref)
            if inline and -_EPSILON < box.top - box.bottom - span < _EPSILON:
                low = (box.top if from_top else box.bottom) + shift
                high = low + scale
                if high < low:
                    low, high = high, low
                append((char, box.left - left, box.right - left, top - high, top - low, upright))
            else:
                append(self._exact_char(index, char, place, obj))
        if current is not None:
            last_of_object[current] = len(chars) - 1
        self._restore_lost_spaces(chars, last_of_object)
        return chars

    def _placement(self, index: int, obj: int) -> _Placement:
        _char_matrix(self.text, index, ctypes.byref(self.matrix))
        return self._placement_with(ctypes.c_void_p(obj), self.matrix)

    def _placement_with(self, obj: ctypes.c_void_p, matrix) -> _Placement:
        _object_font_size(obj, ctypes.byref(self.size))
        font = _object_font(obj)
        key = (font, self.size.value, matrix.a, matrix.b, matrix.c, matrix.d, self.turn.rotation)
        found = self.known.placements.get(key)
        if found is None:
            found = self.known.placements[key] = self._new_placement(font, *key[1:6])
        if found.font.doubtful:
            self.doubtful = True
        return found

    def _new_placement(self, font: int, size: float, a: float, b: float, c: float, d: float) -> _Placement:
        if font not in self.known.fonts:
            self.known.fonts[font] = _font_of(ctypes.c_void_p(font))
        metrics = self.known.fonts[font]
        # pdfminer's test, on the matrix as it sees it: turned with the page.
        ta, tb, tc, td = self.turn.matrix(a, b, c, d)
        scale = d * size
        spread = metrics.pdfium_ascent - metrics.pdfium_descent
        inline = (b == 0 and c == 0 and not self.turn.rotation and scale != 0 and spread > 0
                  and not metrics.italic)
        return _Placement(a, b, c, d, size, metrics, upright=ta * td > 0 and tb * tc <= 0,
                          inline=inline, from_top=scale < 0,
                          shift=scale * (metrics.descent - metrics.pdfium_descent),
                          scale=scale, span=abs(scale) * spread)

    def _exact_char(self, index: int, char: str, place: _Placement, obj: int) -> Char:
        """A character the inline case does not cover (rare: the slow way).

        The baseline and the origin come from pdfium itself, and the advance's end from the
        loose box, or from the font's width of the glyph when the glyph's ink reaches the
        loose box's far side. Text turned other than by quarter turns makes the page doubtful.
        """
        box = self.box
        font = place.font
        x, y = self._origin(index)
        if place.level and place.d * place.size:
            low = y + place.d * place.size * font.descent
            forwards = place.a > 0
            end = self._advance_end(index, char, place, obj, x, forwards)
            x0, x1 = (x, end) if forwards else (end, x)
            return self.turn.char(char, x0, low, x1, low + place.d * place.size, place.upright)
        if place.a == 0 and place.d == 0 and place.c * place.size:
            low = x + place.c * place.size * font.descent
            return self.turn.char(char, low, box.bottom, low + place.c * place.size, box.top, place.upright)
        self.doubtful = True
        return self.turn.char(char, box.left, box.bottom, box.right, box.top, place.upright)

    def _advance_end(self, index: int, char: str, place: _Placement, obj: int, x: float, forwards: bool
                     ) -> float:
        """Where a level character's advance ends along the baseline."""
        box = self.box
        far = box.right if forwards else box.left
        if place.font.pdfium_ascent != place.font.pdfium_descent:  # else the loose box is the ink
            sides = [ctypes.c_double() for _ in range(4)]
            _tight_box(self.text, index, *map(ctypes.byref, sides))
            ink = sides[1].value if forwards else sides[0].value
            if (ink < far - _EPSILON) if forwards else (ink > far + _EPSILON):
                return far  # the ink stops short: the far side is the advance's
        width = ctypes.c_float()
        font = ctypes.c_void_p(_object_font(ctypes.c_void_p(obj)))
        if len(char) != 1 or not _glyph_width(font, ctypes.c_uint32(ord(char)), ctypes.c_float(place.size),
                                               ctypes.byref(width)) or width.value <= 0:
            self.doubtful = True
            return far
        return x + place.a * width.value

    def _origin(self, index: int) -> tuple[float, float]:
        x, y = ctypes.c_double(), ctypes.c_double()
        _origin(self.text, index, ctypes.byref(x), ctypes.byref(y))
        return x.value, y.value

    def _restore_lost_spaces(self, chars: list[Char], last_of_object: dict[int, int]) -> None:
        """Put back whitespace text objects pdfium left out, after the object printed before them."""
        inserts: list[tuple[int, Char]] = []
        position = -1
        for obj in _text_objects(self.page, last_of_object):
            if obj in last_of_object:
                position = last_of_object[obj]
                if not self.doubtful and _has_actual_text(obj):
                    self.doubtful = True  # pdfium reads the /ActualText, pdfminer the glyphs
                continue
            space = self._lost_space(obj)
            if space is not None:
                inserts.append((position + 1, space))
        for at, space in reversed(inserts):
            chars.insert(at, space)

    def _lost_space(self, obj: int) -> Char | None:
        """A space where pdfium dropped a text object for having (next to) no width.

        Its text cannot be asked of pdfium once dropped; a glyph of no width is taken for a
        space, as pdfminer reads the space glyphs that browsers print this way. Any other
        dropped object (a copy printed over itself for bold, text of size 0) makes the page
        doubtful: pdfminer reads its characters.
        """
        handle = ctypes.c_void_p(obj)
        left, bottom, right, top = (ctypes.c_float() for _ in range(4))
        _object_bounds(handle, *map(ctypes.byref, (left, bottom, right, top)))
        matrix = pdfium_c.FS_MATRIX()
        _object_matrix(handle, ctypes.byref(matrix))
        place = self._placement_with(handle, matrix)
        if min(right.value - left.value, top.value - bottom.value) >= _DROPPED_WIDTH or not place.size:
            self.doubtful = True
            return None
        x, y = matrix.e, matrix.f  # the object's origin: where its baseline starts
        if place.level:
            low = y + place.d * place.size * place.font.descent
            return self.turn.char(" ", x, low, x, low + place.d * place.size, place.upright)
        low = x + place.c * place.size * place.font.descent
        return self.turn.char(" ", low, y, low + place.c * place.size, y, place.upright)


def _codes(text: ctypes.c_void_p, count: int) -> str | None:
    """The page's characters in one call, or None when they do not line up one to one with
    pdfium's character indices (a character outside the BMP takes two UTF-16 units)."""
    buffer = ctypes.create_string_buffer((count + 1) * 2)
    written = _page_text(text, 0, count, buffer)
    codes = buffer.raw[: max(written - 1, 0) * 2].decode("utf-16-le", errors="surrogatepass")
    if len(codes) != count or _SURROGATE.search(codes):
        return None
    return codes


def _font_of(font: ctypes.c_void_p) -> _Font:
    value = ctypes.c_float()
    _font_descent(font, ctypes.c_float(1.0), ctypes.byref(value))
    pdfium_descent = value.value
    _font_ascent(font, ctypes.c_float(1.0), ctypes.byref(value))
    pdfium_ascent = value.value
    angle = ctypes.c_int()
    italic = bool(_font_italic_angle(font, ctypes.byref(angle)) and angle.value) or bool(
        _font_flags(font) & _ITALIC_FLAG)
    length = _font_base_name(font, None, 0)
    name = ctypes.create_string_buffer(length)
    _font_base_name(font, name, length)
    metrics = FONT_METRICS.get(name.value.decode("latin-1"))
    if metrics is not None:
        # pdfminer's built-in metrics; Symbol and ZapfDingbats have no descent there (0).
        descent = -abs(float(metrics[0].get("Descent", 0))) / 1000
    else:
        descent = -abs(pdfium_descent)  # the descriptor's /Descent, forced negative, as pdfium reads it
    return _Font(descent, pdfium_descent, pdfium_ascent, italic, doubtful=name.value in _SYMBOL_FONTS)


class _Turn:
    """pdfminer's view of a rotated page: the page's /Rotate applied to every coordinate."""

    def __init__(self, page: ctypes.c_void_p) -> None:
        self.rotation = _page_rotation(page) % 4 * 90
        sides = [ctypes.c_float() for _ in range(4)]
        if not _media_box(page, *map(ctypes.byref, sides)):
            sides = [ctypes.c_float(0), ctypes.c_float(0), ctypes.c_float(_page_width(page)),
                     ctypes.c_float(_page_height(page))]
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


def _text_objects(page: ctypes.c_void_p, known: dict[int, int]) -> Iterator[int]:
    """The page's text objects in content order, those inside forms included. Objects in
    ``known`` (most of them) are taken for text without asking pdfium their kind."""
    for obj in _page_objects(page):
        if obj in known:
            yield obj
        else:
            yield from _objects_of_kind(obj, pdfium_c.FPDF_PAGEOBJ_TEXT)


def _has_actual_text(obj: int) -> bool:
    """Whether the object is in marked content that gives an /ActualText for its glyphs."""
    handle = ctypes.c_void_p(obj)
    return any(_mark_value_type(ctypes.c_void_p(_object_mark(handle, index)), b"ActualText")
               for index in range(_object_mark_count(handle)))


def _has_image(page: ctypes.c_void_p) -> bool:
    return any(True for obj in _page_objects(page)
               for _ in _objects_of_kind(obj, pdfium_c.FPDF_PAGEOBJ_IMAGE))


def _page_objects(page: ctypes.c_void_p) -> Iterator[int]:
    for index in range(_page_object_count(page)):
        obj = _page_object(page, index)
        if obj:
            yield obj


def _objects_of_kind(obj: int, kind: int) -> Iterator[int]:
    """``obj`` if it is of ``kind``; if it is a form, those of its objects that are."""
    handle = ctypes.c_void_p(obj)
    found = _object_type(handle)
    if found == kind:
        yield obj
    elif found == pdfium_c.FPDF_PAGEOBJ_FORM:
        for index in range(_form_object_count(handle)):
            child = _form_object(handle, index)
            if child:
                yield from _objects_of_kind(child, kind)
