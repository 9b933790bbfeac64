"""Small PDFs with features real producers print, for comparing the text readers.

Each builder returns the bytes of a PDF. Two ways to make them:

- ``rl(draw)``: a reportlab canvas, for what its text objects can express;
- ``raw_pdf(pages, objects)``: hand-written objects and content streams, for what reportlab
  cannot (Type3 fonts, /Widths on a standard font, fonts without /ToUnicode, ActualText...).
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

LETTER = (612.0, 792.0)
# The TrueType fonts the cases embed, committed with their licences (tests/fonts/README.md):
# the suite needs no font installed on the machine.
FONTS = Path(__file__).parent / "fonts"
FONT_DIRS = {
    "LiberationSans": str(FONTS / "LiberationSans-Regular.ttf"),
    "LiberationSerif": str(FONTS / "LiberationSerif-Regular.ttf"),
    "LiberationSerifItalic": str(FONTS / "LiberationSerif-Italic.ttf"),
    "LiberationMono": str(FONTS / "LiberationMono-Regular.ttf"),
    "DejaVuSans": str(FONTS / "DejaVuSans.ttf"),
    "DejaVuSerifItalic": str(FONTS / "DejaVuSerif-Italic.ttf"),
    "Carlito": str(FONTS / "Carlito-Regular.ttf"),
}

# Rows in the BOL grammar (tokens: cartons, style, pieces, description..., weight).
BOL_ROWS = [
    "BILL OF LADING A100001",
    "CARTONS STYLE PIECES DESCRIPTION WEIGHT",
    "12 ST1001 144 MENS KNIT TOP 35.50",
    "8 ST1002 96 WOMENS DRESS 22.25",
    "1,204 ST1003 14,448 KIDS TEE 1,204.00",
    "30 TOTAL CARTONS 360 TOTAL PIECES TOTAL VOL / WGT 87.75",
]


def ttf(name: str) -> str:
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, FONT_DIRS[name]))
    return name


def rl(draw: Callable[[canvas.Canvas], None], pagesize=LETTER, **kwargs) -> bytes:
    """One or more pages drawn by ``draw`` on a reportlab canvas (it calls showPage itself
    between pages; the last page is closed here)."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=pagesize, pageCompression=0, **kwargs)
    draw(c)
    c.showPage()
    c.save()
    return out.getvalue()


def text_at(c: canvas.Canvas, x: float, y: float, text: str, font: str = "Helvetica", size: float = 9,
            **settings) -> None:
    """One text object: ``settings`` name textobject setters (charSpace=2, rise=3, ...)."""
    t = c.beginText(x, y)
    t.setFont(font, size)
    for name, value in settings.items():
        getattr(t, "set" + name[0].upper() + name[1:])(value)
    t.textOut(text)
    c.drawText(t)


def bol_page(c: canvas.Canvas, font: str = "Helvetica", size: float = 9, top: float = 750,
             leading: float = 13, **settings) -> None:
    """The BOL rows, one text object per token column, each drawn with ``settings``."""
    columns = [40, 90, 160, 220, 420]
    for n, row in enumerate(BOL_ROWS):
        y = top - n * leading
        tokens = row.split()
        if n < 2 or "TOTAL" in row:
            text_at(c, 40, y, row, font, size, **settings)
            continue
        parts = [tokens[0], tokens[1], tokens[2], " ".join(tokens[3:-1]), tokens[-1]]
        for x, part in zip(columns, parts):
            text_at(c, x, y, part, font, size, **settings)


# --- hand-written PDFs -------------------------------------------------------------------

