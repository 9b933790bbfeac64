"""Spreadsheet bytes → a header and rows of text cells (§3 of the BOL format contract).

The format is judged by the bytes, never by the file name: a zip is read as .xlsx, an OLE2
compound file as .xls, anything else must be text and is read as CSV. CSV goes through
the standard ``csv`` module, which keeps every cell exactly as written; Excel goes through
pandas with the calamine engine, which reads both .xlsx and .xls and does not expand XML
entities (a "billion laughs" file costs nothing).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import zipfile
from dataclasses import dataclass

import pandas as pd

from .errors import NotASpreadsheetError, UnreadableSpreadsheetError

_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DELIMITERS = (",", ";", "\t")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# An .xlsx is a zip; a real order sheet is a few MB of XML. A file that says it expands to
# more is refused before it is opened: a zip bomb must not cost memory or time.
MAX_EXPANDED_BYTES = 100 * 1024 * 1024


@dataclass
class Spreadsheet:
    """The first non-blank row as the header, the others as data; every cell is text.

    ``rows`` pairs each data row with its 1-based row number in the file, so reports can
    point at it; blank rows (Excel's trailing ones) are left out.
    """

    header: list[str]
    rows: list[tuple[int, list[str]]]


def read_spreadsheet(data: bytes) -> Spreadsheet:
    if data.startswith(_XLSX_MAGIC) or data.startswith(_XLS_MAGIC):
        table = _read_excel(data)
    else:
        table = _read_csv(_decode(data))
    numbered = [(n, row) for n, row in enumerate(table, 1) if any(cell.strip() for cell in row)]
    if not numbered:
        raise UnreadableSpreadsheetError("the spreadsheet is empty; it needs a header row and data rows")
    width = max(len(row) for _, row in numbered)
    (_, header), *rows = [(n, row + [""] * (width - len(row))) for n, row in numbered]
    return Spreadsheet(header, rows)


def _decode(data: bytes) -> str:
    if data.lstrip()[:5] == b"%PDF-":
        raise NotASpreadsheetError("the file is a PDF, not a spreadsheet; send the CSV, .xlsx or .xls "
                                   "that lists the orders")
    if data.startswith(_UTF16_BOMS):
        raise NotASpreadsheetError("the CSV is UTF-16 text; save it as CSV UTF-8 (or .xlsx)")
    if b"\x00" in data:
        raise NotASpreadsheetError(
            "the file is binary data, not a CSV or Excel spreadsheet; export it as .csv or .xlsx"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise NotASpreadsheetError(
            "the file is neither UTF-8 nor Windows-1252 text; save it as CSV UTF-8 or .xlsx"
        ) from None


def detect_delimiter(header_line: str) -> str:
    """The delimiter used most in the header line; comma when there is none."""
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_csv(text: str) -> list[list[str]]:
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(first_line))
    try:
        return [row for row in reader]
    except csv.Error as error:
        raise UnreadableSpreadsheetError(f"the CSV could not be read: {error}") from None


def _read_excel(data: bytes) -> list[list[str]]:
    if data.startswith(_XLSX_MAGIC):
        _check_expanded_size(data)
    try:
        frame = pd.read_excel(io.BytesIO(data), engine="calamine", header=None, dtype=object)
    except Exception as error:  # calamine reports broken files with assorted error types
        raise UnreadableSpreadsheetError(
            f"the Excel file could not be read ({error}); save it again or export it as CSV"
        ) from None
    return [[cell_text(value) for value in row] for row in frame.itertuples(index=False)]


def _check_expanded_size(data: bytes) -> None:
    try:
        expanded = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, ValueError):
        raise UnreadableSpreadsheetError("the .xlsx file is damaged (not a readable zip); save it again") from None
    if expanded > MAX_EXPANDED_BYTES:
        raise UnreadableSpreadsheetError(
            f"the .xlsx expands to {expanded // (1024 * 1024)} MB, over the "
            f"{MAX_EXPANDED_BYTES // (1024 * 1024)} MB a spreadsheet may hold; remove unused sheets or rows")


def cell_text(value: object) -> str:
    """An Excel cell as a clerk sees it: 12 not 12.0, dates as MM/DD/YYYY."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else f"{value:.15g}"
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.strftime("%m/%d/%Y")
        return value.strftime("%m/%d/%Y %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%m/%d/%Y")
    return str(value)
