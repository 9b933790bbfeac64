"""Builds tests/corpus/: BOL PDFs printed by real, different PDF producers.

Each document is drawn from a seeded model (2–4 invoices, at least one spanning 2–3
pages; each producer's long one 18 invoices of 2–3 pages; true totals, a cube, shipping
instructions and a freight figure below them) and printed by one producer in one font and
size. Its expected CSV is computed from the model (``model.Invoice``/``PdfRow`` →
``extraction_records`` → ``write_bol_csv``), never by reading the PDF.

``python -m tests.corpus_build [--only PRODUCER ...] [--out DIR]``

Producers are external programs or libraries (LibreOffice, Chromium, WeasyPrint, fpdf2,
reportlab, groff + ghostscript, wkhtmltopdf, cairo, rsvg-convert); ``make corpus``
installs them. The content is deterministic: re-running gives the same model and CSV; PDF
bytes may differ by timestamps. Tests never need the producers: the PDFs are committed.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from bolservice.bol.export import extraction_records, write_bol_csv
from bolservice.bol.model import Extraction, Invoice, PdfRow
from tests.bolpdf import Item, true_totals, unprinted
from tests.corpus import CORPUS_DIR

SEED = 20260611

# --------------------------------------------------------------------------- the model

COMPANIES = [
    ("ACME APPAREL INC.", "1200 INDUSTRIAL PKWY, EDISON NJ 08817"),
    ("NORTHSTAR GARMENT CO.", "45 HARBOR BLVD SUITE 210, SECAUCUS NJ 07094"),
    ("KINGS ROW FASHIONS LLC", "3301 W 48TH ST, CHICAGO IL 60632"),
    ("BLUE RIVER KNITWEAR", "88 MILL ST UNIT 4, FALL RIVER MA 02720"),
]
# Each address is shaped like a row (integer, word, integer ...): it sits above the header.
SHIP_TOS = [
    ("BURLINGTON STORES #123", "12 ROUTE 46 WEST, TOTOWA NJ 07512"),
    ("ROSS DRESS FOR LESS #88", "5130 HWY 101 SOUTH, DUBLIN CA 94568"),
    ("TJ MAXX DC #904", "770 ROUTE 9 NORTH, FRAMINGHAM MA 01701"),
    ("MARSHALLS DC #21", "2 INTERSTATE 80 EAST, BRIDGEWATER NJ 08807"),
    ("BURLINGTON DC #7", "1830 ROUTE 130 SOUTH, BURLINGTON NJ 08016"),
]
DESCRIPTIONS = [
    "SIZE 10 JEANS", "LADIES BLOUSE 2PK", "MENS KNIT TOP", "KIDS TEE 3PK", "GIRLS 7-16 LEGGINGS",
    "BOYS 8-20 HOODIE", "WOMENS DRESS", "MENS CHINO 32X30", "TODDLER 2T-4T SET", "3 PC PAJAMA SET",
    "MISSES CARDIGAN", "SOCKS 6PK SIZE 9-11", "PLUS 1X-3X TUNIC",
]
INSTRUCTIONS = [
    "DELIVER TO DOCK 4", "CALL 24 HRS BEFORE DELIVERY 201-555-0147", "APPOINTMENT REQUIRED, DOOR 12",
    "NO FLOOR LOADING - PALLETIZE 48X40", "LIFTGATE NEEDED AT DOOR 3",
]
FREIGHT = ["FREIGHT CHARGES PREPAID", "FREIGHT COLLECT AMOUNT", "THIRD PARTY BILLING CHARGES"]


@dataclass
class CorpusInvoice:
    number: str
    ship_to: str
    ship_address: str
    pages: list[list[Item]]  # the rows printed on each of the invoice's pages
    cube: str
    instructions: str
    freight: str

    @property
    def items(self) -> list[Item]:
        return [item for page in self.pages for item in page]


@dataclass
class Page:
    """One printed page: what every producer lays out."""

    company: str
    address: str
    invoice: CorpusInvoice
    number: int  # within the invoice
    of: int
    items: list[Item]

    @property
    def last(self) -> bool:
        return self.number == self.of

    @property
    def page_label(self) -> str:
        return f"Page {self.number} of {self.of}"

    @property
    def totals(self) -> tuple[str, str, str]:
        return true_totals(self.invoice.items)


@dataclass
class Doc:
    name: str
    producer: str
    font: str  # a key of FONTS (or a groff family name for groff)
    size: int
    options: dict = field(default_factory=dict)
    company: tuple[str, str] = ("", "")
    invoices: list[CorpusInvoice] = field(default_factory=list)

    @property
    def pages(self) -> list[Page]:
        return [Page(*self.company, inv, n, len(inv.pages), items)
                for inv in self.invoices for n, items in enumerate(inv.pages, 1)]


def _grouped(number: int) -> str:
    return f"{number:,}"


def _money(rng: random.Random, low: int, high: int) -> str:
    cents = rng.randint(low * 100, high * 100)
    return f"{Decimal(cents) / 100:,.2f}"


def _style(rng: random.Random) -> str:
    n = rng.randint(1, 999)
    return rng.choice([f"ST{1000 + n}", f"W-{41000 + n}", f"W-{41000 + n}/BLK", f"M{96000 + n}",
                       f"RS{2000 + n}", f"W-{41000 + n}/NVY"])


def _item(rng: random.Random) -> Item:
    big = rng.random() < 0.15
    cartons = rng.randint(1000, 2400) if big else rng.randint(1, 160)
    pieces = cartons * rng.choice([1, 2, 4, 6, 12, 24, 36])
    pieces_text = _grouped(pieces) if pieces < 1000 or rng.random() < 0.6 else str(pieces)
    weight = _money(rng, 1000, 2600) if rng.random() < 0.25 else _money(rng, 3, 990)
    return Item(_grouped(cartons), _style(rng), pieces_text, rng.choice(DESCRIPTIONS), weight)


def _invoice(rng: random.Random, used: set[str], pages: int, rows_per_page: int) -> CorpusInvoice:
    while True:
        number = f"{rng.choice('ABCDKMRSW')}{rng.randint(100000, 999999)}"
        if number not in used:
            used.add(number)
            break
    counts = [rows_per_page] * (pages - 1) + [rng.randint(1, rows_per_page)]
    ship_to, ship_address = rng.choice(SHIP_TOS)
    cube = _money(rng, 1000, 4800) if rng.random() < 0.5 else _money(rng, 8, 990)
    return CorpusInvoice(
        number, ship_to, ship_address, [[_item(rng) for _ in range(n)] for n in counts], cube,
        rng.choice(INSTRUCTIONS), f"{rng.choice(FREIGHT)} {_money(rng, 40, 1400)}")


def make_doc(name: str, producer: str, font: str, size: int, **options) -> Doc:
    """The document ``name``: its content depends only on SEED and the name."""
    rng = random.Random(SEED ^ zlib.crc32(name.encode()))
    rows_per_page = {8: 9, 9: 8, 10: 7}[size]
    long = "invoices" in options  # a long BOL: that many invoices, each over 2-3 pages
    count = options["invoices"] if long else rng.randint(2, 4)
    spanning = rng.randrange(count)
    used: set[str] = set()
    invoices = [_invoice(rng, used, rng.randint(2, 3) if long or i == spanning else 1, rows_per_page)
                for i in range(count)]
    return Doc(name, producer, font, size, options, rng.choice(COMPANIES), invoices)


def expected_csv(doc: Doc) -> bytes:
    """What /download-bol serves for the document, computed from the model."""
    invoices, page = [], 1
    for inv in doc.invoices:
        first, rows = page, []
        for items in inv.pages:
            rows += [PdfRow(inv.number, i.style, unprinted(i.cartons), unprinted(i.pieces),
                            unprinted(i.weight), page) for i in items]
            page += 1
        _, pieces, weight = true_totals(inv.items)
        invoices.append(Invoice(inv.number, first, page - 1, rows, unprinted(pieces),
                                unprinted(weight), unprinted(inv.cube)))
    return write_bol_csv(extraction_records(Extraction(page - 1, invoices, []))).encode()


# --------------------------------------------------------------------------- fonts

FONTS = {
    "liberation-sans": "Liberation Sans",
    "liberation-serif": "Liberation Serif",
    "liberation-mono": "Liberation Mono",
    "dejavu-sans": "DejaVu Sans",
    "carlito": "Carlito",
}


def font_family(doc: Doc) -> str:
    return FONTS[doc.font]


def font_file(family: str) -> str:
    path = subprocess.run(["fc-match", "-f", "%{file}", f"{family}:style=Regular"],
                          capture_output=True, text=True, check=True).stdout
    if family.replace(" ", "") not in Path(path).name:
        raise RuntimeError(f"font {family!r} is not installed (fc-match gave {path})")
    return path


# --------------------------------------------------------------------------- HTML producers

def page_html(doc: Doc, *, legacy: bool = False) -> str:
    """One document as HTML: each BOL page a block that forces a page break after it."""
    family, size = font_family(doc), doc.size
    pad = 6  # points each side of a cell: a 12 pt gap between columns
    css = f"""