HELVETICA = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def raw_pdf(pages: list[dict], objects: dict[int, bytes | str] | None = None) -> bytes:
    """A PDF from page specs: {"content": bytes (or a list of them), "resources": str,
    "extra": str (more page dictionary entries, e.g. "/Rotate 90"), "mediabox": str}.

    ``objects`` are more numbered objects (numbers from 100 up), referred to by the
    resources as "100 0 R"; a bytes value that starts with b"stream" is given a /Length.
    """
    objs: dict[int, bytes] = {}
    kids = []
    number = 3
    for page in pages:
        contents = page["content"]
        if isinstance(contents, bytes):
            contents = [contents]
        refs = []
        for content in contents:
            objs[number] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
            refs.append(f"{number} 0 R")
            number += 1
        page_number = number
        number += 1
        mediabox = page.get("mediabox", "[0 0 612 792]")
        objs[page_number] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox {mediabox} /Resources {page.get('resources', '<< >>')} "
            f"/Contents [{' '.join(refs)}] {page.get('extra', '')} >>").encode("latin-1")
        kids.append(f"{page_number} 0 R")
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    for key, value in (objects or {}).items():
        if isinstance(value, str):
            value = value.encode("latin-1")
        objs[key] = value
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for key in sorted(objs):
        offsets[key] = out.tell()
        out.write(b"%d 0 obj\n" % key + objs[key] + b"\nendobj\n")
    size = max(objs) + 1
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for key in range(1, size):
        if key in offsets:
            out.write(b"%010d 00000 n \n" % offsets[key])
        else:
            out.write(b"0000000000 65535 f \n")
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))
    return out.getvalue()


def stream(data: bytes, dictionary: str = "", compress: bool = False) -> bytes:
    if compress:
        data = zlib.compress(data)
        dictionary += " /Filter /FlateDecode"
    return b"<< /Length %d %s >>\nstream\n" % (len(data), dictionary.encode()) + data + b"\nendstream"


def one_font_page(content: bytes, font: str = HELVETICA, extra: str = "", mediabox: str = "[0 0 612 792]",
                  objects: dict | None = None, fonts: dict[str, str] | None = None) -> bytes:
    """One page whose content uses /F1 = ``font`` (plus /F2... from ``fonts``)."""
    entries = {"F1": font, **(fonts or {})}
    resources = "<< /Font << " + " ".join(f"/{k} {v}" for k, v in entries.items()) + " >> >>"
    return raw_pdf([{"content": content, "resources": resources, "extra": extra, "mediabox": mediabox}],
                   objects)


def bt(*lines: str) -> bytes:
    """A content stream of one BT ... ET block per argument (each a full operator list)."""
    return "\n".join(f"BT {line} ET" for line in lines).encode("latin-1")


# --- the cases ---------------------------------------------------------------------------

def _rotated(angle: float, page_rotation: int = 0) -> bytes:
    def draw(c):
        if page_rotation:
            c.setPageRotation(page_rotation)
        text_at(c, 40, 750, "LEVEL HEADER TEXT")
        c.saveState()
        c.translate(300, 400)
        c.rotate(angle)
        for n, row in enumerate(BOL_ROWS):
            text_at(c, 0, -n * 13, row)
        c.restoreState()
    return rl(draw)


def _mirrored(a: float, d: float) -> bytes:
    def draw(c):
        text_at(c, 40, 750, "PLAIN LINE")
        c.saveState()
        c.translate(300, 400)
        c.transform(a, 0, 0, d, 0, 0)
        for n, row in enumerate(BOL_ROWS):
            text_at(c, 0, -n * 13, row)
        c.restoreState()
    return rl(draw)


def page_rotation(rotation: int) -> bytes:
    def draw(c):
        c.setPageRotation(rotation)
        bol_page(c)
    return rl(draw)


def render_mode(mode: int) -> bytes:
    """An OCR layer: the text is printed invisible (3) or as a clip (7) over a page."""
    return rl(lambda c: bol_page(c, textRenderMode=mode))


def spacing(**settings) -> Callable[[], bytes]:
    return lambda: rl(lambda c: bol_page(c, **settings))


def ttf_page(font: str, size: float = 9, **settings) -> Callable[[], bytes]:
    return lambda: rl(lambda c: bol_page(c, ttf(font), size, **settings))


def lines_apart(gap: float, font: str = "Helvetica", size: float = 9) -> Callable[[], bytes]:
    def draw(c):
        for n in range(6):
            text_at(c, 40, 700 - n * gap, f"ROW{n} 12 ST100{n} 144 TOP 3.50", font, size)
        # and a second column whose baseline is offset by the gap from the first
        for n in range(4):
            text_at(c, 300, 500 - n * gap, f"A{n}", font, size)
            text_at(c, 340, 500 - n * gap - gap / 2, f"B{n}", font, size)
    return lambda: rl(draw)


