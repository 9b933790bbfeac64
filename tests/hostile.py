"""Hostile and broken files for the corpus tests: bombs, damaged files, odd encodings."""

from __future__ import annotations

import io
import re
import zipfile
from itertools import accumulate

import openpyxl
from reportlab.pdfgen import canvas

ORDER_ROWS = [["Invoice No.", "Style", "Cartons", "Pieces"], ["A100001", "ST1001", 12, 144]]


def xlsx(rows=ORDER_ROWS) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def replace_member(data: bytes, name: str, chunks) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename == name:
                with target.open(name, "w", force_zip64=True) as member:
                    for chunk in chunks:
                        member.write(chunk)
            else:
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def zip_bomb_xlsx(rows: int = 2_000_000) -> bytes:
    """Under a megabyte on the wire, some 200 MB of sheet XML once unpacked."""
    row = b'<row><c t="inlineStr"><is><t>' + b"A" * 60 + b"</t></is></c></row>"

    def chunks():
        yield (b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
               b'spreadsheetml/2006/main"><sheetData>')
        for _ in range(rows // 10_000):
            yield row * 10_000
        yield b"</sheetData></worksheet>"

    return replace_member(xlsx(), SHEET, chunks())


def entity_bomb_xlsx() -> bytes:
    """'Billion laughs': nested XML entities that would expand to gigabytes."""
    entities = b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10) for i in range(1, 10))
    dtd = b'<!DOCTYPE lolz [<!ENTITY lol0 "lol">' + entities + b"]>"
    sheet = zipfile.ZipFile(io.BytesIO(xlsx())).read(SHEET)
    start = sheet.index(b"?>") + 2 if b"?>" in sheet else 0
    bomb = (sheet[:start] + dtd + sheet[start:]).replace(b"<t>A100001</t>", b"<t>&lol9;</t>")
    return replace_member(xlsx(), SHEET, [bomb])


