"""PDF → page lines with pypdfium2, character by character, as pdfplumber would read them.

pdfium finds each printed character, its Unicode value and its box about ten times faster
than pdfminer. The characters are placed where pdfminer places them and handed to
``lines.text_lines``, which applies pdfplumber's rules, so the lines are pdfplumber's:

- Along the baseline, pdfminer's box runs from the origin over the advance width; pdfium's
  loose box has the same sides unless the glyph's ink reaches past them (then the origin
  and the font's width of the glyph are asked for).
- Across it, pdfminer's box runs from ``descent × size`` to ``(descent + 1) × size`` off the
  baseline, the descent being the font descriptor's, or the built-in metrics' for a font
  named like a standard one (pdfium has its own: Helvetica −224 against −207). A text
  object's characters share a baseline, asked of pdfium once per object.
- Characters pdfium makes up (spaces and line breaks between text objects) are dropped.
  pdfium leaves out of its text layer a text object narrower than 0.01 pt, which is how
  browsers print a word gap; pdfminer keeps it as a space that splits words, so such
  objects are found among the page objects and put back as spaces.
- A page with ``/Rotate`` is turned as pdfminer turns it.

A page holding what this reader cannot vouch to read as pdfminer does (overprinted text
that pdfium drops, text turned other than by quarter turns, symbol fonts, control or
private-use characters, /ActualText) is marked doubtful, and ``auto`` reads it again with
pdfplumber. docs/ENGINE.md lists what is known to differ unnoticed.
"""

from __future__ import annotations

import ctypes
import os
import re
from collections.abc import Iterator
from itertools import islice

import pypdfium2

from . import pdfium_calls as calls
from .errors import UnreadablePdfError
from .lines import Char, text_lines
from .pdffile import PageText, PdfSource, check_page_count, checked_stream, unreadable
from .pdfium_placing import Font, Known, Placement, Turn, font_of

# Two lengths closer than this are the same: pdfium works in 32-bit floats.
_EPSILON = 1e-3
# pdfium leaves text objects narrower than this out of its text layer.
_DROPPED_WIDTH = 0.01
# What pdfium generates: spaces and line breaks. Only these need the extra call to ask.
_GENERATED_KINDS = frozenset(" \r\n")
# pdfium marks a hyphen that ends a line of text as a hyphenation mark; it is printed text.
_HYPHEN_MARKS = str.maketrans({"\x02": "-", "\ufffe": "-"})
_SURROGATE = re.compile("[\ud800-\udfff]")
# Characters that pdfium and pdfminer map differently, or that no reader places alike:
# control characters (pdfminer writes an unmapped code as "(cid:N)"), C1 and the soft
# hyphen, pdfium's hyphenation marks and replacement characters, private use, combining
# marks (drawn left of their origin), bullets and dingbats (pdfium's guesses for glyphs
# without a known name). The line break \r\n that pdfium generates is its own and fine.
_DOUBTFUL_TEXT = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff"
    "\u20d0-\u20ff\u2022\u2700-\u27bf\ue000-\uf8ff\ufe20-\ufe2f\ufffd-\uffff]")


def pdfium_pages(source: PdfSource, *, max_pages: int | None = None) -> Iterator[PageText]:
    """Each page's lines, in page order, one page in memory at a time."""
    with checked_stream(source) as stream:
        try:
            # A path or bytes let pdfium read natively; a stream is read through callbacks.
            document = pypdfium2.PdfDocument(source if isinstance(source, str | os.PathLike | bytes) else stream)
        except pypdfium2.PdfiumError as error:
            message = str(error)
            raise unreadable(message, encrypted="password" in message.lower()) from error
        try:
            check_page_count(len(document), max_pages)
            raw, known = calls.handle(document.raw), Known()
            for index in range(len(document)):
                yield _read_page(raw, index, known)
        finally:
            document.close()


def _read_page(document: ctypes.c_void_p, index: int, known: Known) -> PageText:
    # Raw handles: pypdfium2's page objects cost more to make and close than a short page's read.
    page = calls.load_page(document, index)
    if not page:
        raise UnreadablePdfError(
            f"page {index + 1} of the PDF could not be read; it may be damaged, so export it again")
    page = ctypes.c_void_p(page)
    try:
        textpage = calls.load_textpage(page)
        if not textpage:
            raise UnreadablePdfError(
                f"the text of page {index + 1} could not be read; the PDF may be damaged, so export it again")
        textpage = ctypes.c_void_p(textpage)
        try:
            reader = _PageReader(page, textpage, known)
            chars = reader.chars()
        finally:
            calls.close_textpage(textpage)
        return PageText(text_lines(chars), scanned=not chars and calls.has_image(page),
                        doubtful=reader.doubtful)
    finally:
        calls.close_page(page)