def chars_apart(gap: float, font: str = "Helvetica") -> Callable[[], bytes]:
    """Each character its own text object, ``gap`` pt after the previous one's advance."""
    def draw(c):
        for row, text in enumerate(BOL_ROWS[2:5]):
            x = 40.0
            y = 700 - row * 20
            for ch in text:
                text_at(c, x, y, ch, font, 9)
                x += pdfmetrics.stringWidth(ch, font, 9) + gap
    return lambda: rl(draw)


def mixed_sizes() -> bytes:
    def draw(c):
        text_at(c, 40, 700, "12 ST1001", "Helvetica", 8)
        text_at(c, 80, 700, "144 MENS", "Helvetica", 12)
        text_at(c, 140, 700, "TOP 35.50", "Helvetica", 20)
        text_at(c, 40, 660, "BIG", "Helvetica", 72)
        text_at(c, 200, 660, "tiny", "Helvetica", 1)
        text_at(c, 240, 660, "small 4pt", "Helvetica", 4)
        text_at(c, 40, 600, "E = mc", "Helvetica", 10)
        text_at(c, 72, 600, "2", "Helvetica", 6, rise=4)
        text_at(c, 80, 600, "H", "Helvetica", 10)
        text_at(c, 87, 600, "2", "Helvetica", 6, rise=-2)
        text_at(c, 92, 600, "O footnote", "Helvetica", 10)
        text_at(c, 40, 560, "Courier", "Courier", 10)
        text_at(c, 90, 562, "Times", "Times-Roman", 14)
        text_at(c, 140, 558, "Helv", "Helvetica-Bold", 9)
    return rl(draw)


