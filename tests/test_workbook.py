"""The BOL as an Excel workbook: read back, every cell says what the CSV says, with the type
a person expects; no cell is a formula; LibreOffice turns it back into our CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest

from bolservice.bol import BOL_COLUMNS, write_bol_csv
from bolservice.bol.workbook import CellTooLongError, bol_workbook, typed_cell
from bolservice.cli import main
from bolservice.bol.workbook import XLSX_TYPE
from tests.corpus import corpus_cases
from tests.test_api import EXAMPLES, MERGED, PDF_ONLY, download, merged_workspace, new_sid, upload

IDENTIFIERS = ("Purchase Order No.", "Invoice No.", "Style", "RTS ID", "Load #", "Outbound BOL", "Release")


def record(cells: dict[str, str]) -> dict[str, str]:
    row = dict.fromkeys(BOL_COLUMNS, "")
    row.update(cells)
    return row


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def unescaped(text: str) -> str:
    """Text as Excel shows it: OOXML writes characters XML cannot hold as _xHHHH_ (and a
    literal `_x` as `_x005F_x`); openpyxl leaves them escaped."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda match: chr(int(match[1], 16)), text)


def shown(cell) -> str:
    """A cell as a spreadsheet shows it, by its value and number format."""
    value, form = cell.value, cell.number_format
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return {"mm/dd/yyyy": f"{value:%m/%d/%Y}", "m/d/yyyy": f"{value.month}/{value.day}/{value.year}",
                "yyyy-mm-dd": f"{value:%Y-%m-%d}"}[form]
    if isinstance(value, int | float) and not isinstance(value, bool):
        places = len(form.partition(".")[2])
        return f"{value:.{places}f}"
    return unescaped(value)


def read_back(workbook: bytes):
    return openpyxl.load_workbook(io.BytesIO(workbook)).active


def assert_same_as_csv(text: str) -> None:
    sheet = read_back(bol_workbook(text))
    expected = csv_rows(text)
    found = [[shown(cell) for cell in row] for row in sheet.iter_rows(max_col=len(BOL_COLUMNS))]
    assert found == expected


EDGES = [
    record({"Purchase Order No.": "0012345", "Style": "3-4", "Invoice No.": "1234567890123456", "Cartons": "12",
            "Individual Pieces": "144", "Individual Weight": "35.50", "Total Pieces": "144",
            "Total Weight": "1,035.50", "BOL Cube": "1086.21", "Order Date": "11/30/2026", "Start Date": "1/5/2026",
            "Cancel Date": "2026-12-15", "Ship To Name": "ROSS #88", "Pallet": "14", "Final Cube": "1820"}),
    record({"Purchase Order No.": "88-7731", "Style": "0012", "Invoice No.": "A100001", "Cartons": "0012",
            "Individual Pieces": "-0", "Individual Weight": "35.5", "BOL Cube": "1234567890123456.25",
            "Order Date": "11302026", "Start Date": "02/30/2026", "Cancel Date": "11/30/2026 10:00:00",
            "Load #": "1E5"}),
    record({"Ship To Name": '=HYPERLINK("http://x","y")', "Style": "+1", "Invoice No.": "-2+3",
            "Customer": "@SUM(A1)", "Release": "\tTAB", "Outbound BOL": "-5", "Cartons": "=1+1",
            "Individual Weight": "1e3", "Routed Date": "01/01/1900", "Time of Pickup": "10:00"}),
    record({"Ship To Name": "a_x0041_b\x01c", "Customer": "  leading and trailing  ", "Release": "two\r\nlines",
            "Style": "ST\u00e9\u00fc\u20ac", "Invoice No.": "B2"}),
]


def test_every_cell_shows_what_the_csv_says():
    assert_same_as_csv(write_bol_csv(EDGES))


def test_the_sample_and_every_corpus_csv_read_back_cell_for_cell():
    assert_same_as_csv(MERGED.decode())
    for _, _, expected in corpus_cases():
        assert_same_as_csv(expected.read_text())


