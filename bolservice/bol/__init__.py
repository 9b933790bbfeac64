"""The BOL engine: pure functions from PDF bytes and spreadsheets to the BOL CSV.

No HTTP, no workspace, no global state: bytes and tables in, rows and CSV out.
"""

from __future__ import annotations

from .errors import (
    BolInputError,
    DamagedPageError,
    EncryptedPdfError,
    MissingColumnsError,
    NoInvoiceError,
    NoMatchError,
    NumberTooLongError,
    NotAPdfError,
    NotASpreadsheetError,
    ScannedPdfError,
    TooManyPagesError,
    UnreadablePdfError,
    UnreadableSpreadsheetError,
    UnsupportedFileError,
    UnusableContentError,
)
from .export import BOL_COLUMNS, extraction_records, write_bol_csv
from .extract import ENGINES, extract_pdf, first_reading
from .merge import MergeResult, merge
from .model import Extraction, Invoice, PdfRow, ReportWarning
from .parse import assemble, parse_page
from .spreadsheet import Spreadsheet, read_spreadsheet
from .pdffile import PageText, PdfSource
from .pdfium_reader import pdfium_page_count, pdfium_pages
from .plumber_reader import read_pdf_pages

__all__ = [
    "BOL_COLUMNS", "ENGINES", "BolInputError", "DamagedPageError", "EncryptedPdfError", "Extraction", "Invoice",
    "MergeResult", "MissingColumnsError", "NoInvoiceError", "NoMatchError", "NotAPdfError", "NumberTooLongError",
    "NotASpreadsheetError", "PageText", "PdfRow", "PdfSource", "ReportWarning", "ScannedPdfError", "Spreadsheet",
    "TooManyPagesError", "UnreadablePdfError", "UnreadableSpreadsheetError",
    "UnsupportedFileError", "UnusableContentError", "assemble", "extract_pdf",
    "extraction_records", "first_reading", "merge", "parse_page", "pdfium_page_count", "pdfium_pages", "read_pdf_pages", "read_spreadsheet",
    "write_bol_csv",
]
