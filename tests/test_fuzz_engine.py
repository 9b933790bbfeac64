"""Hypothesis against the engine: whatever comes in, only the engine's input errors go out."""

from __future__ import annotations

import contextlib
import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bolservice.bol import ENGINES, BolInputError, extract_pdf, merge, read_spreadsheet
from bolservice.bol.parse import assemble, parse_page
from tests.bolpdf import BolInvoice, Item
from tests.hostile import BOL_LINES, plain_bol_pdf
from tests.support import extract

# Lines made of the tokens the parser reacts to, so random input reaches every branch.
TOKENS = st.sampled_from([
    "BILL", "OF", "LADING", "A100001", "b2", "CARTONS", "STYLE", "PIECES", "TOTAL", "CARTONS", "PIECES",
    "VOL", "/", "WGT", "SHIPPING", "INSTRUCTIONS:", "CONTINUED", "Page", "of", "1,008", "12", "0", "45.60",
    "1,772.92", "3.5", ",", "1,00", "99999999999999999999", "-5", "=cmd", "\u00e9", "\x00",
]) | st.text(min_size=1, max_size=12)
LINES = st.lists(st.lists(TOKENS, max_size=12).map(" ".join), max_size=30)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(LINES, min_size=1, max_size=5))
def test_parser_takes_any_lines(pages):
    try:
        extraction = assemble(parse_page(number, lines) for number, lines in enumerate(pages, 1))
    except BolInputError:
        return
    assert extraction.rows and all(row.cartons.isdigit() and row.pieces.isdigit() for row in extraction.rows)


@FUZZ
@given(st.binary(max_size=2000))
def test_spreadsheet_reader_takes_any_bytes(data):
    with contextlib.suppress(BolInputError):
        read_spreadsheet(data)


EXTRACTION = extract([BolInvoice("A1", [Item("12", "ST1", "144", "TOP", "35.50"), Item("1,008", "ST2", "1", "X", "1.00")]),
                      BolInvoice("B2", [Item("4", "RS1", "48", "TEE", "9.00")], cube=None)])
HEADERS = st.lists(st.sampled_from(["Invoice No.", "Style", "Cartons*", "Pieces", "Individual Pieces", "Ship-to Name",
                                    "Cancel Date", "Order No.", " invoice no. ", "Other"]) | st.text(max_size=8),
                   max_size=10)
CELLS = st.sampled_from(["A1", "a1 ", "B2", "ST1", "st2", "RS1", "12", "12.0", "1,008", "1008", "144", "1", "48", "4",
                         "burlington", "", "11/30/2026", "1052026", "2026-02-30", "=x", "nan", "Infinity"]) | st.text(max_size=6)


@FUZZ
@given(HEADERS, st.lists(st.lists(CELLS, max_size=12), max_size=12), st.sampled_from([",", ";", "\t"]))
def test_merge_takes_any_table(header, rows, delimiter):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    try:
        result = merge(EXTRACTION, read_spreadsheet(out.getvalue().encode()))
    except BolInputError:
        return
    assert len(result.records) == len(EXTRACTION.rows)
    assert result.rows_matched + result.file_rows_unmatched == result.rows_in_file
    assert result.rows_matched + result.pdf_rows_unmatched == len(EXTRACTION.rows)


PLAIN_BOL = plain_bol_pdf(BOL_LINES)
# What damage looks like where it hurts: numbers out of range, keywords and delimiters in
# the wrong place, a page tree that points at itself.
DAMAGE = st.sampled_from([b"1e30", b"-1", b"99999999999999999999", b"0", b"/Kids [2 0 R]", b"R", b"obj", b"<<",
                          b">>", b"[", b"]", b"(", b")", b"/Type", b"null", b"3.4e38", b"nan", b" ", b"\x00"]) | st.binary(
    min_size=1, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(PLAIN_BOL) - 1), DAMAGE, st.integers(0, 20)), min_size=1, max_size=4))
def test_every_engine_takes_any_damaged_pdf(edits):
    data = bytearray(PLAIN_BOL)
    for at, patch, cut in edits:
        data[at:at + cut] = patch
    for engine in ENGINES:
        with contextlib.suppress(BolInputError):
            extract_pdf(bytes(data), engine=engine)
