"""§1 of the BOL format contract, one rule at a time, on PDFs laid out like real ones."""

from __future__ import annotations

import pytest

from bolservice.bol import (
    EncryptedPdfError,
    NoInvoiceError,
    NotAPdfError,
    TooManyPagesError,
    UnreadablePdfError,
    extract_pdf,
)
from bolservice.bol import ScannedPdfError
from bolservice.bol.parse import assemble, parse_page, parse_row
from tests.bolpdf import (
    BolInvoice,
    Item,
    build_bol,
    expected_rows,
    header_lines,
    invoice_pages,
    item_line,
    render,
    text_line,
)
from tests.support import codes, extract, extract_pages, pdf_csv_rows, row_tuples


def items(n: int, prefix: str = "ST") -> list[Item]:
    return [Item(str(i + 1), f"{prefix}{i:04d}", str(12 * (i + 1)), "MENS KNIT TOP", f"{i + 1}.50")
            for i in range(n)]


def test_invoice_over_three_pages_keeps_page_and_line_order_with_totals_from_last_page():
    invoice = BolInvoice("A100001", items(7), rows_per_page=3, cube="45.60")
    extraction = extract([invoice])
    assert extraction.pages == 3
    assert row_tuples(extraction) == expected_rows([invoice])
    assert [r.page for r in extraction.rows] == [1, 1, 1, 2, 2, 2, 3]
    rows = pdf_csv_rows(extraction)
    assert rows[0]["Total Pieces"] == str(12 * sum(range(1, 8)))
    assert rows[0]["Total Weight"] == "31.50"
    assert all(r["Total Pieces"] == r["Total Weight"] == "" for r in rows[1:])
    assert [r["BOL Cube"] for r in rows] == ["45.60"] * 7
    assert extraction.warnings == []


def test_invoice_number_is_matched_case_insensitively_and_kept_as_printed():
    page = header_lines(BolInvoice("X", []), 1, 1)
    page[2] = text_line("Bill of Lading b200002 (ORIGINAL)")
    page += [item_line(Item("1", "ST1", "12", "TOP", "3.50")), text_line("SHIPPING INSTRUCTIONS: NONE")]
    extraction = extract_pages([page])
    assert [inv.number for inv in extraction.invoices] == ["b200002"]


def test_lines_above_the_header_are_never_rows():
    # The builder prints "12 ROUTE 46 WEST, TOTOWA NJ 07512" above every header: row-shaped.
    assert parse_row("12 ROUTE 46 WEST, TOTOWA NJ 07512") is not None
    extraction = extract([BolInvoice("A1", items(2))])
    assert [r.style for r in extraction.rows] == ["ST0000", "ST0001"]


def test_description_with_digits_takes_the_last_number_as_weight():
    invoice = BolInvoice("A1", [Item("12", "JN1010", "144", "SIZE 10 JEANS 2 PK", "35.50")])
    assert row_tuples(extract([invoice])) == [("A1", "JN1010", "12", "144", "35.50")]


def test_numbers_with_and_without_thousands_commas_lose_the_commas_and_keep_decimals():
    invoice = BolInvoice("A1", [
        Item("1,008", "ST1", "12,096", "JEANS", "1,204.00"),
        Item("1008", "ST2", "12096", "JEANS", "1204.5"),
        Item("3", "ST3", "36", "TEE", "12"),
    ])
    assert row_tuples(extract([invoice])) == [
        ("A1", "ST1", "1008", "12096", "1204.00"),
        ("A1", "ST2", "1008", "12096", "1204.5"),
        ("A1", "ST3", "3", "36", "12"),
    ]


@pytest.mark.parametrize("printed, written", [
    ("1,772.92", "1772.92"), ("12,345,678.10", "12345678.10"), ("45.60", "45.60"), ("0.75", "0.75"),
])
def test_cube_of_any_size_is_read_whole(printed, written):
    extraction = extract([BolInvoice("A1", items(2), cube=printed)])
    assert [r["BOL Cube"] for r in pdf_csv_rows(extraction)] == [written, written]


def test_cube_is_never_taken_from_rows_totals_or_below_the_shipping_instructions():
    # Rows and totals hold two-decimal weights and "125.00" sits below the instructions.
    extraction = extract([BolInvoice("A1", items(3), cube=None)])
    assert [r["BOL Cube"] for r in pdf_csv_rows(extraction)] == ["", "", ""]
    assert codes(extraction) == ["no_cube"]
    warning = extraction.warnings[0]
    assert warning.page == 1 and "A1" in warning.message


