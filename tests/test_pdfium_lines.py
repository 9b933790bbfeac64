"""pdfium's lines equal pdfplumber's, line for line, on PDFs with features real producers print.

Each case is a small PDF (tests/tricky_pdfs.py) built around one feature: text render
modes of OCR layers, turned and mirrored text, rotated pages, shifted media boxes, forms,
fake bold, fonts of every kind (standard 14 with their own widths, TrueType with and without
/ToUnicode, Type0/Identity-H, Type3, fonts known only by name), spacing operators, odd
Unicode. On each page the pdfium reader gives pdfplumber's lines or marks the page doubtful,
so that ``auto`` reads it again with pdfplumber, and ``auto`` parses the file as pdfplumber does. What it can neither read alike nor notice is
listed in docs/ENGINE.md; those cases are not here.
"""

from __future__ import annotations

import io

import pypdfium2
import pytest

from bolservice.bol import BolInputError, extract_pdf
from bolservice.bol.pdfium_reader import pdfium_pages
from bolservice.bol.plumber_reader import read_pdf_pages
from tests import tricky_pdfs as t

LS = t.FONT_DIRS["LiberationSans"]
DV = t.FONT_DIRS["DejaVuSans"]
UNICODE_ROWS = ["Caf\u00e9 \u00e0 \u00e7a \u00fc\u00f6 \u0141\u00f3d\u017a \u20ac 12",
                "\u0391\u03b8\u03ae\u03bd\u03b1 \u041c\u043e\u0441\u043a\u0432\u0430",
                "\ufb01le o\ufb02ow \ufb00 su\ufb03x",
                "nbsp\u00a0here soft\u00adhyphen",
                "end of line hyphen-", "next line"] + t.BOL_ROWS

