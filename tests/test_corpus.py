"""The corpus of real producers' BOLs (tests/corpus/): every engine's CSV is the expected
one, in process and from the service with its default engine, and the pdfium engine's
lines are pdfplumber's, page for page, line for line."""

from __future__ import annotations

import pytest

from bolservice.bol import ENGINES, extract_pdf, extraction_records, pdfium_pages, read_pdf_pages, write_bol_csv
from tests.corpus import corpus_cases, producer_of
from tests.server import Server

CASES = {name: (pdf, csv) for name, pdf, csv in corpus_cases()}


def test_the_corpus_covers_the_producers_fonts_and_sizes():
    producers = {producer_of(name) for name in CASES}
    assert {"writer", "chromium", "weasyprint", "fpdf2", "platypus", "groff", "wkhtmltopdf"} <= producers
    for font in ("liberation-sans", "liberation-serif", "liberation-mono", "dejavu-sans", "carlito"):
        assert any(font in name for name in CASES), font
    for size in ("8pt", "9pt", "10pt"):
        assert any(size in name for name in CASES), size


@pytest.mark.parametrize("name", CASES)
def test_pdfium_lines_are_pdfplumbers_on_every_page(name):
    pdf, _ = CASES[name]
    reference = list(read_pdf_pages(pdf))
    assert len(reference) > 1
    for number, (mine, theirs) in enumerate(zip(pdfium_pages(pdf), reference, strict=True), 1):
        assert mine.lines == theirs.lines, f"page {number}"
        assert not mine.doubtful, f"page {number}: auto would read it twice"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", CASES)
def test_every_engine_writes_the_expected_csv(name, engine):
    pdf, csv = CASES[name]
    written = write_bol_csv(extraction_records(extract_pdf(pdf, engine=engine)))
    assert written == csv.read_bytes().decode("utf-8")


@pytest.fixture(scope="module")
def default_engine_client(tmp_path_factory):
    """A served bolservice with the engine every user runs (the suite's other servers
    read with pdfplumber, for their timing)."""
    with Server(tmp_path_factory.mktemp("corpus") / "workspaces", pdf_engine="auto") as server, \
            server.client() as client:
        yield client


@pytest.mark.parametrize("name", CASES)
def test_the_service_serves_the_expected_csv(default_engine_client, name):
    pdf, csv = CASES[name]
    sid = f"corpus-{name}"[:64]
    upload = default_engine_client.post("/upload", params={"_sid": sid},
                                        files={"file": (f"{name}.pdf", pdf.read_bytes(), "application/pdf")})
    assert upload.status_code == 200, upload.text
    download = default_engine_client.get("/download-bol", params={"_sid": sid})
    assert download.status_code == 200
    assert download.content == csv.read_bytes()
