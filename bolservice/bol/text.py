"""PDF bytes → the text lines of each page.

This is the engine's only contact with a PDF library, so another text engine can be put
beside pdfplumber here without the parser noticing.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import BinaryIO

import pdfplumber
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
    stream = _open_stream(source)
    try:
        _check_magic(stream)
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
    finally:
        if stream is not source:
            stream.close()


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
    if isinstance(cause, PDFPasswordIncorrect):
        return EncryptedPdfError(
            "the PDF is password-protected; upload a copy saved without a password"
        )
    return UnreadablePdfError(
        f"the PDF could not be read ({type(cause).__name__}: {cause}); "
        "it may be truncated or damaged, so export it again"
    )
