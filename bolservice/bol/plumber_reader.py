"""PDF → page lines with pdfplumber, the reference reading of the format contract."""

from __future__ import annotations

from collections.abc import Collection, Iterator

import pdfplumber
from pdfminer.pdfdocument import PDFDocument, PDFPasswordIncorrect
from pdfminer.pdfpage import PDFPage
from pdfminer.pdftypes import resolve1
from pdfminer.psparser import PSException
from pdfplumber.page import Page
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from .errors import UnreadablePdfError
from .pagetree import check_page_tree
from .pdffile import PDFMINER_ERRORS, PageText, PdfSource, check_page_count, checked_stream, unreadable

# Any of these means the reference reader cannot read the file.
_READING_ERRORS = (PdfminerException, MalformedPDFException, *PDFMINER_ERRORS)


def read_pdf_pages(source: PdfSource, *, max_pages: int | None = None,
                   pages: Collection[int] | None = None) -> Iterator[PageText]:
    """Yield each page's text lines in page order, one page in memory at a time; with
    ``pages`` (page numbers from 1), only those pages'.

    ``pdfplumber.PDF.pages`` would build every page up front and pdfminer would cache
    every decoded content stream, so memory would grow with the page count. Instead the
    document cache is off and each page is built, read and closed in turn (fonts stay
    cached in the resource manager, so speed is unchanged). Raises the engine's input
    errors for anything that is not a readable PDF, and for a damaged page
    (``check_page_tree``), which pdfminer would skip or read blank.
    """
    with checked_stream(source) as stream:
        try:
            # Not `with`: closing a pdfplumber.PDF makes every page it has not made (to close
            # it), which costs a page tree walk and refuses a file for any malformed page box.
            pdf = pdfplumber.open(stream)
            pdf.doc.caching = False
            check_page_count(_declared_page_count(pdf.doc), max_pages)
            check_page_tree(stream, max_pages)
            for number, page_object in enumerate(PDFPage.create_pages(pdf.doc), 1):
                check_page_count(number, max_pages)
                if pages is not None and number not in pages:
                    continue
                page = _page(pdf, page_object, number)
                lines = (page.extract_text() or "").splitlines()
                scanned = not page.chars and bool(page.images)
                page.close()
                yield PageText(lines, scanned)
        except _READING_ERRORS as error:
            raise _pdf_error(error) from error


def _page(pdf: pdfplumber.PDF, page_object: PDFPage, number: int) -> Page:
    try:
        return Page(pdf, page_object, page_number=number, initial_doctop=0)
    except (MalformedPDFException, TypeError, IndexError, ValueError) as error:
        # pdfplumber checks the page's box as it makes the page (pdfium takes US Letter).
        raise UnreadablePdfError(
            f"page {number} of the PDF has a malformed page box (MediaBox); export it again") from error


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
