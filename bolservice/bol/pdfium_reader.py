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
import math
import os
import re
import threading
from collections import deque
from collections.abc import Collection, Iterable, Iterator
from itertools import repeat
from typing import BinaryIO

import numpy as np
import pypdfium2

from . import pdfium_calls as calls
from .errors import BolInputError, UnreadablePdfError
from .lines import Char, PageChars, codes_of, is_space, text_lines
from .pdffile import PageText, PdfSource, check_page_count, checked_stream, unreadable
from .pdfium_placing import Font, Known, Placement, Turn, font_of

# Two lengths closer than this are the same: pdfium works in 32-bit floats.
_EPSILON = 1e-3
# pdfium leaves text objects narrower than this out of its text layer.
_DROPPED_WIDTH = 0.01
# What pdfium generates: spaces and line breaks (code points up to the space's, and one
# standing for all higher). Only these need the extra call to ask.
_GENERATED_KINDS = np.array([chr(code) in " \r\n" for code in range(ord(" ") + 2)])
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


def pdfium_pages(source: PdfSource, *, max_pages: int | None = None,
                 pages: Collection[int] | None = None) -> Iterator[PageText]:
    """Each page's lines, in page order, one page in memory at a time; with ``pages``
    (page numbers from 1), only those pages'."""
    with checked_stream(source) as stream:
        document = _open(source, stream)
        try:
            check_page_count(len(document), max_pages)
            raw, known, sweeps = calls.handle(document.raw), Known(), _Sweeps.of_this_thread()
            for index in range(len(document)):
                if pages is None or index + 1 in pages:
                    yield _read_page(raw, index, known, sweeps)
        finally:
            document.close()


def pdfium_page_count(source: PdfSource) -> int | None:
    """How many pages pdfium finds in the PDF; None if it cannot open it."""
    try:
        with checked_stream(source) as stream:
            document = _open(source, stream)
            try:
                return len(document)
            finally:
                document.close()
    except BolInputError:
        return None


def _open(source: PdfSource, stream: BinaryIO) -> pypdfium2.PdfDocument:
    try:
        # A path or bytes let pdfium read natively; a stream is read through callbacks.
        return pypdfium2.PdfDocument(source if isinstance(source, str | os.PathLike | bytes) else stream)
    except pypdfium2.PdfiumError as error:
        message = str(error)
        raise unreadable(message, encrypted="password" in message.lower()) from error


def _read_page(document: ctypes.c_void_p, index: int, known: Known, sweeps: _Sweeps) -> PageText:
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
            chars = reader.chars(sweeps)
        finally:
            calls.close_textpage(textpage)
        return PageText(text_lines(chars), scanned=not len(chars) and calls.has_image(page),
                        doubtful=reader.doubtful)
    finally:
        calls.close_page(page)


class _Slots:
    """Room for pdfium to write a row of values per character or text object, with a
    pointer to each slot (or to each value of a row, for functions that take one per
    value), grown as pages need: a sweep of calls then writes straight into an array the
    reader computes on."""

    def __init__(self, dtype: type, width: int, *, pointer_per_value: bool = False) -> None:
        self.array = np.empty((0, width), dtype=dtype)
        self.pointer_per_value = pointer_per_value
        self.pointers: list[list[ctypes.c_void_p]] = []

    def sweep(self, function, count: int, *arguments: Iterable) -> np.ndarray:
        """The rows ``function(*arguments, pointers...)`` writes, for ``count`` calls."""
        if count > len(self.array):
            array = self.array = np.empty((max(count, 2 * len(self.array)), self.array.shape[1]), self.array.dtype)
            base, row, value = array.ctypes.data, array.strides[0], array.strides[1]
            offsets = range(0, row, value) if self.pointer_per_value else [0]
            self.pointers = [list(map(ctypes.c_void_p, range(base + offset, base + len(array) * row, row)))
                             for offset in offsets]
        deque(map(function, *arguments, *self.pointers), maxlen=0)
        return self.array[:count]


