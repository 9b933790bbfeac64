"""Page lines → invoices and rows, per §1 of the BOL format contract.

``parse_page`` reads one page on its own; ``assemble`` joins pages into invoices. Keeping
them apart lets a caller re-read a single page with another text engine and reassemble.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from .errors import NoInvoiceError, NumberTooLongError, ScannedPdfError
from .model import Extraction, Invoice, PdfRow, ReportWarning, Totals

_INT = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
INTEGER = re.compile(rf"{_INT}")
NUMBER = re.compile(rf"{_INT}(?:\.\d+)?")
TWO_DECIMALS = re.compile(rf"{_INT}\.\d\d")

# Producers space words differently (a gap under pdfplumber's 3 pt space reads as none),
# so every keyword matches with any whitespace, or none, between its words.
_INVOICE = re.compile(r"BILL\s*OF\s*LADING\s*([A-Za-z]\d+)\b", re.IGNORECASE)
_HEADER_WORDS = ("CARTONS", "STYLE", "PIECES")
_TOTALS_MARK = re.compile(r"TOTAL\s*CARTONS", re.IGNORECASE)
_TOTALS_TRACE = re.compile(r"TOTAL|WGT", re.IGNORECASE)
_SHIPPING_MARK = re.compile(r"SHIPPING\s*INSTRUCTIONS\s*:", re.IGNORECASE)
_TOTALS = re.compile(
    rf"({_INT})\s*TOTAL\s*CARTONS\s*({_INT})\s*TOTAL\s*PIECES.*?WGT\s*({_INT}(?:\.\d+)?)(?![,.]?\d)",
    re.IGNORECASE,
)
# The CSV goes into Excel, which keeps 15 significant digits: a longer figure would change
# there without a word, and no BOL prints one (nor can Python's int() read 4,300 digits).
MAX_DIGITS = 15
_TOO_LONG = "number_too_long"

# Lines a BOL prints between rows that are not rows and not worth a warning.
_NON_ROW = re.compile(r"CONTINUED.*|PAGE\s*\d+(?:\s*OF\s*\d+)?", re.IGNORECASE)


def plain(number: str) -> str:
    """The number as the CSV writes it: thousands separators gone, decimals as printed."""
    return number.replace(",", "")


@dataclass
class PageParse:
    """What one page says, before it is joined to the other pages of its invoice."""

    number: int
    invoice: str | None
    rows: list[PdfRow] = field(default_factory=list)
    totals: Totals | None = None
    cube: str | None = None
    warnings: list[ReportWarning] = field(default_factory=list)
    scanned: bool = False
    # The page lacks its totals line or its cube, yet prints what looks like one: a TOTAL
    # or WGT in the table, a figure below it where the cube would be. A misreading that
    # loses either part leaves such a trace; a BOL printed without it does not.
    absent_part_traced: bool = False


def parse_row(line: str) -> tuple[str, str, str, str] | None:
    """Cartons, Style, Pieces, Weight of a row line, or None if the line is not a row."""
    tokens = line.split()
    if len(tokens) < 4:
        return None
    cartons, style, pieces = tokens[:3]
    if not (INTEGER.fullmatch(cartons) and INTEGER.fullmatch(pieces)):
        return None
    # The weight is the last number on the line; the description before it may hold digits.
    weight = next((t for t in reversed(tokens[3:]) if NUMBER.fullmatch(t)), None)
    if weight is None:
        return None
    return plain(cartons), style, plain(pieces), plain(weight)


def is_cube_line(line: str) -> bool:
    return TWO_DECIMALS.fullmatch(line.strip()) is not None


SCAN_ADVICE = "export the BOL from the system that made it"


def parse_page(number: int, lines: list[str], *, scanned: bool = False) -> PageParse:
    """Read one page: its invoice number, rows, totals line and cube, with warnings.

    ``scanned`` says the page is an image without text: it is named as a scan rather than
    reported as a page without invoice.
    """
    if scanned and not any(line.strip() for line in lines):
        return PageParse(number=number, invoice=None, scanned=True, warnings=[ReportWarning(
            "scanned_page", f"the page has no text: it looks like a scan; {SCAN_ADVICE}", number)])
    invoice = next((m.group(1) for m in map(_INVOICE.search, lines) if m), None)
    page = PageParse(number=number, invoice=invoice)
    header = _find(lines, lambda ln: all(w in ln.upper() for w in _HEADER_WORDS))
    start = header + 1 if header is not None else 0
    if invoice is None:
        _warn_orphan_page(page, lines[start:] if header is not None else [])
        return page
    if header is None:
        page.warnings.append(ReportWarning(
            "no_table_header",
            f"no CARTONS / STYLE / PIECES header; no rows read for invoice {invoice}",
            number,
        ))

    # The table ends at the totals line, the shipping instructions or the page's end; the
    # cube is looked for between the table's last line (floor) and the instructions.
    shipping, floor = None, start - 1
    for index in range(start, len(lines)):
        line = lines[index]
        if _TOTALS_MARK.search(line):
            page.totals = _read_totals(page, line)
            floor = index
            shipping = _find(lines, _is_shipping, index + 1)
            break
        if _is_shipping(line):
            shipping = index
            break
        if header is not None and _read_body_line(page, invoice, line):
            floor = index
    if shipping is not None:
        page.cube = _scan_cube(page, lines, shipping, floor)
    totals_traced = page.totals is None and any(map(_TOTALS_TRACE.search, lines[start:shipping]))
    cube_traced = (page.cube is None and (shipping is not None or page.totals is not None)
                   and _has_figure(lines[floor + 1:shipping]))
    page.absent_part_traced = totals_traced or cube_traced
    return page


def _is_shipping(line: str) -> bool:
    return _SHIPPING_MARK.search(line) is not None


def _find(lines: list[str], predicate: Callable[[str], bool], start: int = 0) -> int | None:
    return next((i for i in range(start, len(lines)) if predicate(lines[i])), None)


def _read_body_line(page: PageParse, invoice: str, line: str) -> bool:
    """Take a line under the header; True when it was a row."""
    fields = parse_row(line)
    if fields is not None and _too_long(page, line, (fields[0], fields[2], fields[3])):
        return False
    if fields is not None:
        cartons, style, pieces, weight = fields
        page.rows.append(PdfRow(invoice, style, cartons, pieces, weight, page.number))
        return True
    stripped = line.strip()
    if stripped and not is_cube_line(stripped) and not _NON_ROW.fullmatch(stripped):
        page.warnings.append(ReportWarning(
            "skipped_line", "line under the table header is not a row; skipped",
            page.number, stripped,
        ))
    return False


def _read_totals(page: PageParse, line: str) -> Totals | None:
    match = _TOTALS.search(line)
    if match is None:
        page.warnings.append(ReportWarning(
            "unreadable_totals",
            "TOTAL CARTONS line is not '<n> TOTAL CARTONS <n> TOTAL PIECES TOTAL VOL / WGT <n>'"
            "; its figures are not used",
            page.number, line.strip(),
        ))
        return None
    totals = Totals(*(plain(g) for g in match.groups()))
    return None if _too_long(page, line, (totals.cartons, totals.pieces, totals.weight)) else totals


def _scan_cube(page: PageParse, lines: list[str], shipping: int, floor: int) -> str | None:
    """The first two-decimal number above SHIPPING INSTRUCTIONS, below the table."""
    for index in range(shipping - 1, floor, -1):
        for token in reversed(lines[index].split()):
            if TWO_DECIMALS.fullmatch(token):
                return None if _too_long(page, lines[index], (token,)) else plain(token)
    return None


def _has_figure(lines: list[str]) -> bool:
    return any(any(c.isdigit() for c in line) for line in lines if not _NON_ROW.fullmatch(line.strip()))


def _too_long(page: PageParse, line: str, numbers: Iterable[str]) -> bool:
    """Whether one of a line's figures has more digits than any BOL's; if so the page says
    so, and ``assemble`` refuses the file (after ``auto`` has read the page again)."""
    digits = max(sum(c.isdigit() for c in number) for number in numbers)
    if digits <= MAX_DIGITS:
        return False
    shown = line.strip()
    page.warnings.append(ReportWarning(
        _TOO_LONG, f"a figure of {digits} digits, where a BOL's have at most {MAX_DIGITS}", page.number,
        shown if len(shown) <= 80 else shown[:77] + "..."))
    return True


def _warn_orphan_page(page: PageParse, body: list[str]) -> None:
    rows = sum(parse_row(line) is not None for line in body)
    lost = f"; its {rows} table row(s) are not in the output" if rows else ""
    page.warnings.append(ReportWarning(
        "page_without_invoice",
        f"no 'BILL OF LADING <number>' line, so the page belongs to no invoice{lost}",
        page.number,
    ))


def assemble(pages: Iterable[PageParse]) -> Extraction:
    """Join parsed pages into invoices (ordered by first page), with invoice warnings."""
    pages = list(pages)
    warnings = [w for page in pages for w in page.warnings]
    too_long = next((w for w in warnings if w.code == _TOO_LONG), None)
    if too_long is not None:
        raise NumberTooLongError(
            f"page {too_long.page}: {too_long.message} ({too_long.text!r}); Excel would change "
            "such a number, so the file is refused: check the figures where the PDF was made")
    grouped: dict[str, list[PageParse]] = {}
    for page in pages:
        if page.invoice is not None:
            grouped.setdefault(page.invoice, []).append(page)
    if not grouped and any(page.scanned for page in pages):
        raise ScannedPdfError(_scan_message([page.number for page in pages if page.scanned]))
    if not grouped:
        raise NoInvoiceError(
            f"no invoice found: none of the {len(pages)} page(s) has a "
            "'BILL OF LADING <number>' line; is this a Bill of Lading PDF?"
        )
    invoices = [_build_invoice(number, group, warnings) for number, group in grouped.items()]
    if not any(invoice.rows for invoice in invoices):
        raise NoInvoiceError(
            "no invoice rows found: no line under a CARTONS / STYLE / PIECES header reads "
            "as '<cartons> <style> <pieces> ... <weight>'"
        )
    return Extraction(pages=len(pages), invoices=invoices, warnings=warnings)


def _scan_message(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"page {numbers[0]} has no text: it looks like a scan; {SCAN_ADVICE}"
    shown = ", ".join(map(str, numbers[:10])) + (", ..." if len(numbers) > 10 else "")
    return f"pages {shown} have no text: they look like scans; {SCAN_ADVICE}"


def _build_invoice(number: str, pages: list[PageParse], warnings: list[ReportWarning]) -> Invoice:
    invoice = Invoice(number, pages[0].number, pages[-1].number)
    invoice.rows = [row for page in pages for row in page.rows]
    last = invoice.last_page
    if not invoice.rows:
        warnings.append(ReportWarning("invoice_without_rows", f"invoice {number} has no rows", last))
    _settle_totals(invoice, [(p.number, p.totals) for p in pages if p.totals], warnings)
    _settle_cube(invoice, [(p.number, p.cube) for p in pages if p.cube is not None], warnings)
    return invoice


def _settle_totals(invoice: Invoice, printed: list[tuple[int, Totals]], warnings: list) -> None:
    pieces = sum(int(row.pieces) for row in invoice.rows)
    weight = sum((Decimal(row.weight) for row in invoice.rows), Decimal(0)).quantize(Decimal("0.01"))
    if not printed:
        invoice.total_pieces, invoice.total_weight = str(pieces), str(weight)
        warnings.append(ReportWarning(
            "computed_totals",
            f"invoice {invoice.number} has no totals line; Total Pieces and Total Weight "
            "are the sums of its rows",
            invoice.last_page,
        ))
        return
    page, totals = printed[-1]
    if len(printed) > 1:
        warnings.append(ReportWarning(
            "several_totals",
            f"invoice {invoice.number} has {len(printed)} totals lines; the last one is used",
            page,
        ))
    invoice.total_pieces, invoice.total_weight = totals.pieces, totals.weight
    cartons = sum(int(row.cartons) for row in invoice.rows)
    if (int(totals.cartons), int(totals.pieces), Decimal(totals.weight)) != (cartons, pieces, weight):
        warnings.append(ReportWarning(
            "totals_mismatch",
            f"invoice {invoice.number}: printed totals ({totals.cartons} cartons, "
            f"{totals.pieces} pieces, weight {totals.weight}) differ from the sum of its rows "
            f"({cartons} cartons, {pieces} pieces, weight {weight}); the printed totals are used",
            page,
        ))


def _settle_cube(invoice: Invoice, found: list[tuple[int, str]], warnings: list) -> None:
    if not found:
        warnings.append(ReportWarning(
            "no_cube",
            f"invoice {invoice.number}: no BOL cube (a number with two decimals above "
            "SHIPPING INSTRUCTIONS:); BOL Cube is left empty",
            invoice.last_page,
        ))
        return
    page, invoice.cube = found[0]
    if any(cube != invoice.cube for _, cube in found[1:]):
        warnings.append(ReportWarning(
            "several_cubes",
            f"invoice {invoice.number} prints different cubes; the first, {invoice.cube}, is used",
            page,
        ))
