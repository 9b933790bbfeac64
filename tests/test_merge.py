"""§3 of the BOL format contract: matching, computed columns, order, counts, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from bolservice.bol import MissingColumnsError, NoMatchError, merge, read_spreadsheet, write_bol_csv
from bolservice.bol.merge import normalize_header, parse_cancel_date
from tests.bolpdf import BolInvoice, Item
from tests.support import HEADER, codes, csv_bytes, csv_rows, extract

A = BolInvoice("A1", [Item("12", "ST1", "144", "TOP", "35.50"), Item("1,008", "ST2", "12,096", "JEANS", "1,204.00")],
               cube="45.60")
B = BolInvoice("B2", [Item("4", "RS1", "48", "TEE", "9.00")], cube="1,772.92")
C = BolInvoice("C3", [Item("7", "KD1", "84", "KIDS", "14.00")], cube="160.00")


def line(invoice, style, cartons, pieces, name="BURLINGTON #1", cancel="11302026", po="PO-1"):
    return [invoice, style, cartons, pieces, "11/02/2026", name, po, "11/20/2026", cancel]


def merged(invoices, rows, header=HEADER):
    return merge(extract(invoices), read_spreadsheet(csv_bytes(rows, header)))


def out(result):
    return csv_rows(write_bol_csv(result.records))


def test_matched_rows_take_the_mapped_columns_as_written():
    result = merged([A], [line("A1", "ST1", "12", "144"), line("A1", "ST2", "1008", "12096")])
    first = out(result)[0]
    assert {k: first[k] for k in ("Order Date", "Ship To Name", "Purchase Order No.",
                                  "Start Date", "Cancel Date")} == {
        "Order Date": "11/02/2026", "Ship To Name": "BURLINGTON #1", "Purchase Order No.": "PO-1",
        "Start Date": "11/20/2026", "Cancel Date": "11302026",
    }
    assert (result.rows_in_file, result.rows_matched, result.pdf_rows_unmatched,
            result.file_rows_unmatched) == (2, 2, 0, 0)
    assert result.warnings == []


@pytest.mark.parametrize("written, normal", [
    ("Invoice No.", "invoice no."), ("  CARTONS* ", "cartons"), ("Pieces *", "pieces"),
    ("style", "style"), ("Ship-to Name", "ship-to name"),
])
def test_header_names_ignore_case_outer_spaces_and_a_trailing_star(written, normal):
    assert normalize_header(written) == normal


def test_header_variants_and_individual_pieces_are_accepted():
    header = [" invoice no. ", "STYLE", "Cartons *", "Individual Pieces*", "ship-to name"]
    result = merged([A], [["A1", "ST1", "12", "144", "ROSS"]], header)
    assert result.rows_matched == 1
    assert out(result)[0]["Ship To Name"] == "ROSS"


def test_missing_required_columns_are_named_with_the_columns_found():
    with pytest.raises(MissingColumnsError) as caught:
        merged([A], [["A1", "ST1"]], ["Invoice No.", "Style"])
    message = str(caught.value)
    assert "Cartons, Pieces" in message and "'Invoice No.', 'Style'" in message


def test_keys_ignore_case_and_spaces_and_compare_numbers_as_numbers():
    result = merged([A], [line(" a1 ", "st2 ", "1,008.0", "12096.00"), line("A1", "ST1", "12.0", "144")])
    assert result.rows_matched == 2
    assert [r["Purchase Order No."] for r in out(result)] == ["PO-1", "PO-1"]


def test_duplicate_keys_match_kth_file_row_to_kth_pdf_row():
    twin = BolInvoice("A1", [Item("5", "ST9", "60", "TOP", "1.00"), Item("3", "ST8", "36", "X", "2.00"),
                             Item("5", "ST9", "60", "TOP", "4.00")])
    result = merged([twin], [line("A1", "ST9", "5", "60", po="first"), line("A1", "ST9", "5", "60", po="second")])
    rows = out(result)
    assert [(r["Individual Weight"], r["Purchase Order No."]) for r in rows] == [
        ("1.00", "first"), ("2.00", ""), ("4.00", "second"),
    ]
    assert (result.rows_matched, result.pdf_rows_unmatched) == (2, 1)


def test_unmatched_rows_on_both_sides_are_counted_reported_and_pdf_rows_kept():
    result = merged([A, B], [line("A1", "ST1", "12", "144"), line("A1", "ST1", "13", "144"),
                             line("Z9", "NOPE", "1", "1")])
    assert (result.rows_in_file, result.rows_matched, result.pdf_rows_unmatched,
            result.file_rows_unmatched) == (3, 1, 2, 2)
    assert codes(result) == ["pdf_row_unmatched"] * 2 + ["file_row_unmatched"] * 2
    assert "spreadsheet row 3" in result.warnings[2].message
    rows = out(result)
    assert len(rows) == 3 and {r["Style"] for r in rows} == {"ST1", "ST2", "RS1"}


def test_long_unmatched_lists_are_counted_in_full_and_listed_in_part():
    rows = [line("A1", "ST1", "12", "144")] + [line("Z9", f"N{i}", "1", "1") for i in range(25)]
    result = merged([A], rows)
    assert result.file_rows_unmatched == 25
    assert codes(result).count("file_row_unmatched") == 20
    assert "5 more unmatched spreadsheet rows" in result.warnings[-1].message


def test_no_matching_row_is_an_error_naming_both_sides_invoices():
    with pytest.raises(NoMatchError) as caught:
        merged([A, B], [line("Q7", "ST1", "12", "144")])
    assert "A1, B2" in str(caught.value) and "Q7" in str(caught.value)


def test_header_only_spreadsheet_is_an_error():
    with pytest.raises(NoMatchError, match="no data rows"):
        merged([A], [])


def test_pallet_and_burlington_cube_on_the_first_row_only():
    rows = out(merged([A], [line("A1", "ST2", "1008", "12096", name="Burlington Coat Factory")]))
    assert [(r["Pallet"], r["Burlington Cube"], r["Final Cube"]) for r in rows] == [
        ("1", "93", ""), ("", "", ""),
    ]
    # The invoice's name is its first matched row's, even when that is not its first row.
    assert rows[0]["Ship To Name"] == "" and rows[1]["Ship To Name"] == "Burlington Coat Factory"


def test_final_cube_for_other_customers_and_pallet_rounds_up():
    rows = out(merged([B, C], [line("B2", "RS1", "4", "48", name="ROSS"), line("C3", "KD1", "7", "84", name="TJX")]))
    figures = {r["Invoice No."]: (r["Pallet"], r["Final Cube"], r["Burlington Cube"]) for r in rows}
    assert figures == {"B2": ("23", "2990", ""), "C3": ("2", "260", "")}


def test_invoice_without_match_gets_pallet_but_no_cubes_and_no_cube_means_no_pallet():
    nocube = BolInvoice("D4", [Item("1", "N1", "12", "X", "1.00")], cube=None)
    rows = out(merged([A, nocube, B], [line("B2", "RS1", "4", "48", name="ROSS")]))
    figures = {r["Invoice No."]: (r["Pallet"], r["Final Cube"], r["Burlington Cube"])
               for r in rows if r["Total Pieces"]}
    assert figures == {"A1": ("1", "", ""), "D4": ("", "", ""), "B2": ("23", "2990", "")}


def test_invoices_sort_by_name_groups_earliest_cancel_then_name_then_own_date_then_unmatched():
    inv = {n: BolInvoice(n, [Item("1", f"S{n}", "12", "X", "1.00")]) for n in
           ("I1", "I2", "I3", "I4", "I5", "I6", "I7")}
    rows = [
        line("I1", "SI1", "1", "12", name="ZED", cancel="12/01/2026"),
        line("I2", "SI2", "1", "12", name="ACME", cancel="2026-12-15"),
        line("I3", "SI3", "1", "12", name="ZED", cancel="1152026"),      # Jan 15: ZED's earliest
        line("I5", "SI5", "1", "12", name="acme", cancel="12/10/2026"),  # another name (case)
        line("I6", "SI6", "1", "12", name="ACME", cancel="not a date"),
        line("I7", "SI7", "1", "12", name="", cancel="01/01/2026"),
    ]
    result = merged(list(inv.values()), rows)
    order = [r["Invoice No."] for r in out(result)]
    # ZED (earliest 2026-01-15): I3 then I1; acme (12-10); ACME (12-15): I2 then undated I6;
    # then the invoices without a name, in PDF order: I4 (no match) and I7 (blank name).
    assert order == ["I3", "I1", "I5", "I2", "I6", "I4", "I7"]


def test_equal_cancel_dates_sort_by_name_as_plain_text_then_pdf_order():
    inv = [BolInvoice(n, [Item("1", "S", "12", "X", "1.00")]) for n in ("P1", "P2", "P3")]
    rows = [line("P1", "S", "1", "12", name="b", cancel="11302026"),
            line("P2", "S", "1", "12", name="B", cancel="11302026"),
            line("P3", "S", "1", "12", name="b", cancel="11302026")]
    assert [r["Invoice No."] for r in out(merged(inv, rows))] == ["P2", "P1", "P3"]


@pytest.mark.parametrize("text, date", [
    ("1052026", dt.date(2026, 1, 5)), ("11302026", dt.date(2026, 11, 30)),
    ("11/30/2026", dt.date(2026, 11, 30)), ("1/5/2026", dt.date(2026, 1, 5)),
    ("2026-11-30", dt.date(2026, 11, 30)), (" 01/05/2026 ", dt.date(2026, 1, 5)),
    ("13302026", None), ("02/30/2026", None), ("30.11.2026", None), ("", None), ("2026/11/30", None),
])
def test_cancel_date_formats(text, date):
    assert parse_cancel_date(text) == date


def test_merging_the_same_spreadsheet_twice_gives_identical_bytes_and_leaves_the_pdf_rows_alone():
    extraction = extract([A, B])
    sheet = read_spreadsheet(csv_bytes([line("A1", "ST1", "12", "144"), line("B2", "RS1", "4", "48")]))
    first = write_bol_csv(merge(extraction, sheet).records)
    other = read_spreadsheet(csv_bytes([line("B2", "RS1", "4", "48", name="ROSS")]))
    replaced = write_bol_csv(merge(extraction, other).records)
    assert write_bol_csv(merge(extraction, sheet).records) == first
    assert replaced != first and "BURLINGTON" not in replaced


@pytest.mark.parametrize("payload", ["=HYPERLINK(\"http://x\",\"y\")", "@SUM(A1:A2)", "+1+cmd", "-2+3",
                                     "\tTAB", "\rCR"])
def test_formula_payloads_in_ship_to_names_come_out_escaped(payload):
    rows = out(merged([A], [line("A1", "ST1", "12", "144", name=payload)]))
    assert rows[0]["Ship To Name"] == "'" + payload


@pytest.mark.parametrize("plain", ["-5", "12.50", "+3", "BURLINGTON"])
def test_plain_numbers_and_text_are_written_as_they_are(plain):
    rows = out(merged([A], [line("A1", "ST1", "12", "144", po=plain)]))
    assert rows[0]["Purchase Order No."] == plain