def test_cube_found_after_the_last_row_when_there_is_no_totals_line():
    extraction = extract([BolInvoice("A1", items(2), totals=None, cube="88.40")])
    assert [r["BOL Cube"] for r in pdf_csv_rows(extraction)] == ["88.40", "88.40"]
    assert codes(extraction) == ["computed_totals"]  # the cube line is not a skipped line


def test_cube_applies_to_every_row_of_its_invoice_only():
    a = BolInvoice("A1", items(4), rows_per_page=2, cube="10.00")
    b = BolInvoice("B2", items(1, "RS"), cube="20.00")
    rows = pdf_csv_rows(extract([a, b]))
    assert [(r["Invoice No."], r["BOL Cube"]) for r in rows] == (
        [("A1", "10.00")] * 4 + [("B2", "20.00")]
    )


def test_missing_totals_line_gives_sums_with_two_decimal_weight_and_a_warning():
    invoice = BolInvoice("A1", [Item("1", "S1", "1,000", "X", "10.5"), Item("2", "S2", "24", "Y", "2.25")],
                         totals=None)
    extraction = extract([invoice])
    first = pdf_csv_rows(extraction)[0]
    assert (first["Total Pieces"], first["Total Weight"]) == ("1024", "12.75")
    assert codes(extraction) == ["computed_totals"]
    assert extraction.warnings[0].page == 1


def test_printed_totals_win_over_the_sum_of_rows_with_a_warning():
    invoice = BolInvoice("A1", items(2), totals=("3", "1,500", "2,000.00"))
    extraction = extract([invoice])
    first = pdf_csv_rows(extraction)[0]
    assert (first["Total Pieces"], first["Total Weight"]) == ("1500", "2000.00")
    assert codes(extraction) == ["totals_mismatch"]
    assert "1500 pieces" in extraction.warnings[0].message and "36 pieces" in extraction.warnings[0].message


def test_page_without_invoice_number_is_reported_with_its_page_not_dropped_silently():
    good = invoice_pages(BolInvoice("A1", items(2)))
    orphan = header_lines(BolInvoice("A1", []), 1, 1)
    del orphan[2]  # no BILL OF LADING line
    orphan.append(item_line(Item("5", "LOST1", "60", "TOP", "9.00")))
    extraction = extract_pages(good + [orphan])
    assert [r.style for r in extraction.rows] == ["ST0000", "ST0001"]
    assert codes(extraction) == ["page_without_invoice"]
    warning = extraction.warnings[0]
    assert warning.page == 2 and "1 table row" in warning.message


def test_unreadable_lines_under_the_header_are_reported_but_continued_and_page_lines_are_not():
    pages = invoice_pages(BolInvoice("A1", items(4), rows_per_page=2))
    pages[0].insert(7, text_line("SEE ATTACHED PACKING LIST"))
    pages[0].insert(8, text_line("Page 1 of 2"))
    extraction = extract_pages(pages)
    assert len(extraction.rows) == 4
    assert [(w.code, w.page, w.text) for w in extraction.warnings] == [
        ("skipped_line", 1, "SEE ATTACHED PACKING LIST"),
    ]


def test_invoices_keep_the_order_of_their_first_page_and_gather_pages_out_of_sequence():
    a_pages = invoice_pages(BolInvoice("A1", items(4), rows_per_page=2))
    b_pages = invoice_pages(BolInvoice("B2", items(2, "RS")))
    extraction = extract_pages([a_pages[0], b_pages[0], a_pages[1]])
    assert [inv.number for inv in extraction.invoices] == ["A1", "B2"]
    assert [(r.invoice, r.page) for r in extraction.rows] == [
        ("A1", 1), ("A1", 1), ("A1", 3), ("A1", 3), ("B2", 2), ("B2", 2),
    ]


def test_two_invoices_each_with_totals_and_cube():
    a = BolInvoice("A1", items(3), cube="12.00")
    b = BolInvoice("B2", items(2, "RS"), cube="1,000.00")
    extraction = extract([a, b])
    assert row_tuples(extraction) == expected_rows([a, b])
    rows = pdf_csv_rows(extraction)
    assert [r["Total Pieces"] for r in rows] == ["72", "", "", "36", ""]
    assert extraction.warnings == []


def test_unreadable_totals_line_is_reported_and_sums_are_used():
    pages = invoice_pages(BolInvoice("A1", items(2), totals=None))
    pages[0].insert(-3, text_line("TOTAL CARTONS: SEE MANIFEST"))  # above the cube line
    extraction = extract_pages(pages)
    assert codes(extraction) == ["unreadable_totals", "computed_totals"]


