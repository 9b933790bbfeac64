"""`bolservice process`, run as a user runs it: a real process, files in, bytes out."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bolpdf import BolInvoice, Item, build_bol, render, text_line
from tests.support import csv_bytes

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HEAD = ("RTS ID,RTS Status,Load #,Wave #,Routed Date,Ready Date,Date of Pickup,Time of Pickup,"
        "Outbound BOL,Order Date,Customer,Ship To Name,Purchase Order No.,Cartons,Start Date,"
        "Cancel Date,BOL Cube,Final Cube,Burlington Cube,Pallet,Individual Pieces,Total Pieces,"
        "Individual Weight,Total Weight,Invoice No.,Style,Release,Assigned Trucking Co.\r\n")


def bolservice(*args: str | Path, stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bolservice", *map(str, args)],
                          stdout=subprocess.PIPE, stderr=stderr, timeout=120)


def test_sample_pdf_with_sample_spreadsheet_gives_the_shipped_expected_csv_byte_for_byte():
    run = bolservice("process", EXAMPLES / "sample.pdf", "--csv", EXAMPLES / "sample.csv")
    assert run.returncode == 0, run.stderr
    assert run.stdout == (EXAMPLES / "sample_bol.csv").read_bytes()
    assert b"3 page(s), 2 invoice(s), 6 row(s)" in run.stderr
    assert b"6 matched, 0 PDF row(s) unmatched, 0 spreadsheet row(s) unmatched" in run.stderr


def test_sample_pdf_alone_gives_the_pdf_rows_byte_for_byte():
    run = bolservice("process", EXAMPLES / "sample.pdf")
    assert run.returncode == 0, run.stderr
    assert run.stdout.decode() == HEAD + (
        ",,,,,,,,,,,,,12,,,45.60,,,,144,12456,35.50,1291.75,A100001,ST1001,,\r\n"
        ",,,,,,,,,,,,,8,,,45.60,,,,96,,22.25,,A100001,ST1002,,\r\n"
        ",,,,,,,,,,,,,1008,,,45.60,,,,12096,,1204.00,,A100001,ST1004,,\r\n"
        ",,,,,,,,,,,,,10,,,45.60,,,,120,,30.00,,A100001,ST1003,,\r\n"
        ",,,,,,,,,,,,,40,,,1772.92,,,,480,780,110.40,207.15,B200002,RS2001,,\r\n"
        ",,,,,,,,,,,,,25,,,1772.92,,,,300,,96.75,,B200002,RS2002,,\r\n"
    )


def test_no_totals_no_cube_and_unmatched_rows_byte_for_byte_with_warnings(tmp_path):
    pdf = tmp_path / "bol.pdf"
    pdf.write_bytes(build_bol([
        BolInvoice("A7", [Item("1,200", "ST1", "14,400", "SIZE 10 JEANS", "1,500.25"),
                          Item("3", "ST2", "36", "TEE", "4.5")], totals=None, cube=None),
        BolInvoice("B8", [Item("2", "RS1", "24", "TOP", "3.00")], cube="80.01"),
    ]))
    sheet = tmp_path / "in.csv"
    sheet.write_bytes(csv_bytes([
        ["a7", "st1", "1200", "14400", "11/02/2026", "=cmd|' /C calc'!A0", "PO-9", "11/20/2026", "12/01/2026"],
        ["B8", "RS1", "2", "24", "11/03/2026", "Burlington #7", "PO-8", "11/21/2026", "12/02/2026"],
        ["C9", "XX1", "1", "1", "", "", "", "", ""],
    ]))
    out = tmp_path / "out.csv"
    run = bolservice("process", pdf, "--csv", sheet, "-o", out)
    assert run.returncode == 0, run.stderr
    assert run.stdout == b""
    assert out.read_bytes().decode() == HEAD + (
        ",,,,,,,,,11/02/2026,,'=cmd|' /C calc'!A0,PO-9,1200,11/20/2026,12/01/2026,,,,,14400,14436,1500.25,1504.75,A7,ST1,,\r\n"
        ",,,,,,,,,,,,,3,,,,,,,36,,4.5,,A7,ST2,,\r\n"
        ",,,,,,,,,11/03/2026,,Burlington #7,PO-8,2,11/21/2026,12/02/2026,80.01,,186,2,24,24,3.00,3.00,B8,RS1,,\r\n"
    )
    report = run.stderr.decode()
    assert "page 1: invoice A7 has no totals line" in report
    assert "page 1: invoice A7: no BOL cube" in report
    assert "spreadsheet row 4 (invoice C9" in report
    assert "no spreadsheet row for invoice A7, style ST2" in report


@pytest.mark.parametrize("make, reason", [
    (lambda d: d.write_bytes(b"just text, not a pdf"), "is not a PDF"),
    (lambda d: d.write_bytes(render([[text_line("MEMO 2026")]])), "no invoice found"),
    (lambda d: None, "No such file"),
])
def test_unusable_pdf_exits_non_zero_with_one_line_reason(tmp_path, make, reason):
    pdf = tmp_path / "x.pdf"
    make(pdf)
    run = bolservice("process", pdf)
    assert run.returncode == 1 and run.stdout == b""
    lines = run.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and reason in lines[0]


@pytest.mark.parametrize("content, reason", [
    (b"Invoice No.,Style\r\nA100001,ST1001\r\n", "lacks the required column(s) Cartons, Pieces"),
    (csv_bytes([["Z1", "S", "1", "1", "", "", "", "", ""]]), "no spreadsheet row matches"),
])
def test_unusable_spreadsheet_exits_non_zero_with_one_line_reason(tmp_path, content, reason):
    sheet = tmp_path / "in.csv"
    sheet.write_bytes(content)
    run = bolservice("process", EXAMPLES / "sample.pdf", "--csv", sheet)
    assert run.returncode == 1 and run.stdout == b""
    last = run.stderr.decode().splitlines()[-1]
    assert last.startswith("error: ") and reason in last


def test_several_pdfs_need_an_output_directory():
    run = bolservice("process", EXAMPLES / "sample.pdf", EXAMPLES / "sample.pdf")
    assert run.returncode == 2 and b"--out-dir" in run.stderr


def test_batch_writes_one_csv_per_pdf_and_ends_with_a_summary(tmp_path):
    good = [tmp_path / f"bol{i}.pdf" for i in range(3)]
    for i, path in enumerate(good):
        path.write_bytes(build_bol([BolInvoice(f"A{i}", [Item("1", "S", "12", "X", "1.00")])]))
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"nope")
    out = tmp_path / "out"
    run = bolservice("process", *good, bad, "--out-dir", out)
    assert run.returncode == 1
    assert sorted(p.name for p in out.iterdir()) == ["bol0.csv", "bol1.csv", "bol2.csv"]
    assert ",A1,S,," in (out / "bol1.csv").read_text()
    report = run.stderr.decode()
    assert "\r" not in report  # no progress bar when stderr is not a terminal
    assert f"error: {bad}: the file is not a PDF" in report
    assert report.splitlines()[-1] == f"4 PDF(s): 3 written to {out}, 1 failed, 0 warning(s)"


def test_batch_draws_a_progress_bar_on_a_terminal(tmp_path):
    pdfs = [tmp_path / f"bol{i}.pdf" for i in range(2)]
    for path in pdfs:
        path.write_bytes(build_bol([BolInvoice("A1", [Item("1", "S", "12", "X", "1.00")])]))
    controller, terminal = pty.openpty()
    try:
        run = bolservice("process", *pdfs, "--out-dir", tmp_path / "out", stderr=terminal)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(controller)
    assert run.returncode == 0
    assert b"\r[" + b"#" * 30 + b"] 2/2" in shown
    assert b"2 PDF(s): 2 written" in shown
