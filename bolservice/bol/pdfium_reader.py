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
from .pdfium_placing import Known, Placement, Turn

# Two lengths closer than this are the same: pdfium works in 32-bit floats.
_EPSILON = 1e-3
# pdfium leaves text objects narrower than this out of its text layer.
_DROPPED_WIDTH = 0.01
# What pdfium generates: spaces and line breaks, so only characters up to the space need
# the extra call to ask.
_HIGHEST_GENERATED = ord(" ")
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
            reader = _PageReader(page, textpage, known, sweeps)
            chars = reader.chars()
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
        self.inks = _Slots(np.float64, 4, pointer_per_value=True)  # a character's ink box: left, right, bottom, top
        self.sizes = _Slots(np.float32, 1)  # a text object's font size


class _PageReader:
    def __init__(self, page: ctypes.c_void_p, textpage: ctypes.c_void_p, known: Known, sweeps: _Sweeps) -> None:
        self.page, self.text, self.known, self.sweeps = page, textpage, known, sweeps
        self.turn = Turn(page)
        # Set when the page holds something this reader cannot vouch to read as pdfminer does.
        self.doubtful = False

    def chars(self) -> PageChars:
        """The page's printed characters in content order, pdfium's own additions left out.

        pdfium is asked for every character's text object and loose box in two sweeps, for
        placement and baseline once per text object, and the rest is worked out on whole
        columns. A character is placed by its loose box when its text object is level on an
        unrotated page (as in nearly every BOL) and the box is as wide as the glyph's advance
        (no ink widened it, so its sides are the origin and the advance's end); others the
        slow way.
        """
        text, sweeps = self.text, self.sweeps
        count = calls.count_chars(text)
        codes = _codes(text, count) or "".join(chr(calls.unicode(text, i)) for i in range(count))
        self.doubtful = _DOUBTFUL_TEXT.search(codes) is not None
        points = codes_of(codes.translate(_HYPHEN_MARKS))
        objects = np.fromiter(map(calls.text_object, repeat(text, count), range(count)), np.uint64, count)
        box = sweeps.boxes.sweep(calls.loose_box, count, repeat(text, count), range(count)).astype(np.float64)
        # pdfium's own characters: those of no text object, and the spaces and line breaks
        # it generates though it names the text object they follow.
        printed = objects != 0
        asked = (printed & (points <= _HIGHEST_GENERATED)).nonzero()[0].tolist()
        if asked:
            printed[asked] = np.fromiter(map(calls.is_generated, repeat(text, len(asked)), asked), np.int32) == 0
        indices = printed.nonzero()[0]
        points, objects, box = points[indices], objects[indices], box[indices]
        # A text object's characters come one after another: a run each.
        bounds = np.concatenate((objects[:1] != 0, objects[1:] != objects[:-1], [True])).nonzero()[0]
        starts, lengths = bounds[:-1], bounds[1:] - bounds[:-1]
        run_objects, first = objects[starts].tolist(), indices[starts].tolist()
        runs = self._placements(first, run_objects)
        numbers = runs.repeat(lengths)
        per = self.known.columns
        top, bottom = (side.repeat(lengths) for side in self._across(runs, first))
        left = self.turn.box[0]
        columns = [box[:, 0] - left, box[:, 2] - left, top, bottom, per.upright[numbers]]
        steps = self.known.steps(numbers, points)
        odd = (~(np.abs(box[:, 2] - box[:, 0] - np.abs(steps)) < _EPSILON) | ~per.inline[numbers]).nonzero()[0]
        if len(odd):
            self._place_odd(odd, columns, indices, numbers, points, box, steps)
        chars = PageChars(points, *columns)
        if not self.doubtful and _split_glyphs(chars):
            self.doubtful = True
        return self._restore_lost_spaces(chars, dict(zip(run_objects, (bounds[1:] - 1).tolist())))

    def _placements(self, first: list[int], objects: list[int]) -> np.ndarray:
        """Each text object's placement number, given the objects and their first characters."""
        text, count, known, sweeps = self.text, len(objects), self.known, self.sweeps
        matrices = sweeps.matrices.sweep(calls.char_matrix, count, repeat(text, count), first)
        sizes = sweeps.sizes.sweep(calls.object_font_size, count, map(ctypes.c_void_p, objects))
        keys = list(zip(map(calls.object_font, objects), sizes[:, 0].tolist(), *matrices[:, :4].T.tolist(),
                        repeat(self.turn.rotation)))
        numbers = list(map(known.numbers.get, keys, repeat(-1)))
        if -1 in numbers:
            numbers = [known.number(key, self.turn) if number < 0 else number for key, number in zip(keys, numbers)]
        runs = np.array(numbers, dtype=np.int64)
        if known.doubtful_fonts and known.columns.doubtful[runs].any():
            self.doubtful = True
        return runs

    def _across(self, runs: np.ndarray, first: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """pdfminer's top and bottom of each level text object's characters on an unrotated
        page (NaN for the others), given the objects' placement numbers and first characters."""
        count, per = len(runs), self.known.columns
        scale = per.scale[runs]
        low = self.sweeps.origins.sweep(calls.char_origin, count, repeat(self.text, count), first)[:, 1]
        low = low + scale * per.descent[runs]
        high = low + scale
        top, bottom = self.turn.box[3] - np.maximum(low, high), self.turn.box[3] - np.minimum(low, high)
        inline = per.inline[runs]
        if not inline.all():
            top[~inline] = bottom[~inline] = np.nan
        return top, bottom

    def _place_odd(self, odd: np.ndarray, columns: list[np.ndarray], indices: np.ndarray, numbers: np.ndarray,
                   points: np.ndarray, box: np.ndarray, steps: np.ndarray) -> None:
        """Place the characters not placed by their loose boxes alone: level ones whose ink
        may widen the box, then turned ones or those on a rotated page, one by one."""
        per, left = self.known.columns, self.turn.box[0]
        level = odd[per.level[numbers[odd]]]
        x0, x1 = self._along(indices[level], numbers[level], box[level], steps[level])
        inline = per.inline[numbers[level]]
        columns[0][level[inline]], columns[1][level[inline]] = x0[inline] - left, x1[inline] - left
        along = dict(zip(level.tolist(), zip(x0.tolist(), x1.tolist())))
        for at in odd[~per.inline[numbers[odd]]].tolist():
            place = self.known.placements[numbers[at]]
            char = self._turned_char(int(indices[at]), chr(points[at]), place, box[at], along.get(at))
            for column, value in zip(columns, char[1:]):
                column[at] = value

    def _along(self, indices: np.ndarray, numbers: np.ndarray, box: np.ndarray,
               steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """pdfminer's x0 and x1 of level characters whose ink may widen their loose boxes.

        A side of the loose box that the ink stops short of is the metric one (the origin,
        or the advance's end). Where the ink reaches it, the origin is asked of pdfium, and
        the advance's end is the origin plus the character's step.
        """
        text, count, per = self.text, len(indices), self.known.columns
        ink = self.sweeps.inks.sweep(calls.ink_box, count, repeat(text, count), indices.tolist())
        x0, x1 = box[:, 0].copy(), box[:, 2].copy()
        metric = per.metric[numbers]  # else the loose box is the ink
        keep_left, keep_right = metric & (ink[:, 0] > x0 + _EPSILON), metric & (ink[:, 1] < x1 - _EPSILON)
        asked = np.flatnonzero(~(keep_left & keep_right))
        if not len(asked):
            return x0, x1
        origin = self.sweeps.origins.sweep(calls.char_origin, len(asked), repeat(text, len(asked)),
                                           indices[asked].tolist())[:, 0].copy()
        forwards = per.forwards[numbers[asked]]
        from_left, from_right = forwards & keep_right[asked], ~forwards & keep_left[asked]
        end = origin + steps[asked]
        by_step = ~(from_left | from_right)
        if np.isnan(end[by_step]).any():  # no glyph width: the loose box is kept
            self.doubtful = True
        by_step &= ~np.isnan(end)
        x0[asked[from_left]], x1[asked[from_right]] = origin[from_left], origin[from_right]
        x0[asked[by_step]] = np.where(forwards, origin, end)[by_step]
        x1[asked[by_step]] = np.where(forwards, end, origin)[by_step]
        return x0, x1

    def _turned_char(self, index: int, char: str, place: Placement, box: np.ndarray,
                     along: tuple[float, float] | None) -> Char:
        """A character of turned text, or on a rotated page (rare: the slow way), given its
        x0 and x1 when it is level. A quarter turn is placed exactly; other angles take
        pdfium's loose box, and the page is doubtful."""
        x, y = ctypes.c_double(), ctypes.c_double()
        calls.char_origin(self.text, index, ctypes.byref(x), ctypes.byref(y))
        font = place.font
        box_left, box_top, box_right, box_bottom = map(float, box)
        if along is not None and place.scale:
            low = y.value + place.scale * font.descent
            return self.turn.char(char, along[0], low, along[1], low + place.scale, place.upright)
        if place.a == 0 and place.d == 0 and place.c * place.size:
            low = x.value + place.c * place.size * font.descent
            return self.turn.char(char, low, box_bottom, low + place.c * place.size, box_top, place.upright)
        self.doubtful = True
        return self.turn.char(char, box_left, box_bottom, box_right, box_top, place.upright)

    def _placement_of(self, obj: ctypes.c_void_p, matrix) -> Placement:
        size = ctypes.c_float()
        calls.object_font_size(obj, ctypes.byref(size))
        number = self.known.number((calls.object_font(obj.value), size.value, matrix.a, matrix.b, matrix.c,
                                    matrix.d, self.turn.rotation), self.turn)
        place = self.known.placements[number]
        if place.font.doubtful:
            self.doubtful = True
        return place

    def _restore_lost_spaces(self, chars: PageChars, last_of_object: dict[int, int]) -> PageChars:
        """Put back the spaces pdfium left out, after the object printed before them; and
        doubt a page whose objects carry an /ActualText (pdfium reads it, pdfminer the glyphs).

        The page objects are listed in one sweep; the common one, a text object already
        read, costs a lookup and a count of its marks, nothing more.
        """
        page = self.page
        count = calls.page_object_count(page)
        objects = list(map(calls.page_object, repeat(page, count), range(count)))
        found = list(map(last_of_object.get, objects))
        read = [obj for obj, position in zip(objects, found) if position is not None]
        if any(map(calls.object_mark_count, read)) and any(map(calls.has_actual_text, read)):
            self.doubtful = True
        if None not in found:
            return chars
        positions: list[int] = []
        spaces: list[Char] = []
        position = -1
        for obj, known in zip(objects, found):
            if known is not None:
                position = known
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
        new = PageChars.of(spaces)
        return PageChars(*(np.insert(column, positions, values) for column, values in zip(chars, new)))

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
        place = self._placement_of(text, matrix)
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
    codes = ctypes.string_at(buffer, max(written - 1, 0) * 2).decode("utf-16-le", errors="surrogatepass")
    if len(codes) != count or _SURROGATE.search(codes):
        return None
    return codes
