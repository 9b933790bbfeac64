"""PDF → Extraction, with a choice of text engine.

``pdfplumber`` is the reference reading; ``pdfium`` reads the same lines about ten times
faster; ``auto`` reads with pdfium and keeps no reading in doubt: pdfplumber reads again
every page the pdfium reader itself doubts (it holds something that reader cannot vouch to
read as pdfplumber does), every page that belongs to no invoice, and every page of an
invoice with a warning a misreading could cause. A warning that says only that the BOL
lacks an optional part (no totals line, no cube) re-reads nothing, unless the page prints
what looks like that part. If pdfium finds no invoice at all, pdfplumber reads the
whole file (docs/ENGINE.md).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator
from itertools import count

from .errors import DamagedPageError, UnreadablePdfError, UnusableContentError
from .model import Extraction
from .parse import PageParse, assemble, parse_page
from .pdffile import PageText, PdfSource
from .pdfium_reader import pdfium_pages
from .plumber_reader import read_pdf_pages

Reader = Callable[..., Iterator[PageText]]

# Each reader takes (source, max_pages=, pages=) and yields one PageText per page, in
# order: every page, or those whose numbers (from 1) are in ``pages``.
READERS: dict[str, Reader] = {"pdfplumber": read_pdf_pages, "pdfium": pdfium_pages}
ENGINES = ("auto", *sorted(READERS))


def first_reading(source: PdfSource, *, engine: str = "auto", max_pages: int | None = None,
                  pages: Collection[int] | None = None) -> list[PageText]:
    """The pages' first reading, in page order: ``engine``'s; for auto, pdfium's, or
    pdfplumber's where pdfium cannot read the file (a page tree that names itself). A
    damaged page is refused by every engine: pdfplumber would read past it, without its
    rows. A long PDF can be read in page ranges by several processes, and the readings
    joined for ``extract_pdf``."""
    _check(engine)
    if engine == "auto":
        try:
            return list(READERS["pdfium"](source, max_pages=max_pages, pages=pages))
        except DamagedPageError:
            raise
        except UnreadablePdfError:  # pdfium is stricter with damage than the reference is
            engine = "pdfplumber"
    return list(READERS[engine](source, max_pages=max_pages, pages=pages))


def extract_pdf(source: PdfSource, *, max_pages: int | None = None, engine: str = "auto",
                readings: list[PageText] | None = None) -> Extraction:
    """Read a BOL PDF into its invoices, rows and report; ``readings``, every page's first
    reading, when it was made beforehand."""
    _check(engine)
    if readings is None:
        readings = first_reading(_rereadable(source) if engine == "auto" else source,
                                 engine=engine, max_pages=max_pages)
    if engine != "auto":
        return assemble(_parsed(readings))
    pages = list(_parsed(readings))
    try:
        first = assemble(pages)
    except UnusableContentError:  # no invoice, or a figure too long: pdfplumber reads it all
        if not pages:
            raise
        doubtful = {page.number for page in pages}
    else:
        doubtful = _doubtful_pages(first, pages)
    doubtful |= {number for number, reading in enumerate(readings, 1) if reading.doubtful}
    if not doubtful:
        return first
    numbers = sorted(doubtful)
    rereads = {page.number: page
               for page in _parsed(READERS["pdfplumber"](source, max_pages=max_pages, pages=doubtful), numbers)}
    return assemble([rereads.get(page.number, page) for page in pages])


def _check(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"unknown PDF engine {engine!r}; use one of {', '.join(ENGINES)}")


def _parsed(pages: Iterable[PageText], numbers: Iterable[int] | None = None) -> Iterator[PageParse]:
    """Each page parsed, numbered from 1 or by ``numbers``."""
    return (parse_page(number, page.lines, scanned=page.scanned)
            for number, page in zip(count(1) if numbers is None else numbers, pages))


# What a BOL may simply lack. A misreading that loses a totals line or a cube leaves a
# trace on its page (a line under the table that is not a row, a TOTAL among the rows, a
# figure where the cube would be): such a page is read again (``absent_part_traced``).
ABSENT_PARTS = frozenset({"computed_totals", "no_cube"})


def _doubtful_pages(extraction: Extraction, pages: list[PageParse]) -> set[int]:
    """Every page that shows what a misreading could cause, and every page of its invoice:
    a warning other than an absent part's, a trace of an absent part, or weights printed
    with different numbers of decimals."""
    suspect = {warning.page for warning in extraction.warnings if warning.code not in ABSENT_PARTS}
    if None in suspect:
        return {page.number for page in pages}
    suspect |= {page.number for page in pages if page.absent_part_traced}
    invoices = {page.invoice for page in pages if page.number in suspect and page.invoice is not None}
    invoices |= _ragged_weights(pages)
    return suspect | {page.number for page in pages if page.invoice in invoices}


def _ragged_weights(pages: list[PageParse]) -> set[str]:
    """Invoices whose weights (rows and totals) are printed with different numbers of
    decimals. A BOL prints a column in one format; a digit lost or doubled at a weight's
    end changes it and the weight as the CSV writes it, but not the totals check."""
    places: dict[str, set[int]] = {}
    for page in pages:
        if page.invoice is not None:
            weights = [row.weight for row in page.rows] + ([page.totals.weight] if page.totals else [])
            places.setdefault(page.invoice, set()).update(len(weight.partition(".")[2]) for weight in weights)
    return {invoice for invoice, found in places.items() if len(found) > 1}


def _rereadable(source: PdfSource) -> PdfSource:
    """A file object is read twice in auto mode: hand each reader its own start."""
    if hasattr(source, "read") and hasattr(source, "seek"):
        start = source.tell()
        data = source.read()
        source.seek(start)
        return data
    return source
