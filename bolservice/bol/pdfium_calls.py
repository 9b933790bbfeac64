"""The pdfium functions the pdfium reader calls, bound for speed; the document they are
called on; the sweeps that call them over a page's characters; and the walk of page objects.

The reader makes a few calls per printed character, so each function is bound here without
ctypes' argument conversion (the converting wrappers of ``pypdfium2.raw`` take three times
as long as the call itself), and keeps the GIL over the call (releasing and taking it back
costs more than most of these calls: pdfium is not thread-safe, so only one thread of a
process ever calls it). Handles are passed as ``ctypes.c_void_p``, numbers as ctypes
values, and results are read from ctypes objects.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np
import pypdfium2
import pypdfium2.raw as pdfium_c

from .pdffile import PdfSource, unreadable


def _bind(name: str, restype, argtypes=None):
    function = getattr(pdfium_c, name)
    fast = ctypes.PYFUNCTYPE(restype)(ctypes.cast(function, ctypes.c_void_p).value)
    fast.argtypes = argtypes
    return fast


# Functions of one object take its address as a plain int: the one conversion that is cheap.
_OBJECT = (ctypes.c_void_p,)


def handle(pointer) -> ctypes.c_void_p:
    """A pypdfium2 handle as the plain pointer the bound functions take."""
    return ctypes.c_void_p(ctypes.cast(pointer, ctypes.c_void_p).value)


load_document = _bind("FPDF_LoadDocument", ctypes.c_void_p)
load_memory_document = _bind("FPDF_LoadMemDocument64", ctypes.c_void_p)
close_document = _bind("FPDF_CloseDocument", None)
page_count = _bind("FPDF_GetPageCount", ctypes.c_int)
last_error = _bind("FPDF_GetLastError", ctypes.c_ulong)
load_page = _bind("FPDF_LoadPage", ctypes.c_void_p)
close_page = _bind("FPDF_ClosePage", None)
page_rotation = _bind("FPDFPage_GetRotation", ctypes.c_int)
media_box = _bind("FPDFPage_GetMediaBox", ctypes.c_int)
page_width = _bind("FPDF_GetPageWidthF", ctypes.c_float)
page_height = _bind("FPDF_GetPageHeightF", ctypes.c_float)

load_textpage = _bind("FPDFText_LoadPage", ctypes.c_void_p)
close_textpage = _bind("FPDFText_ClosePage", None)
count_chars = _bind("FPDFText_CountChars", ctypes.c_int)
page_text = _bind("FPDFText_GetText", ctypes.c_int)
unicode = _bind("FPDFText_GetUnicode", ctypes.c_uint)
is_generated = _bind("FPDFText_IsGenerated", ctypes.c_int)
text_object = _bind("FPDFText_GetTextObject", ctypes.c_size_t)  # an address; 0 for none
loose_box = _bind("FPDFText_GetLooseCharBox", ctypes.c_int)
ink_box = _bind("FPDFText_GetCharBox", ctypes.c_int)
char_origin = _bind("FPDFText_GetCharOrigin", ctypes.c_int)
char_matrix = _bind("FPDFText_GetMatrix", ctypes.c_int)

object_font = _bind("FPDFTextObj_GetFont", ctypes.c_void_p, _OBJECT)
object_font_size = _bind("FPDFTextObj_GetFontSize", ctypes.c_int)
object_bounds = _bind("FPDFPageObj_GetBounds", ctypes.c_int)
object_matrix = _bind("FPDFPageObj_GetMatrix", ctypes.c_int)
object_type = _bind("FPDFPageObj_GetType", ctypes.c_int, _OBJECT)
object_mark_count = _bind("FPDFPageObj_CountMarks", ctypes.c_int, _OBJECT)
object_mark = _bind("FPDFPageObj_GetMark", ctypes.c_void_p)
mark_value_type = _bind("FPDFPageObjMark_GetParamValueType", ctypes.c_int)
page_object_count = _bind("FPDFPage_CountObjects", ctypes.c_int)
page_object = _bind("FPDFPage_GetObject", ctypes.c_void_p)
form_object_count = _bind("FPDFFormObj_CountObjects", ctypes.c_int, _OBJECT)
form_object = _bind("FPDFFormObj_GetObject", ctypes.c_void_p)

font_ascent = _bind("FPDFFont_GetAscent", ctypes.c_int)
font_descent = _bind("FPDFFont_GetDescent", ctypes.c_int)
font_base_name = _bind("FPDFFont_GetBaseFontName", ctypes.c_size_t)
glyph_width = _bind("FPDFFont_GetGlyphWidth", ctypes.c_int)

TEXT, IMAGE, FORM = pdfium_c.FPDF_PAGEOBJ_TEXT, pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_FORM
RECT, MATRIX = pdfium_c.FS_RECTF, pdfium_c.FS_MATRIX


def page_objects(page: ctypes.c_void_p) -> Iterator[int]:
    """The addresses of the page's top-level objects, in content order."""
    for index in range(page_object_count(page)):
        obj = page_object(page, index)
        if obj:
            yield obj


