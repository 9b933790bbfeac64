"""PDF bytes → the text lines of each page, with pdfplumber or pypdfium2.

This is the engine's only contact with PDF libraries. pdfplumber (pdfminer) is the
reference: its ``extract_text()`` lines are what the format contract describes. pypdfium2
is some ten times faster; its own text dump can run two table rows into one line, so its
lines are rebuilt here from its text runs with pdfplumber's tolerances instead. pypdfium2
is not thread-safe: use it in one thread per process (the job pool, the CLI).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import BinaryIO

import pdfplumber
import pypdfium2
import pypdfium2.raw as pdfium_c
from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
from pdfminer.pdfpage import PDFPage
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSException
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import PdfminerException

from .errors import EncryptedPdfError, NotAPdfError, TooManyPagesError, UnreadablePdfError

PdfSource = bytes | str | os.PathLike | BinaryIO

# Readers accept junk before the header; so do we, within the first kilobyte.
_MAGIC = b"%PDF-"
_MAGIC_WINDOW = 1024


def read_pdf_pages(source: PdfSource, *, max_pages: int | None = None) -> Iterator[list[str]]:
    """Yield each page's text lines in page order, one page in memory at a time.

    ``pdfplumber.PDF.pages`` would build every page up front and pdfminer would cache
    every decoded content stream, so memory would grow with the page count. Instead the
    document cache is off and each page is built, read and closed in turn (fonts stay
    cached in the resource manager, so speed is unchanged). Raises the engine's input
    errors for anything that is not a readable PDF.
    """
    with _checked_stream(source) as stream:
        try:
            with pdfplumber.open(stream) as pdf:
                pdf.doc.caching = False
                _check_page_count(_declared_page_count(pdf.doc), max_pages)
                for number, page_object in enumerate(PDFPage.create_pages(pdf.doc), 1):
                    _check_page_count(number, max_pages)
                    page = Page(pdf, page_object, page_number=number, initial_doctop=0)
                    text = page.extract_text() or ""
                    page.close()
                    yield text.splitlines()
        except (PdfminerException, PSException) as error:
            raise _pdf_error(error) from error


def _declared_page_count(doc: PDFDocument) -> int | None:
    """The page tree's own count: lets an oversized PDF be refused before any page is read."""
    try:
        count = resolve1(resolve1(doc.catalog["Pages"])["Count"])
    except (KeyError, TypeError, PSException):
        return None
    return count if isinstance(count, int) else None


def _check_page_count(count: int | None, max_pages: int | None) -> None:
    if count is not None and max_pages is not None and count > max_pages:
        raise TooManyPagesError(
            f"the PDF has more than {max_pages} pages, the limit; split it and upload the parts"
        )


# pdfplumber's defaults: characters within 3 pt vertically share a line, and a gap of more
# than 3 pt between them is a space. pdfplumber measures a line by its font's top, the same
# for every glyph; pdfium's boxes are tight around each glyph (a lone "-" is far shorter
# than a capital), so runs are placed by the middle of their box instead.
LINE_TOLERANCE = 3.0
SPACE_GAP = 3.0


def pdfium_pages(source: PdfSource, *, max_pages: int | None = None) -> Iterator[list[str]]:
    """Like ``read_pdf_pages``, with pypdfium2: each page's lines rebuilt from its text runs."""
    with _checked_stream(source) as stream:
        try:
            document = pypdfium2.PdfDocument(stream)
        except pypdfium2.PdfiumError as error:
            message = str(error)
            raise _unreadable(message, encrypted="password" in message.lower()) from error
        try:
            _check_page_count(len(document), max_pages)
            for index in range(len(document)):
                page = document[index]
                try:
                    text = page.get_textpage()
                    try:
                        yield _lines_from_runs(_runs(text))
                    finally:
                        text.close()
                finally:
                    page.close()
        finally:
            document.close()


