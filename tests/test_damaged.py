"""A damaged page is named: a PDF whose page dictionary or contents a rewriting tool left
null or missing, or whose page tree's /Count is not its number of pages, is refused with
the page's number (422 ``unreadable_pdf`` over HTTP) by every engine, never read into a CSV
without that page's rows."""

from __future__ import annotations

import io
import pickle

import pytest

from bolservice.bol import (ENGINES, DamagedPageError, UnreadablePdfError, extract_pdf, first_reading,
                            pdfium_pages)
from bolservice.bol.pagetree import _Document, _Unread
from tests.bolpdf import BolInvoice, Item, build_bol
from tests.hostile import (DAMAGES, looping_page_tree_pdf, nested_page_tree, page_tree, with_object_streams,
                           without_contents)
from tests.test_api import MERGED, download, merged_workspace
from tests.test_cli import bolservice

ITEMS = [Item(str(row + 1), f"ST{row:04d}", f"{12 * (row + 1)}", "MENS KNIT TOP", f"{row + 1}.25") for row in range(5)]
# Four one-page invoices of five rows.
BOL = build_bol([BolInvoice(f"A{100 + k}", ITEMS, rows_per_page=5) for k in range(4)])
# 45 pages, at least SPLIT_PAGES: the service reads it in page ranges in several processes.
LONG = build_bol([BolInvoice(f"R{100 + k}", ITEMS, rows_per_page=2) for k in range(15)])


def damaged(damage: str, pdf: bytes = BOL) -> tuple[bytes, int]:
    """The PDF damaged so, and the page the damage falls on: the last but one, or for a
    count of pages that are not there, the one after the last."""
    pages = len(page_tree(pdf)[2])
    page = pages + 1 if damage == "count of pages that are not there" else pages - 1
    return DAMAGES[damage](pdf, page), page


def refusal(error: DamagedPageError, page: int) -> None:
    assert error.page == page and error.code == "unreadable_pdf"
    assert str(error).startswith(f"page {page} of the PDF is damaged (") and "export" in str(error)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("damage", DAMAGES)
def test_every_engine_refuses_a_damaged_page_by_its_number(damage, engine):
    pdf, page = damaged(damage)
    with pytest.raises(DamagedPageError) as refused:
        extract_pdf(pdf, engine=engine)
    refusal(refused.value, page)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_damage_is_found_whatever_the_source(tmp_path, engine):
    pdf, page = damaged("null contents")
    path = tmp_path / "bol.pdf"
    path.write_bytes(pdf)
    for source in (pdf, path, str(path), io.BytesIO(pdf)):
        with pytest.raises(DamagedPageError) as refused:
            extract_pdf(source, engine=engine)
        refusal(refused.value, page)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_page_range_is_refused_for_damage_outside_it(engine):
    """The processes that read a long PDF in ranges each refuse it, whichever holds the page."""
    pdf, page = damaged("null page dictionary", LONG)
    for pages in (range(1, 23), range(23, 46)):
        with pytest.raises(DamagedPageError) as refused:
            first_reading(pdf, engine=engine, pages=pages)
        refusal(refused.value, page)


@pytest.mark.parametrize("damage", ["null page dictionary", "null contents", "count leaving pages out"])
def test_each_part_of_a_long_pdf_read_by_the_pool_refuses_it(tmp_path, damage):
    from bolservice.jobs import SPLIT_PAGES, pdf_part_job, pdf_short_job

    pdf, page = damaged(damage, LONG)
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf)
    assert pdf_short_job(str(path), 100, "auto") is None and 45 >= SPLIT_PAGES
    for part in range(3):
        with pytest.raises(DamagedPageError) as refused:
            pdf_part_job(str(path), 100, "auto", part, 3)
        refusal(refused.value, page)


def test_the_refusal_crosses_from_a_pool_process_intact():
    error = pickle.loads(pickle.dumps(DamagedPageError(3, "its page dictionary is missing")))
    assert isinstance(error, DamagedPageError) and error.page == 3
    assert str(error) == str(DamagedPageError(3, "its page dictionary is missing"))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_page_without_contents_is_a_blank_page_as_before(engine):
    extraction = extract_pdf(without_contents(BOL, 3), engine=engine)
    assert extraction.summary()["pages"] == 4 and len(extraction.invoices) == 3
    assert sum(len(invoice.rows) for invoice in extraction.invoices) == 15
    assert [(warning.code, warning.page) for warning in extraction.warnings] == [("page_without_invoice", 3)]


def test_auto_still_reads_a_page_tree_that_names_itself_as_pdfplumber_does():
    pdf = looping_page_tree_pdf()
    assert extract_pdf(pdf) == extract_pdf(pdf, engine="pdfplumber")
    assert [row.style for invoice in extract_pdf(pdf).invoices for row in invoice.rows] == ["ST1001"]
    with pytest.raises(UnreadablePdfError) as refused:
        list(pdfium_pages(pdf))
    assert not isinstance(refused.value, DamagedPageError)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("damage", ["null page dictionary", "null contents", "count leaving pages out"])