def objects_of_kind(obj: int, kind: int) -> Iterator[int]:
    """``obj`` if it is of ``kind``; if it is a form, those of its objects that are."""
    found = object_type(obj)
    if found == kind:
        yield obj
    elif found == FORM:
        form = ctypes.c_void_p(obj)
        for index in range(form_object_count(obj)):
            child = form_object(form, index)
            if child:
                yield from objects_of_kind(child, kind)


def has_image(page: ctypes.c_void_p) -> bool:
    return any(True for obj in page_objects(page) for _ in objects_of_kind(obj, IMAGE))


def has_actual_text(obj: int) -> bool:
    """Whether the object is in marked content that gives an /ActualText for its glyphs."""
    text = ctypes.c_void_p(obj)
    return any(mark_value_type(ctypes.c_void_p(object_mark(text, index)), b"ActualText")
               for index in range(object_mark_count(obj)))


class Document:
    """A PDF open in pdfium: its handle and page count, closed on leaving.

    A path or bytes are handed to pdfium as they are, a stream through pypdfium2's read
    callbacks. pypdfium2's document object is not made for the first two: making and
    closing it (it resolves the path, and keeps helpers) takes 0.15 ms, as long as reading
    a short page does.
    """

    _ERRORS = {pdfium_c.FPDF_ERR_FILE: "file access error", pdfium_c.FPDF_ERR_FORMAT: "data format error",
               pdfium_c.FPDF_ERR_PASSWORD: "incorrect password", pdfium_c.FPDF_ERR_SECURITY:
               "unsupported security scheme", pdfium_c.FPDF_ERR_PAGE: "page not found or content error"}

    def __init__(self, source: PdfSource, stream: BinaryIO) -> None:
        self.wrapped: pypdfium2.PdfDocument | None = None
        self.source = source  # pdfium reads bytes in place: they are kept until the close
        if isinstance(source, bytes):
            handle = load_memory_document(source, ctypes.c_size_t(len(source)), None)
        elif isinstance(source, str | os.PathLike):
            handle = load_document(os.fsencode(source), None)
        else:
            try:
                self.wrapped = pypdfium2.PdfDocument(stream)
            except pypdfium2.PdfiumError as error:
                message = str(error)
                raise unreadable(message, encrypted="password" in message.lower()) from error
            handle = ctypes.cast(self.wrapped.raw, ctypes.c_void_p).value
        self.handle = ctypes.c_void_p(handle)
        self.pages = page_count(self.handle) if handle else 0
        if self.pages < 1:  # as pypdfium2 has it: a PDF without pages is not one
            error = last_error()
            self.close()
            raise unreadable(f"pdfium: {self._ERRORS.get(error, 'unknown error')}",
                             encrypted=error == pdfium_c.FPDF_ERR_PASSWORD)

    def close(self) -> None:
        if self.wrapped is not None:
            self.wrapped.close()
        elif self.handle:
            close_document(self.handle)
        self.handle = ctypes.c_void_p()

    def __enter__(self) -> Document:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class Slots:
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
        deque(map(function, *arguments, *self._pointers(count)), maxlen=0)
        return self.array[:count]

    def ask(self, function, count: int, *arguments: Iterable) -> tuple[np.ndarray, np.ndarray]:
        """The rows written, as ``sweep``, and each call's answer."""
        answers = np.fromiter(map(function, *arguments, *self._pointers(count)), np.int64, count)
        return self.array[:count], answers

    def _pointers(self, count: int) -> list[list[ctypes.c_void_p]]:
        if count > len(self.array):
            array = self.array = np.empty((max(count, 2 * len(self.array)), self.array.shape[1]), self.array.dtype)
            base, row, value = array.ctypes.data, array.strides[0], array.strides[1]
            offsets = range(0, row, value) if self.pointer_per_value else [0]
            self.pointers = [list(map(ctypes.c_void_p, range(base + offset, base + len(array) * row, row)))
                             for offset in offsets]
        return self.pointers


class Sweeps:
    """The slots of a reading: pdfium's answers for a batch of pages' characters, text
    objects and glyphs, each kind in its own array. Made once per thread (making the
    pointers costs as much as a short document's read); documents read in turn share
    them, since a batch's reading is done with them before the next batch is read."""

    _local = threading.local()

    @classmethod
    def of_this_thread(cls) -> Sweeps:
        if not hasattr(cls._local, "sweeps"):
            cls._local.sweeps = cls()
        return cls._local.sweeps

    def __init__(self) -> None:
        self.boxes = Slots(np.float32, 4)  # a character's loose box: left, top, right, bottom
        self.matrices = Slots(np.float32, 6)  # a character's matrix: a, b, c, d, e, f
        self.origins = Slots(np.float64, 2, pointer_per_value=True)  # a character's origin: x, y
        self.inks = Slots(np.float64, 4, pointer_per_value=True)  # a character's ink box: left, right, bottom, top
        self.sizes = Slots(np.float32, 1)  # a text object's font size
        self.widths = Slots(np.float32, 1)  # a glyph's width
