"""The pdfium functions the pdfium reader calls, bound for speed, and its walk of page objects.

The reader makes a few calls per printed character, so each function is bound here without
ctypes' argument conversion (the converting wrappers of ``pypdfium2.raw`` take three times
as long as the call itself), and keeps the GIL over the call (releasing and taking it back
costs more than most of these calls: pdfium is not thread-safe, so only one thread of a
process ever calls it). Handles are passed as ``ctypes.c_void_p``, numbers as ctypes
values, and results are read from ctypes objects.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import pypdfium2.raw as pdfium_c


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
