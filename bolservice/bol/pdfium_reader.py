"""PDF → page lines with pypdfium2, character by character, as pdfplumber would read them.

pdfium finds each printed character, its Unicode value and its box about ten times faster
than pdfminer. The characters are placed where pdfminer places them and handed to
``lines.pages_lines``, which applies pdfplumber's rules, so the lines are pdfplumber's:

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
import re
from collections.abc import Collection, Iterable, Iterator
from itertools import chain, repeat

import numpy as np

from . import pdfium_calls as calls
from .errors import BolInputError, UnreadablePdfError
from .lines import Char, PageChars, codes_of, is_space, pages_lines
from .pagetree import check_page_tree
from .pdffile import PageText, PdfSource, check_page_count, checked_stream
from .pdfium_placing import Known, Placement, Turn

# A batch of pages read together: at most so many pages, and no more once they hold so
# many characters.
_BATCH_PAGES, _BATCH_CHARS = 16, 20_000
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
    """Each page's lines, in page order; with ``pages`` (page numbers from 1), only those
    pages'. Pages are read a batch at a time (``_BATCH_PAGES``, ``_BATCH_CHARS``), so
    that the steps whose cost does not depend on how much a page holds, most of them, are
    taken once a batch rather than once a page. A damaged page is refused before any is
    read (``check_page_tree``): pdfium would fail to load it, read it blank or miss it."""
    with checked_stream(source) as stream, calls.Document(source, stream) as document:
        check_page_count(document.pages, max_pages)
        check_page_tree(stream, max_pages)
        known, sweeps = Known(), calls.Sweeps.of_this_thread()
        batch: list[_LoadedPage] = []
        try:
            for index in range(document.pages):
                if pages is not None and index + 1 not in pages:
                    continue
                batch.append(_LoadedPage(document.handle, index))
                if len(batch) == _BATCH_PAGES or sum(page.count for page in batch) >= _BATCH_CHARS:
                    readings = _Batch(batch, known, sweeps).readings()
                    _close(batch)
                    yield from readings
            if batch:
                readings = _Batch(batch, known, sweeps).readings()
                _close(batch)
                yield from readings
        finally:
            _close(batch)


def pdfium_page_count(source: PdfSource) -> int | None:
    """How many pages pdfium finds in the PDF; None if it cannot open it."""
    try:
        with checked_stream(source) as stream, calls.Document(source, stream) as document:
            return document.pages
    except BolInputError:
        return None


class _LoadedPage:
    """A page loaded in pdfium with its text (raw handles: pypdfium2's page objects cost
    more to make and close than a short page's read)."""

    def __init__(self, document: ctypes.c_void_p, index: int) -> None:
        self.index, self.text = index, None
        page = calls.load_page(document, index)
        if not page:
            raise UnreadablePdfError(
                f"page {index + 1} of the PDF could not be read; it may be damaged, so export it again")
        self.page = ctypes.c_void_p(page)
        text = calls.load_textpage(self.page)
        if not text:
            self.close()
            raise UnreadablePdfError(
                f"the text of page {index + 1} could not be read; the PDF may be damaged, so export it again")
        self.text = ctypes.c_void_p(text)
        self.count = calls.count_chars(self.text)
        self.turn = Turn(self.page)

    def close(self) -> None:
        if self.text is not None:
            calls.close_textpage(self.text)
            self.text = None
        if self.page is not None:
            calls.close_page(self.page)
            self.page = None


def _close(batch: list[_LoadedPage]) -> None:
    while batch:
        batch.pop().close()


class _Batch:
    """The reading of a batch of loaded pages, their characters one after another."""

    def __init__(self, pages: list[_LoadedPage], known: Known, sweeps: calls.Sweeps) -> None:
        self.pages, self.known, self.sweeps = pages, known, sweeps
        self.texts = [page.text for page in pages]
        # Each page's left and top edges and rotation, to index by page number.
        self.lefts = np.array([page.turn.box[0] for page in pages])
        self.tops = np.array([page.turn.box[3] for page in pages])
        self.rotations = [page.turn.rotation for page in pages]
        # A page is doubtful when it holds something this reader cannot vouch to read as
        # pdfminer does.
        self.doubtful = [False] * len(pages)

    def readings(self) -> list[PageText]:
        chars, starts = self.chars()
        return [PageText(lines, scanned=starts[number] == starts[number + 1] and calls.has_image(page.page),
                         doubtful=self.doubtful[number])
                for number, (page, lines) in enumerate(zip(self.pages, pages_lines(chars, starts)))]

    def chars(self) -> tuple[PageChars, np.ndarray]:
        """The pages' printed characters in content order, pdfium's own additions left out,
        and where each page's start among them (with the end of the last).

        pdfium is asked for every character's text object and loose box in two sweeps, for
        placement and baseline once per text object, and the rest is worked out on whole
        columns. A character is placed by its loose box when its text object is level on an
        unrotated page (as in nearly every BOL) and the box is as wide as the glyph's advance
        (no ink widened it, so its sides are the origin and the advance's end); others the
        slow way.
        """
        pages, sweeps = self.pages, self.sweeps
        counts = [page.count for page in pages]
        total = sum(counts)
        codes = [_codes(page.text, page.count) or "".join(chr(calls.unicode(page.text, i)) for i in range(page.count))
                 for page in pages]
        self.doubtful = [_DOUBTFUL_TEXT.search(text) is not None for text in codes]
        points = codes_of("".join(codes).translate(_HYPHEN_MARKS))
        objects = np.fromiter(map(calls.text_object, self._each_text(counts), _each_index(counts)), np.uint64, total)
        box = sweeps.boxes.sweep(calls.loose_box, total, self._each_text(counts), _each_index(counts))
        box = box.astype(np.float64)
        page_of = np.arange(len(pages)).repeat(counts)
        index = np.arange(total) - np.cumsum([0, *counts[:-1]])[page_of]  # on its page
        # pdfium's own characters: those of no text object, and the spaces and line breaks
        # it generates though it names the text object they follow.
        printed = objects != 0
        asked = (printed & (points <= _HIGHEST_GENERATED)).nonzero()[0]
        if len(asked):
            answers = map(calls.is_generated, self._texts_of(page_of[asked]), index[asked].tolist())
            printed[asked] = np.fromiter(answers, np.int32, len(asked)) == 0
        kept = printed.nonzero()[0]
        points, objects, box, page_of, index = points[kept], objects[kept], box[kept], page_of[kept], index[kept]
        # A text object's characters come one after another: a run each.
        bounds = np.concatenate((objects[:1] != 0, objects[1:] != objects[:-1], [True])).nonzero()[0]
        starts, lengths = bounds[:-1], bounds[1:] - bounds[:-1]
        run_objects, run_pages, first = objects[starts].tolist(), page_of[starts], index[starts].tolist()
        runs = self._placements(run_pages, first, run_objects)
        numbers = runs.repeat(lengths)
        per = self.known.columns
        top, bottom = (side.repeat(lengths) for side in self._across(runs, run_pages, first))
        left = self.lefts[page_of]
        columns = [box[:, 0] - left, box[:, 2] - left, top, bottom, per.upright[numbers]]
        steps = self.known.steps(numbers, points, sweeps)
        odd = (~(np.abs(box[:, 2] - box[:, 0] - np.abs(steps)) < _EPSILON) | ~per.inline[numbers]).nonzero()[0]
        if len(odd):
            self._place_odd(odd, columns, page_of, index, numbers, points, box, steps)
        chars = PageChars(points, *columns)
        self._doubt(_split_glyphs(chars, page_of))
        return self._restore_lost_spaces(chars, page_of, dict(zip(run_objects, (bounds[1:] - 1).tolist())))

    def _each_text(self, counts: list[int]) -> Iterator[ctypes.c_void_p]:
        return chain.from_iterable(map(repeat, self.texts, counts))

    def _texts_of(self, pages: np.ndarray) -> list[ctypes.c_void_p]:
        return list(map(self.texts.__getitem__, pages.tolist()))

    def _doubt(self, pages: Iterable[int]) -> None:
        for number in pages:
            self.doubtful[number] = True

    def _placements(self, run_pages: np.ndarray, first: list[int], objects: list[int]) -> np.ndarray:
        """Each text object's placement number, given the objects, their pages and first
        characters."""
        count, known, sweeps = len(objects), self.known, self.sweeps
        matrices = sweeps.matrices.sweep(calls.char_matrix, count, self._texts_of(run_pages), first)
        sizes = sweeps.sizes.sweep(calls.object_font_size, count, map(ctypes.c_void_p, objects))
        on_page = run_pages.tolist()
        rotations = map(self.rotations.__getitem__, on_page)
        keys = list(zip(map(calls.object_font, objects), sizes[:, 0].tolist(), *matrices[:, :4].T.tolist(), rotations))
        numbers = list(map(known.numbers.get, keys, repeat(-1)))
        if -1 in numbers:
            numbers = [known.number(key, self.pages[page].turn) if number < 0 else number
                       for key, number, page in zip(keys, numbers, on_page)]
        runs = np.array(numbers, dtype=np.int64)
        if known.doubtful_fonts:
            self._doubt(set(run_pages[known.columns.doubtful[runs]].tolist()))
        return runs

    def _across(self, runs: np.ndarray, run_pages: np.ndarray, first: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """pdfminer's top and bottom of each level text object's characters on an unrotated
        page (NaN for the others), given the objects' placement numbers, pages and first
        characters."""
        count, per = len(runs), self.known.columns
        scale = per.scale[runs]
        low = self.sweeps.origins.sweep(calls.char_origin, count, self._texts_of(run_pages), first)[:, 1]
        low = low + scale * per.descent[runs]
        high = low + scale
        page_top = self.tops[run_pages]
        top, bottom = page_top - np.maximum(low, high), page_top - np.minimum(low, high)
        inline = per.inline[runs]
        if not inline.all():
            top[~inline] = bottom[~inline] = np.nan
        return top, bottom

    def _place_odd(self, odd: np.ndarray, columns: list[np.ndarray], page_of: np.ndarray, index: np.ndarray,
                   numbers: np.ndarray, points: np.ndarray, box: np.ndarray, steps: np.ndarray) -> None:
        """Place the characters not placed by their loose boxes alone: level ones whose ink
        may widen the box, then turned ones or those on a rotated page, one by one."""
        per = self.known.columns
        level = odd[per.level[numbers[odd]]]
        x0, x1 = self._along(page_of[level], index[level], numbers[level], box[level], steps[level])
        inline = per.inline[numbers[level]]
        at = level[inline]
        left = self.lefts[page_of[at]]
        columns[0][at], columns[1][at] = x0[inline] - left, x1[inline] - left
        along = dict(zip(level.tolist(), zip(x0.tolist(), x1.tolist())))
        for at in odd[~per.inline[numbers[odd]]].tolist():
            char = self._turned_char(int(page_of[at]), int(index[at]), chr(points[at]),
                                     self.known.placements[numbers[at]], box[at], along.get(at))
            for column, value in zip(columns, char[1:]):
                column[at] = value

    def _along(self, pages: np.ndarray, indices: np.ndarray, numbers: np.ndarray, box: np.ndarray,
               steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """pdfminer's x0 and x1 of level characters whose ink may widen their loose boxes.

        A side of the loose box that the ink stops short of is the metric one (the origin,
        or the advance's end). Where the ink reaches it, the origin is asked of pdfium, and
        the advance's end is the origin plus the character's step.
        """
        count, per = len(indices), self.known.columns
        ink = self.sweeps.inks.sweep(calls.ink_box, count, self._texts_of(pages), indices.tolist())
        x0, x1 = box[:, 0].copy(), box[:, 2].copy()
        metric = per.metric[numbers]  # else the loose box is the ink
        keep_left, keep_right = metric & (ink[:, 0] > x0 + _EPSILON), metric & (ink[:, 1] < x1 - _EPSILON)
        asked = (~(keep_left & keep_right)).nonzero()[0]
        if not len(asked):
            return x0, x1
        origin = self.sweeps.origins.sweep(calls.char_origin, len(asked), self._texts_of(pages[asked]),
                                           indices[asked].tolist())[:, 0].copy()
        forwards = per.forwards[numbers[asked]]
        from_left, from_right = forwards & keep_right[asked], ~forwards & keep_left[asked]
        end = origin + steps[asked]
        by_step = ~(from_left | from_right)
        unknown = by_step & np.isnan(end)  # no glyph width: the loose box is kept
        self._doubt(set(pages[asked[unknown]].tolist()))
        by_step &= ~unknown
        x0[asked[from_left]], x1[asked[from_right]] = origin[from_left], origin[from_right]
        x0[asked[by_step]] = np.where(forwards, origin, end)[by_step]
        x1[asked[by_step]] = np.where(forwards, end, origin)[by_step]
        return x0, x1

    def _turned_char(self, number: int, index: int, char: str, place: Placement, box: np.ndarray,
                     along: tuple[float, float] | None) -> Char:
        """A character of turned text, or on a rotated page (rare: the slow way), given its
        page's number in the batch, and its x0 and x1 when it is level. A quarter turn is
        placed exactly; other angles take pdfium's loose box, and the page is doubtful."""
        x, y = ctypes.c_double(), ctypes.c_double()
        calls.char_origin(self.texts[number], index, ctypes.byref(x), ctypes.byref(y))
        font, turn = place.font, self.pages[number].turn
        box_left, box_top, box_right, box_bottom = map(float, box)
        if along is not None and place.scale:
            low = y.value + place.scale * font.descent
            return turn.char(char, along[0], low, along[1], low + place.scale, place.upright)
        if place.a == 0 and place.d == 0 and place.c * place.size:
            low = x.value + place.c * place.size * font.descent
            return turn.char(char, low, box_bottom, low + place.c * place.size, box_top, place.upright)
        self._doubt([number])
        return turn.char(char, box_left, box_bottom, box_right, box_top, place.upright)

    def _restore_lost_spaces(self, chars: PageChars, page_of: np.ndarray,
                             last_of_object: dict[int, int]) -> tuple[PageChars, np.ndarray]:
        """Put back the spaces pdfium left out, after the object printed before them; and
        doubt a page whose objects carry an /ActualText (pdfium reads it, pdfminer the
        glyphs). Returns the characters and where each page starts among them.

        A page's objects are listed in one sweep; the common one, a text object already
        read, costs a lookup and a count of its marks, nothing more.
        """
        positions: list[int] = []
        spaces: list[Char] = []
        on_pages: list[int] = []
        first = np.searchsorted(page_of, np.arange(len(self.pages)))
        for number, page in enumerate(self.pages):
            count = calls.page_object_count(page.page)
            objects = list(map(calls.page_object, repeat(page.page, count), range(count)))
            found = list(map(last_of_object.get, objects))
            read = [obj for obj, position in zip(objects, found) if position is not None]
            if any(map(calls.object_mark_count, read)) and any(map(calls.has_actual_text, read)):
                self._doubt([number])
            if None not in found:
                continue
            position = int(first[number]) - 1
            for obj, known in zip(objects, found):
                if known is not None:
                    position = known
                    continue
                for text in calls.objects_of_kind(obj, calls.TEXT) if obj else ():
                    if text in last_of_object:  # read from inside a form
                        position = last_of_object[text]
                        continue
                    space = self._lost_space(number, text)
                    if space is not None:
                        positions.append(position + 1)
                        spaces.append(space)
                        on_pages.append(number)
        if spaces:
            new = PageChars.of(spaces)
            chars = PageChars(*(np.insert(column, positions, values) for column, values in zip(chars, new)))
            page_of = np.insert(page_of, positions, on_pages)
        return chars, np.searchsorted(page_of, np.arange(len(self.pages) + 1))

    def _lost_space(self, number: int, obj: int) -> Char | None:
        """A space where pdfium dropped a text object for having (next to) no width, given
        its page's number in the batch.

        Its text cannot be asked of pdfium once dropped; a glyph of no width is taken for a
        space, as pdfminer reads the space glyphs that browsers print this way. Any other
        dropped object (a copy printed over itself for bold, text of size 0) makes the page
        doubtful: pdfminer reads its characters.
        """
        text = ctypes.c_void_p(obj)
        left, bottom, right, top = (ctypes.c_float() for _ in range(4))
        calls.object_bounds(text, *map(ctypes.byref, (left, bottom, right, top)))
        matrix, size = calls.MATRIX(), ctypes.c_float()
        calls.object_matrix(text, ctypes.byref(matrix))
        calls.object_font_size(text, ctypes.byref(size))
        turn = self.pages[number].turn
        place = self.known.placements[self.known.number(
            (calls.object_font(obj), size.value, matrix.a, matrix.b, matrix.c, matrix.d, turn.rotation), turn)]
        if place.font.doubtful:
            self._doubt([number])
        if min(right.value - left.value, top.value - bottom.value) >= _DROPPED_WIDTH or not place.size:
            self._doubt([number])
            return None
        x, y = matrix.e, matrix.f  # the object's origin: where its baseline starts
        if place.level:
            low = y + place.scale * place.font.descent
            return turn.char(" ", x, low, x, low + place.scale, place.upright)
        low = x + place.c * place.size * place.font.descent
        return turn.char(" ", low, y, low + place.c * place.size, y, place.upright)


def _each_index(counts: list[int]) -> Iterator[int]:
    """Each character's index on its page, for pages of ``counts`` characters."""
    return chain.from_iterable(map(range, counts))


def _split_glyphs(chars: PageChars, page_of: np.ndarray) -> set[int]:
    """The pages where two characters in a row share one box: pdfium splits a ligature glyph
    (``ff`` mapped to two letters) into letters with the same box, where pdfminer keeps one
    character over the glyph's whole advance, which this reader cannot ask pdfium for."""
    x0, x1 = chars.x0, chars.x1
    shared = (x0[1:] == x0[:-1]) & (x1[1:] == x1[:-1]) & ~is_space(chars.codes[:-1]) & (page_of[1:] == page_of[:-1])
    return set(page_of[1:][shared].tolist())


def _codes(text: ctypes.c_void_p, count: int) -> str | None:
    """The page's characters in one call, or None when they do not line up one to one with
    pdfium's character indices (a character outside the BMP takes two UTF-16 units)."""
    buffer = ctypes.create_string_buffer((count + 1) * 2)
    written = calls.page_text(text, 0, count, buffer)
    codes = ctypes.string_at(buffer, max(written - 1, 0) * 2).decode("utf-16-le", errors="surrogatepass")
    if len(codes) != count or _SURROGATE.search(codes):
        return None
    return codes