def blank_pages_pdf(pages: int) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for _ in range(pages):
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def plain_bol_pdf(lines: list[str], size: float = 9) -> bytes:
    """A one-page BOL drawn without compression (its structure can be damaged byte by byte),
    in a font small enough for a line of thousands of digits to stay on the page."""
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pageCompression=0)
    pdf.setFont("Helvetica", size)
    for number, line in enumerate(lines):
        pdf.drawString(20, 760 - 12 * number, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


BOL_LINES = ["BILL OF LADING A100001", "CARTONS STYLE PIECES DESCRIPTION WEIGHT", "12 ST1001 144 MENS KNIT TOP 35.50",
             "12 TOTAL CARTONS 144 TOTAL PIECES TOTAL VOL / WGT 35.50", "45.60", "SHIPPING INSTRUCTIONS: DOCK 4"]


def bol_with_line(index: int, line: str) -> bytes:
    """The plain BOL with one line replaced; a line of thousands of digits in a 0.1 pt font."""
    lines = list(BOL_LINES)
    lines[index] = line
    return plain_bol_pdf(lines, size=0.1 if len(line) > 200 else 9)


def with_media_box(pdf: bytes, box: bytes) -> bytes:
    """The PDF with its page's MediaBox written as ``box`` (the same length keeps the xref)."""
    start = pdf.index(b"/MediaBox [") + len(b"/MediaBox ")
    end = pdf.index(b"]", start) + 1
    return pdf[:start] + box.ljust(end - start) + pdf[end:]


def corner_cell_xlsx() -> bytes:
    """A 5 KB order sheet with one stray cell in the far corner (XFD30000): Excel readers
    build the whole 16,384 × 30,000 range, tens of gigabytes, before the first row."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for column, name in enumerate(["Invoice No.", "Style", "Cartons", "Pieces"], 1):
        sheet.cell(1, column, name)
    sheet["XFD30000"] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def looping_page_tree_pdf() -> bytes:
    """The plain BOL whose page tree's only kid is the tree itself (the same length, so the
    cross-reference table still holds): a reader that follows it never ends."""
    pdf = plain_bol_pdf(BOL_LINES)
    kids = re.search(rb"(\d+) 0 obj\s*<<\s*/Count 1 /Kids \[ (\d+) 0 R \]", pdf)
    return pdf[:kids.start(2)] + kids.group(1).rjust(len(kids.group(2))) + pdf[kids.end(2):]


def pdf_objects(pdf: bytes) -> tuple[bytes, dict[int, bytes], bytes]:
    """A PDF with one classic cross-reference table (as reportlab writes it) taken apart:
    what precedes the first object, each object's body (between ``obj`` and ``endobj``)
    by number, and the trailer dictionary."""
    xref = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    table = re.match(rb"xref\s+0 (\d+)\s+", pdf[xref:])
    entries = pdf[xref + table.end():xref + table.end() + 20 * int(table.group(1))]
    offsets = {number: int(entries[20 * number:20 * number + 10]) for number in range(1, int(table.group(1)))
               if entries[20 * number + 17:20 * number + 18] == b"n"}
    ends = dict(zip(sorted(offsets.values()), [*sorted(offsets.values())[1:], xref]))
    bodies = {number: pdf[offset:ends[offset]] for number, offset in offsets.items()}
    bodies = {number: chunk[chunk.index(b"obj") + 3:chunk.rindex(b"endobj")] for number, chunk in bodies.items()}
    trailer = pdf[pdf.index(b"trailer", xref):pdf.index(b"startxref", xref)]
    return pdf[:min(offsets.values())], bodies, trailer


def rewritten_pdf(pdf: bytes, changes: dict[int, bytes | None]) -> bytes:
    """The PDF written anew, as a rewriting tool writes it: the objects in ``changes`` with
    new bodies, or left out (None) with their cross-reference entries free."""
    head, bodies, trailer = pdf_objects(pdf)
    bodies = {**bodies, **changes}
    size = max(int(re.search(rb"/Size (\d+)", trailer).group(1)), max(bodies) + 1)
    trailer = re.sub(rb"/Size \d+", b"/Size %d" % size, trailer)
    out, offsets = bytearray(head), {}
    for number in sorted(number for number, body in bodies.items() if body is not None):
        offsets[number] = len(out)
        out += b"%d 0 obj%sendobj\n" % (number, bodies[number])
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 00001 f \n"
                    for number in range(1, size))
    return bytes(out + trailer + b"startxref\n%d\n%%%%EOF\n" % xref)


def page_tree(pdf: bytes) -> tuple[int, bytes, list[int]]:
    """A reportlab PDF's page tree (one node): its number, its body and its kids' numbers."""
    _, bodies, _ = pdf_objects(pdf)
    number, body = next((number, body) for number, body in bodies.items() if b"/Type /Pages" in body)
    kids = re.search(rb"/Kids \[([^\]]*)\]", body).group(1)
    return number, body, [int(kid) for kid in re.findall(rb"(\d+) 0 R", kids)]


def _page(pdf: bytes, page: int) -> tuple[int, bytes, int]:
    """Page ``page``'s object number, its body and its content stream's number."""
    number = page_tree(pdf)[2][page - 1]
    body = pdf_objects(pdf)[1][number]
    return number, body, int(re.search(rb"/Contents (\d+) 0 R", body).group(1))


def _with_kid(pdf: bytes, page: int, kid: bytes) -> bytes:
    """The PDF with page ``page``'s entry in the page tree's /Kids written as ``kid``."""
    number, body, kids = page_tree(pdf)
    return rewritten_pdf(pdf, {number: re.sub(rb"(?<!\d)%d 0 R" % kids[page - 1], kid, body)})


def _with_contents(pdf: bytes, page: int, contents: bytes) -> bytes:
    """The PDF with page ``page``'s /Contents written as ``contents`` (``%d``: its stream)."""
    number, body, stream = _page(pdf, page)
    written = contents.replace(b"%d", b"%d" % stream)
    return rewritten_pdf(pdf, {number: body.replace(b"/Contents %d 0 R" % stream, written)})


def _with_count(pdf: bytes, count: int) -> bytes:
    number, body, _ = page_tree(pdf)
    return rewritten_pdf(pdf, {number: re.sub(rb"/Count \d+", b"/Count %d" % count, body)})


def _misplaced(pdf: bytes, page: int) -> bytes:
    """The PDF whose cross-reference table puts page ``page``'s dictionary 4 bytes too far."""
    number = _page(pdf, page)[0]
    xref = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    entry = pdf.index(b"\n", pdf.index(b"xref", xref) + len(b"xref\n")) + 1 + 20 * number
    return pdf[:entry] + b"%010d" % (int(pdf[entry:entry + 10]) + 4) + pdf[entry + 10:]