CASES = {
    # OCR layers and clipping text
    "render mode 3 (invisible)": lambda: t.render_mode(3),
    "render mode 7 (clip)": lambda: t.render_mode(7),
    "render mode 1 (stroke)": lambda: t.render_mode(1),
    # spacing operators
    "char space 2": t.spacing(charSpace=2),
    "char space -0.5": t.spacing(charSpace=-0.5),
    "char space 3.2": t.spacing(charSpace=3.2),
    "word space 10": t.spacing(wordSpace=10),
    "horizontal scale 50": t.spacing(horizScale=50),
    "horizontal scale 200": t.spacing(horizScale=200),
    "rise 4": t.spacing(rise=4),
    "rise -3": t.spacing(rise=-3),
    "TJ kerning, Tc, Tw, Tz, empty strings": t.tj_kerning,
    "1 pt font scaled by the text matrix": t.helvetica_lines(
        "/F1 1 Tf 9 0 0 9 40 700 Tm (SCALED MATRIX 12 ST1001) Tj", "/F1 1 Tf 9 0 0 9 40 688 Tm (SECOND ROW) Tj"),
    "90 pt font shrunk by the text matrix": t.helvetica_lines("/F1 90 Tf 0.1 0 0 0.1 40 700 Tm (SHRUNK MATRIX) Tj"),
    "negative font size": t.helvetica_lines("/F1 -9 Tf 1 0 0 1 40 700 Tm (NEGATIVE SIZE) Tj"),
    "text matrix flipped in y": t.helvetica_lines("/F1 9 Tf 1 0 0 -1 40 700 Tm (FLIPPED Y) Tj"),
    "text matrix flipped in x": t.helvetica_lines("/F1 9 Tf -1 0 0 1 300 700 Tm (FLIPPED X) Tj"),
    "negative size, matrix flipped in x and y": t.helvetica_lines("/F1 -9 Tf -1 0 0 -1 200 700 Tm (BOTH FLIPPED) Tj"),
    "matrix -1 0 0 -1 (turned 180)": t.helvetica_lines("/F1 9 Tf -1 0 0 -1 200 700 Tm (TURNED HALF) Tj"),
    "italic shear in the text matrix": t.helvetica_lines("/F1 9 Tf 1 0 0.3 1 40 700 Tm (ITALIC SHEAR) Tj"),
    "baseline sloping by 1 degree": t.helvetica_lines("/F1 9 Tf 1 0.0175 -0.0175 1 40 700 Tm (SLIGHT SLOPE ROW) Tj"),
    "text matrix stretched 9 x 12": t.helvetica_lines("/F1 1 Tf 9 0 0 12 40 700 Tm (STRETCHED) Tj"),
    "font size 0": t.helvetica_lines("/F1 0 Tf 1 0 0 1 40 700 Tm (ZERO SIZE) Tj", "/F1 9 Tf 1 0 0 1 40 690 Tm (AFTER) Tj"),
    "rise inside a text object": t.helvetica_lines("/F1 9 Tf 1 0 0 1 40 700 Tm 3 Ts (RISE) Tj 0 Ts (BASE) Tj"),
    # geometry
    "lines 3 pt apart": t.lines_apart(3.0),
    "lines 2.99 pt apart": t.lines_apart(2.99),
    "lines 3.01 pt apart": t.lines_apart(3.01),
    "lines 3 pt apart, Times": t.lines_apart(3.0, "Times-Roman", 10),
    "chars 2.99 pt apart": t.chars_apart(2.99),
    "chars 3.01 pt apart": t.chars_apart(3.01),
    "mixed sizes, super- and subscripts, standard 14": t.mixed_sizes,
    "TrueType next to Helvetica on near baselines": t.mixed_ttf_and_standard,
    "label-value form, baselines off by a point": t.multi_column_page,
    "rotated 90": lambda: t._rotated(90),
    "rotated 180": lambda: t._rotated(180),
    "rotated 270": lambda: t._rotated(270),
    "rotated 30": lambda: t._rotated(30),
    "rotated -15": lambda: t._rotated(-15),
    "mirrored x": lambda: t._mirrored(-1, 1),
    "mirrored y": lambda: t._mirrored(1, -1),
    "page /Rotate 90": lambda: t.page_rotation(90),
    "page /Rotate 180": lambda: t.page_rotation(180),
    "page /Rotate 270": lambda: t.page_rotation(270),
    "page /Rotate 90 with text rotated 90": lambda: t._rotated(90, 90),
    "page /Rotate 270 with text rotated 30": lambda: t._rotated(30, 270),
    "text outside the media box": t.text_outside_page,
    "media box [50 50 662 842]": t.mediabox_offset("[50 50 662 842]"),
    "media box [-20 -30 592 762]": t.mediabox_offset("[-20 -30 592 762]"),
    "crop box smaller than the media box": t.mediabox_offset("[0 0 612 842]", "/CropBox [30 40 500 700]"),
    "media box offset, /Rotate 90": t.mediabox_offset("[50 50 662 842]", "/Rotate 90"),
    "media box offset, /Rotate 270": t.mediabox_offset("[50 50 662 842]", "/Rotate 270"),
    "media box upside down [0 842 612 0]": t.mediabox_offset("[0 842 612 0]"),
    "form xobjects, scaled": t.form_xobject,
    "fake bold 0.3 pt": t.fake_bold(0.3),
    "fake bold 0 pt (text twice)": t.fake_bold(0.0),
    "fake bold 1 pt": t.fake_bold(1.0),
    "columns drawn right to left": t.dense_rows,
    "clipped text": t.clipped_and_annotated,
    "OCR layer skewed 0.5 degree": t.skewed_ocr_layer(0.5),
    "OCR layer skewed -1 degree": t.skewed_ocr_layer(-1.0),
    "sloped -1 degree, 3.4 pt below a level word": t.sloped_next_to_level(-1.0, 3.4),
    "sloped 1 degree, 2.6 pt below a level word": t.sloped_next_to_level(1.0, 2.6),
    "sloped -5 degrees, 3.4 pt below a level word": t.sloped_next_to_level(-5.0, 3.4),
    # fonts
    "italic overhang, next word 3.3 pt on (LiberationSerif-Italic)": t.italic_overhang(
        t.FONT_DIRS["LiberationSerifItalic"], 3.3),
    "italic overhang, next word 3.3 pt on (DejaVuSerif-Italic)": t.italic_overhang(
        t.FONT_DIRS["DejaVuSerifItalic"], 3.3),
    "fractional /Widths, next column 3.05 pt on (DejaVuSans)": t.fractional_widths_drift("DejaVuSans", 3.05),
    "fractional /Widths, next column 3.05 pt on (LiberationSans)": t.fractional_widths_drift("LiberationSans", 3.05),
    "ink left of its origin, next word 3.05 pt on (LiberationSerif)": t.ink_left_of_origin(
        t.FONT_DIRS["LiberationSerif"], 3.05),
    "ink left of its origin, next word 3.05 pt on (DejaVuSans)": t.ink_left_of_origin(DV, 3.05),
    "ink left of its origin, next word 3.3 pt on (LiberationSans)": t.ink_left_of_origin(LS, 3.3),
    "glyphs below the descent (DejaVuSans)": t.deep_glyphs("DejaVuSans", "∫ ʒ ǯ Ç ̦ ̧"),
    "glyphs below the descent (LiberationSans)": t.deep_glyphs("LiberationSans", "Ç ̦ ̧ Ţ gjpqy"),
    "BOL with ZapfDingbats check boxes and a Symbol bullet": t.bol_with_checkboxes,
    "BOL with check marks in Helvetica (reportlab substitutes)": t.bol_bullets_in_helvetica,
    "Helvetica: ligatures, nbsp, soft hyphen, tab": t.ligatures_helvetica,
    "WinAnsi codes below 32": t.helvetica_lines(r"/F1 9 Tf 40 700 Td (A\tB\nC\rD\000E\002F) Tj"),
    "WinAnsi codes 127-160 without glyphs": t.helvetica_lines(r"/F1 9 Tf 40 700 Td (G\177H\201I\240J) Tj"),
    "hyphen at the end of a line": t.helvetica_lines(
        "/F1 9 Tf 40 700 Td (hyphen at end-) Tj", "/F1 9 Tf 40 688 Td (next) Tj"),
    "soft hyphen at the end of a line": t.helvetica_lines(
        r"/F1 9 Tf 40 700 Td (soft at end\255) Tj", "/F1 9 Tf 40 688 Td (next) Tj"),
    "en dash at the end of a line": t.helvetica_lines(
        r"/F1 9 Tf 40 700 Td (dash at end\226) Tj", "/F1 9 Tf 40 688 Td (next) Tj"),
    "hyphen ending a text object mid-line": t.helvetica_lines(
        "/F1 9 Tf 40 700 Td (ST-) Tj", "/F1 9 Tf 60 700 Td (1001 next) Tj"),
    "nbsp in WinAnsi": t.helvetica_lines(r"/F1 9 Tf 40 700 Td (12\240ST1001 144) Tj"),
    "Symbol font": t.helvetica_lines("/F2 9 Tf 40 700 Td (abgd) Tj", fonts={"F2": "<< /Type /Font /Subtype /Type1 /BaseFont /Symbol >>"}),
    "ZapfDingbats font": t.helvetica_lines("/F2 9 Tf 40 700 Td (3456) Tj", fonts={"F2": "<< /Type /Font /Subtype /Type1 /BaseFont /ZapfDingbats >>"}),
    "standard 14 font with its own /Widths": t.helvetica_with_widths,
    "Arial by name, no descriptor": t.named_fonts("Arial"),
    "Arial,Bold by name, no descriptor": t.named_fonts("Arial,Bold"),
    "Helvetica-Bold as TrueType, no descriptor": t.named_fonts("Helvetica-Bold"),
    "descriptor with /Descent 0": t.descriptor_descent("0"),
    "descriptor with /Descent 250 (positive)": t.descriptor_descent("250"),
    "descriptor without /Descent": t.descriptor_descent(""),
    "descriptor with /Descent -400": t.descriptor_descent("-400"),
    "Type3 font": t.type3_font,
    "glyph names no table knows, no ToUnicode": t.unknown_glyph_names,
    "ToUnicode: one code to several chars": t.tounicode_cmap(
        "3 beginbfchar <41> <00660066> <42> <0020> <43> <FB01> endbfchar"),
    "ToUnicode: code to nothing and to a control char": t.tounicode_cmap(
        "3 beginbfchar <41> <> <42> <0002> <43> <FFFE> endbfchar"),
    "ToUnicode: ranges into the private use area": t.tounicode_cmap(
        "1 beginbfrange <61> <66> <E000> endbfrange"),
    "marked content with /ActualText, artifacts": t.actual_text,
    "300 font sizes": t.many_sizes,
    "TTF LiberationSans": t.ttf_page("LiberationSans"),
    "TTF DejaVuSans 10": t.ttf_page("DejaVuSans", 10),
    "TTF Carlito 9, char space 1": t.ttf_page("Carlito", 9, charSpace=1),
    "TTF LiberationMono 72": t.ttf_page("LiberationMono", 72),
    "TTF LiberationSerif 1": t.ttf_page("LiberationSerif", 1),
    "TTF without ToUnicode (reportlab)": t.reportlab_ttf_without_tounicode("LiberationSans"),
    "Unicode text in DejaVuSans": t.unicode_text("DejaVuSans"),
    "Unicode text in LiberationSerif": t.unicode_text("LiberationSerif"),
    "Type0 Identity-H (fpdf2)": t.fpdf2_page(DV, UNICODE_ROWS),
    "Type0 Identity-H without ToUnicode (fpdf2)": t.fpdf2_page(LS, t.BOL_ROWS, strip=True),
}