def test_cells_have_the_types_a_person_expects():
    sheet = read_back(bol_workbook(write_bol_csv(EDGES)))
    header = [cell.value for cell in sheet[1]]
    first, second = ({name: cell for name, cell in zip(header, row)} for row in sheet.iter_rows(min_row=2, max_row=3))
    for name in IDENTIFIERS:
        assert first[name].value is None or isinstance(first[name].value, str), name
    assert first["Purchase Order No."].value == "0012345" and first["Style"].value == "3-4"
    assert first["Invoice No."].value == "1234567890123456"  # 16 digits, none rounded
    assert (first["Cartons"].value, first["Individual Pieces"].value, first["Pallet"].value) == (12, 144, 14)
    assert (first["Individual Weight"].value, first["Individual Weight"].number_format) == (35.5, "0.00")
    assert (first["BOL Cube"].value, first["BOL Cube"].number_format) == (1086.21, "0.00")
    assert first["Total Weight"].value == "1,035.50"  # not a figure the CSV writes: text, unchanged
    assert first["Order Date"].value == dt.datetime(2026, 11, 30)
    assert first["Start Date"].value == dt.datetime(2026, 1, 5)
    assert first["Cancel Date"].value == dt.datetime(2026, 12, 15)
    # What does not read as its column's type stays text, as written.
    assert second["Cartons"].value == "0012" and second["Individual Pieces"].value == "-0"
    assert (second["Individual Weight"].value, second["Individual Weight"].number_format) == (35.5, "0.0")
    assert second["BOL Cube"].value == "1234567890123456.25"
    assert [second[name].value for name in ("Order Date", "Start Date", "Cancel Date")] == [
        "11302026", "02/30/2026", "11/30/2026 10:00:00"]