# How a broken rewriting tool leaves a page: each builder takes a PDF and the number of the
# page to damage (for /Count, the first page the count gets wrong) and returns the PDF.
DAMAGES = {
    "null page dictionary": lambda pdf, page: rewritten_pdf(pdf, {_page(pdf, page)[0]: b" null "}),
    "page dictionary left out": lambda pdf, page: rewritten_pdf(pdf, {_page(pdf, page)[0]: None}),
    "page dictionary misplaced": _misplaced,
    "kid naming no object": lambda pdf, page: _with_kid(pdf, page, b"%d 0 R" % (10 ** 6)),
    "null kid": lambda pdf, page: _with_kid(pdf, page, b"null"),
    "null contents": lambda pdf, page: rewritten_pdf(pdf, {_page(pdf, page)[2]: b" null "}),
    "contents left out": lambda pdf, page: rewritten_pdf(pdf, {_page(pdf, page)[2]: None}),
    "null in a contents array": lambda pdf, page: _with_contents(pdf, page, b"/Contents [ %d 0 R null ]"),
    "contents array naming no object": lambda pdf, page: _with_contents(pdf, page,
                                                                         b"/Contents [ %d 0 R 999999 0 R ]"),
    "count leaving pages out": lambda pdf, page: _with_count(pdf, page - 1),
    "count of pages that are not there": lambda pdf, page: _with_count(pdf, page),
}


def nested_page_tree(pdf: bytes, width: int = 2) -> bytes:
    """The PDF with its pages under intermediate nodes of ``width`` kids each, as producers
    write a long document's page tree."""
    number, body, kids = page_tree(pdf)
    first = max(pdf_objects(pdf)[1]) + 1
    groups = [kids[start:start + width] for start in range(0, len(kids), width)]
    node = b" << /Type /Pages /Parent %d 0 R /Count %d /Kids [ %s ] >> "
    nodes = {first + i: node % (number, len(group), _refs(group)) for i, group in enumerate(groups)}
    root = re.sub(rb"/Kids \[[^\]]*\]", b"/Kids [ %s ]" % _refs(nodes), body)
    return rewritten_pdf(pdf, {**nodes, number: root})


def _refs(numbers) -> bytes:
    return b" ".join(b"%d 0 R" % number for number in numbers)


def without_contents(pdf: bytes, page: int) -> bytes:
    """The PDF with page ``page`` blank as a producer writes it: no /Contents at all."""
    return _with_contents(pdf, page, b"")


def with_object_streams(pdf: bytes) -> bytes:
    """The PDF written anew as PDF 1.5 producers (Word, Acrobat) write it: every object but
    the streams packed into one object stream, found through a cross-reference stream."""
    head, bodies, trailer = pdf_objects(pdf)
    packed = [number for number, body in bodies.items() if b"stream" not in body]
    objstm = xref = max(bodies) + 1
    written = [bodies[number].strip() + b"\n" for number in packed]
    data = b"".join(written)
    index = b" ".join(b"%d %d" % pair for pair in zip(packed, accumulate(map(len, written), initial=0))) + b"\n"
    out, entries = bytearray(head), {number: (2, objstm, i) for i, number in enumerate(packed)}
    for number in sorted(set(bodies) - set(packed)):
        entries[number] = (1, len(out), 0)
        out += b"%d 0 obj%sendobj\n" % (number, bodies[number])
    entries[objstm] = (1, len(out), 0)
    out += (b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Length %d >>\nstream\n%s\nendstream\nendobj\n"
            % (objstm, len(packed), len(index), len(index + data), index + data))
    xref = objstm + 1
    entries[xref] = (1, len(out), 0)
    rows = b"".join(bytes([kind]) + where.to_bytes(4, "big") + at.to_bytes(2, "big")
                    for kind, where, at in (entries.get(number, (0, 0, 0)) for number in range(xref + 1)))
    root = re.search(rb"/Root (\d+) 0 R", trailer).group(1)
    out += (b"%d 0 obj\n<< /Type /XRef /Size %d /W [ 1 4 2 ] /Root %s 0 R /Length %d >>\nstream\n%s\nendstream\n"
            b"endobj\nstartxref\n%d\n%%%%EOF\n" % (xref, xref + 1, root, len(rows), rows, entries[xref][1]))
    return bytes(out)