@page {{ size: letter; margin: 0.6in; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: '{family}'; font-size: {size}pt; color: #000; }}
.page {{ page-break-after: always; break-after: page; }}
.page.end {{ page-break-after: auto; break-after: auto; }}
p {{ margin: 0; line-height: 1.45; white-space: nowrap; }}
table {{ border-collapse: collapse; width: 100%; }}
table.top td {{ padding: 0; }}
table.bol {{ margin: 5pt 0; }}
table.bol th, table.bol td {{ border: 0.6pt solid #333; padding: 1.5pt {pad}pt;
  text-align: left; font-weight: normal; white-space: nowrap; }}
table.bol th {{ background: #e8e8e8; }}
.num {{ text-align: right !important; }}
.cube {{ text-align: right; padding-right: {pad}pt; margin-top: 3pt; }}
.gap {{ margin-top: 6pt; }}
"""
    if legacy:
        # wkhtmltopdf (unpatched Qt) prints CSS pt at 3/4 size and knows no break-after
        # (page-break-after stays); ask for 4/3 so its text comes out near the nominal size.
        css = css.replace("break-after: page;", "").replace("break-after: auto;", "")
        css = css.replace(f"font-size: {size}pt", f"font-size: {size * 4 / 3:.2f}pt")
    e = html.escape
    out = ['<!DOCTYPE html><html><head><meta charset="utf-8"><title>Bill of Lading</title>',
           f"<style>{css}</style></head><body>"]
    pages = doc.pages
    for index, p in enumerate(pages):
        out.append(f'<div class="page{" end" if index == len(pages) - 1 else ""}">')
        out.append(f'<table class="top"><tr><td>{e(p.company)}</td>'
                   f'<td class="num">{e(p.page_label)}</td></tr></table>')
        for text in (p.address, f"BILL OF LADING {p.invoice.number}", f"SHIP TO: {p.invoice.ship_to}",
                     p.invoice.ship_address):
            out.append(f"<p>{e(text)}</p>")
        out.append('<table class="bol"><colgroup><col style="width:11%"><col style="width:17%">'
                   '<col style="width:17%"><col><col style="width:14%"></colgroup>')
        out.append("<tr><th>CARTONS</th><th>STYLE</th><th>PIECES</th><th>DESCRIPTION</th>"
                   "<th>WEIGHT</th></tr>")
        for i in p.items:
            out.append(f'<tr><td class="num">{e(i.cartons)}</td><td>{e(i.style)}</td>'
                       f'<td class="num">{e(i.pieces)}</td><td>{e(i.description)}</td>'
                       f'<td class="num">{e(i.weight)}</td></tr>')
        if p.last:
            cartons, pieces, weight = p.totals
            out.append(f'<tr><td colspan="2">{cartons} TOTAL CARTONS</td>'
                       f'<td>{pieces} TOTAL PIECES</td><td class="num">TOTAL VOL / WGT</td>'
                       f'<td class="num">{weight}</td></tr>')
        out.append("</table>")
        if p.last:
            out.append(f'<p class="cube">{e(p.invoice.cube)}</p>')
            out.append(f'<p class="gap">SHIPPING INSTRUCTIONS: {e(p.invoice.instructions)}</p>')
            out.append(f"<p>{e(p.invoice.freight)}</p>")
        else:
            out.append('<p class="gap">CONTINUED ON NEXT PAGE</p>')
        out.append("</div>")
    out.append("</body></html>")
    return "\n".join(out)


def render_chromium(doc: Doc, out: Path, tmp: Path) -> None:
    source = tmp / "bol.html"
    source.write_text(page_html(doc), encoding="utf-8")
    run([chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp / 'profile'}", f"--print-to-pdf={out}", "--no-pdf-header-footer",
         source.as_uri()])


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    raise RuntimeError("chromium is not installed")


def render_weasyprint(doc: Doc, out: Path, tmp: Path) -> None:
    import weasyprint

    weasyprint.HTML(string=page_html(doc)).write_pdf(out)


def render_wkhtmltopdf(doc: Doc, out: Path, tmp: Path) -> None:
    source = tmp / "bol.html"
    source.write_text(page_html(doc, legacy=True), encoding="utf-8")
    run(["wkhtmltopdf", "--quiet", "--page-size", "Letter", "--margin-top", "15mm",
         "--margin-bottom", "15mm", "--margin-left", "15mm", "--margin-right", "15mm",
         "--disable-smart-shrinking", "--disable-javascript", "--enable-local-file-access",
         str(source), str(out)], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})


# --------------------------------------------------------------------------- LibreOffice

FODT_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
)


def page_fodt(doc: Doc) -> str:
    """A flat ODT: each BOL page starts with a page break, its rows in a Writer table."""
    family, size = font_family(doc), doc.size
    x = xml_escape
    widths = ["0.95in", "1.15in", "1.6in", "2.6in", "1.0in"]  # 7.3 in of text width
    styles = [
        '<style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="8.5in" '
        'fo:page-height="11in" fo:margin-top="0.6in" fo:margin-bottom="0.6in" '
        'fo:margin-left="0.6in" fo:margin-right="0.6in"/></style:page-layout>',
        '<style:style style:name="Top" style:family="paragraph"><style:paragraph-properties>'
        '<style:tab-stops><style:tab-stop style:position="7.25in" style:type="right"/>'
        '</style:tab-stops></style:paragraph-properties></style:style>',
        '<style:style style:name="TopBreak" style:family="paragraph" style:parent-style-name="Top">'
        '<style:paragraph-properties fo:break-before="page"/></style:style>',
        '<style:style style:name="Gap" style:family="paragraph"><style:paragraph-properties '
        'fo:margin-top="6pt"/></style:style>',
        '<style:style style:name="L" style:family="paragraph"><style:paragraph-properties '
        'fo:text-align="start"/></style:style>',
        '<style:style style:name="R" style:family="paragraph"><style:paragraph-properties '
        'fo:text-align="end"/></style:style>',
        '<style:style style:name="Cube" style:family="paragraph"><style:paragraph-properties '
        'fo:text-align="end" fo:margin-right="0.08in" fo:margin-top="3pt"/></style:style>',
        '<style:style style:name="Tbl" style:family="table"><style:table-properties '
        'style:width="7.3in" table:align="left" fo:margin-top="5pt" fo:margin-bottom="5pt"/>'
        '</style:style>',
        '<style:style style:name="Cell" style:family="table-cell"><style:table-cell-properties '
        'fo:padding-left="0.085in" fo:padding-right="0.085in" fo:padding-top="0.02in" '
        'fo:padding-bottom="0.02in" fo:border="0.5pt solid #000000"/></style:style>',
    ] + [f'<style:style style:name="C{n}" style:family="table-column"><style:table-column-properties '
         f'style:column-width="{w}"/></style:style>' for n, w in enumerate(widths)]
    body = []

    def para(style: str, text: str) -> None:
        body.append(f'<text:p text:style-name="{style}">{x(text)}</text:p>')

    def row(cells: list[tuple[str, str, int]]) -> str:
        parts = []
        for text, align, span in cells:
            spanned = f' table:number-columns-spanned="{span}"' if span > 1 else ""
            parts.append(f'<table:table-cell table:style-name="Cell" office:value-type="string"'
                         f'{spanned}><text:p text:style-name="{align}">{x(text)}</text:p>'
                         f'</table:table-cell>' + "<table:covered-table-cell/>" * (span - 1))
        return f"<table:table-row>{''.join(parts)}</table:table-row>"

    for index, p in enumerate(doc.pages):
        body.append(f'<text:p text:style-name="{"TopBreak" if index else "Top"}">{x(p.company)}'
                    f"<text:tab/>{x(p.page_label)}</text:p>")
        for text in (p.address, f"BILL OF LADING {p.invoice.number}", f"SHIP TO: {p.invoice.ship_to}",
                     p.invoice.ship_address):
            para("L", text)
        rows = [row([(h, "L", 1) for h in ("CARTONS", "STYLE", "PIECES", "DESCRIPTION", "WEIGHT")])]
        rows += [row([(i.cartons, "R", 1), (i.style, "L", 1), (i.pieces, "R", 1),
                      (i.description, "L", 1), (i.weight, "R", 1)]) for i in p.items]
        if p.last:
            cartons, pieces, weight = p.totals
            rows.append(row([(f"{cartons} TOTAL CARTONS", "L", 2), (f"{pieces} TOTAL PIECES", "L", 1),
                             ("TOTAL VOL / WGT", "R", 1), (weight, "R", 1)]))
        columns = "".join(f'<table:table-column table:style-name="C{n}"/>' for n in range(5))
        body.append(f'<table:table table:name="BOL{index + 1}" table:style-name="Tbl">{columns}'
                    f"{''.join(rows)}</table:table>")
        if p.last:
            para("Cube", p.invoice.cube)
            para("Gap", f"SHIPPING INSTRUCTIONS: {p.invoice.instructions}")
            para("L", p.invoice.freight)
        else:
            para("Gap", "CONTINUED ON NEXT PAGE")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document {FODT_NS}office:version="1.3" '
        'office:mimetype="application/vnd.oasis.opendocument.text">'
        f'<office:font-face-decls><style:font-face style:name="F" svg:font-family="\'{family}\'"/>'
        "</office:font-face-decls><office:styles>"
        '<style:default-style style:family="paragraph"><style:paragraph-properties '
        'fo:margin-top="0pt" fo:margin-bottom="0pt" fo:line-height="135%"/><style:text-properties '
        f'style:font-name="F" fo:font-size="{size}pt" fo:language="en" fo:country="US"/>'
        "</style:default-style></office:styles>"
        f"<office:automatic-styles>{''.join(styles)}</office:automatic-styles>"
        '<office:master-styles><style:master-page style:name="Standard" style:page-layout-name="pm1"/>'
        "</office:master-styles>"
        f"<office:body><office:text>{''.join(body)}</office:text></office:body></office:document>\n"
    )


def render_writer(doc: Doc, out: Path, tmp: Path) -> None:
    source = tmp / f"{out.stem}.fodt"
    source.write_text(page_fodt(doc), encoding="utf-8")
    run(["soffice", f"-env:UserInstallation={(tmp / 'lo-profile').as_uri()}", "--headless",
         "--norestore", "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(tmp), str(source)])
    shutil.move(tmp / f"{out.stem}.pdf", out)


# --------------------------------------------------------------------------- fpdf2

def render_fpdf2(doc: Doc, out: Path, tmp: Path) -> None:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    logging.getLogger("fontTools").setLevel(logging.ERROR)  # Carlito's 'created' date

    pdf = FPDF(unit="pt", format="letter")
    pdf.set_margins(43, 43, 43)
    pdf.set_auto_page_break(False)
    pdf.add_font("Body", "", font_file(font_family(doc)))
    pdf.set_font("Body", size=doc.size)
    pdf.c_margin = 6
    line = doc.size * 1.45
    cell = doc.size * 1.7
    full = pdf.w - 86
    widths = [60, 92, 135, full - 60 - 92 - 135 - 80, 80]

    def text(value: str, width: float = 0, align: str = "L", height: float = line,
             border: int = 0, end: bool = True) -> None:
        pdf.cell(width or full, height, value, border=border, align=align,
                 new_x=XPos.LMARGIN if end else XPos.RIGHT, new_y=YPos.NEXT if end else YPos.TOP)

    for p in doc.pages:
        pdf.add_page()
        pdf.c_margin = 0
        text(p.company, full / 2, end=False)
        text(p.page_label, full / 2, "R")
        for value in (p.address, f"BILL OF LADING {p.invoice.number}", f"SHIP TO: {p.invoice.ship_to}",
                      p.invoice.ship_address):
            text(value)
        pdf.c_margin = 6
        pdf.ln(4)
        for n, (head, w) in enumerate(zip(("CARTONS", "STYLE", "PIECES", "DESCRIPTION", "WEIGHT"),
                                          widths)):
            text(head, w, height=cell, border=1, end=n == 4)
        for i in p.items:
            values = [(i.cartons, "R"), (i.style, "L"), (i.pieces, "R"), (i.description, "L"),
                      (i.weight, "R")]
            for n, ((value, align), w) in enumerate(zip(values, widths)):
                text(value, w, align, cell, 1, n == 4)
        if p.last:
            cartons, pieces, weight = p.totals
            text(f"{cartons} TOTAL CARTONS", widths[0] + widths[1], "L", cell, 1, False)
            text(f"{pieces} TOTAL PIECES", widths[2], "L", cell, 1, False)
            text("TOTAL VOL / WGT", widths[3], "R", cell, 1, False)
            text(weight, widths[4], "R", cell, 1, True)
            text(p.invoice.cube, full, "R", cell)
            pdf.c_margin = 0
            pdf.ln(4)
            text(f"SHIPPING INSTRUCTIONS: {p.invoice.instructions}")
            text(p.invoice.freight)
        else:
            pdf.c_margin = 0
            pdf.ln(6)
            text("CONTINUED ON NEXT PAGE")
    pdf.output(str(out))


# --------------------------------------------------------------------------- reportlab

def render_platypus(doc: Doc, out: Path, tmp: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_RIGHT
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    name = "Corpus-" + doc.font
    pdfmetrics.registerFont(TTFont(name, font_file(font_family(doc))))
    size = doc.size
    body = ParagraphStyle("body", fontName=name, fontSize=size, leading=size * 1.4)
    cube = ParagraphStyle("cube", parent=body, alignment=TA_RIGHT, rightIndent=6, spaceBefore=3)
    gap = ParagraphStyle("gap", parent=body, spaceBefore=6)
    template = SimpleDocTemplate(str(out), pagesize=letter, leftMargin=43, rightMargin=43,
                                 topMargin=43, bottomMargin=43, title="Bill of Lading",
                                 author="tests.corpus_build")
    full = letter[0] - 86
    story = []
    for index, p in enumerate(doc.pages):
        if index:
            story.append(PageBreak())
        top = Table([[p.company, p.page_label]], colWidths=[full / 2, full / 2])
        top.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), name, size), ("ALIGN", (1, 0), (1, 0), "RIGHT"),
                                 ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
        story.append(top)
        for text in (p.address, f"BILL OF LADING {p.invoice.number}", f"SHIP TO: {p.invoice.ship_to}",
                     p.invoice.ship_address):
            story.append(Paragraph(html.escape(text), body))
        story.append(Spacer(1, 5))
        data = [["CARTONS", "STYLE", "PIECES", "DESCRIPTION", "WEIGHT"]]
        data += [[i.cartons, i.style, i.pieces, i.description, i.weight] for i in p.items]
        style = [("FONT", (0, 0), (-1, -1), name, size), ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e6e6e6")),
                 ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 6),
                 ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                 ("ALIGN", (0, 1), (0, -1), "RIGHT"), ("ALIGN", (2, 1), (2, -1), "RIGHT"),
                 ("ALIGN", (4, 1), (4, -1), "RIGHT")]
        if p.last:
            cartons, pieces, weight = p.totals
            data.append([f"{cartons} TOTAL CARTONS", "", f"{pieces} TOTAL PIECES", "TOTAL VOL / WGT", weight])
            style += [("SPAN", (0, -1), (1, -1)), ("ALIGN", (0, -1), (0, -1), "LEFT"),
                      ("ALIGN", (2, -1), (2, -1), "LEFT"), ("ALIGN", (3, -1), (3, -1), "RIGHT")]
        table = Table(data, colWidths=[60, 90, 120, full - 60 - 90 - 120 - 80, 80], hAlign="LEFT")
        table.setStyle(TableStyle(style))
        story.append(table)
        if p.last:
            story.append(Paragraph(html.escape(p.invoice.cube), cube))
            story.append(Paragraph(html.escape(f"SHIPPING INSTRUCTIONS: {p.invoice.instructions}"), gap))
            story.append(Paragraph(html.escape(p.invoice.freight), body))
        else:
            story.append(Paragraph("CONTINUED ON NEXT PAGE", gap))
    template.build(story)


# --------------------------------------------------------------------------- groff

GROFF_FONTS = {"times": "T", "helvetica": "H", "courier": "C", "bookman": "BM", "palatino": "P"}


def page_groff(doc: Doc) -> str:
    """groff + tbl source: each BOL page one tbl table; ``.bp`` between pages."""
    def safe(text: str) -> str:  # groff: escape backslashes; a leading dot or quote is a request
        text = text.replace("\\", "\\e")
        return "\\&" + text if text[:1] in (".", "'") else text

    size = doc.size
    out = [".pl 11i", ".po 0.6i", ".ll 7.3i", ".lt 7.3i", f".ps {size}", f".vs {round(size * 1.4)}p",
           f".fam {GROFF_FONTS[doc.font]}", ".ft R", f".ss {doc.options.get('ss', 12)}", ".nh", ".ad l",
           ".sp |0.6i"]
    for index, p in enumerate(doc.pages):
        if index:
            out += [".bp", ".sp |0.6i"]
        out.append(f".tl '{safe(p.company)}''{safe(p.page_label)}'")
        for text in (p.address, f"BILL OF LADING {p.invoice.number}", f"SHIP TO: {p.invoice.ship_to}",
                     p.invoice.ship_address):
            out += [safe(text), ".br"]
        out += [".sp 0.4", ".TS", "tab(@) box;", "l | l | l | l | l.",
                "CARTONS@STYLE@PIECES@DESCRIPTION@WEIGHT", "_", ".T&", "r | l | r | l | r."]
        for i in p.items:
            out.append("@".join(safe(v) for v in (i.cartons, i.style, i.pieces, i.description, i.weight)))
        if p.last:
            cartons, pieces, weight = p.totals
            out += ["_", ".T&", "l s | l | r | r.",
                    f"{cartons} TOTAL CARTONS@{pieces} TOTAL PIECES@TOTAL VOL / WGT@{weight}"]
        out.append(".TE")
        if p.last:
            out += [".sp 0.3", ".ad r", f"{safe(p.invoice.cube)}\\h'0.5m'", ".br", ".ad l", ".sp 0.5",
                    safe(f"SHIPPING INSTRUCTIONS: {p.invoice.instructions}"), ".br",
                    safe(p.invoice.freight), ".br"]
        else:
            out += [".sp 0.5", "CONTINUED ON NEXT PAGE", ".br"]
    return "\n".join(out) + "\n"


def render_groff(doc: Doc, out: Path, tmp: Path) -> None:
    source, postscript = tmp / "bol.tr", tmp / "bol.ps"
    source.write_text(page_groff(doc), encoding="ascii")
    with postscript.open("wb") as sink:
        subprocess.run(["groff", "-t", "-Tps", "-P-pletter", "-dpaper=letter", str(source)],
                       stdout=sink, check=True)
    run(["ps2pdf", "-sPAPERSIZE=letter", str(postscript), str(out)])


# --------------------------------------------------------------------------- cairo

def _positioned_lines(p: Page) -> list[list[tuple[float, str, str]]]:
    """A page as lines of (x, text, align) for the drawing producers (cairo, SVG)."""
    left, right = 43.0, 612 - 43.0
    columns = [(left + 6, "l"), (left + 70, "l"), (left + 170, "l"), (left + 250, "l"), (right - 6, "r")]
    numbers = [(left + 52, "r"), (left + 70, "l"), (left + 232, "r"), (left + 250, "l"), (right - 6, "r")]
    lines = [[(left, p.company, "l"), (right, p.page_label, "r")]]
    lines += [[(left, text, "l")] for text in (p.address, f"BILL OF LADING {p.invoice.number}",
                                                f"SHIP TO: {p.invoice.ship_to}", p.invoice.ship_address)]
    lines.append([(x, head, a) for (x, a), head in
                  zip(columns, ("CARTONS", "STYLE", "PIECES", "DESCRIPTION", "WEIGHT"))])
    for i in p.items:
        lines.append([(x, v, a) for (x, a), v in
                      zip(numbers, (i.cartons, i.style, i.pieces, i.description, i.weight))])
    if p.last:
        cartons, pieces, weight = p.totals
        lines.append([(left + 6, f"{cartons} TOTAL CARTONS", "l"), (left + 170, f"{pieces} TOTAL PIECES", "l"),
                      (right - 100, "TOTAL VOL / WGT", "r"), (right - 6, weight, "r")])
        lines.append([(right - 6, p.invoice.cube, "r")])
        lines.append([(left, f"SHIPPING INSTRUCTIONS: {p.invoice.instructions}", "l")])
        lines.append([(left, p.invoice.freight, "l")])
    else:
        lines.append([(left, "CONTINUED ON NEXT PAGE", "l")])
    return lines


def render_cairo(doc: Doc, out: Path, tmp: Path) -> None:
    import cairocffi as cairo

    surface = cairo.PDFSurface(str(out), 612, 792)
    if hasattr(surface, "set_metadata"):
        surface.set_metadata(cairo.PDF_METADATA_TITLE, "Bill of Lading")
    ctx = cairo.Context(surface)
    ctx.select_font_face(font_family(doc), cairo.FONT_SLANT_NORMAL, cairo.FONT_WEIGHT_NORMAL)
    ctx.set_font_size(doc.size)
    leading = doc.size * 1.6
    for p in doc.pages:
        y = 60.0
        lines = _positioned_lines(p)
        for n, line in enumerate(lines):
            if n == 5:  # rule above and below the header
                ctx.set_line_width(0.5)
                ctx.move_to(43, y - doc.size - 2)
                ctx.line_to(612 - 43, y - doc.size - 2)
                ctx.move_to(43, y + 4)
                ctx.line_to(612 - 43, y + 4)
                ctx.stroke()
            for x, text, align in line:
                if align == "r":
                    x -= ctx.text_extents(text)[4]
                ctx.move_to(x, y)
                ctx.show_text(text)
            y += leading
        ctx.show_page()
    surface.finish()


def render_rsvg(doc: Doc, out: Path, tmp: Path) -> None:
    family, size = font_family(doc), doc.size
    files = []
    for number, p in enumerate(doc.pages, 1):
        parts = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<svg xmlns="http://www.w3.org/2000/svg" width="612pt" height="792pt" viewBox="0 0 612 792">',
                 '<rect width="612" height="792" fill="white"/>',
                 f'<g font-family="{family}" font-size="{size}" fill="black">']
        y = 60.0
        for n, line in enumerate(_positioned_lines(p)):
            if n == 5:
                parts.append(f'<rect x="43" y="{y - size - 3:.1f}" width="526" height="{size + 8:.1f}" '
                             'fill="none" stroke="black" stroke-width="0.5"/>')
            for x, text, align in line:
                anchor = ' text-anchor="end"' if align == "r" else ""
                parts.append(f'<text x="{x:.1f}" y="{y:.1f}"{anchor}>{xml_escape(text)}</text>')
            y += size * 1.6
        parts.append("</g></svg>")
        path = tmp / f"page{number:03d}.svg"
        path.write_text("\n".join(parts), encoding="utf-8")
        files.append(str(path))
    run(["rsvg-convert", "-f", "pdf", "-o", str(out), *files])


# --------------------------------------------------------------------------- the corpus

RENDERERS: dict[str, Callable[[Doc, Path, Path], None]] = {
    "writer": render_writer,
    "chromium": render_chromium,
    "weasyprint": render_weasyprint,
    "wkhtmltopdf": render_wkhtmltopdf,
    "fpdf2": render_fpdf2,
    "platypus": render_platypus,
    "groff": render_groff,
    "cairo": render_cairo,
    "rsvg": render_rsvg,
}

# (producer, font, size, options): the name is producer-font-size[-variant].
PLAN: list[tuple[str, str, int, dict]] = [
    ("writer", "liberation-sans", 9, {}),
    ("writer", "liberation-serif", 10, {}),
    ("writer", "carlito", 8, {}),
    ("writer", "dejavu-sans", 9, {}),
    ("writer", "liberation-mono", 8, {}),
    ("chromium", "liberation-sans", 9, {}),
    ("chromium", "liberation-serif", 8, {}),
    ("chromium", "dejavu-sans", 10, {}),
    ("chromium", "carlito", 9, {}),
    ("chromium", "liberation-mono", 9, {}),
    ("weasyprint", "liberation-sans", 10, {}),
    ("weasyprint", "liberation-serif", 9, {}),
    ("weasyprint", "dejavu-sans", 8, {}),
    ("weasyprint", "carlito", 10, {}),
    ("wkhtmltopdf", "liberation-sans", 9, {}),
    ("wkhtmltopdf", "dejavu-sans", 8, {}),
    ("wkhtmltopdf", "carlito", 10, {}),
    ("fpdf2", "liberation-sans", 8, {}),
    ("fpdf2", "liberation-serif", 9, {}),
    ("fpdf2", "dejavu-sans", 9, {}),
    ("fpdf2", "carlito", 9, {}),
    ("fpdf2", "liberation-mono", 10, {}),
    ("platypus", "liberation-sans", 10, {}),
    ("platypus", "liberation-serif", 8, {}),
    ("platypus", "dejavu-sans", 9, {}),
    ("platypus", "carlito", 8, {}),
    ("groff", "times", 9, {}),
    ("groff", "helvetica", 10, {}),
    ("groff", "times", 10, {"ss": 8, "variant": "ss8"}),
    ("groff", "helvetica", 8, {"ss": 24, "variant": "ss24"}),
    ("cairo", "liberation-mono", 9, {}),
    ("cairo", "dejavu-sans", 10, {}),
    ("cairo", "liberation-serif", 8, {}),
    ("rsvg", "carlito", 9, {}),
    ("rsvg", "liberation-sans", 8, {}),
    # Each producer's long BOL, some 45 pages: what the service reads in page ranges.
    *((producer, font, 9, {"invoices": 18, "variant": "long"}) for producer, font in (
        ("writer", "liberation-sans"), ("chromium", "liberation-sans"), ("weasyprint", "liberation-serif"),
        ("wkhtmltopdf", "liberation-sans"), ("fpdf2", "dejavu-sans"), ("platypus", "dejavu-sans"),
        ("groff", "times"), ("cairo", "liberation-mono"), ("rsvg", "carlito"))),
]


# How each producer prints, and the version the committed files were printed with
# (Debian bookworm, PyPI).
PRODUCERS = {
    "writer": "LibreOffice Writer 7.4.7: a flat ODT (.fodt) with one Writer table per page and "
              "paragraph page breaks, `soffice --headless --convert-to pdf`",
    "chromium": "headless Chromium 156: an HTML table per page (`break-after: page`), "
                "`--print-to-pdf --no-pdf-header-footer`",
    "weasyprint": "WeasyPrint 70.0 (Pango 1.50): the same HTML",
    "wkhtmltopdf": "wkhtmltopdf 0.12.6 (Debian, unpatched Qt): the same HTML with "
                   "`page-break-after`; CSS sizes x4/3 so text comes out near nominal "
                   "(measured 9.22, 8.07, 10.38 pt)",
    "fpdf2": "fpdf2 2.8.9: bordered `cell()`s, numbers `align=\"R\"`, embedded TTF",
    "platypus": "reportlab 5.1 platypus: a gridded `Table` per page, `Paragraph`s, `PageBreak`",
    "groff": "groff 1.22.4 + tbl, `groff -t -Tps` then ghostscript 10.0 `ps2pdf`; groff's own "
             "Times/Helvetica (URW clones); `.ss` = word space in 1/12 em (default 12)",
    "cairo": "cairo 1.16 through cairocffi: `show_text` at computed positions, PDFSurface",
    "rsvg": "rsvg-convert 2.54 (librsvg/cairo): one SVG per page, `text-anchor=\"end\"` for numbers",
}


def readme(docs: list[Doc]) -> str:
    lines = [
        "# BOL corpus: real PDF producers",
        "",
        "Generated by `make corpus` (`python -m tests.corpus_build`); do not edit by hand. Each",
        "`<name>.pdf` is a Bill of Lading printed by a real PDF producer from a seeded model,",
        "and `<name>.csv` is what /download-bol must serve for it without a spreadsheet,",
        "computed from that model, never read from the PDF. `tests/corpus.py` lists the cases.",
        "",
        "Every document holds 2–4 invoices, one of them over 2–3 pages (a `-long` one, 18",
        "invoices, each over 2–3 pages); numbers carry",
        "thousands commas (some pieces do not); the cube line follows the totals, and a",
        "two-decimal freight figure follows `SHIPPING INSTRUCTIONS:`.",
        "",
        "| file | producer | font | size | pages | invoices |",
        "|---|---|---|---|---|---|",
    ]
    for doc in docs:
        font = FONTS.get(doc.font, f"groff {doc.font.title()}")
        if "ss" in doc.options:
            font += f", `.ss {doc.options['ss']}`"
        lines.append(f"| {doc.name}.pdf | {doc.producer} | {font} | {doc.size} pt | "
                     f"{len(doc.pages)} | {len(doc.invoices)} |")
    lines += ["", "groff places words by position with a narrow word space, so pdfplumber reads some",
              "of its words glued (`SIZE10 JEANS`, `14,416TOTAL PIECES`, `1,696TOTALPIECES`): the",
              "expected CSV is the same whatever the spacing (BOL_FORMAT.md §1).",
              "", "Producers:", ""]
    lines += [f"- **{name}**: {text}." for name, text in PRODUCERS.items()]
    return "\n".join(lines) + "\n"


def doc_name(producer: str, font: str, size: int, options: dict) -> str:
    variant = f"-{options['variant']}" if "variant" in options else ""
    return f"{producer}-{font}-{size}pt{variant}"


def corpus_docs() -> list[Doc]:
    return [make_doc(doc_name(*entry), entry[0], entry[1], entry[2], **entry[3]) for entry in PLAN]


def run(command: list[str], env: dict | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


def build(doc: Doc, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bolcorpus-") as tmp:
        target = Path(tmp) / f"{doc.name}.pdf"
        RENDERERS[doc.producer](doc, target, Path(tmp))
        shutil.copyfile(target, directory / f"{doc.name}.pdf")
    (directory / f"{doc.name}.csv").write_bytes(expected_csv(doc))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(RENDERERS),
                        help="build only this producer's files (repeatable)")
    parser.add_argument("--out", type=Path, default=CORPUS_DIR)
    args = parser.parse_args(argv)
    failed = []
    docs = corpus_docs()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "README.md").write_text(readme(docs), encoding="utf-8")
    for doc in docs:
        if args.only and doc.producer not in args.only:
            continue
        try:
            build(doc, args.out)
            print(f"{doc.name}.pdf ({(args.out / f'{doc.name}.pdf').stat().st_size:,} bytes)")
        except Exception as error:  # report every producer's failure, then fail
            failed.append(doc.name)
            print(f"{doc.name}: FAILED: {error}", file=sys.stderr)
    if failed:
        print(f"{len(failed)} failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