@pytest.mark.parametrize("name", CASES)
def test_pdfium_reads_pdfplumbers_lines_or_says_it_doubts_them(name):
    """Every page: the same lines, or the page is marked doubtful (so auto re-reads it)."""
    data = CASES[name]()
    reference = list(read_pdf_pages(data))
    reading = list(pdfium_pages(data))
    assert len(reading) == len(reference)
    for number, (mine, theirs) in enumerate(zip(reading, reference), 1):
        assert mine.lines == theirs.lines or mine.doubtful, f"page {number}"
    assert outcome(data) == outcome(data, engine="pdfplumber", readings=reference)


def outcome(data: bytes, **options):
    """The parse, or the kind of input error it ends in."""
    try:
        return extract_pdf(data, **options)
    except BolInputError as error:
        return type(error)


def test_pages_read_in_one_batch_read_as_each_alone():
    """The reader works out a batch of pages together: a page's lines and doubt are what
    the page gives alone, whatever the pages around it hold (rotated, turned, doubtful,
    lost spaces, no text)."""
    alone, joined = [], pypdfium2.PdfDocument.new()
    for name in CASES:
        data = CASES[name]()
        alone += list(pdfium_pages(data))
        joined.import_pages(pypdfium2.PdfDocument(data))
    buffer = io.BytesIO()
    joined.save(buffer)
    together = list(pdfium_pages(buffer.getvalue()))
    assert len(together) == len(alone) > 16  # more than one batch
    for number, (mine, theirs) in enumerate(zip(together, alone), 1):
        assert mine == theirs, f"page {number}"