@pytest.mark.parametrize("weight", ["30,0000.00", "30,000.000,5", "30,000.00.5", "30,000.1.00"])
def test_a_totals_weight_that_runs_on_into_digits_is_not_read_as_its_start(weight):
    """`WGT 30,0000.00` is not 30,000 and a stray `0.00`: no part of it is taken."""
    page = parse_page(1, CONTRACT_PAGE[1:4] + [f"10 TOTAL CARTONS 120 TOTAL PIECES TOTAL VOL / WGT {weight}"])
    assert page.totals is None
    assert [w.code for w in page.warnings] == ["unreadable_totals"]


def test_a_totals_weight_ends_at_its_figure():
    page = parse_page(1, CONTRACT_PAGE[1:4] + ["10 TOTAL CARTONS 120 TOTAL PIECES TOTAL VOL / WGT 30.00, LBS 1"])
    assert page.totals is not None and page.totals.weight == "30.00"


def test_pdf_without_any_invoice_is_an_error():
    with pytest.raises(NoInvoiceError, match="no invoice found") as raised:
        extract_pdf(render([[text_line("QUARTERLY REPORT 2026")]]))
    assert raised.value.code == "no_invoice" and not isinstance(raised.value, ScannedPdfError)


def test_invoice_without_any_row_is_an_error_when_nothing_else_has_rows():
    with pytest.raises(NoInvoiceError, match="no invoice rows") as raised:
        extract_pdf(build_bol([BolInvoice("A1", [])]))
    assert raised.value.code == "no_invoice"


def test_pages_of_scans_without_an_invoice_are_their_own_kind_of_no_invoice():
    pages = [parse_page(1, [], scanned=True), parse_page(2, [], scanned=True), parse_page(3, [])]
    with pytest.raises(ScannedPdfError, match="^pages 1, 2 have no text: they look like scans") as raised:
        assemble(pages)
    assert isinstance(raised.value, NoInvoiceError) and raised.value.code == "scanned_pdf"


def test_not_a_pdf_is_refused_by_its_bytes():
    with pytest.raises(NotAPdfError):
        extract_pdf(b"Invoice No.,Style\nA1,ST1\n")


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n", build_bol([BolInvoice("A1", items(1))])[:400]])
def test_empty_or_truncated_pdf_is_unreadable(data):
    with pytest.raises((UnreadablePdfError, NotAPdfError)):
        extract_pdf(data)


def test_password_protected_pdf_is_refused():
    import io

    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt=StandardEncryption("secret"))
    pdf.drawString(40, 700, "BILL OF LADING A1")
    pdf.showPage()
    pdf.save()
    with pytest.raises(EncryptedPdfError, match="password"):
        extract_pdf(buffer.getvalue())


def test_page_limit_refuses_longer_pdfs_and_accepts_the_limit():
    data = build_bol([BolInvoice("A1", items(6), rows_per_page=2)])
    assert extract_pdf(data, max_pages=3).pages == 3
    with pytest.raises(TooManyPagesError, match="more than 2 pages"):
        extract_pdf(data, max_pages=2)


def test_parse_page_on_lines_reads_the_contract_example():
    first = parse_page(1, [
        "ACME APPAREL INC. Page 1 of 2",
        "1200 INDUSTRIAL PKWY, EDISON NJ 08817",
        "BILL OF LADING A100001",
        "SHIP TO: BURLINGTON STORES #123",
        "CARTONS STYLE PIECES DESCRIPTION WEIGHT",
        "12 ST1001 144 MENS KNIT TOP 35.50",
        "8 ST1002 96 WOMENS DRESS 22.25",
        "CONTINUED ON NEXT PAGE",
    ])
    last = parse_page(2, [
        "BILL OF LADING A100001",
        "CARTONS STYLE PIECES DESCRIPTION WEIGHT",
        "10 ST1003 120 KIDS TEE 30.00",
        "30 TOTAL CARTONS 360 TOTAL PIECES TOTAL VOL / WGT 87.75",
        "45.60",
        "SHIPPING INSTRUCTIONS: DELIVER TO DOCK 4",
    ])
    assert [r.style for r in first.rows + last.rows] == ["ST1001", "ST1002", "ST1003"]
    assert (first.cube, last.cube) == (None, "45.60")
    assert last.totals is not None and (last.totals.pieces, last.totals.weight) == ("360", "87.75")
    assert first.warnings == last.warnings == []


