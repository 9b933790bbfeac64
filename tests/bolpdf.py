"""Bill of Lading PDFs for tests, laid out like real ones.

A page is a list of lines; a line is a list of segments (x, text, align) drawn at their own
x positions, so pdfplumber has to assemble the lines the way it does for a real BOL.

``python -m tests.bolpdf DIR`` writes the example files (sample.pdf, sample.csv,
sample_bol.csv) into DIR.
"""

from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

Segment = tuple[float, str, str]  # x, text, "left" or "right"
Line = list[Segment]
Page = list[Line]

FONT, SIZE, LEADING, TOP = "Helvetica", 9, 13, 750
AUTO = "auto"


@dataclass
class Item:
    """A table row as printed (numbers may carry thousands commas)."""

    cartons: str
    style: str
    pieces: str
    description: str
    weight: str


@dataclass
class BolInvoice:
    number: str
    items: list[Item]
    ship_to: str = "BURLINGTON STORES #123"
    rows_per_page: int = 20
    # AUTO prints the true totals; None prints no totals line; a tuple prints those figures.
    totals: str | tuple[str, str, str] | None = AUTO
    cube: str | None = "45.60"
    shipping: bool = True


def unprinted(number: str) -> str:
    return number.replace(",", "")


def true_totals(items: list[Item]) -> tuple[str, str, str]:
    cartons = sum(int(unprinted(i.cartons)) for i in items)
    pieces = sum(int(unprinted(i.pieces)) for i in items)
    weight = sum((Decimal(unprinted(i.weight)) for i in items), Decimal(0))
    return f"{cartons:,}", f"{pieces:,}", f"{weight.quantize(Decimal('0.01')):,}"


def text_line(text: str, x: float = 40) -> Line:
    return [(x, text, "left")]


def header_lines(invoice: BolInvoice, page: int, pages: int) -> list[Line]:
    return [
        [(40, "ACME APPAREL INC.", "left"), (572, f"Page {page} of {pages}", "right")],
        text_line("1200 INDUSTRIAL PKWY, EDISON NJ 08817"),
        text_line(f"BILL OF LADING {invoice.number}"),
        text_line(f"SHIP TO: {invoice.ship_to}"),
        # Shaped like a row; it must never be read as one because it sits above the header.
        text_line("12 ROUTE 46 WEST, TOTOWA NJ 07512"),
        [(30, "CARTONS", "left"), (90, "STYLE", "left"), (175, "PIECES", "left"),
         (230, "DESCRIPTION", "left"), (520, "WEIGHT", "left")],
    ]


def item_line(item: Item) -> Line:
    return [(70, item.cartons, "right"), (90, item.style, "left"), (210, item.pieces, "right"),
            (230, item.description, "left"), (560, item.weight, "right")]


def totals_line(cartons: str, pieces: str, weight: str) -> Line:
    return [(30, f"{cartons} TOTAL CARTONS", "left"), (175, f"{pieces} TOTAL PIECES", "left"),
            (330, "TOTAL VOL / WGT", "left"), (560, weight, "right")]


def invoice_pages(invoice: BolInvoice) -> list[Page]:
    chunks = [invoice.items[i:i + invoice.rows_per_page]
              for i in range(0, len(invoice.items), invoice.rows_per_page)] or [[]]
    pages = []
    for number, chunk in enumerate(chunks, 1):
        page = header_lines(invoice, number, len(chunks)) + [item_line(i) for i in chunk]
        if number < len(chunks):
            page.append(text_line("CONTINUED ON NEXT PAGE"))
        pages.append(page)
    last = pages[-1]
    if invoice.totals is not None:
        figures = true_totals(invoice.items) if invoice.totals == AUTO else invoice.totals
        last.append(totals_line(*figures))
    if invoice.cube is not None:
        last.append([(560, invoice.cube, "right")])
    if invoice.shipping:
        last.append(text_line("SHIPPING INSTRUCTIONS: DELIVER TO DOCK 4"))
        # A two-decimal figure below the instructions is never the cube.
        last.append(text_line("FREIGHT CHARGES PREPAID 125.00"))
    return pages


def render(pages: list[Page]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter, pageCompression=1)
    for page in pages:
        pdf.setFont(FONT, SIZE)
        y = TOP
        for line in page:
            for x, text, align in line:
                (pdf.drawRightString if align == "right" else pdf.drawString)(x, y, text)
            y -= LEADING
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def build_bol(invoices: list[BolInvoice]) -> bytes:
    return render([page for invoice in invoices for page in invoice_pages(invoice)])


