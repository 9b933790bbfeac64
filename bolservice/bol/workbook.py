"""The BOL CSV as an Excel workbook whose cells already have their types.

Excel opens a CSV by guessing each cell's type: `0012345` loses its zeros, `88-7731`
becomes a date, a 16-digit id is rounded. The workbook is the CSV's own text, cell for
cell, each cell typed by its column: identifiers stay text, counts are integers, weights
and cubes are numbers shown with the decimals the CSV prints, dates are dates shown as
written. A value that does not read as its column's type stays text, unchanged, so the
workbook never says more than the CSV. No cell is ever a formula: text is written as
text, whatever it starts with (the CSV's formula escaping is kept, so the two files read
alike).

Rows stay in the CSV's order, each invoice's rows together with its totals on the first;
the workbook has no filter or sort buttons that would invite pulling them apart.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
from collections.abc import Iterable, Iterator, Sequence

import xlsxwriter

from .errors import UnusableContentError
from .export import BOL_COLUMNS

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Figures shown again exactly as written: no leading zero, no sign on a zero, at most 15
# digits (what a double keeps exactly). `0012345` or `-0` stay text.
_INTEGER = re.compile(r"0|-?[1-9]\d*")
_DECIMAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.(\d+))?")
_EXACT_DIGITS = 15
# Dates as the spreadsheet reader writes them (MM/DD/YYYY), as people type them in the US
# (M/D/YYYY), and as ISO 8601; each shown again in the form it was written.
_DATES = ((re.compile(r"(?P<m>\d\d)/(?P<d>\d\d)/(?P<y>\d{4})"), "mm/dd/yyyy"),
          (re.compile(r"(?P<m>[1-9]\d?)/(?P<d>[1-9]\d?)/(?P<y>\d{4})"), "m/d/yyyy"),
          (re.compile(r"(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)"), "yyyy-mm-dd"))
_EXCEL_CELL_LIMIT = 32_767  # characters a cell holds
_WIDEST = 60  # characters: wider columns are cut at this width (the text is whole)

INTEGER_COLUMNS = frozenset({"Cartons", "Individual Pieces", "Total Pieces", "Pallet",
                             "Final Cube", "Burlington Cube"})
DECIMAL_COLUMNS = frozenset({"BOL Cube", "Individual Weight", "Total Weight"})
DATE_COLUMNS = frozenset({"Routed Date", "Ready Date", "Date of Pickup", "Order Date",
                          "Start Date", "Cancel Date"})


TEXT = "@"
COLUMN_FORMATS = {**dict.fromkeys(INTEGER_COLUMNS, "0"), **dict.fromkeys(DECIMAL_COLUMNS, "0.00"),
                  **dict.fromkeys(DATE_COLUMNS, "mm/dd/yyyy")}


class CellTooLongError(UnusableContentError):
    """A cell longer than Excel holds: the workbook cannot carry it, the CSV can."""


Typed = tuple[str, object, str | None]  # how to write a cell: kind, value, number format


@functools.lru_cache(maxsize=16_384)  # a BOL repeats its dates, cubes and counts
def typed_cell(column: str, text: str) -> Typed:
    """How a cell of ``column`` holding ``text`` is written: ("number", value, format),
    ("date", value, format) or ("text", text, None)."""
    if column in INTEGER_COLUMNS and _INTEGER.fullmatch(text) and _exact(text):
        return "number", int(text), "0"
    if column in DECIMAL_COLUMNS and (match := _DECIMAL.fullmatch(text)) and _exact(text):
        places = len(match.group(1) or "")
        return "number", float(text), "0." + "0" * places if places else "0"
    if column in DATE_COLUMNS:
        date = _date(text)
        if date is not None:
            return "date", *date
    return "text", text, None


def _exact(text: str) -> bool:
    return sum(c.isdigit() for c in text) <= _EXACT_DIGITS and not (text[0] == "-" and float(text) == 0)


def _date(text: str) -> tuple[dt.datetime, str] | None:
    """The date ``text`` names, with the format that shows it as written; None for text
    that is no calendar date (02/30/2026) or lies before Excel's calendar (1900)."""
    for pattern, shown in _DATES:
        if match := pattern.fullmatch(text):
            try:
                date = dt.datetime(int(match["y"]), int(match["m"]), int(match["d"]))
            except ValueError:
                return None
            return (date, shown) if date.year > 1900 else None
    return None


def bol_workbook(csv_text: str) -> bytes:
    """The .xlsx of a BOL CSV (``write_bol_csv``'s text): one sheet, "BOL", header bold and
    frozen, columns as wide as their text."""
    widths = _widths(_rows(csv_text))  # a first pass: the widths go before the rows
    output = io.BytesIO()
    # constant_memory streams the rows to a temporary file: a 2,000-page BOL's workbook
    # costs a few MB, not one object per cell.
    workbook = xlsxwriter.Workbook(output, {"constant_memory": True})
    sheet = workbook.add_worksheet("BOL")
    formats = _Formats(workbook)
    # Each column's own format also types what a person types into it later: a PO number
    # keeps its zeros, a cube typed as 1,086.21 is a number.
    for column, (name, width) in enumerate(zip(BOL_COLUMNS, widths)):
        sheet.set_column(column, column, width, formats.of(COLUMN_FORMATS.get(name, TEXT)))
    sheet.freeze_panes(1, 0)
    rows = _rows(csv_text)
    for column, name in enumerate(next(rows)):
        sheet.write_string(0, column, name, formats.bold)
    # write_string never makes a formula, whatever the text starts with.
    writers = {"text": sheet.write_string, "number": sheet.write_number, "date": sheet.write_datetime}
    for number, row in enumerate(rows, 1):
        for column, (name, text) in enumerate(zip(BOL_COLUMNS, row)):
            if text:
                kind, value, shown = typed_cell(name, text)
                writers[kind](number, column, value, formats.of(shown or TEXT))
    workbook.close()
    return output.getvalue()


def _rows(csv_text: str) -> Iterator[list[str]]:
    """The CSV's rows, the header first; ValueError if it is not a BOL CSV."""
    rows = csv.reader(io.StringIO(csv_text, newline=""))
    if tuple(next(rows, ())) != BOL_COLUMNS:
        raise ValueError("not a BOL CSV: its header is not the 28 BOL columns")
    yield list(BOL_COLUMNS)
    yield from rows


class _Formats:
    """The workbook's cell formats, one per number format shown."""

    def __init__(self, workbook: xlsxwriter.Workbook) -> None:
        self._workbook = workbook
        self._made: dict[str, object] = {}
        self.bold = workbook.add_format({"bold": True})

    def of(self, shown: str):
        if shown not in self._made:
            self._made[shown] = self._workbook.add_format({"num_format": shown})
        return self._made[shown]


def _widths(rows: Iterable[Sequence[str]]) -> list[float]:
    """Each column's width, from its longest text; CellTooLongError for a cell Excel
    cannot hold."""
    widest = [0] * len(BOL_COLUMNS)
    for number, row in enumerate(rows, 1):
        for column, text in enumerate(row):
            if len(text) > widest[column]:
                widest[column] = len(text)
                if len(text) > _EXCEL_CELL_LIMIT:
                    raise CellTooLongError(
                        f"row {number}, {BOL_COLUMNS[column]}: {len(text):,} characters, more than the "
                        f"{_EXCEL_CELL_LIMIT:,} an Excel cell holds; download the CSV instead")
    return [min(width, _WIDEST) + 2 for width in widest]
