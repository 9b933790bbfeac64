"""Small helpers shared by the engine tests."""

from __future__ import annotations

import csv
import io

from bolservice.bol import extract_pdf, extraction_records, write_bol_csv
from bolservice.bol.model import Extraction
from tests.bolpdf import BolInvoice, Page, build_bol, render


def extract(invoices: list[BolInvoice]) -> Extraction:
    return extract_pdf(build_bol(invoices))


def extract_pages(pages: list[Page]) -> Extraction:
    return extract_pdf(render(pages))


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def pdf_csv_rows(extraction: Extraction) -> list[dict[str, str]]:
    return csv_rows(write_bol_csv(extraction_records(extraction)))


def row_tuples(extraction: Extraction) -> list[tuple[str, str, str, str, str]]:
    return [(r.invoice, r.style, r.cartons, r.pieces, r.weight) for r in extraction.rows]


def codes(extraction_or_result) -> list[str]:
    return [w.code for w in extraction_or_result.warnings]


HEADER = ["Invoice No.", "Style", "Cartons*", "Pieces*", "Invoice Date", "Ship-to Name",
          "Order No.", "Delivery Date", "Cancel Date"]


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ",",
              encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)
