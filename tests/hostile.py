"""Hostile and broken files for the corpus tests: bombs, damaged files, odd encodings."""

from __future__ import annotations

import io
import zipfile

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
