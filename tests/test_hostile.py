"""A corpus of hostile and broken files and requests: each gets a 4xx JSON error that says
what is wrong, and the workspace stays exactly as it was."""

from __future__ import annotations

import pytest

from tests.bolpdf import BolInvoice, build_bol, render, text_line
from tests.hostile import (BOL_LINES, blank_pages_pdf, bol_with_line, entity_bomb_xlsx, plain_bol_pdf,
                           with_media_box, xlsx, zip_bomb_xlsx)
from tests.test_api import MERGED, PDF, download, merged_workspace


def encrypted_pdf() -> bytes:
    import io

    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt=StandardEncryption("secret"))
    pdf.drawString(40, 700, "BILL OF LADING A1")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def pdf_file(data: bytes, name: str = "bol.pdf"):
    return "/upload", {"files": {"file": (name, data, "application/pdf")}}


def sheet_file(data: bytes, name: str = "orders.csv"):
    return "/upload-csv", {"files": {"file": (name, data)}}


def raw(path: str, data: bytes, content_type: str):
    return path, {"content": data, "headers": {"Content-Type": content_type}}


def wide_csv(columns: int) -> bytes:
    return (",".join(f"column {i}" for i in range(columns)) + "\r\nA100001\r\n").encode()


# name → (endpoint and request, status, words the error must contain)
CORPUS = {
    "empty raw PDF body": (raw("/upload", b"", "application/pdf"), 400, "no file"),
    "empty PDF file": (pdf_file(b""), 400, "empty"),
    "truncated PDF": (pdf_file(PDF[: len(PDF) // 2]), 422, "truncated"),
    "PDF cut after the header": (pdf_file(PDF[:200]), 422, "truncated"),
    "encrypted PDF": (pdf_file(encrypted_pdf()), 422, "password"),
    "PNG named .pdf": (pdf_file(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "scan.pdf"), 415, "not a PDF"),
    "zip named .pdf": (pdf_file(xlsx(), "bol.pdf"), 415, "not a PDF"),
    "CSV sent as the PDF": (raw("/upload", b"Invoice No.,Style\r\n", "application/pdf"), 415, "not a PDF"),
    "2,001 blank pages": (pdf_file(blank_pages_pdf(2001)), 422, "more than 2000 pages"),
    "PDF with no invoice": (pdf_file(render([[text_line("QUARTERLY MEMO 2026")]])), 422, "no invoice"),
    "invoice without rows": (pdf_file(build_bol([BolInvoice("A7", [])])), 422, "no invoice rows"),
    "a weight of 30 digits": (pdf_file(bol_with_line(2, "12 ST1001 144 MENS TOP " + "1" * 30 + ".00")), 422,
                              "page 1: a figure of 32 digits"),
    "pieces of 5,000 digits": (pdf_file(bol_with_line(2, "12 ST1001 " + "9" * 5000 + " TOP 35.50")), 422,
                               "a figure of 5000 digits"),
    "totals of 5,000 digits": (pdf_file(bol_with_line(3, "9" * 5000 + " TOTAL CARTONS 144 TOTAL PIECES TOTAL "
                                                      "VOL / WGT 35.50")), 422, "a figure of 5000 digits"),
    "a cube of 5,000 digits": (pdf_file(bol_with_line(4, "9" * 5000 + ".00")), 422, "a figure of 5002 digits"),
    "a page box of [0 0 1e30 1e30]": (pdf_file(with_media_box(plain_bol_pdf(BOL_LINES), b"[0 0 1e30 1e30]")), 422,
                                      "malformed page box"),
    "base64 that does not decode": (("/upload", {"json": {"file_data": "%%%not-base64%%%"}}), 400, "base64"),
    "base64 of the wrong length": (("/upload", {"json": {"file_data": "QUJDRA"}}), 400, "base64"),
    "file_data not a string": (("/upload", {"json": {"file_data": 12345}}), 400, "file_data"),
    "JSON array": (("/upload", {"json": [{"file_data": "x"}]}), 400, "object"),
    "broken JSON": (raw("/upload", b'{"file_data": ', "application/json"), 400, "JSON"),
    "JSON in a wrong encoding": (raw("/upload", '{"file_data": "é"}'.encode("cp1252"), "application/json"),
                                 400, "JSON"),
    "broken multipart": (raw("/upload", b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n%PDF",
                             "multipart/form-data; boundary=xyz"), 400, ""),
    "multipart without a boundary": (raw("/upload", b"whatever", "multipart/form-data"), 400, ""),
    "multipart with the wrong field": (("/upload", {"files": {"pdf": ("bol.pdf", PDF)}}), 400, "'file'"),
    "binary data as CSV": (sheet_file(bytes(range(256)) * 40), 415, "binary"),
    "PDF sent as the spreadsheet": (sheet_file(PDF, "orders.csv"), 415, "is a PDF"),
    "UTF-16 CSV": (sheet_file("Invoice No.,Style,Cartons,Pieces\r\n".encode("utf-16")), 415, "UTF-16"),
    "bytes in no accepted encoding": (sheet_file(b"Invoice No.\r\n\x81\x8d\x8f\x90\x9d\r\n"), 415, "UTF-8"),
    "CSV with 100,000 columns": (sheet_file(wide_csv(100_000)), 422, "99970 more"),
    "CSV with a 10 MB line": (sheet_file(b"Invoice No.,Style,Cartons,Pieces\r\n" + b"A" * 10_000_000 + b"\r\n"),
                              422, "field"),
    "xlsx zip bomb": (sheet_file(zip_bomb_xlsx(), "orders.xlsx"), 422, "expands to"),
    "xlsx entity bomb": (sheet_file(entity_bomb_xlsx(), "orders.xlsx"), 422, "could not be read"),
    "damaged xlsx": (sheet_file(b"PK\x03\x04" + b"\x00" * 200, "orders.xlsx"), 422, "damaged"),
    "damaged xls": (sheet_file(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "orders.xls"), 422,
                    "could not be read"),
    "header only": (sheet_file(b"Invoice No.,Style,Cartons,Pieces\r\n"), 422, "no data rows"),
    "missing columns": (sheet_file(b"Invoice,Item\r\nA100001,ST1001\r\n"), 422, "Invoice No., Style, Cartons, Pieces"),
    "no row matches": (sheet_file(b"Invoice No.,Style,Cartons,Pieces\r\nQ1,Q,1,1\r\n"), 422, "no spreadsheet row"),
    "empty CSV body": (raw("/upload-csv", b"", "text/csv"), 400, "no file"),
    "csv_data not a string": (("/upload-csv", {"json": {"csv_data": ["a", "b"]}}), 400, "csv_data"),
    "spreadsheet as undecodable base64": (("/upload-csv", {"json": {"file_data": "@@@"}}), 400, "base64"),
}


# name → the code its error carries (its kind of failure; the message may be reworded)
CODE_OF = {
    "empty raw PDF body": "bad_request", "empty PDF file": "bad_request", "truncated PDF": "unreadable_pdf",
    "PDF cut after the header": "unreadable_pdf", "encrypted PDF": "encrypted_pdf",
    "PNG named .pdf": "unsupported_file", "zip named .pdf": "unsupported_file",
    "CSV sent as the PDF": "unsupported_file", "2,001 blank pages": "too_many_pages",
    "PDF with no invoice": "no_invoice", "invoice without rows": "no_invoice",
    "a weight of 30 digits": "unusable_content", "pieces of 5,000 digits": "unusable_content",
    "totals of 5,000 digits": "unusable_content", "a cube of 5,000 digits": "unusable_content",
    "a page box of [0 0 1e30 1e30]": "unreadable_pdf", "base64 that does not decode": "bad_request",
    "base64 of the wrong length": "bad_request", "file_data not a string": "bad_request",
    "JSON array": "bad_request", "broken JSON": "bad_request", "JSON in a wrong encoding": "bad_request",
    "broken multipart": "bad_request", "multipart without a boundary": "bad_request",
    "multipart with the wrong field": "bad_request", "binary data as CSV": "unsupported_file",
    "PDF sent as the spreadsheet": "unsupported_file", "UTF-16 CSV": "unsupported_file",
    "bytes in no accepted encoding": "unsupported_file", "CSV with 100,000 columns": "missing_columns",
    "CSV with a 10 MB line": "unusable_content", "xlsx zip bomb": "unusable_content",
    "xlsx entity bomb": "unusable_content", "damaged xlsx": "unusable_content", "damaged xls": "unusable_content",
    "header only": "no_match", "missing columns": "missing_columns", "no row matches": "no_match",
    "empty CSV body": "bad_request", "csv_data not a string": "bad_request",
    "spreadsheet as undecodable base64": "bad_request",
}


@pytest.mark.parametrize("name", CORPUS)
def test_hostile_input_gets_a_clear_4xx_and_changes_nothing(client, name):
    (path, request), status, words = CORPUS[name]
    sid = merged_workspace(client)
    before = client.get("/status", params={"_sid": sid}).json()
    answer = client.post(path, params={"_sid": sid}, **request)
    assert answer.status_code == status, (name, answer.status_code, answer.text[:300])
    assert answer.json()["code"] == CODE_OF[name], (name, answer.text[:300])
    message = answer.json()["error"]
    assert len(message) > 20 and words in message, message[:300]
    assert len(message) < 2000  # says what is wrong without echoing the input
    assert download(client, sid).content == MERGED
    assert client.get("/status", params={"_sid": sid}).json() == before


def test_the_corpus_has_at_least_thirty_cases_each_with_its_code():
    assert len(CORPUS) >= 30 and set(CODE_OF) == set(CORPUS)


def test_formula_payloads_from_a_spreadsheet_come_out_escaped(client):
    sid = merged_workspace(client)
    payloads = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)"]
    sample_rows = [("ST1001", "12", "144"), ("ST1002", "8", "96"), ("ST1004", "1008", "12096"), ("ST1003", "10", "120")]
    rows = [f"A100001,{style},{c},{p},11/02/2026,\"{payload.replace(chr(34), chr(34) * 2)}\",PO,,"
            for payload, (style, c, p) in zip(payloads, sample_rows, strict=True)]
    sheet = ("Invoice No.,Style,Cartons,Pieces,Invoice Date,Ship-to Name,Order No.,Delivery Date,Cancel Date\r\n"
             + "\r\n".join(rows) + "\r\n").encode()
    assert client.post("/upload-csv", params={"_sid": sid}, files={"file": ("o.csv", sheet)}).status_code == 200
    import csv
    import io

    names = [row["Ship To Name"] for row in csv.DictReader(io.StringIO(download(client, sid).text))
             if row["Invoice No."] == "A100001"]
    assert names == ["'" + p for p in payloads]
