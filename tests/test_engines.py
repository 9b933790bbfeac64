"""The text engines agree: pdfium, pdfplumber and auto give identical parse results."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from bolservice.bol import BolInputError, extract_pdf
from bolservice.bol.errors import TooManyPagesError
from tests.bolpdf import BolInvoice, Item, build_bol, header_lines, invoice_pages, item_line, render, text_line
from tests.hostile import blank_pages_pdf
from tests.test_api import PDF
from tests.test_hostile import encrypted_pdf
from tests.test_property import invoices


def items(n: int, prefix: str = "ST") -> list[Item]:
    return [Item(f"{i + 1:,}", f"{prefix}{i:04d}", f"{12 * (i + 1):,}", "SIZE 10 JEANS", f"{i + 1},0{i % 10}0.50")
            for i in range(n)]


def orphan_and_junk() -> bytes:
    pages = invoice_pages(BolInvoice("A1", items(4), rows_per_page=2))
    pages[0].insert(7, text_line("SEE ATTACHED PACKING LIST"))
    orphan = header_lines(BolInvoice("A1", []), 1, 1)
    del orphan[2]
    orphan.append(item_line(Item("5", "LOST1", "60", "TOP", "9.00")))
    return render(pages + [orphan])


def out_of_sequence() -> bytes:
    a = invoice_pages(BolInvoice("A1", items(4), rows_per_page=2))
    b = invoice_pages(BolInvoice("B2", items(2, "RS")))
    return render([a[0], b[0], a[1]])


CORPUS = {
    "sample": lambda: PDF,
    "three pages, totals last": lambda: build_bol([BolInvoice("A1", items(7), rows_per_page=3)]),
    "no totals, no cube": lambda: build_bol([BolInvoice("A1", items(3), totals=None, cube=None)]),
    "cube over 1,000": lambda: build_bol([BolInvoice("A1", items(2), cube="12,345.67")]),
    "a style ending in a hyphen": lambda: build_bol([BolInvoice(
        "A1", [Item("1", "0", "1", "0", "1"), Item("10", "A-", "1", "0", "1")],
        rows_per_page=1, totals=None, cube=None)]),
    "totals mismatch": lambda: build_bol([BolInvoice("A1", items(2), totals=("9", "9", "9.00"))]),
    "several invoices": lambda: build_bol([BolInvoice(f"Z{k}", items(k + 1, f"S{k}"), rows_per_page=2)
                                           for k in range(5)]),
    "orphan page and a skipped line": orphan_and_junk,
    "invoice pages out of sequence": out_of_sequence,
    "no invoice": lambda: render([[text_line("QUARTERLY MEMO 2026")]]),
    "blank pages": lambda: blank_pages_pdf(3),
    "not a PDF": lambda: b"Invoice No.,Style\r\n",
    "truncated": lambda: PDF[: len(PDF) // 2],
    "cut after the header": lambda: PDF[:200],
    "encrypted": encrypted_pdf,
    "PNG named .pdf": lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
    "invoice without rows": lambda: build_bol([BolInvoice("A7", [])]),
}


def outcome(data: bytes, engine: str, max_pages: int | None = None):
    try:
        return extract_pdf(data, engine=engine, max_pages=max_pages)
    except BolInputError as error:
        return type(error)


@pytest.mark.parametrize("name", CORPUS)
def test_engines_agree_on_the_corpus(name):
    data = CORPUS[name]()
    reference = outcome(data, "pdfplumber")
    assert outcome(data, "pdfium") == reference
    assert outcome(data, "auto") == reference


def test_engines_refuse_a_pdf_over_the_page_limit_alike():
    data = blank_pages_pdf(21)
    assert {outcome(data, engine, max_pages=20) for engine in ("pdfplumber", "pdfium", "auto")} == {
        TooManyPagesError}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices())
def test_engines_agree_on_generated_bols(generated):
    data = build_bol(generated)
    reference = extract_pdf(data, engine="pdfplumber")
    assert extract_pdf(data, engine="pdfium") == reference
    assert extract_pdf(data, engine="auto") == reference


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="auto, pdfium, pdfplumber"):
        extract_pdf(PDF, engine="fast")


def test_the_pdf_job_reads_with_the_engine_it_is_given(tmp_path):
    from bolservice.jobs import pdf_job

    path = tmp_path / "bol.pdf"
    path.write_bytes(PDF)
    outputs = {engine: pdf_job(str(path), 100, engine) for engine in ("auto", "pdfium", "pdfplumber")}
    assert outputs["auto"] == outputs["pdfium"] == outputs["pdfplumber"]
    with pytest.raises(ValueError):
        pdf_job(str(path), 100, "fast")