CONTRACT_PAGE = [
    "ACME APPAREL INC. Page 2 of 2",
    "BILL OF LADING A100001",
    "CARTONS STYLE PIECES DESCRIPTION WEIGHT",
    "10 ST1003 120 KIDS TEE 30.00",
    "1,008 ST1004 12,096 SIZE 10 JEANS 1,204.00",
    "CONTINUED FROM PAGE 1",
    "Page 2 of 2",
    "1,018 TOTAL CARTONS 12,216 TOTAL PIECES TOTAL VOL / WGT 1,234.00",
    "1,045.60",
    "SHIPPING INSTRUCTIONS: DELIVER TO DOCK 4",
]


@pytest.mark.parametrize("gap", ["", " ", "   ", "\t "])
def test_keywords_match_with_any_spacing_between_their_words(gap):
    """Producers leave word gaps narrower than a space: `TOTALPIECES` is still the keyword."""
    def spaced(line: str) -> str:
        for keyword in ("BILL OF LADING", "TOTAL CARTONS", "TOTAL PIECES", "TOTAL VOL / WGT",
                        "SHIPPING INSTRUCTIONS :", "CONTINUED FROM", "Page 2"):
            line = line.replace(keyword.replace(" :", ":"), gap.join(keyword.split()))
        return line

    page = parse_page(2, [spaced(line) for line in CONTRACT_PAGE])
    assert page.invoice == "A100001"
    assert [(r.cartons, r.style, r.pieces, r.weight) for r in page.rows] == [
        ("10", "ST1003", "120", "30.00"), ("1008", "ST1004", "12096", "1204.00")]
    assert page.totals is not None
    assert (page.totals.cartons, page.totals.pieces, page.totals.weight) == ("1018", "12216", "1234.00")
    assert page.cube == "1045.60"
    assert page.warnings == []


def test_a_glued_totals_line_is_never_read_as_a_row():
    """`23,426 TOTALCARTONS ...` reads as a row if the keyword needs its space."""
    page = parse_page(1, CONTRACT_PAGE[1:4] + [
        "10 TOTALCARTONS 120 TOTALPIECESTOTALVOL/WGT 30.00", "45.60", "SHIPPINGINSTRUCTIONS:"])
    assert [r.style for r in page.rows] == ["ST1003"]
    assert page.totals is not None and page.totals.pieces == "120"
    assert page.cube == "45.60"


def test_extraction_survives_a_json_round_trip():
    import json

    from bolservice.bol.model import Extraction

    extraction = extract([BolInvoice("A1", items(3), totals=None, cube=None), BolInvoice("B2", items(2))])
    again = Extraction.from_dict(json.loads(json.dumps(extraction.to_dict())))
    assert again == extraction


HUGE = "9" * 5000


@pytest.mark.parametrize("line, shown", [
    ("12 ST1003 120 KIDS TEE " + "1" * 30 + ".00", "a figure of 32 digits"),  # a weight
    (f"10 ST1003 {HUGE} KIDS TEE 30.00", "a figure of 5000 digits"),  # pieces past int()'s limit
    (f"{HUGE} TOTAL CARTONS 120 TOTAL PIECES TOTAL VOL / WGT 30.00", "a figure of 5000 digits"),
    (f"{HUGE}.00", "a figure of 5002 digits"),  # the cube
])
def test_a_figure_longer_than_any_bols_is_refused_naming_its_page_and_line(line, shown):
    from bolservice.bol import NumberTooLongError
    from bolservice.bol.parse import assemble

    lines = ["BILL OF LADING A100001", "CARTONS STYLE PIECES DESCRIPTION WEIGHT", "10 ST1003 120 KIDS TEE 30.00",
             line, "SHIPPING INSTRUCTIONS: DELIVER TO DOCK 4"]
    with pytest.raises(NumberTooLongError, match=rf"^page 2: {shown}, where a BOL's have at most 15 \('") as error:
        assemble([parse_page(1, CONTRACT_PAGE), parse_page(2, lines)])
    assert len(str(error.value)) < 300  # the line is shown cut, not 5,000 digits long


def test_fifteen_digits_are_still_a_figure():
    page = parse_page(1, ["BILL OF LADING A1", "CARTONS STYLE PIECES DESCRIPTION WEIGHT",
                          "1 ST1 123,456,789,012,345 TOP 1,234,567,890,123.45"])
    assert [(r.pieces, r.weight) for r in page.rows] == [("123456789012345", "1234567890123.45")]