class _Sweeps:
    """The slots of a reading: pdfium's answers for a page's characters and text objects,
    each kind in its own array. Made once per thread (making the pointers costs as much as
    a short document's read); documents read in turn share them, since a page's reading
    is done with them before the next page is read."""

    _local = threading.local()

    @classmethod
    def of_this_thread(cls) -> _Sweeps:
        if not hasattr(cls._local, "sweeps"):
            cls._local.sweeps = cls()
        return cls._local.sweeps

    def __init__(self) -> None:
        self.boxes = _Slots(np.float32, 4)  # a character's loose box: left, top, right, bottom
        self.matrices = _Slots(np.float32, 6)  # a character's matrix: a, b, c, d, e, f
        self.origins = _Slots(np.float64, 2, pointer_per_value=True)  # a character's origin: x, y
        self.sizes = _Slots(np.float32, 1)  # a text object's font size


class _PageReader:
    def __init__(self, page: ctypes.c_void_p, textpage: ctypes.c_void_p, known: Known) -> None:
        self.page, self.text, self.known = page, textpage, known
        self.turn = Turn(page)
        # Set when the page holds something this reader cannot vouch to read as pdfminer does.
        self.doubtful = False
        self.placements: dict[int, Placement] = {}  # by text object
        self.size = ctypes.c_float()
        self.size_ref = ctypes.byref(self.size)
        self.x, self.y = ctypes.c_double(), ctypes.c_double()
        self.origin_refs = (ctypes.byref(self.x), ctypes.byref(self.y))
        self.ink = [ctypes.c_double() for _ in range(4)]
        self.ink_refs = [ctypes.byref(side) for side in self.ink]

    def chars(self, sweeps: _Sweeps) -> PageChars:
        """The page's printed characters in content order, pdfium's own additions left out.

        pdfium is asked for every character's text object and loose box in two sweeps, for
        placement and baseline once per text object, and the rest is worked out on whole
        columns. A character is placed by its loose box when its text object is level on an
        unrotated page (as in nearly every BOL) and the box is as wide as the glyph's advance
        (no ink widened it, so its sides are the origin and the advance's end); others the
        slow way.
        """
        text = self.text
        count = calls.count_chars(text)
        codes = _codes(text, count) or "".join(chr(calls.unicode(text, i)) for i in range(count))
        self.doubtful = _DOUBTFUL_TEXT.search(codes) is not None
        points = codes_of(codes.translate(_HYPHEN_MARKS))
        objects = np.fromiter(map(calls.text_object, repeat(text, count), range(count)), np.uint64, count)
        box = sweeps.boxes.sweep(calls.loose_box, count, repeat(text, count), range(count)).astype(np.float64)
        # pdfium's own characters: those of no text object, and the spaces and line breaks
        # it generates though it names the text object they follow.
        printed = objects != 0
        for index in np.flatnonzero(printed & _GENERATED_KINDS[np.minimum(points, len(_GENERATED_KINDS) - 1)]).tolist():
            printed[index] = not calls.is_generated(text, index)
        indices = np.flatnonzero(printed)
        points, objects, box = points[indices], objects[indices], box[indices]
        # A text object's characters come one after another: a run each.
        starts = np.flatnonzero(np.concatenate((objects[:1] != 0, objects[1:] != objects[:-1])))
        run_objects, first = objects[starts].tolist(), indices[starts].tolist()
        places = self._placements(first, run_objects, sweeps)
        lengths = np.diff(starts, append=len(points))
        top, bottom = (np.repeat(side, lengths) for side in self._across(places, first, sweeps))
        left = self.turn.box[0]
        columns = [box[:, 0] - left, box[:, 2] - left, top, bottom,
                   np.repeat(np.array([place.upright for place in places], dtype=bool), lengths)]
        advance = self._advances(places, lengths, points)
        for at in np.flatnonzero(~(np.abs(box[:, 2] - box[:, 0] - advance) < _EPSILON)).tolist():
            index, char, place = int(indices[at]), chr(points[at]), self.placements[int(objects[at])]
            if place.inline:  # ink widened the box
                columns[0][at], columns[1][at] = (side - left for side in self._along(index, char, place, box[at]))
            else:
                for column, value in zip(columns, self._turned_char(index, char, place, box[at])[1:]):
                    column[at] = value
        chars = PageChars(points, *columns)
        if not self.doubtful and _split_glyphs(chars):
            self.doubtful = True
        ends = np.append(starts[1:], len(points)) - 1
        return self._restore_lost_spaces(chars, dict(zip(run_objects, ends.tolist())))

    def _placements(self, first: list[int], objects: list[int], sweeps: _Sweeps) -> list[Placement]:
        """Each text object's placement, given the objects and their first characters."""
        text, count = self.text, len(objects)
        matrices = sweeps.matrices.sweep(calls.char_matrix, count, repeat(text, count), first)
        sizes = sweeps.sizes.sweep(calls.object_font_size, count, map(ctypes.c_void_p, objects))
        keys = zip(map(calls.object_font, objects), sizes[:, 0].tolist(), *matrices[:, :4].T.tolist(),
                   repeat(self.turn.rotation))
        places = list(map(self._known_placement, keys))
        self.placements.update(zip(objects, places))
        return places

    def _across(self, places: list[Placement], first: list[int], sweeps: _Sweeps) -> tuple[np.ndarray, np.ndarray]:
        """pdfminer's top and bottom of each level text object's characters on an unrotated
        page (NaN for the others), given the objects' placements and first characters."""
        count = len(places)
        inline = np.array([place.inline for place in places], dtype=bool)
        scale = np.array([place.scale for place in places], dtype=np.float64)
        descent = np.array([place.font.descent for place in places], dtype=np.float64)
        low = sweeps.origins.sweep(calls.char_origin, count, repeat(self.text, count), first)[:, 1] + scale * descent
        high = low + scale
        page_top = self.turn.box[3]
        return (np.where(inline, page_top - np.maximum(low, high), np.nan),
                np.where(inline, page_top - np.minimum(low, high), np.nan))

    def _advances(self, places: list[Placement], lengths: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Each character's advance along the baseline: its glyph's width in the object's
        font, size and matrix (NaN for a character of an object not inline, or whose glyph
        pdfium cannot find). Worked out once per placement and code point."""
        keys = (np.repeat(np.array([place.number for place in places], dtype=np.int64), lengths) << 21) | points
        ordered = np.sort(keys)
        distinct = ordered[np.concatenate((ordered[:1] == ordered[:1], ordered[1:] != ordered[:-1]))]
        known, numbered = self.known.advances, {place.number: place for place in places}
        advances = [known[key] if key in known else self._advance(key, numbered[key >> 21])
                    for key in distinct.tolist()]
        return np.array(advances, dtype=np.float64)[np.searchsorted(distinct, keys)]

    def _advance(self, key: int, place: Placement) -> float:
        width = self.known.glyph_width(place.font, place.size, key & 0x1FFFFF) if place.inline else None
        advance = self.known.advances[key] = math.nan if width is None else abs(place.a * width)
        return advance

    def _along(self, index: int, char: str, place: Placement, box: np.ndarray) -> tuple[float, float]:
        """pdfminer's x0 and x1 of a level character whose ink may widen its loose box.

        A side of the loose box that the ink stops short of is the metric one (the origin,
        or the advance's end). Where the ink reaches it, the origin is asked of pdfium, and
        the advance's end is the origin plus the font's width of the glyph.
        """
        box_left, box_right = float(box[0]), float(box[2])
        calls.ink_box(self.text, index, *self.ink_refs)
        ink_left, ink_right = self.ink[0].value, self.ink[1].value
        metric = place.font.pdfium_ascent != place.font.pdfium_descent  # else the box is the ink
        left = box_left if metric and ink_left > box_left + _EPSILON else None
        right = box_right if metric and ink_right < box_right - _EPSILON else None
        if left is not None and right is not None:
            return left, right
        calls.char_origin(self.text, index, *self.origin_refs)
        origin = self.x.value
        forwards = place.a > 0
        if (forwards and right is not None) or (not forwards and left is not None):
            return (origin, right) if forwards else (left, origin)
        width = self.known.glyph_width(place.font, place.size, ord(char))
        if width is None:
            self.doubtful = True
            return box_left, box_right
        end = origin + place.a * width
        return (origin, end) if forwards else (end, origin)

    def _turned_char(self, index: int, char: str, place: Placement, box: np.ndarray) -> Char:
        """A character of turned text, or on a rotated page (rare: the slow way). A quarter
        turn is placed exactly; other angles take pdfium's loose box, and the page is doubtful."""
        calls.char_origin(self.text, index, *self.origin_refs)
        x, y, font = self.x.value, self.y.value, place.font
        box_left, box_top, box_right, box_bottom = map(float, box)
        if place.level and place.scale:
            low = y + place.scale * font.descent
            x0, x1 = self._along(index, char, place, box)
            return self.turn.char(char, x0, low, x1, low + place.scale, place.upright)
        if place.a == 0 and place.d == 0 and place.c * place.size:
            low = x + place.c * place.size * font.descent
            return self.turn.char(char, low, box_bottom, low + place.c * place.size, box_top, place.upright)
        self.doubtful = True
        return self.turn.char(char, box_left, box_bottom, box_right, box_top, place.upright)

    def _placement_with(self, obj: ctypes.c_void_p, matrix) -> Placement:
        calls.object_font_size(obj, self.size_ref)
        return self._known_placement((calls.object_font(obj.value), self.size.value, matrix.a, matrix.b, matrix.c,
                                      matrix.d, self.turn.rotation))

    def _known_placement(self, key: tuple) -> Placement:
        """The placement of a font, size, matrix (a b c d) and page rotation, worked out once."""
        found = self.known.placements.get(key)
        if found is None:
            font = key[0]
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
                          inline=b == 0 and c == 0 and scale != 0 and not self.turn.rotation, scale=scale,
                          number=len(self.known.placements))

    def _restore_lost_spaces(self, chars: PageChars, last_of_object: dict[int, int]) -> PageChars:
        """Put back the spaces pdfium left out, after the object printed before them; and
        doubt a page whose objects carry an /ActualText (pdfium reads it, pdfminer the glyphs).

        Every page object is visited, so the common one (a text object already read) costs
        a lookup and a count of its marks, nothing more.
        """
        positions: list[int] = []
        spaces: list[Char] = []
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
                    positions.append(position + 1)
                    spaces.append(space)
        if not spaces:
            return chars
        found = PageChars.of(spaces)
        return PageChars(*(np.insert(column, positions, new) for column, new in zip(chars, found)))

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


def _split_glyphs(chars: PageChars) -> bool:
    """Whether two characters in a row share one box: pdfium splits a ligature glyph (``ff``
    mapped to two letters) into letters with the same box, where pdfminer keeps one
    character over the glyph's whole advance, which this reader cannot ask pdfium for."""
    x0, x1 = chars.x0, chars.x1
    return bool(((x0[1:] == x0[:-1]) & (x1[1:] == x1[:-1]) & ~is_space(chars.codes[:-1])).any())


def _codes(text: ctypes.c_void_p, count: int) -> str | None:
    """The page's characters in one call, or None when they do not line up one to one with
    pdfium's character indices (a character outside the BMP takes two UTF-16 units)."""
    buffer = ctypes.create_string_buffer((count + 1) * 2)
    written = calls.page_text(text, 0, count, buffer)
    codes = buffer.raw[: max(written - 1, 0) * 2].decode("utf-16-le", errors="surrogatepass")
    if len(codes) != count or _SURROGATE.search(codes):
        return None
    return codes