def padded_pdf(pdf: bytes, size: int) -> bytes:
    """``pdf`` grown to ``size`` bytes by an incremental update adding one unused stream.

    Still a valid PDF with the same pages, so the upload is parsed and answered 200.
    """
    previous_xref = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    objects = int(re.findall(rb"/Size (\d+)", pdf)[-1])
    root = re.findall(rb"/Root (\d+ \d+ R)", pdf)[-1].decode()
    head = f"\n{objects} 0 obj\n<< /Length %d >>\nstream\n".encode()
    tail_length = 200  # room for the xref section and trailer below
    length = size - len(pdf) - len(head) - len(b"\nendstream\nendobj\n") - tail_length
    head = head % length
    body = pdf + head + os.urandom(length) + b"\nendstream\nendobj\n"
    object_offset = len(pdf) + 1
    trailer = (f"xref\n{objects} 1\n{object_offset:010d} 00000 n \ntrailer\n"
               f"<< /Size {objects + 1} /Root {root} /Prev {previous_xref} >>\n"
               f"startxref\n{len(body)}\n%%EOF\n").encode()
    return body + trailer.ljust(size - len(body), b"\n")


def expected_rows(invoices: list[BolInvoice]) -> list[tuple[str, str, str, str, str]]:
    """(invoice, style, cartons, pieces, weight) as the CSV must write them."""
    return [(inv.number, i.style, unprinted(i.cartons), unprinted(i.pieces), unprinted(i.weight))
            for inv in invoices for i in inv.items]


# The example shipped in examples/: invoice A100001 spans two pages, B200002 has a cube
# over 1,000, and the spreadsheet's earlier cancel date puts B200002 first after the merge.
SAMPLE_INVOICES = [
    BolInvoice("A100001", [
        Item("12", "ST1001", "144", "MENS KNIT TOP", "35.50"),
        Item("8", "ST1002", "96", "WOMENS DRESS", "22.25"),
        Item("1,008", "ST1004", "12,096", "SIZE 10 JEANS", "1,204.00"),
        Item("10", "ST1003", "120", "KIDS TEE", "30.00"),
    ], ship_to="BURLINGTON STORES #123", rows_per_page=2, cube="45.60"),
    BolInvoice("B200002", [
        Item("40", "RS2001", "480", "LADIES BLOUSE 2PK", "110.40"),
        Item("25", "RS2002", "300", "MENS CHINO", "96.75"),
    ], ship_to="ROSS DRESS FOR LESS #88", cube="1,772.92"),
]
SAMPLE_CSV = (
    "Invoice No.,Style,Cartons*,Pieces*,Invoice Date,Ship-to Name,Order No.,Delivery Date,"
    "Cancel Date\r\n"
    "A100001,ST1001,12,144,11/02/2026,BURLINGTON STORES #123,PO-55120,11/20/2026,11302026\r\n"
    "A100001,ST1002,8,96,11/02/2026,BURLINGTON STORES #123,PO-55120,11/20/2026,11302026\r\n"
    'A100001,ST1004,"1,008",12096,11/02/2026,BURLINGTON STORES #123,PO-55120,11/20/2026,'
    "11302026\r\n"
    "A100001,ST1003,10,120,11/02/2026,BURLINGTON STORES #123,PO-55120,11/20/2026,11302026\r\n"
    "B200002,RS2001,40,480,11/03/2026,ROSS DRESS FOR LESS #88,88-7731,11/18/2026,11/25/2026\r\n"
    "B200002,RS2002,25,300,11/03/2026,ROSS DRESS FOR LESS #88,88-7731,11/18/2026,11/25/2026\r\n"
)


def write_examples(directory: Path) -> None:
    from bolservice.bol import extract_pdf, merge, read_spreadsheet, write_bol_csv

    directory.mkdir(parents=True, exist_ok=True)
    pdf = build_bol(SAMPLE_INVOICES)
    (directory / "sample.pdf").write_bytes(pdf)
    (directory / "sample.csv").write_bytes(SAMPLE_CSV.encode())
    merged = merge(extract_pdf(pdf), read_spreadsheet(SAMPLE_CSV.encode()))
    (directory / "sample_bol.csv").write_bytes(write_bol_csv(merged.records).encode())


if __name__ == "__main__":
    write_examples(Path(sys.argv[1] if len(sys.argv) > 1 else "examples"))
