"""The text engines agree: pdfium reads pdfplumber's lines, and the three engines give
identical parse results; scans are named; auto keeps no doubtful reading."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings

from bolservice.bol import BolInputError, extract_pdf, pdfium_pages, read_pdf_pages
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


def lines_or_error(data: bytes, reader):
    try:
        return [(page.lines, page.scanned) for page in reader(data)]
    except BolInputError as error:
        return type(error)


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
    assert lines_or_error(data, pdfium_pages) == lines_or_error(data, read_pdf_pages)


def test_engines_refuse_a_pdf_over_the_page_limit_alike():
    data = blank_pages_pdf(21)
    assert {outcome(data, engine, max_pages=20) for engine in ("pdfplumber", "pdfium", "auto")} == {
        TooManyPagesError}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices())
def test_engines_agree_on_generated_bols(generated):
    data = build_bol(generated)
    assert lines_or_error(data, pdfium_pages) == lines_or_error(data, read_pdf_pages)
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


def long_bol(tmp_path) -> str:
    """45 pages of 15 three-page invoices, on disk as the job pool reads it."""
    path = tmp_path / "long.pdf"
    path.write_bytes(build_bol([BolInvoice(f"R{k}", items(5), rows_per_page=2) for k in range(15)]))
    return str(path)


@pytest.mark.parametrize("parts", [2, 3])
def test_a_long_pdf_read_in_page_ranges_gives_what_one_job_gives(tmp_path, parts):
    from bolservice.jobs import SPLIT_PAGES, pdf_job, pdf_part_job

    path = long_bol(tmp_path)
    found = [pdf_part_job(path, 100, "auto", part, parts) for part in range(parts)]
    assert all(part.output is None for part in found) and 45 >= SPLIT_PAGES
    readings = [reading for part in found for reading in part.readings]
    assert len(readings) == 45 and all(part.readings for part in found)
    assert readings == list(pdfium_pages(path))
    assert pdf_job(path, 100, "auto", readings) == pdf_job(path, 100)


def test_a_short_pdf_is_read_whole_by_the_first_of_the_parts(tmp_path):
    from bolservice.jobs import pdf_job, pdf_part_job

    path = tmp_path / "short.pdf"
    path.write_bytes(PDF)
    first, second = (pdf_part_job(str(path), 100, "auto", part, 2) for part in range(2))
    assert first.output == pdf_job(str(path), 100) and first.readings == []
    assert second.output is None and second.readings == []


def test_a_pdf_the_parts_cannot_read_is_refused_by_the_first_alone(tmp_path):
    from bolservice.jobs import pdf_part_job

    path = long_bol(tmp_path)
    with pytest.raises(TooManyPagesError):
        pdf_part_job(path, 40, "auto", 0, 2)
    assert pdf_part_job(path, 40, "auto", 1, 2).output is None
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(PDF[:200])
    with pytest.raises(BolInputError):
        pdf_part_job(str(damaged), 100, "auto", 0, 2)
    assert pdf_part_job(str(damaged), 100, "auto", 1, 2) == pdf_part_job(path, 40, "auto", 1, 2)


def scan_page(canvas) -> None:
    """A page that is only a picture of a BOL, as a scanner makes it."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader

    picture = Image.new("L", (850, 1100), 255)
    ImageDraw.Draw(picture).text((60, 80), "BILL OF LADING A100001", fill=0)
    canvas.drawImage(ImageReader(picture), 0, 0, width=612, height=792)
    canvas.showPage()


