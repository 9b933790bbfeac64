"""The BOL table (§2 of the BOL format contract) and its CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from itertools import repeat

from .model import Extraction, Invoice

BOL_COLUMNS: tuple[str, ...] = (
    "RTS ID", "RTS Status", "Load #", "Wave #", "Routed Date", "Ready Date",
    "Date of Pickup", "Time of Pickup", "Outbound BOL", "Order Date", "Customer",
    "Ship To Name", "Purchase Order No.", "Cartons", "Start Date", "Cancel Date",
    "BOL Cube", "Final Cube", "Burlington Cube", "Pallet", "Individual Pieces",
    "Total Pieces", "Individual Weight", "Total Weight", "Invoice No.", "Style",
    "Release", "Assigned Trucking Co.",
)

Record = dict[str, str]

# OWASP CSV-injection guidance: these leading characters make a spreadsheet evaluate a cell.
_FORMULA_START = frozenset("=+-@\t\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def invoice_records(
    invoice: Invoice,
    row_fills: Iterable[Mapping[str, str]] | None = None,
    first_row: Mapping[str, str] | None = None,
) -> list[Record]:
    """The BOL rows of one invoice, PDF order kept.

    ``row_fills`` gives extra columns per row (a merge's matched values), ``first_row``
    the invoice-level figures a merge computes; totals always sit on the first row.
    """
    fills = list(row_fills) if row_fills is not None else [{}] * len(invoice.rows)
    records = []
    for row, fill in zip(invoice.rows, fills, strict=True):
        record = dict.fromkeys(BOL_COLUMNS, "")
        record.update({
            "Cartons": row.cartons, "BOL Cube": invoice.cube, "Individual Pieces": row.pieces,
            "Individual Weight": row.weight, "Invoice No.": invoice.number, "Style": row.style,
        })
        record.update(fill)
        records.append(record)
    if records:
        records[0].update({"Total Pieces": invoice.total_pieces, "Total Weight": invoice.total_weight})
        records[0].update(first_row or {})
    return records


def extraction_records(extraction: Extraction) -> list[Record]:
    """The BOL table of a PDF on its own, before any merge."""
    return [record for invoice in extraction.invoices for record in invoice_records(invoice)]


def escape_cell(value: str) -> str:
    if value[:1] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def write_bol_csv(records: Iterable[Mapping[str, str]]) -> str:
    """RFC 4180 CSV (CRLF line ends, minimal quoting) with the 28 columns in order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BOL_COLUMNS)
    # A few thousand rows of 28 cells: the common cell (no formula start) costs one test.
    writer.writerows([value if value[:1] not in _FORMULA_START else escape_cell(value)
                      for value in map(record.get, BOL_COLUMNS, repeat(""))] for record in records)
    return out.getvalue()