def many_sizes(count: int = 300) -> bytes:
    """More placements (font and size pairs) than the reader keeps in its step table."""
    def draw(c):
        for k in range(count):
            text_at(c, 30 + (k % 6) * 95, 760 - (k // 6) * 14, f"W{k} \u00e9t\u00e9", "Helvetica", 6 + k / 100)
    return rl(draw)


def mixed_ttf_and_standard() -> bytes:
    """TrueType and standard-14 text on near baselines: their descents decide the lines."""
    def draw(c):
        y = 700
        for font in ("LiberationSans", "LiberationSerif", "LiberationMono", "DejaVuSans", "Carlito"):
            ttf(font)
            for k, dy in enumerate((0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 2.9, 3.1, 3.5)):
                x = 40 + k * 60
                text_at(c, x, y, "AB", "Helvetica", 9)
                text_at(c, x + 15, y - dy, "cd", font, 12)
            y -= 40
    return rl(draw)


def form_xobject() -> bytes:
    def draw(c):
        c.beginForm("rows")
        for n, row in enumerate(BOL_ROWS):
            text_at(c, 40, 750 - n * 13, row)
        c.endForm()
        c.doForm("rows")
        c.saveState()
        c.translate(0, -200)
        c.scale(1, 1)
        c.doForm("rows")
        c.restoreState()
        c.saveState()
        c.translate(300, -400)
        c.scale(0.5, 0.5)
        c.doForm("rows")
        c.restoreState()
    return rl(draw)


def fake_bold(offset: float) -> Callable[[], bytes]:
    def draw(c):
        for n, row in enumerate(BOL_ROWS):
            text_at(c, 40, 750 - n * 13, row)
            if n in (0, 1, 5):
                text_at(c, 40 + offset, 750 - n * 13, row)
    return lambda: rl(draw)


def unicode_text(font: str) -> Callable[[], bytes]:
    def draw(c):
        ttf(font)
        rows = ["Caf\u00e9 cr\u00e8me \u00e0 la \u00e7a \u00fc\u00f6\u00e4 \u00d8\u00c5 \u0141\u00f3d\u017a",
                "\u0391\u03b8\u03ae\u03bd\u03b1 \u039a\u03ac\u03c1\u03c4\u03b1 12",
                "\u041c\u043e\u0441\u043a\u0432\u0430 8 ST1002 96",
                "\ufb01le of\ufb02ow \ufb00 su\ufb03x",
                "tab\there nbsp\u00a0here soft\u00adhyphen",
                "e\u0301 combining a\u0308",
                "\u05e9\u05dc\u05d5\u05dd 12 \u05e2\u05d1\u05e8\u05d9\u05ea",
                "\u0645\u0631\u062d\u0628\u0627 34",
                "emoji \U0001F600 x \U0001D400 y",
                "quotes \u201chi\u201d \u2018a\u2019 \u2013 \u2014 \u2026 \u20ac5 \u00b0C \u00bd",
                "bullet \u2022 item \u00b7 mid",
                "zero\u200bwidth joiner\u200dx",
                "ALL-\nhyphen-",
                "end of line hyphen-",
                "continued on next",
                ]
        for n, row in enumerate(rows):
            text_at(c, 40, 750 - n * 16, row, font, 10)
    return lambda: rl(draw)


def ligatures_helvetica() -> bytes:
    def draw(c):
        text_at(c, 40, 700, "fi fl ffi \u00a0nbsp\u00adsoft tab\tx \u00e9t\u00e9 \u20ac \u2022 \u2014")
        text_at(c, 40, 680, "hyphen at end-")
        text_at(c, 40, 668, "next line")
    return rl(draw)


def text_outside_page() -> bytes:
    def draw(c):
        text_at(c, -20, 750, "LEFT EDGE 12 ST1001 144 TOP 35.50")
        text_at(c, 560, 700, "RIGHT EDGE OVERFLOWING TEXT")
        text_at(c, 40, 795, "ABOVE THE PAGE")
        text_at(c, 40, 788, "AT THE TOP")
        text_at(c, 40, -3, "BELOW THE PAGE")
        text_at(c, 40, 2, "AT THE BOTTOM")
        text_at(c, 700, 400, "FAR OUTSIDE")
    return rl(draw)


def mediabox_offset(box: str, extra: str = "") -> Callable[[], bytes]:
    def build():
        content = bt(*(f"/F1 9 Tf 1 0 0 1 {60 + k} {800 - 13 * k} Tm ({row}) Tj" for k, row in enumerate(BOL_ROWS)),
                     "/F1 9 Tf 1 0 0 1 10 10 Tm (NEAR ORIGIN) Tj",
                     "/F1 9 Tf 1 0 0 1 300 60 Tm (NEAR BOTTOM) Tj")
        return one_font_page(content, mediabox=box, extra=extra)
    return build


def tj_kerning() -> bytes:
    content = bt(
        "/F1 9 Tf 40 700 Td [(12)-3000(ST1001)-2000(144)-334(MENS)-300(KNIT)] TJ",
        "/F1 9 Tf 40 680 Td [(T)120(o)80(tal)-250(CAR)-10(TONS)] TJ",
        "/F1 9 Tf 40 660 Td [(A)-333.4(B)-333.3(C)-333.2(D)] TJ",
        "/F1 9 Tf 40 640 Td [(ABC)5000(DEF)] TJ",
        "/F1 9 Tf 40 620 Td [(GHI)-100000(JKL)] TJ",
        "/F1 9 Tf 40 600 Td (empty) Tj () Tj [() -500 ()] TJ (after) Tj",
        "/F1 9 Tf 40 580 Td 2 Tc (spaced) Tj -1 Tc (tight) Tj 0 Tc 20 Tw (word space) Tj",
        "/F1 9 Tf 40 560 Td 50 Tz (half width row 12 ST1 144 X 3.00) Tj 200 Tz (wide) Tj",
        "/F1 9 Tf 40 540 Td -3 Tc (overlap) Tj",
    )
    return one_font_page(content)


def font_size_in_matrix() -> bytes:
    """Producers that set a 1 pt font and scale the text matrix (and the reverse)."""
    content = bt(
        "/F1 1 Tf 9 0 0 9 40 700 Tm (SCALED MATRIX 12 ST1001) Tj",
        "/F1 1 Tf 9 0 0 9 40 688 Tm (SECOND ROW) Tj",
        "/F1 90 Tf 0.1 0 0 0.1 40 676 Tm (SHRUNK MATRIX) Tj",
        "/F1 -9 Tf 1 0 0 1 40 660 Tm (NEGATIVE SIZE) Tj",
        "/F1 9 Tf 1 0 0 -1 40 640 Tm (FLIPPED Y) Tj",
        "/F1 9 Tf -1 0 0 1 300 620 Tm (FLIPPED X) Tj",
        "/F1 -9 Tf -1 0 0 -1 300 600 Tm (BOTH FLIPPED) Tj",
        "/F1 9 Tf 1 0 0.3 1 40 580 Tm (ITALIC SHEAR) Tj",
        "/F1 9 Tf 1 0.02 0 1 40 560 Tm (SLIGHT SLOPE) Tj",
        "/F1 9 Tf 9 0 0 12 40 540 Tm (STRETCHED) Tj",
        "/F1 0 Tf 40 520 Td (ZERO SIZE) Tj",
        "/F1 9 Tf 40 500 Td 3 Ts (RISE) Tj 0 Ts (BASE) Tj",
    )
    return one_font_page(content)


def helvetica_with_widths() -> bytes:
    widths = " ".join(str(500 + (k % 7) * 60) for k in range(32, 256))
    font = (f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding "
            f"/FirstChar 32 /LastChar 255 /Widths [{widths}] >>")
    content = bt(*(f"/F1 9 Tf 40 {700 - 13 * k} Td ({row}) Tj" for k, row in enumerate(BOL_ROWS)))
    return one_font_page(content, font)


def named_fonts(basefont: str, subtype: str = "TrueType", descriptor: str | None = None) -> Callable[[], bytes]:
    """A non-embedded font known by name only (Arial, Arial,Bold, ...), next to Helvetica."""
    def build():
        widths = " ".join(str(556) for _ in range(32, 256))
        desc = " /FontDescriptor 100 0 R" if descriptor else ""
        font = (f"<< /Type /Font /Subtype /{subtype} /BaseFont /{basefont} /Encoding /WinAnsiEncoding "
                f"/FirstChar 32 /LastChar 255 /Widths [{widths}]{desc} >>")
        objects = {100: descriptor} if descriptor else None
        lines = []
        for k, dy in enumerate((0, 0.5, 1, 1.5, 2, 2.5, 2.9, 3.1)):
            y = 700 - 30 * k
            lines.append(f"/F2 9 Tf 40 {y} Td (HELV {dy}) Tj")
            lines.append(f"/F1 12 Tf 140 {y - dy} Td (NAMED {basefont}) Tj")
        lines += [f"/F1 9 Tf 40 {400 - 13 * k} Td ({row}) Tj" for k, row in enumerate(BOL_ROWS)]
        return one_font_page(bt(*lines), font, objects=objects, fonts={"F2": HELVETICA})
    return build


def type3_font() -> bytes:
    # Glyphs: boxes; the font matrix scales 1000 units to 1 text unit.
    procs = {}
    names = []
    for code in range(65, 91):
        name = chr(code)
        names.append(name)
        procs[name] = 110 + code - 65
    char_procs = " ".join(f"/{n} {procs[n]} 0 R" for n in names)
    diffs = "[65 " + " ".join(f"/{n}" for n in names) + " 32 /space]"
    objects: dict[int, bytes | str] = {
        101: f"<< {char_procs} /space 109 0 R >>",
        109: stream(b"250 0 d0"),
    }
    for n in names:
        objects[procs[n]] = stream(b"600 0 0 -200 500 700 d1 50 0 400 650 re f")
    widths = " ".join("250" if c == 32 else ("600" if 65 <= c <= 90 else "0") for c in range(32, 91))
    font = (f"<< /Type /Font /Subtype /Type3 /FontBBox [0 -200 600 700] /FontMatrix [0.001 0 0 0.001 0 0] "
            f"/CharProcs 101 0 R /Encoding << /Type /Encoding /Differences {diffs} >> "
            f"/FirstChar 32 /LastChar 90 /Widths [{widths}] /Resources << >> >>")
    lines = ["/F1 9 Tf 40 700 Td (TYPE THREE TEXT) Tj", "/F2 9 Tf 240 700 Td (HELVETICA) Tj",
             "/F1 9 Tf 40 690 Td (NEXT LINE) Tj", "/F2 9 Tf 240 688 Td (CLOSE) Tj",
             "/F1 12 Tf 40 660 Td (BIGGER) Tj", "/F2 9 Tf 140 657.5 Td (NEAR) Tj"]
    return one_font_page(bt(*lines), font, objects=objects, fonts={"F2": HELVETICA})


def unknown_glyph_names() -> bytes:
    """A simple font whose /Differences name glyphs no Unicode table knows, no /ToUnicode."""
    font = ("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding "
            "/Differences [65 /g65 /g66 /uni0043 /afii10017 /Euro /glyph9 /a1] >> >>")
    return one_font_page(bt("/F1 9 Tf 40 700 Td (ABCDEFG HIJ 12) Tj"), font)


def tounicode_cmap(mapping: str) -> Callable[[], bytes]:
    """Helvetica with a /ToUnicode that maps codes to odd things (several chars, spaces, none)."""
    def build():
        cmap = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def "
                b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def "
                b"1 begincodespacerange <00> <FF> endcodespacerange\n" + mapping.encode() +
                b"\nendcmap CMapName currentdict /CMap defineresource pop end end")
        font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding /ToUnicode 100 0 R >>"
        return one_font_page(bt("/F1 9 Tf 40 700 Td (ABCDEFGH IJ 12 ST1001) Tj",
                                "/F1 9 Tf 40 680 Td (abc def) Tj"), font, objects={100: stream(cmap)})
    return build


def actual_text() -> bytes:
    content = (b"/Span << /ActualText (REPLACED) >> BDC BT /F1 9 Tf 40 700 Td (ORIGINAL) Tj ET EMC\n"
               b"/Span << /ActualText <FEFF0041> >> BDC BT /F1 9 Tf 40 680 Td (ffi) Tj ET EMC\n"
               b"BT /F1 9 Tf 40 660 Td /Span << /ActualText (X) >> BDC (ABC) Tj EMC (DEF) Tj ET\n"
               b"/Artifact BMC BT /F1 9 Tf 40 640 Td (ARTIFACT HEADER) Tj ET EMC")
    return one_font_page(content)


def control_codes() -> bytes:
    """WinAnsi codes below 32 and 127-160 printed as glyphs (Helvetica has none for them)."""
    content = bt("/F1 9 Tf 40 700 Td (A\\tB\\nC\\rD\\000E\\002F) Tj",
                 "/F1 9 Tf 40 680 Td (G\\177H\\201I\\240J\\255K) Tj",
                 "/F1 9 Tf 40 660 Td (hyphen at end-) Tj",
                 "/F1 9 Tf 40 648 Td (soft at end\\255) Tj",
                 "/F1 9 Tf 40 636 Td (dash at end\\226) Tj",
                 "/F1 9 Tf 40 624 Td (next) Tj")
    return one_font_page(content)


def strip_tounicode(data: bytes) -> bytes:
    """Blank out every /ToUnicode reference (same length, so the xref stays right)."""
    import re
    return re.sub(rb"/ToUnicode\s+\d+\s+\d+\s+R", lambda m: b" " * len(m.group()), data)


def fpdf2_page(font_path: str, rows: list[str], strip: bool = False, size: float = 9) -> Callable[[], bytes]:
    def build():
        from fpdf import FPDF
        pdf = FPDF(unit="pt", format="letter")
        pdf.set_compression(False)
        pdf.add_page()
        pdf.add_font("F", "", font_path)
        pdf.set_font("F", size=size)
        for k, row in enumerate(rows):
            pdf.text(40, 60 + 13 * k, row)
        data = bytes(pdf.output())
        return strip_tounicode(data) if strip else data
    return build


def reportlab_ttf_without_tounicode(font: str) -> Callable[[], bytes]:
    return lambda: strip_tounicode(ttf_page(font)())


def descriptor_descent(descent: str) -> Callable[[], bytes]:
    """A non-standard font name with a descriptor whose /Descent is odd (0, positive, absent)."""
    entry = f"/Descent {descent}" if descent else ""
    descriptor = (f"<< /Type /FontDescriptor /FontName /MyFont /Flags 32 /FontBBox [-100 -300 1000 900] "
                  f"/ItalicAngle 0 /Ascent 900 {entry} /CapHeight 700 /StemV 80 >>")
    return named_fonts("MyFont", "TrueType", descriptor)


def dense_rows() -> bytes:
    """Rows drawn right to left, and columns out of order in the content stream."""
    def draw(c):
        for n, row in enumerate(BOL_ROWS):
            y = 750 - n * 13
            tokens = row.split()
            x = 40.0
            xs = []
            for tok in tokens:
                xs.append((x, tok))
                x += pdfmetrics.stringWidth(tok + " ", "Helvetica", 9)
            for x, tok in reversed(xs):
                text_at(c, x, y, tok)
        for n, ch in enumerate(reversed("BACKWARDS")):
            text_at(c, 300 - n * 7, 600, ch)
    return rl(draw)


def multi_column_page() -> bytes:
    """A label-value form: boxes of text at slightly different baselines."""
    def draw(c):
        for n in range(10):
            y = 700 - 11 * n
            text_at(c, 40, y, f"Field {n}:", "Helvetica-Bold", 8)
            text_at(c, 110, y - 0.4, f"value {n}", "Times-Roman", 10)
            text_at(c, 300, y + 1.2, f"Other {n}:", "Courier", 7)
            text_at(c, 380, y - 1.1, f"{n * 12.5:.2f}", "Helvetica", 9)
    return rl(draw)


def clipped_and_annotated() -> bytes:
    def draw(c):
        bol_page(c)
        p = c.beginPath()
        p.rect(40, 500, 50, 20)
        c.clipPath(p, stroke=0)
        text_at(c, 40, 505, "CLIPPED TEXT OUTSIDE THE CLIP AREA")
    return rl(draw)


def helvetica_lines(*ops: str, font: str = HELVETICA, fonts: dict[str, str] | None = None) -> Callable[[], bytes]:
    """A page of BT blocks (``ops`` each) in Helvetica as /F1, with a few reference lines
    around them so that a misplaced character lands on the wrong line."""
    def build():
        frame = ["/F1 9 Tf 1 0 0 1 40 720 Tm (REFERENCE ABOVE) Tj",
                 "/F1 9 Tf 1 0 0 1 300 700 Tm (RIGHT 700) Tj",
                 "/F1 9 Tf 1 0 0 1 300 690 Tm (RIGHT 690) Tj",
                 "/F1 9 Tf 1 0 0 1 40 300 Tm (REFERENCE BELOW) Tj"]
        return one_font_page(bt(*frame[:3], *ops, frame[3]), font, fonts=fonts)
    return build


def skewed_ocr_layer(degrees: float) -> Callable[[], bytes]:
    """An OCR layer over a scan fed in at a slant: invisible words on a sloping baseline
    (each word its own text matrix, stretched with Tz as OCR engines fit words to the
    scan), a level line just above."""
    import math
    def build():
        cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        ops = []
        for n, row in enumerate(BOL_ROWS):
            x, y = 40.0, 700.0 - 13 * n
            for word in row.split():
                ops.append(f"3 Tr /F1 9 Tf 95 Tz {cos:.5f} {sin:.5f} {-sin:.5f} {cos:.5f} {x:.3f} {y:.3f} Tm ({word}) Tj")
                x += 6 * len(word) + 4
                y += 6 * len(word) * sin
        # a level label whose top is 3.5 pt above the first sloping row's, by pdfplumber's boxes
        ops.append("0 Tr /F1 9 Tf 100 Tz 1 0 0 1 300 703.5 Tm (LEVEL LABEL) Tj")
        return one_font_page(bt(*ops))
    return build


def sloped_next_to_level(degrees: float, drop: float) -> Callable[[], bytes]:
    """A word on a baseline sloping by ``degrees``, ``drop`` pt below a level word's baseline."""
    import math
    def build():
        cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
        return one_font_page(bt(
            "/F1 9 Tf 1 0 0 1 40 700 Tm (LEVEL) Tj",
            f"/F1 9 Tf {cos:.6f} {sin:.6f} {-sin:.6f} {cos:.6f} 80 {700 - drop} Tm (SLOPED) Tj",
            "/F1 9 Tf 1 0 0 1 40 600 Tm (12 ST1001 144 TOP 35.50) Tj"))
    return build


def italic_overhang(font_path: str, gap: float) -> Callable[[], bytes]:
    """Italic words ending in a letter whose ink leans past its advance, the next word
    ``gap`` pt after the advance (pdfplumber splits words more than 3 pt apart)."""
    def build():
        name = font_path.rsplit("/", 1)[-1].split(".")[0]
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, font_path))
        def draw(c):
            for n, word in enumerate(["staff", "Prof", "shelf", "W", "T", "V", "fff"]):
                y = 700 - 14 * n
                text_at(c, 40, y, word, name, 12)
                text_at(c, 40 + pdfmetrics.stringWidth(word, name, 12) + gap, y, "next", name, 12)
        return rl(draw)
    return build


