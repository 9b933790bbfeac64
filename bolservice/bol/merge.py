"""The PDF's rows + the incoming spreadsheet → the merged BOL table (§3 of the contract).

A merge always starts from the PDF's extraction, so merging the same spreadsheet twice
gives the same table, and a new spreadsheet simply replaces the previous merge.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .errors import MissingColumnsError, NoMatchError
from .export import Record, invoice_records
from .model import Extraction, Invoice, PdfRow, ReportWarning
from .spreadsheet import Spreadsheet

# Each required column with the header names (normalized) that may stand for it.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "Invoice No.": ("invoice no.",),
    "Style": ("style",),
    "Cartons": ("cartons",),
    "Pieces": ("pieces", "individual pieces"),
}
# Incoming column → BOL column, copied as written on matched rows.
MAPPED_COLUMNS: dict[str, str] = {
    "Invoice Date": "Order Date",
    "Ship-to Name": "Ship To Name",
    "Order No.": "Purchase Order No.",
    "Delivery Date": "Start Date",
    "Cancel Date": "Cancel Date",
}
# Unmatched rows are all counted; only this many of each side are spelled out as warnings.
WARNING_EXAMPLES = 20
# A missing-columns error lists at most this many of the columns found.
SHOWN_COLUMNS = 30

Key = tuple[str, str, Decimal, Decimal]


@dataclass
class MergeResult:
    records: list[Record]
    rows_in_file: int
    rows_matched: int
    pdf_rows_unmatched: int
    file_rows_unmatched: int
    warnings: list[ReportWarning] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "rows_in_file": self.rows_in_file,
            "rows_matched": self.rows_matched,
            "pdf_rows_unmatched": self.pdf_rows_unmatched,
            "file_rows_unmatched": self.file_rows_unmatched,
            "warnings": [w.to_dict() for w in self.warnings],
        }


def normalize_header(name: str) -> str:
    """Header names match ignoring case, surrounding spaces and a trailing '*'."""
    name = name.strip()
    return name[:-1].strip().casefold() if name.endswith("*") else name.casefold()


def match_key(invoice: str, style: str, cartons: str, pieces: str) -> Key | None:
    """Invoice and Style without case or outer spaces; Cartons and Pieces as numbers."""
    numbers = [_number(cartons), _number(pieces)]
    if None in numbers:
        return None
    return (invoice.strip().casefold(), style.strip().casefold(), *numbers)


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def parse_cancel_date(text: str) -> dt.date | None:
    """MDDYYYY, MMDDYYYY, M/D/YYYY (or zero-padded), YYYY-MM-DD; None when unreadable."""
    text = text.strip()
    if re.fullmatch(r"\d{7,8}", text):
        month, day, year = text[:-6], text[-6:-4], text[-4:]
    elif match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
        month, day, year = match.groups()
    elif match := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        year, month, day = match.groups()
    else:
        return None
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def merge(extraction: Extraction, sheet: Spreadsheet) -> MergeResult:
    columns = _locate_columns(sheet.header)
    invoices = extraction.invoices
    fills: list[list[Record | None]] = [[None] * len(inv.rows) for inv in invoices]
    waiting: dict[Key, deque[tuple[int, int]]] = defaultdict(deque)
    for i, invoice in enumerate(invoices):
        for j, row in enumerate(invoice.rows):
            key = match_key(invoice.number, row.style, row.cartons, row.pieces)
            waiting[key].append((i, j))

    unmatched_file: list[tuple[int, list[str]]] = []
    for number, cells in sheet.rows:
        key = match_key(*(cells[columns[name]] for name in REQUIRED_COLUMNS))
        # The k-th file row with a key takes the k-th PDF row with it.
        if key is not None and waiting.get(key):
            i, j = waiting[key].popleft()
            fills[i][j] = {bol: cells[columns[src]] if src in columns else ""
                           for src, bol in MAPPED_COLUMNS.items()}
        else:
            unmatched_file.append((number, cells))

    matched = len(sheet.rows) - len(unmatched_file)
    if matched == 0:
        raise NoMatchError(_no_match_message(extraction, sheet, columns))
    unmatched_pdf = [row for inv, inv_fills in zip(invoices, fills, strict=True)
                     for row, fill in zip(inv.rows, inv_fills, strict=True) if fill is None]
    records = [record for i in _invoice_order(invoices, fills)
               for record in invoice_records(invoices[i], _row_fills(fills[i]),
                                             _invoice_figures(invoices[i], fills[i]))]
    return MergeResult(
        records=records,
        rows_in_file=len(sheet.rows),
        rows_matched=matched,
        pdf_rows_unmatched=len(unmatched_pdf),
        file_rows_unmatched=len(unmatched_file),
        warnings=_unmatched_warnings(unmatched_pdf, unmatched_file, columns),
    )


def _locate_columns(header: list[str]) -> dict[str, int]:
    """Column index of each required and mapped column present (first one wins)."""
    positions: dict[str, int] = {}
    for index, name in reversed(list(enumerate(header))):
        positions[normalize_header(name)] = index
    located = {}
    for column, names in REQUIRED_COLUMNS.items():
        found = next((positions[n] for n in names if n in positions), None)
        if found is not None:
            located[column] = found
    missing = [column for column in REQUIRED_COLUMNS if column not in located]
    if missing:
        found = [repr(name[:60]) for name in header if name.strip()]
        more = f" and {len(found) - SHOWN_COLUMNS} more" if len(found) > SHOWN_COLUMNS else ""
        shown = (", ".join(found[:SHOWN_COLUMNS]) + more) or "none"
        raise MissingColumnsError(
            f"the spreadsheet lacks the required column(s) {', '.join(missing)}; "
            f"columns found: {shown}"
        )
    for column in MAPPED_COLUMNS:
        if normalize_header(column) in positions:
            located[column] = positions[normalize_header(column)]
    return located


def _row_fills(fills: list[Record | None]) -> list[Record]:
    return [fill or {} for fill in fills]


def _first_match(fills: list[Record | None]) -> Record | None:
    return next((fill for fill in fills if fill is not None), None)


def _invoice_figures(invoice: Invoice, fills: list[Record | None]) -> Record:
    """Pallet, and Burlington or Final Cube, for the invoice's first row."""
    pallet = math.ceil(Decimal(invoice.cube) / 80) if invoice.cube else None
    figures = {"Pallet": "" if pallet is None else str(pallet)}
    first = _first_match(fills)
    if first is not None and pallet is not None:
        if "burlington" in first["Ship To Name"].casefold():
            figures["Burlington Cube"] = str(pallet * 93)
        else:
            figures["Final Cube"] = str(pallet * 130)
    return figures


