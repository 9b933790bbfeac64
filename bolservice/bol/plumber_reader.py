"""PDF → page lines with pdfplumber, the reference reading of the format contract."""

from __future__ import annotations

from collections.abc import Collection, Iterator

import pdfplumber
from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
from pdfminer.pdfpage import PDFPage
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSException
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import PdfminerException

from .pdffile import PageText, PdfSource, check_page_count, checked_stream, unreadable


def read_pdf_pages(source: PdfSource, *, max_pages: int | None = None,
                   pages: Collection[int] | None = None) -> Iterator[PageText]:
    """Yield each page's text lines in page order, one page in memory at a time; with
    ``pages`` (page numbers from 1), only those pages'.

    ``pdfplumber.PDF.pages`` would build every page up front and pdfminer would cache
    every decoded content stream, so memory would grow with the page count. Instead the
    document cache is off and each page is built, read and closed in turn (fonts stay
    cached in the resource manager, so speed is unchanged). Raises the engine's input
    errors for anything that is not a readable PDF.
    """
    with checked_stream(source) as stream:
        try:
            with pdfplumber.open(stream) as pdf:
                pdf.doc.caching = False
                check_page_count(_declared_page_count(pdf.doc), max_pages)
                for number, page_object in enumerate(PDFPage.create_pages(pdf.doc), 1):
                    check_page_count(number, max_pages)
                    if pages is not None and number not in pages:
                        continue
                    page = Page(pdf, page_object, page_number=number, initial_doctop=0)
                    lines = (page.extract_text() or "").splitlines()
                    scanned = not page.chars and bool(page.images)
                    page.close()
                    yield PageText(lines, scanned)
        except (PdfminerException, PSException) as error:
            raise _pdf_error(error) from error


def _declared_page_count(doc: PDFDocument) -> int | None:
    """The page tree's own count: lets an oversized PDF be refused before any page is read."""
    try:
        count = resolve1(resolve1(doc.catalog["Pages"])["Count"])
    except (KeyError, TypeError, PSException):
        return None
    return count if isinstance(count, int) else None


def _pdf_error(error: Exception) -> Exception:
    # pdfplumber wraps pdfminer's errors when it opens a file, not always while it reads.
    cause = error.args[0] if isinstance(error, PdfminerException) and error.args else error
    if isinstance(cause, MemoryError):
        return cause  # not the PDF's fault as such: let the caller report its memory limit
    return unreadable(f"{type(cause).__name__}: {cause}", encrypted=isinstance(cause, PDFPasswordIncorrect))