def _runs(text) -> list[tuple[float, float, float, str]]:
    """(middle, left, right, text) of each run of text on the page.

    Asking pdfium for the text inside each run's box scans the whole page once per run,
    which made reading quadratic in the runs on a page. Instead the page's text is taken
    once and cut where each run starts: a run is consecutive characters of one text
    object, so it ends where the next one starts (the characters pdfium generates between
    them are spaces and line breaks, dropped below). If a start cannot be found in order,
    as when text overlaps, the page falls back to one bounded-text call per run.
    """
    boxes = [text.get_rect(index) for index in range(text.count_rects())]
    page_text = text.get_text_range()
    starts = _run_starts(text, boxes)
    if starts is None or len(page_text) != text.count_chars():
        contents = [text.get_text_bounded(*box) for box in boxes]
    else:
        contents = [page_text[start:end] for start, end in pairwise(starts + [len(page_text)])]
    runs = []
    for (left, bottom, right, top), content in zip(boxes, contents, strict=True):
        # pdfium reports a hyphen that ends a run as a hyphenation mark (\x02 in bounded
        # text, U+FFFE in the page text); here it is printed text, such as a style "A-".
        content = content.replace("\x02", "-").replace("\ufffe", "-")
        if content.strip():
            runs.append(((top + bottom) / 2, left, right, " ".join(content.split())))
    return runs


def _run_starts(text, boxes: list[tuple[float, float, float, float]]) -> list[int] | None:
    """The index of each run's first character, or None unless they are strictly increasing."""
    starts = []
    for left, bottom, _right, top in boxes:
        # Just inside the left edge, halfway up: only the run's first character is there.
        index = pdfium_c.FPDFText_GetCharIndexAtPos(text, left + 0.01, (bottom + top) / 2, 0.0, 0.0)
        if index < 0 or (starts and index <= starts[-1]):
            return None
        starts.append(index)
    return starts


def _lines_from_runs(runs: list[tuple[float, float, float, str]]) -> list[str]:
    """Runs whose middles lie within LINE_TOLERANCE form a line, read left to right."""
    runs.sort(key=lambda run: -run[0])
    lines: list[list[tuple[float, float, float, str]]] = []
    for run in runs:
        if lines and lines[-1][0][0] - run[0] <= LINE_TOLERANCE:
            lines[-1].append(run)
        else:
            lines.append([run])
    out = []
    for line in lines:
        line.sort(key=lambda run: run[1])
        text, right = line[0][3], line[0][2]
        for _, left, run_right, content in line[1:]:
            text += (" " if left - right > SPACE_GAP else "") + content
            right = run_right
        out.append(text)
    return out


@contextmanager
def _checked_stream(source: PdfSource) -> Iterator[BinaryIO]:
    """The source as a stream that starts like a PDF; closed afterwards if opened here."""
    stream = _open_stream(source)
    try:
        _check_magic(stream)
        yield stream
    finally:
        if stream is not source:
            stream.close()


def _open_stream(source: PdfSource) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    if isinstance(source, str | os.PathLike):
        return open(source, "rb")
    return source


def _check_magic(stream: BinaryIO) -> None:
    start = stream.tell()
    head = stream.read(_MAGIC_WINDOW)
    stream.seek(start)
    if _MAGIC not in head:
        raise NotAPdfError(
            "the file is not a PDF (it does not start with %PDF-); upload the BOL as a PDF"
        )


def _pdf_error(error: Exception) -> Exception:
    # pdfplumber wraps pdfminer's errors when it opens a file, not always while it reads.
    cause = error.args[0] if isinstance(error, PdfminerException) and error.args else error
    if isinstance(cause, MemoryError):
        return cause  # not the PDF's fault as such: let the caller report its memory limit
    return _unreadable(f"{type(cause).__name__}: {cause}", encrypted=isinstance(cause, PDFPasswordIncorrect))


def _unreadable(detail: str, encrypted: bool) -> Exception:
    if encrypted:
        return EncryptedPdfError("the PDF is password-protected; upload a copy saved without a password")
    return UnreadablePdfError(
        f"the PDF could not be read ({detail}); it may be truncated or damaged, so export it again"
    )
