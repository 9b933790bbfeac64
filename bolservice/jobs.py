"""The engine's work as jobs for the pool's processes (pool.py).

Job functions take local scratch files (a request's body) or small published bytes (an
extraction), never a path into the store, and return plain values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .bol import (PageText, extract_pdf, extraction_records, first_reading, merge,
                  pdfium_page_count, read_spreadsheet, write_bol_csv)
from .bol.model import Extraction
from .bol.workbook import bol_workbook


@dataclass
class PdfOutput:
    csv: bytes
    extraction: bytes  # JSON, for later merges
    summary: dict


@dataclass
class MergeOutput:
    csv: bytes
    summary: dict


# A PDF of at least this many pages is read in page ranges by all the pool's processes at
# once, then parsed as a whole by one. A shorter one is read and parsed by one job: for it,
# parallel reading would save less than a second job's round trip costs.
SPLIT_PAGES = 40


@dataclass
class PdfPart:
    """What one of the jobs reading a PDF together found: its page range's first reading;
    or, when the PDF was too short to split, the whole output (the first job's; the others
    find nothing)."""

    readings: list[PageText]
    output: PdfOutput | None = None


def pdf_job(pdf_path: str, max_pages: int, engine: str = "auto",
            readings: list[PageText] | None = None) -> PdfOutput:
    """Parse a PDF into its CSV, its extraction and a summary; ``readings``, its pages'
    first reading (``pdf_part_job``), when it was made beforehand."""
    extraction = extract_pdf(pdf_path, max_pages=max_pages, engine=engine, readings=readings)
    return PdfOutput(
        csv=write_bol_csv(extraction_records(extraction)).encode(),
        extraction=json.dumps(extraction.to_dict()).encode(),
        summary=extraction.summary(),
    )


def pdf_short_job(pdf_path: str, max_pages: int, engine: str) -> PdfOutput | None:
    """The whole job for a PDF of fewer than SPLIT_PAGES pages; None for a longer one,
    which is read in page ranges (``pdf_part_job``) instead."""
    if _in_ranges(pdfium_page_count(pdf_path), max_pages):
        return None
    return pdf_job(pdf_path, max_pages, engine)


def pdf_part_job(pdf_path: str, max_pages: int, engine: str, part: int, parts: int) -> PdfPart:
    """Part ``part`` of ``parts`` jobs that read a PDF at once, each its own page range."""
    count = pdfium_page_count(pdf_path)
    if count is None or not _in_ranges(count, max_pages):
        return PdfPart([], pdf_job(pdf_path, max_pages, engine) if part == 0 else None)
    pages = range(1 + part * count // parts, 1 + (part + 1) * count // parts)
    return PdfPart(first_reading(pdf_path, engine=engine, max_pages=max_pages, pages=pages))


def _in_ranges(count: int | None, max_pages: int) -> bool:
    """Whether a PDF of ``count`` pages is read in page ranges. One pdfium cannot open, or
    one over the page limit, is left to a single job, whose engine reports it."""
    return count is not None and SPLIT_PAGES <= count <= max_pages


def merge_job(extraction_json: bytes, sheet_path: str) -> MergeOutput:
    """Merge a spreadsheet (a local scratch file) with a PDF's extraction (as published)."""
    extraction = Extraction.from_dict(json.loads(extraction_json))
    with open(sheet_path, "rb") as handle:
        sheet = read_spreadsheet(handle.read())
    result = merge(extraction, sheet)
    return MergeOutput(csv=write_bol_csv(result.records).encode(), summary=result.summary())


def workbook_job(csv: bytes) -> bytes:
    """The .xlsx of a BOL CSV (as published)."""
    return bol_workbook(csv.decode())