def with_scans(text_pages: list, scanned: set[int]) -> bytes:
    """A PDF whose pages listed in ``scanned`` (1-based) are scans; the others are text."""
    import io

    from reportlab.pdfgen import canvas as pdfcanvas

    from tests.bolpdf import FONT, LEADING, SIZE, TOP

    buffer = io.BytesIO()
    pdf = pdfcanvas.Canvas(buffer)
    pages = iter(text_pages)
    for number in range(1, len(text_pages) + len(scanned) + 1):
        if number in scanned:
            scan_page(pdf)
            continue
        pdf.setFont(FONT, SIZE)
        for offset, line in enumerate(next(pages)):
            for x, text, _ in line:
                pdf.drawString(x, TOP - offset * LEADING, text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@pytest.mark.parametrize("engine", ["auto", "pdfium", "pdfplumber"])
def test_a_pdf_of_scans_is_named_as_such(engine):
    from bolservice.bol import NoInvoiceError

    with pytest.raises(NoInvoiceError, match=r"^page 1 has no text: it looks like a scan; export the BOL"):
        extract_pdf(with_scans([], {1}), engine=engine)
    with pytest.raises(NoInvoiceError, match=r"^pages 1, 2, 3 have no text: they look like scans"):
        extract_pdf(with_scans([], {1, 2, 3}), engine=engine)


@pytest.mark.parametrize("engine", ["auto", "pdfium", "pdfplumber"])
def test_a_scan_among_text_pages_is_reported_by_number(engine):
    text = invoice_pages(BolInvoice("A1", items(3)))
    extraction = extract_pdf(with_scans(text, {2}), engine=engine)
    assert [len(invoice.rows) for invoice in extraction.invoices] == [3]
    scans = [w for w in extraction.warnings if w.code == "scanned_page"]
    assert [(w.page, w.message) for w in scans] == [
        (2, "the page has no text: it looks like a scan; export the BOL from the system that made it")]
    assert "page_without_invoice" not in {w.code for w in extraction.warnings}


def test_a_blank_page_is_not_called_a_scan():
    extraction = extract_pdf(with_scans(invoice_pages(BolInvoice("A1", items(2))) + [[]], set()))
    assert [w.code for w in extraction.warnings] == ["page_without_invoice"]


def test_auto_rereads_an_invoice_whose_only_warning_is_invoice_level(monkeypatch):
    """A misreading that doubles characters (`TOTATALCARTONS`) turns the totals line into a
    row; the only warning left is the invoice-level "no totals line", which alone re-reads
    nothing.

    The TOTAL left among the rows is the trace: auto must re-read that invoice with
    pdfplumber and serve its reading, not the wrong one.
    """
    from bolservice.bol import extract
    from bolservice.bol.pdffile import PageText

    data = build_bol([BolInvoice("A1", items(3), rows_per_page=2), BolInvoice("B2", items(2, "RS"))])
    pdfium = extract.READERS["pdfium"]

    def misreading(source, **options):
        for page in pdfium(source, **options):
            ours = "BILL OF LADING A1" in page.lines
            yield PageText([line.replace("TOTAL CARTONS", "TOTATALCARTONS") if ours else line
                            for line in page.lines], page.scanned)

    monkeypatch.setitem(extract.READERS, "pdfium", misreading)
    wrong = extract_pdf(data, engine="pdfium")
    assert [w.code for w in wrong.warnings] == ["computed_totals"]  # invoice-level only
    assert len(wrong.rows) == 6  # the totals line became a row
    assert extract_pdf(data, engine="auto") == extract_pdf(data, engine="pdfplumber")


def test_auto_rereads_a_page_the_pdfium_reader_doubts(monkeypatch):
    """A page pdfium cannot vouch for (overprinted text, odd fonts) is read again with pdfplumber."""
    from bolservice.bol import extract
    from bolservice.bol.pdffile import PageText

    data = build_bol([BolInvoice("A1", items(4), rows_per_page=2)])
    pdfium = extract.READERS["pdfium"]

    def doubting(source, **options):
        for number, page in enumerate(pdfium(source, **options), 1):
            # A reading that differs without any warning: a style misread on page 2.
            lines = [line.replace("ST0003", "ST0008") for line in page.lines] if number == 2 else page.lines
            yield PageText(lines, page.scanned, doubtful=number == 2)

    monkeypatch.setitem(extract.READERS, "pdfium", doubting)
    assert extract_pdf(data, engine="pdfium").warnings == []
    assert extract_pdf(data, engine="pdfium") != extract_pdf(data, engine="pdfplumber")
    reference = extract_pdf(data, engine="pdfplumber")
    pdfplumber, reread = extract.READERS["pdfplumber"], []

    def counting(source, **options):
        for page in pdfplumber(source, **options):
            reread.append(page)
            yield page

    monkeypatch.setitem(extract.READERS, "pdfplumber", counting)
    assert extract_pdf(data, engine="auto") == reference
    assert len(reread) == 1  # the slow reader reads that page alone, not the whole file


@pytest.mark.parametrize("reader", [pdfium_pages, read_pdf_pages])
def test_a_reader_reads_the_pages_it_is_asked_for(reader):
    data = build_bol([BolInvoice("A1", items(9), rows_per_page=2)])
    every = list(reader(data))
    assert len(every) == 5
    assert list(reader(data, pages={2, 5})) == [every[1], every[4]]
    assert list(reader(data, pages=range(1, 3))) == every[:2]


def test_auto_reads_with_pdfplumber_what_pdfium_cannot_read():
    """A page tree that names itself as its only kid: pdfium cannot load the page, pdfminer
    finds it anyway; auto serves the reference's reading rather than refuse the file."""
    from bolservice.bol import UnreadablePdfError
    from tests.hostile import looping_page_tree_pdf

    data = looping_page_tree_pdf()
    with pytest.raises(UnreadablePdfError):
        extract_pdf(data, engine="pdfium")
    assert extract_pdf(data, engine="auto") == extract_pdf(data, engine="pdfplumber")
    assert [row.style for row in extract_pdf(data).rows] == ["ST1001"]


def reading_counter(monkeypatch) -> list[int]:
    """The page numbers pdfplumber is asked to read, in the order asked."""
    from bolservice.bol import extract

    pdfplumber, asked = extract.READERS["pdfplumber"], []

    def counting(source, *, max_pages=None, pages=None):
        asked.extend(sorted(pages) if pages is not None else ["all"])
        yield from pdfplumber(source, max_pages=max_pages, pages=pages)

    monkeypatch.setitem(extract.READERS, "pdfplumber", counting)
    return asked


# Invoices as real BOLs print them: with a cube and totals, without a cube, without a totals
# line, without either.
LACKING_PARTS = [BolInvoice("A1", items(3), rows_per_page=2, cube="1,045.60"), BolInvoice("B2", items(2, "RS"), cube=None),
                 BolInvoice("C3", items(2, "CT"), totals=None), BolInvoice("D4", items(2, "DX"), totals=None, cube=None)]


def test_auto_reads_a_bol_that_lacks_cubes_and_totals_lines_once(monkeypatch):
    """No cube and no totals line are what the BOL prints, not what pdfium misread: auto
    serves pdfium's reading, which is pdfplumber's, without reading any page again."""
    data = build_bol(LACKING_PARTS)
    reference = extract_pdf(data, engine="pdfplumber")
    assert sorted({w.code for w in reference.warnings}) == ["computed_totals", "no_cube"]
    asked = reading_counter(monkeypatch)
    assert extract_pdf(data, engine="auto") == reference
    assert asked == []


def seen_by_no_check(line: str, index: int, page: int) -> bool:
    """Whether a character is one whose misreading keeps every line's shape, which only the
    reader's proof covers (docs/ENGINE.md): the invoice number, a style, a cube's digits
    before its decimal point, a row's figures on an invoice without a totals line (page 4
    here, invoice C3)."""
    from bolservice.bol.parse import is_cube_line, parse_row

    invoice = re.search(r"BILL OF LADING (\S+)", line)
    if invoice is not None:
        return index >= invoice.start(1)
    if parse_row(line) is not None:
        style = re.match(r"\S+ (\S+)", line)
        return style.start(1) <= index < style.end(1) or page == 4
    return is_cube_line(line) and index < line.index(".")


MISREADINGS = {
    "a dropped character or a merged word": lambda line, i: line[:i] + line[i + 1:],
    "a doubled character": lambda line, i: line[:i + 1] + line[i:],
    "a word split in two": lambda line, i: line[:i] + " " + line[i:],
}


@pytest.mark.parametrize("misreading", MISREADINGS)
def test_a_misreading_anywhere_a_check_can_see_sends_its_page_to_pdfplumber(monkeypatch, misreading):
    """pdfium's reading mutated one character at a time, everywhere on every page of a BOL
    with and without cubes and totals lines: every mutation that changes the outcome is
    caught by a warning or a trace, and auto serves pdfplumber's reading of that page."""
    from bolservice.bol import extract
    from bolservice.bol.pdffile import PageText

    data = build_bol(LACKING_PARTS[:3])
    pdfium, pdfplumber = list(pdfium_pages(data)), list(read_pdf_pages(data))
    reference = extract_pdf(data, engine="pdfplumber")
    mutate, mutated, asked = MISREADINGS[misreading], [], []

    def misread(source, *, max_pages=None, pages=None):
        return (PageText(lines) for number, lines in enumerate(mutated, 1) if pages is None or number in pages)

    def reread(source, *, max_pages=None, pages=None):
        asked.extend(sorted(pages))
        return (pdfplumber[number - 1] for number in sorted(pages))

    monkeypatch.setitem(extract.READERS, "pdfium", misread)
    monkeypatch.setitem(extract.READERS, "pdfplumber", reread)
    changed = 0
    for number, page in enumerate(pdfium, 1):
        for row, line in enumerate(page.lines):
            for index in range(len(line)):
                if seen_by_no_check(line, index, number):
                    continue
                mutated[:] = [list(each.lines) for each in pdfium]
                mutated[number - 1][row] = mutate(line, index)
                if outcome(data, "pdfium") == reference:
                    continue  # a misreading the BOL does not notice (a letter of an address)
                changed += 1
                asked.clear()
                assert outcome(data, "auto") == reference, (number, mutated[number - 1][row])
                assert number in asked, (number, mutated[number - 1][row])
    assert changed > 200


def test_auto_equals_pdfplumber_on_every_hostile_pdf():
    """Every hostile PDF but one: a page box that is not PDF syntax (`1e30`), which pdfminer
    cannot read (pdfplumber refuses the file) and pdfium reads past; the box plays no part
    in the page's lines, and auto serves them (docs/ENGINE.md)."""
    from bolservice.bol import UnreadablePdfError
    from tests.test_hostile import CORPUS as HOSTILE

    pdfs = {name: request["files"]["file"][1] for name, ((path, request), _, _) in HOSTILE.items()
            if path == "/upload" and "file" in request.get("files", {}) and request["files"]["file"][1]}
    unreadable_box = pdfs.pop("a page box of [0 0 1e30 1e30]")
    assert len(pdfs) >= 12
    for name, data in pdfs.items():
        assert outcome(data, "auto", max_pages=2000) == outcome(data, "pdfplumber", max_pages=2000), name
    assert outcome(unreadable_box, "pdfplumber") is UnreadablePdfError
    assert [row.style for row in extract_pdf(unreadable_box).rows] == ["ST1001"]