class _PageReader:
    def __init__(self, page: ctypes.c_void_p, textpage: ctypes.c_void_p, known: Known) -> None:
        self.page, self.text, self.known = page, textpage, known
        self.turn = Turn(page)
        # Set when the page holds something this reader cannot vouch to read as pdfminer does.
        self.doubtful = False
        self.box, self.matrix, self.size = calls.RECT(), calls.MATRIX(), ctypes.c_float()
        self.matrix_ref, self.size_ref = ctypes.byref(self.matrix), ctypes.byref(self.size)
        self.x, self.y = ctypes.c_double(), ctypes.c_double()
        self.origin_refs = (ctypes.byref(self.x), ctypes.byref(self.y))
        self.ink = [ctypes.c_double() for _ in range(4)]
        self.ink_refs = [ctypes.byref(side) for side in self.ink]

    def chars(self) -> list[Char]:
        """The page's printed characters in content order, pdfium's own additions left out.

        The loop runs once per character, so it binds what it calls and places the common
        case itself: a level text object on an unrotated page, whose loose box has the
        font's span (no ink widened it, so its sides are the origin and the advance's end).
        """
        chars: list[Char] = []
        last_of_object: dict[int, int] = {}
        placements: dict[int, Placement] = {}
        text, box, box_ref = self.text, self.box, ctypes.byref(self.box)
        text_object, loose_box, append, generated = calls.text_object, calls.loose_box, chars.append, _GENERATED_KINDS
        left, top = self.turn.box[0], self.turn.box[3]
        count = calls.count_chars(text)
        codes = _codes(text, count) or "".join(chr(calls.unicode(text, i)) for i in range(count))
        self.doubtful = _DOUBTFUL_TEXT.search(codes) is not None
        current = None
        for index, char in enumerate(codes.translate(_HYPHEN_MARKS)):
            obj = text_object(text, index)
            if not obj:
                continue  # generated by pdfium: a space or line break between text objects
            if char in generated and calls.is_generated(text, index):
                continue  # generated too, though pdfium names the text object it follows
            if obj != current:  # a text object's characters come one after another
                if current is not None:
                    last_of_object[current] = len(chars) - 1
                current = obj
                if obj not in placements:
                    placements[obj] = self._placement(index, obj)
                place = placements[obj]
                inline, span, upright = place.inline, place.span, place.upright
                # Italic glyphs reach past their advance without widening the box's height.
                trusted = inline and not place.font.italic
                if inline:  # one baseline for the object's characters
                    char_top, char_bottom = self._across(index, place, top)
            loose_box(text, index, box_ref)
            if trusted and -_EPSILON < box.top - box.bottom - span < _EPSILON:
                append((char, box.left - left, box.right - left, char_top, char_bottom, upright))
            elif inline:
                x0, x1 = self._along(index, char, place)
                append((char, x0 - left, x1 - left, char_top, char_bottom, upright))
            else:
                append(self._turned_char(index, char, place))
        if current is not None:
            last_of_object[current] = len(chars) - 1
        if not self.doubtful and _split_glyphs(chars):
            self.doubtful = True
        self._restore_lost_spaces(chars, last_of_object)
        return chars

    def _across(self, index: int, place: Placement, page_top: float) -> tuple[float, float]:
        """pdfminer's top and bottom of a level object's characters (page unrotated)."""
        calls.char_origin(self.text, index, *self.origin_refs)
        low = self.y.value + place.scale * place.font.descent
        high = low + place.scale
        return page_top - max(low, high), page_top - min(low, high)

    def _along(self, index: int, char: str, place: Placement) -> tuple[float, float]:
        """pdfminer's x0 and x1 of a level character whose ink may widen its loose box.

        A side of the loose box that the ink stops short of is the metric one (the origin,
        or the advance's end). Where the ink reaches it, the origin is asked of pdfium, and
        the advance's end is the origin plus the font's width of the glyph.
        """
        box = self.box
        calls.ink_box(self.text, index, *self.ink_refs)
        ink_left, ink_right = self.ink[0].value, self.ink[1].value
        metric = place.font.pdfium_ascent != place.font.pdfium_descent  # else the box is the ink
        left = box.left if metric and ink_left > box.left + _EPSILON else None
        right = box.right if metric and ink_right < box.right - _EPSILON else None
        if left is not None and right is not None:
            return left, right
        calls.char_origin(self.text, index, *self.origin_refs)
        origin = self.x.value
        forwards = place.a > 0
        if (forwards and right is not None) or (not forwards and left is not None):
            return (origin, right) if forwards else (left, origin)
        width = ctypes.c_float()
        if len(char) != 1 or not calls.glyph_width(ctypes.c_void_p(place.font.address), ctypes.c_uint32(ord(char)),
                                                     ctypes.c_float(place.size), ctypes.byref(width)):
            self.doubtful = True
            return box.left, box.right
        end = origin + place.a * width.value
        return (origin, end) if forwards else (end, origin)

    def _turned_char(self, index: int, char: str, place: Placement) -> Char:
        """A character of turned text, or on a rotated page (rare: the slow way). A quarter
        turn is placed exactly; other angles take pdfium's loose box, and the page is doubtful."""
        calls.char_origin(self.text, index, *self.origin_refs)
        x, y, box, font = self.x.value, self.y.value, self.box, place.font
        if place.level and place.scale:
            low = y + place.scale * font.descent
            x0, x1 = self._along(index, char, place)
            return self.turn.char(char, x0, low, x1, low + place.scale, place.upright)
        if place.a == 0 and place.d == 0 and place.c * place.size:
            low = x + place.c * place.size * font.descent
            return self.turn.char(char, low, box.bottom, low + place.c * place.size, box.top, place.upright)
        self.doubtful = True
        return self.turn.char(char, box.left, box.bottom, box.right, box.top, place.upright)

    def _placement(self, index: int, obj: int) -> Placement:
        calls.char_matrix(self.text, index, self.matrix_ref)
        return self._placement_with(ctypes.c_void_p(obj), self.matrix)

    def _placement_with(self, obj: ctypes.c_void_p, matrix) -> Placement:
        calls.object_font_size(obj, self.size_ref)
        font = calls.object_font(obj.value)
        key = (font, self.size.value, matrix.a, matrix.b, matrix.c, matrix.d, self.turn.rotation)
        found = self.known.placements.get(key)
        if found is None:
            if font not in self.known.fonts:
                self.known.fonts[font] = font_of(font)
            found = self.known.placements[key] = self._new_placement(self.known.fonts[font], *key[1:6])
        if found.font.doubtful:
            self.doubtful = True
        return found

    def _new_placement(self, font: Font, size: float, a: float, b: float, c: float, d: float) -> Placement:
        # pdfminer's test of uprightness, on the matrix as it sees it: turned with the page.
        ta, tb, tc, td = self.turn.matrix(a, b, c, d)
        scale = d * size
        return Placement(a, b, c, d, size, font, upright=ta * td > 0 and tb * tc <= 0,
                          inline=b == 0 and c == 0 and scale != 0 and not self.turn.rotation,
                          scale=scale, span=abs(scale) * (font.pdfium_ascent - font.pdfium_descent))

    def _restore_lost_spaces(self, chars: list[Char], last_of_object: dict[int, int]) -> None:
        """Put back the spaces pdfium left out, after the object printed before them; and
        doubt a page whose objects carry an /ActualText (pdfium reads it, pdfminer the glyphs).

        Every page object is visited, so the common one (a text object already read) costs
        a lookup and a count of its marks, nothing more.
        """
        inserts: list[tuple[int, Char]] = []
        position = -1
        page, page_object, mark_count = self.page, calls.page_object, calls.object_mark_count
        for index in range(calls.page_object_count(page)):
            obj = page_object(page, index)
            known = last_of_object.get(obj)
            if known is not None:
                position = known
                if mark_count(obj) and calls.has_actual_text(obj):
                    self.doubtful = True
                continue
            for text in calls.objects_of_kind(obj, calls.TEXT) if obj else ():
                if text in last_of_object:  # read from inside a form
                    position = last_of_object[text]
                    continue
                space = self._lost_space(text)
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
        text = ctypes.c_void_p(obj)
        left, bottom, right, top = (ctypes.c_float() for _ in range(4))
        calls.object_bounds(text, *map(ctypes.byref, (left, bottom, right, top)))
        matrix = calls.MATRIX()
        calls.object_matrix(text, ctypes.byref(matrix))
        place = self._placement_with(text, matrix)
        if min(right.value - left.value, top.value - bottom.value) >= _DROPPED_WIDTH or not place.size:
            self.doubtful = True
            return None
        x, y = matrix.e, matrix.f  # the object's origin: where its baseline starts
        if place.level:
            low = y + place.scale * place.font.descent
            return self.turn.char(" ", x, low, x, low + place.scale, place.upright)
        low = x + place.c * place.size * place.font.descent
        return self.turn.char(" ", low, y, low + place.c * place.size, y, place.upright)


def _split_glyphs(chars: list[Char]) -> bool:
    """Whether two characters in a row share one box: pdfium splits a ligature glyph (``ff``
    mapped to two letters) into letters with the same box, where pdfminer keeps one
    character over the glyph's whole advance, which this reader cannot ask pdfium for."""
    return any(a[1] == b[1] and a[2] == b[2] and not a[0].isspace()
               for a, b in zip(chars, islice(chars, 1, None)))


def _codes(text: ctypes.c_void_p, count: int) -> str | None:
    """The page's characters in one call, or None when they do not line up one to one with
    pdfium's character indices (a character outside the BMP takes two UTF-16 units)."""
    buffer = ctypes.create_string_buffer((count + 1) * 2)
    written = calls.page_text(text, 0, count, buffer)
    codes = buffer.raw[: max(written - 1, 0) * 2].decode("utf-16-le", errors="surrogatepass")
    if len(codes) != count or _SURROGATE.search(codes):
        return None
    return codes