def ink_left_of_origin(font_path: str, gap: float) -> Callable[[], bytes]:
    """Words starting with a letter whose ink reaches left of its origin (``j``), each
    ``gap`` pt after the previous word's advance: pdfminer measures the gap from the
    origin, and splits the words when it is over 3 pt."""
    def build():
        name = font_path.rsplit("/", 1)[-1].split(".")[0]
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, font_path))
        def draw(c):
            for n, word in enumerate(["Dear", "a", "to", "OK", "1,204"]):
                y = 700 - 14 * n
                text_at(c, 40, y, word, name, 12)
                text_at(c, 40 + pdfmetrics.stringWidth(word, name, 12) + gap, y, "jump", name, 12)
        return rl(draw)
    return build


def deep_glyphs(font: str, text: str) -> Callable[[], bytes]:
    """Glyphs that reach below the font's declared descent, next to Helvetica lines."""
    def draw(c):
        ttf(font)
        for n, dy in enumerate((2.0, 2.5, 2.8, 3.2, 3.5)):
            y = 700 - 30 * n
            text_at(c, 40, y, "HELVETICA", "Helvetica", 9)
            text_at(c, 140, y - dy, text, font, 9)
    return lambda: rl(draw)


def bol_with_checkboxes() -> bytes:
    """A BOL form with ZapfDingbats check marks (freight terms) and a Symbol bullet."""
    def draw(c):
        bol_page(c)
        text_at(c, 40, 600, "4", "ZapfDingbats", 9)
        text_at(c, 52, 600, "FREIGHT PREPAID")
        text_at(c, 160, 600, "o", "ZapfDingbats", 9)
        text_at(c, 172, 600, "COLLECT")
        text_at(c, 40, 585, "\xb7", "Symbol", 9)
        text_at(c, 52, 585, "SHIPPING INSTRUCTIONS: DELIVER TO DOCK 4")
    return rl(draw)


def bol_bullets_in_helvetica() -> bytes:
    """Helvetica text with characters WinAnsi lacks: reportlab switches to Symbol or
    ZapfDingbats for them on its own (as other writers do)."""
    def draw(c):
        bol_page(c)
        text_at(c, 40, 600, "\u2713 FREIGHT PREPAID \u2611 COLLECT \u03b1 \u2264 5")
    return rl(draw)


def fractional_widths_drift(font: str, gap: float) -> Callable[[], bytes]:
    """A long run in a TrueType font whose /Widths are fractional (reportlab writes
    600.0977), the next column ``gap`` pt after the run's end by those widths."""
    def draw(c):
        ttf(font)
        run = "12 ST1001 144 MENS KNIT TOP DESCRIPTION LONGER THAN USUAL XL"
        for n, size in enumerate((9, 12)):
            y = 700 - 20 * n
            text_at(c, 40, y, run, font, size)
            text_at(c, 40 + pdfmetrics.stringWidth(run, font, size) + gap, y, "35.50", font, size)
    return lambda: rl(draw)
