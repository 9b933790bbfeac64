"""Every spreadsheet flavour a clerk sends gives the same merge (§3 of the contract)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
import xlwt

from bolservice.bol import (
    NotASpreadsheetError,
    UnreadableSpreadsheetError,
    merge,
    read_spreadsheet,
    write_bol_csv,
)
from bolservice.bol.spreadsheet import cell_text, detect_delimiter
from tests.bolpdf import BolInvoice, Item
from tests.support import HEADER, csv_bytes, extract

INVOICES = [
    BolInvoice("A1", [Item("12", "ST1", "144", "TOP", "35.50"), Item("1,008", "ST2", "12,096", "JEANS", "1,204.00")]),
    BolInvoice("B2", [Item("4", "RS1", "48", "TEE", "9.00")], cube="1,772.92"),
]
ROWS = [
    ["A1", "ST1", "12", "144", "11/02/2026", "CAFÉ BURLINGTON", "PO-1", "11/20/2026", "11/30/2026"],
    ["A1", "ST2", "1,008", "12096", "11/02/2026", "CAFÉ BURLINGTON", "PO-1", "11/20/2026", "11/30/2026"],
    ["B2", "RS1", "4", "48", "11/03/2026", "ROSS; STORES", "PO-2", "11/18/2026", "11/25/2026"],
]


@pytest.fixture(scope="module")
def extraction():
    return extract(INVOICES)


@pytest.fixture(scope="module")
def expected(extraction):
    return write_bol_csv(merge(extraction, read_spreadsheet(csv_bytes(ROWS))).records)


def typed_rows():
    """The same rows with the numbers and dates Excel would store as numbers and dates."""
    return [[inv, style, int(cartons.replace(",", "")), float(pieces), dt.datetime(2026, 11, int(od[3:5])),
             name, po, dt.datetime(2026, 11, int(dd[3:5])), dt.datetime(2026, 11, int(cd[3:5]))]
            for inv, style, cartons, pieces, od, name, po, dd, cd in ROWS]


def xlsx_bytes() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in typed_rows():
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xls_bytes() -> bytes:
    book = xlwt.Workbook()
    sheet = book.add_sheet("BOL")
    date_style = xlwt.easyxf(num_format_str="MM/DD/YYYY")
    for column, name in enumerate(HEADER):
        sheet.write(0, column, name)
    for r, row in enumerate(typed_rows(), 1):
        for column, value in enumerate(row):
            sheet.write(r, column, value, date_style) if isinstance(value, dt.datetime) else sheet.write(r, column, value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


FLAVOURS = {
    "utf-8": lambda: csv_bytes(ROWS),
    "utf-8 with BOM": lambda: b"\xef\xbb\xbf" + csv_bytes(ROWS),
    "windows-1252": lambda: csv_bytes(ROWS, encoding="cp1252"),
    "semicolon": lambda: csv_bytes(ROWS, delimiter=";"),
    "tab": lambda: csv_bytes(ROWS, delimiter="\t"),
    "xlsx with numeric and date cells": xlsx_bytes,
    "xls with numeric and date cells": xls_bytes,
}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_flavour_merges_to_the_same_bytes(flavour, extraction, expected):
    sheet = read_spreadsheet(FLAVOURS[flavour]())
    result = merge(extraction, sheet)
    assert result.rows_matched == 3
    assert write_bol_csv(result.records) == expected
    assert "CAFÉ BURLINGTON" in expected and "ROSS; STORES" in expected


def test_excel_cells_read_as_a_clerk_sees_them():
    assert [cell_text(v) for v in (12.0, 12.5, 7, None, float("nan"), True, dt.datetime(2026, 1, 5),
                                   dt.date(2026, 1, 5), dt.datetime(2026, 1, 5, 14, 30), "x")] == [
        "12", "12.5", "7", "", "", "TRUE", "01/05/2026", "01/05/2026", "01/05/2026 14:30:00", "x"]


@pytest.mark.parametrize("line, delimiter", [
    ("a,b;c", ","), ("a;b;c,d", ";"), ("a\tb\tc", "\t"), ("single", ","),
])
def test_delimiter_is_the_one_the_header_uses_most(line, delimiter):
    assert detect_delimiter(line) == delimiter


def test_blank_rows_are_skipped_and_data_rows_keep_their_file_row_numbers():
    sheet = read_spreadsheet(b"Invoice No.,Style\r\n\r\n,\r\nA1,ST1\r\n")
    assert sheet.header == ["Invoice No.", "Style"]
    assert sheet.rows == [(4, ["A1", "ST1"])]


def test_ragged_rows_are_padded_to_the_widest():
    sheet = read_spreadsheet(b"a,b,c\r\n1\r\n")
    assert sheet.rows == [(2, ["1", "", ""])]


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary", b"PDF\x00"])
def test_binary_data_is_not_a_spreadsheet(data):
    with pytest.raises(NotASpreadsheetError):
        read_spreadsheet(data)


def test_bytes_in_neither_encoding_are_refused():
    with pytest.raises(NotASpreadsheetError, match="UTF-8"):
        read_spreadsheet(b"Invoice No.\r\n\x81\x8d\r\n")


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"PK\x03\x04 not really a zip"])
def test_empty_or_broken_files_are_unreadable(data):
    with pytest.raises(UnreadableSpreadsheetError):
        read_spreadsheet(data)