def test_a_damaged_page_packed_in_an_object_stream_is_refused_the_same(damage, engine):
    pdf, page = damaged(damage)
    with pytest.raises(DamagedPageError) as refused:
        extract_pdf(with_object_streams(pdf), engine=engine)
    refusal(refused.value, page)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_page_tree_of_several_levels_reads_as_one_and_its_damage_is_named(engine):
    assert extract_pdf(nested_page_tree(LONG, width=4), engine=engine) == extract_pdf(LONG, engine=engine)
    for damage in ("null page dictionary", "null contents", "count leaving pages out"):
        pdf, page = damaged(damage, LONG)
        with pytest.raises(DamagedPageError) as refused:
            extract_pdf(nested_page_tree(pdf, width=4), engine=engine)
        refusal(refused.value, page)


@pytest.mark.parametrize("packing", [lambda pdf: pdf, with_object_streams])
def test_the_check_reads_a_long_bol_without_pdfminer_s_parser(monkeypatch, packing):
    """pdfminer's parser would take some 18 ms over a 125-page tree, written in the file or
    in an object stream; the quick reading leaves it the catalog and the object stream's
    own dictionary."""
    from pdfminer.pdfdocument import PDFDocument

    pdf = build_bol([BolInvoice(f"L{100 + k}", ITEMS * 30, rows_per_page=30) for k in range(25)])
    assert len(page_tree(pdf)[2]) == 125
    pdf = packing(pdf)
    asked = []
    getobj = PDFDocument.getobj
    monkeypatch.setattr(PDFDocument, "getobj", lambda doc, objid: asked.append(objid) or getobj(doc, objid))
    first_reading(pdf, engine="pdfium", pages=[1])
    assert len(asked) <= 3


def quick_reading_cases() -> list[bytes]:
    from pathlib import Path

    corpus = [path.read_bytes() for path in sorted((Path(__file__).parent / "corpus").glob("*.pdf"))]
    bols = [BOL, *(damaged(damage)[0] for damage in DAMAGES)]
    return corpus + bols + [with_object_streams(pdf) for pdf in bols]


def test_the_quick_reading_of_an_object_is_pdfminer_s():
    """Every object the check reads quickly, in the file or in an object stream, reads as
    pdfminer reads it: the same kind, the same /Type, /Kids, /Contents, /Count and /Pages."""
    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdftypes import PDFObjRef, PDFStream
    from pdfminer.psparser import KWD

    def plain(value: object) -> object:
        """A value to compare; null as None (pdfminer reads a packed null as the keyword)."""
        if isinstance(value, PDFObjRef):
            return ("ref", value.objid)
        if isinstance(value, list):
            return [plain(item) for item in value]
        return None if value is KWD(b"null") else value

    keys, read_quickly = ("Type", "type", "Kids", "Contents", "Count", "Pages"), {"file": 0, "object stream": 0}
    for pdf in quick_reading_cases():
        doc = _Document(io.BytesIO(pdf))
        for number in {number for xref in doc.xrefs for number in xref.get_objids()}:
            stream, at = doc._place(number)
            try:
                read = doc._written(number, at) if stream is None else doc._packed(number, stream, at)
            except _Unread:
                continue
            read_quickly["file" if stream is None else "object stream"] += 1
            expected = PDFDocument.getobj(doc, number)
            assert isinstance(read, PDFStream) == isinstance(expected, PDFStream)
            if isinstance(read, dict):
                assert {key: plain(read.get(key)) for key in keys} == {key: plain(expected.get(key)) for key in keys}
            elif not isinstance(read, PDFStream):
                assert read is plain(expected) is None
    assert min(read_quickly.values()) > 100, read_quickly


@pytest.mark.parametrize("damage", DAMAGES)
def test_an_upload_with_a_damaged_page_is_refused_by_its_number_and_changes_nothing(client, damage):
    pdf, page = damaged(damage)
    refused_upload(client, pdf, page)


@pytest.mark.parametrize("damage", ["null page dictionary", "contents left out", "count leaving pages out",
                                    "count of pages that are not there"])
def test_a_long_upload_read_in_page_ranges_is_refused_the_same(client, damage):
    pdf, page = damaged(damage, LONG)
    refused_upload(client, pdf, page)


def refused_upload(client, pdf: bytes, page: int) -> None:
    sid = merged_workspace(client)
    before = client.get("/status", params={"_sid": sid}).json()
    answer = client.post("/upload", params={"_sid": sid}, files={"file": ("bol.pdf", pdf, "application/pdf")})
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["code"] == "unreadable_pdf"
    assert f"page {page} of the PDF is damaged" in answer.json()["error"]
    assert download(client, sid).content == MERGED
    assert client.get("/status", params={"_sid": sid}).json() == before


@pytest.mark.parametrize("engine", ENGINES)
def test_the_command_line_names_the_damaged_page(tmp_path, engine):
    pdf, page = damaged("null contents")
    path = tmp_path / "bol.pdf"
    path.write_bytes(pdf)
    run = bolservice("process", path, "--engine", engine)
    assert run.returncode == 1 and run.stdout == b""
    assert f"error: {path}: page {page} of the PDF is damaged".encode() in run.stderr