def _invoice_order(invoices: list[Invoice], fills: list[list[Record | None]]) -> list[int]:
    """Named invoices grouped by Ship To Name, earliest cancel date first; then the rest.

    An invoice's name and cancel date are those of its first matched row; invoices without
    a name (no matched row, or a blank name) follow in PDF order.
    """
    firsts = [_first_match(f) or {} for f in fills]
    names = [first.get("Ship To Name", "") for first in firsts]
    cancel = [_date_key(first.get("Cancel Date", "")) for first in firsts]
    named = [i for i in range(len(invoices)) if names[i]]
    earliest: dict[str, tuple] = {}
    for i in named:
        earliest[names[i]] = min(earliest.get(names[i], cancel[i]), cancel[i])
    named.sort(key=lambda i: (earliest[names[i]], names[i], cancel[i], i))
    return named + [i for i in range(len(invoices)) if not names[i]]


def _date_key(text: str) -> tuple:
    date = parse_cancel_date(text)
    return (0, date) if date else (1,)  # unreadable dates sort after every readable one


def _unmatched_warnings(pdf_rows: list[PdfRow], file_rows: list[tuple[int, list[str]]],
                        columns: dict[str, int]) -> list[ReportWarning]:
    warnings = [
        ReportWarning(
            "pdf_row_unmatched",
            f"no spreadsheet row for invoice {row.invoice}, style {row.style}, "
            f"cartons {row.cartons}, pieces {row.pieces}; its merge columns are empty",
            row.page,
        )
        for row in pdf_rows[:WARNING_EXAMPLES]
    ]
    for number, cells in file_rows[:WARNING_EXAMPLES]:
        invoice, style, cartons, pieces = (cells[columns[c]] for c in REQUIRED_COLUMNS)
        warnings.append(ReportWarning(
            "file_row_unmatched",
            f"spreadsheet row {number} (invoice {invoice}, style {style}, cartons {cartons}, "
            f"pieces {pieces}) matches no PDF row",
        ))
    for side, rows in (("PDF", pdf_rows), ("spreadsheet", file_rows)):
        if len(rows) > WARNING_EXAMPLES:
            warnings.append(ReportWarning(
                "more_unmatched",
                f"{len(rows) - WARNING_EXAMPLES} more unmatched {side} rows not listed",
            ))
    return warnings


def _no_match_message(extraction: Extraction, sheet: Spreadsheet, columns: dict[str, int]) -> str:
    if not sheet.rows:
        return "the spreadsheet has a header but no data rows"

    def sample(values) -> str:
        distinct = list(dict.fromkeys(v for v in values if v))
        more = f" and {len(distinct) - 8} more" if len(distinct) > 8 else ""
        return ", ".join(distinct[:8]) + more

    file_invoices = sample(cells[columns["Invoice No."]].strip() for _, cells in sheet.rows)
    pdf_invoices = sample(invoice.number for invoice in extraction.invoices)
    return (
        "no spreadsheet row matches a PDF row on Invoice No., Style, Cartons and Pieces; "
        f"the PDF has invoice(s) {pdf_invoices}, the spreadsheet {file_invoices or 'none'}; "
        "check that the spreadsheet belongs to this BOL"
    )