def test_no_cell_is_a_formula_and_hostile_text_stays_text():
    workbook = bol_workbook(write_bol_csv(EDGES))
    sheet_xml = zipfile.ZipFile(io.BytesIO(workbook)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    sheet = read_back(workbook)
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    hostile = [cell.value for cell in sheet[4] if cell.value is not None]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in hostile and "'@SUM(A1)" in hostile
    assert "'=1+1" in hostile and "'-2+3" in hostile and "'\tTAB" in hostile
    # Plain numbers are not escaped in the CSV; in an id column they stay text all the same.
    assert "+1" in hostile and "-5" in hostile and -5 not in hostile


def test_the_header_is_bold_and_frozen_and_columns_fit():
    text = write_bol_csv(EDGES)
    sheet = read_back(bol_workbook(text))
    assert [cell.value for cell in sheet[1]] == list(BOL_COLUMNS)
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    widths = {sheet.cell(1, column).value: sheet.column_dimensions[letter].width
              for column, letter in enumerate(map(openpyxl.utils.get_column_letter, range(1, 29)), 1)}
    assert widths["Assigned Trucking Co."] >= len("Assigned Trucking Co.")
    assert widths["Ship To Name"] >= len('=HYPERLINK("http://x","y")')
    assert widths["RTS ID"] < widths["Ship To Name"]


def test_each_column_keeps_its_type_for_what_a_person_types_later():
    """A PO number typed into an empty cell keeps its zeros; a cube typed there is a number."""
    sheet = read_back(bol_workbook(write_bol_csv(EDGES)))
    formats = {sheet.cell(1, column).value: sheet.column_dimensions[openpyxl.utils.get_column_letter(column)].number_format
               for column in range(1, 29)}
    assert formats["Purchase Order No."] == formats["Style"] == formats["Invoice No."] == "@"
    assert formats["Cartons"] == formats["Pallet"] == "0"
    assert formats["BOL Cube"] == formats["Total Weight"] == "0.00"
    assert formats["Order Date"] == formats["Cancel Date"] == "mm/dd/yyyy"


def test_typed_cell_decides_by_column_and_by_exact_text():
    assert typed_cell("Cartons", "12") == ("number", 12, "0")
    assert typed_cell("Style", "12") == ("text", "12", None)
    assert typed_cell("Cartons", "=1+1") == ("text", "=1+1", None)
    assert typed_cell("Individual Weight", "123456789012345") == ("number", 123456789012345.0, "0")
    assert typed_cell("Individual Weight", "1234567890123456") == ("text", "1234567890123456", None)
    assert typed_cell("Order Date", "13/01/2026") == ("text", "13/01/2026", None)
    assert typed_cell("Order Date", "01/5/2026") == ("text", "01/5/2026", None)


def test_a_cell_longer_than_excel_holds_is_refused_with_the_reason():
    text = write_bol_csv([record({"Ship To Name": "A" * 40_000, "Invoice No.": "A1"})])
    with pytest.raises(CellTooLongError, match=r"row 2, Ship To Name: 40,000 characters.*download the CSV"):
        bol_workbook(text)


def test_what_is_not_a_bol_csv_is_not_made_a_workbook():
    with pytest.raises(ValueError, match="28 BOL columns"):
        bol_workbook("a,b\r\n1,2\r\n")


def test_the_cli_writes_the_workbook_for_an_xlsx_output(tmp_path, capsys):
    out = tmp_path / "bol.xlsx"
    assert main(["process", str(EXAMPLES / "sample.pdf"), "--csv", str(EXAMPLES / "sample.csv"), "-o", str(out)]) == 0
    assert out.read_bytes()[:2] == b"PK"
    sheet = read_back(out.read_bytes())
    assert [[shown(cell) for cell in row] for row in sheet.iter_rows(max_col=28)] == csv_rows(MERGED.decode())
    batch = tmp_path / "out"
    assert main(["process", str(EXAMPLES / "sample.pdf"), "--out-dir", str(batch), "--format", "xlsx"]) == 0
    assert [path.name for path in batch.iterdir()] == ["sample.xlsx"]
    assert main(["process", str(EXAMPLES / "sample.pdf"), "--format", "xlsx"]) == 2
    assert "give -o OUT.xlsx" in capsys.readouterr().err


LIBREOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.mark.skipif(LIBREOFFICE is None, reason="LibreOffice is not installed (make test-libreoffice installs it)")
def test_libreoffice_opens_the_workbook_and_writes_our_csv_back(tmp_path):
    for name, content in {"sample": MERGED.decode(), "edges": write_bol_csv(EDGES)}.items():
        workbook = tmp_path / f"{name}.xlsx"
        workbook.write_bytes(bol_workbook(content))
        subprocess.run([LIBREOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                        "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false",
                        "--outdir", str(tmp_path / "back"), str(workbook)],
                       check=True, capture_output=True, timeout=180)
        back = (tmp_path / "back" / f"{name}.csv").read_text(encoding="utf-8")
        # Calc keeps a line break inside a cell as LF, whichever break the cell holds.
        assert csv_rows(back) == [[cell.replace("\r\n", "\n") for cell in row] for row in csv_rows(content)], name


def workbook_rows(data: bytes) -> list[list[str]]:
    return [[shown(cell) for cell in row] for row in read_back(data).iter_rows(max_col=len(BOL_COLUMNS))]


def test_the_service_serves_the_workbook_beside_an_unchanged_csv(client):
    sid = merged_workspace(client)
    answer = client.get("/download-bol", params={"_sid": sid, "format": "xlsx"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == XLSX_TYPE
    assert answer.headers["content-disposition"] == 'attachment; filename="BOL_processed.xlsx"'
    assert workbook_rows(answer.content) == csv_rows(MERGED.decode())
    sheet = read_back(answer.content)
    assert sheet["M2"].value == "88-7731" and isinstance(sheet["N2"].value, int)  # a PO number, cartons
    # The CSV stays the default, byte for byte, whatever was asked before.
    assert download(client, sid).content == MERGED
    assert client.get("/download-bol", params={"_sid": sid, "format": "csv"}).content == MERGED


def test_an_accept_that_names_the_workbook_first_gets_it(client):
    sid = new_sid()
    assert upload(client, sid).status_code == 200
    first = client.get("/download-bol", params={"_sid": sid}, headers={"Accept": f"{XLSX_TYPE}, text/csv;q=0.5"})
    assert first.headers["content-type"] == XLSX_TYPE
    assert workbook_rows(first.content) == csv_rows(PDF_ONLY.decode())
    later = client.get("/download-bol", params={"_sid": sid}, headers={"Accept": f"text/csv, {XLSX_TYPE}"})
    assert later.content == PDF_ONLY
    named = client.get(f"/download-bol/orders_{sid[:8]}.csv", params={"_sid": sid, "format": "xlsx"})
    assert named.headers["content-disposition"] == f'attachment; filename="orders_{sid[:8]}.xlsx"'
    legacy = client.get("/download", params={"_sid": sid, "format": "xlsx"})
    assert legacy.headers["content-disposition"] == 'attachment; filename="combined_data.xlsx"'


def test_a_format_the_service_does_not_make_is_a_clear_400(client):
    sid = merged_workspace(client)
    answer = client.get("/download-bol", params={"_sid": sid, "format": "pdf"})
    assert answer.status_code == 400 and answer.json()["code"] == "bad_request"
    assert "csv or xlsx" in answer.json()["error"]
    missing = client.get("/download-bol", params={"_sid": new_sid(), "format": "xlsx"})
    assert missing.status_code == 404 and missing.json()["code"] in ("unknown_workspace", "missing_step")


def test_a_cell_excel_cannot_hold_is_a_422_for_the_workbook_and_the_csv_still_serves_it(client):
    from tests.test_api import upload_sheet

    sid = new_sid()
    assert upload(client, sid).status_code == 200
    name = "ROSS " + "X" * 40_000
    sheet = ("Invoice No.,Style,Cartons,Pieces,Ship-to Name\r\n"
             f"B200002,RS2001,40,480,{name}\r\n").encode()
    assert upload_sheet(client, sid, sheet).status_code == 200
    answer = client.get("/download-bol", params={"_sid": sid, "format": "xlsx"})
    assert answer.status_code == 422 and answer.json()["code"] == "unusable_content"
    assert "Ship To Name" in answer.json()["error"] and "download the CSV" in answer.json()["error"]
    assert name in download(client, sid).text
