"""The check of a PDF's page tree, made before any page is read: a damaged page is named
rather than skipped (docs/ENGINE.md, "Damaged pages")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from pdfminer.pdfdocument import PDFDocument, PDFObjectNotFound
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import PDFObjRef, PDFStream
from pdfminer.psparser import LIT

from .errors import DamagedPageError
from .pdffile import PDFMINER_ERRORS, check_page_count


def check_page_tree(stream: BinaryIO, max_pages: int | None = None) -> None:
    """Refuse a PDF with a damaged page (``DamagedPageError``, naming the first), or with
    more than ``max_pages`` pages.

    A page is damaged when the page tree names it but its dictionary is missing (null, or
    a reference to no object) or not a page; when its /Contents refers to something that is
    not a content stream (a missing or null object); or when the tree's /Count, which pdfium
    trusts, is not the number of pages the tree holds, which pdfminer walks: each reader
    would skip or blank the page, or number the pages differently. A page without /Contents
    is blank, not damaged. A tree that names a node twice (a loop) is read past by pdfminer
    as it is, its count unchecked. A file pdfminer cannot open is left to the readers.
    """
    start = stream.tell()
    try:
        tree = _PageTree(_Document(stream))
        damage = tree.damage(max_pages)
    except PDFMINER_ERRORS:
        return
    finally:
        stream.seek(start)
    if damage is not None:
        raise DamagedPageError(*damage)


_LITERAL_PAGE, _LITERAL_PAGES = LIT("Page"), LIT("Pages")


class _PageTree:
    """The page tree's leaves, in order and numbered as pdfium numbers them: every kid that
    is not a node of the tree is a page, whatever it is."""

    def __init__(self, document: _Document) -> None:
        self.document = document
        self.root = document.resolve(document.catalog.get("Pages"))
        self.tangled = False  # whether a node is named twice

    def damage(self, max_pages: int | None) -> tuple[int, str] | None:
        """The first damaged page's number and what is wrong with it; None if there is none."""
        declared = self.document.resolve(self.root.get("Count")) if isinstance(self.root, dict) else None
        counted = isinstance(declared, int) and declared > 0  # pdfium trusts it, and walks otherwise
        number = 0
        for number, page in enumerate(self.leaves(), 1):
            check_page_count(number, max_pages)
            if counted and number > declared:
                return number, f"the page tree counts {declared} pages, which leaves it out"
            damage = self.page_damage(page)
            if damage is not None:
                return number, damage
        if counted and number < declared and not self.tangled:
            return number + 1, (f"its page dictionary is missing: the page tree counts {declared} pages "
                                f"but holds {number}")
        return None

    def leaves(self) -> Iterator[object]:
        """Each kid that is not a node of the tree, resolved, in order (the root itself if
        it is none); a node met again is skipped, as pdfminer skips it."""
        if not isinstance(self.root, dict):
            return  # no tree: pdfminer looks for pages elsewhere, pdfium finds none
        seen: set[int] = set()
        stack = [iter([self.document.catalog["Pages"]])]
        while stack:
            kid = next(stack[-1], _END)
            if kid is _END:
                stack.pop()
                continue
            node = self.document.resolve(kid)
            key = kid.objid if isinstance(kid, PDFObjRef) else id(node)
            if key in seen:
                self.tangled = True
                continue
            seen.add(key)
            if _is_node(node):
                stack.append(iter(self._kids(node)))
            else:
                yield node

    def _kids(self, node: dict) -> list:
        kids = self.document.resolve(node["Kids"])
        return kids if isinstance(kids, list) else []

    def page_damage(self, page: object) -> str | None:
        if not isinstance(page, dict):
            return "its page dictionary is missing"
        if _type(page) is not _LITERAL_PAGE or "Kids" in page:
            return "its page dictionary is not a page"
        if "Contents" not in page:
            return None  # a blank page
        contents = self.document.resolve(page["Contents"])
        parts = contents if isinstance(contents, list) else [contents]
        if all(isinstance(self.document.resolve(part), PDFStream) for part in parts):
            return None
        return "its contents are missing"


_END = object()


def _type(obj: dict) -> object:
    """An object's /Type, as pdfminer reads it (which takes /type where /Type is missing)."""
    return obj.get("Type", obj.get("type"))


def _is_node(obj: object) -> bool:
    """Whether both readers take ``obj`` for a node of the page tree: pdfminer for its
    /Type, pdfium for its /Kids."""
    return isinstance(obj, dict) and _type(obj) is _LITERAL_PAGES and "Kids" in obj


class _Unread(Exception):
    """The quick reading does not read this object; pdfminer will."""


class _Document(PDFDocument):
    """pdfminer's document, its objects read as the page tree check needs them.

    pdfminer's parser takes some 0.15 ms to read a page dictionary, 18 ms for a 125-page
    tree, and as long for the object stream that holds a catalog. So an object written
    plainly (no comment, escaped name or string with parentheses in it), in the file or in
    an object stream, is read quickly instead: a dictionary as its /Type, /Kids, /Contents,
    /Count and /Pages alone, a stream (in the file) as a stream, its data unread. pdfminer
    reads the others and the object streams, and itself asks only for the objects of object
    streams to be read quickly (the catalog): never a stream, nor the encryption dictionary
    it needs whole.
    """

    _WINDOWS = (1024, 65536, 1 << 20)  # how much is read at an object's offset, and then

    def __init__(self, stream: BinaryIO) -> None:
        self.check_stream = stream
        self.unpacked: dict[int, tuple[list[int], list[bytes]]] = {}  # each object stream read
        super().__init__(PDFParser(stream))

    def resolve(self, value: object) -> object:
        """``value``, followed through references; None for a reference to no object."""
        seen = set()
        while isinstance(value, PDFObjRef):
            if value.objid in seen:
                return None
            seen.add(value.objid)
            value = self._read(value.objid)
        return value

    def getobj(self, objid: int) -> object:
        place = self._place(objid)
        if place is not None and place[0] is not None:
            try:
                return self._packed(objid, *place)
            except _Unread:
                pass
        return super().getobj(objid)

    def _read(self, objid: int) -> object:
        """The object; None if there is none to be found."""
        place = self._place(objid)
        if place is not None and place[0] is None:
            try:
                return self._written(objid, place[1])
            except _Unread:
                pass
        try:
            return self.getobj(objid)
        except PDFObjectNotFound:  # none, or not where the cross-reference says: neither reader finds it
            return None

    def _place(self, objid: int) -> tuple[int | None, int] | None:
        """Where the object is, as its first cross-reference entry says: the offset of one
        written in the file, or the object stream and index of one packed in a stream."""
        for xref in self.xrefs:
            try:
                stream, at, _ = xref.get_pos(objid)
            except KeyError:
                continue
            return stream, at
        return None

    def _written(self, objid: int, offset: int) -> object:
        """The object written at ``offset``, from as much of the file as holds it."""
        for window in self._WINDOWS:
            self.check_stream.seek(offset)
            data = self.check_stream.read(window)
            header = _HEADER.match(data)
            if header is None or int(header.group(1)) != objid:
                raise _Unread
            end = data.find(b"endobj", header.end())
            stream = data.find(b"stream", header.end(), end if end >= 0 else len(data))
            if stream >= 0:
                if data[stream - 1] not in _SPACE + b">" or not _plain(data[header.end():stream]).endswith(b">>"):
                    raise _Unread
                return PDFStream({}, b"")
            if end >= 0:
                return self._quick(data[header.end():end])
            if len(data) < window:
                break
        raise _Unread

    def _packed(self, objid: int, stream: int, index: int) -> object:
        """Object ``index`` of object stream ``stream``, the stream read once."""
        if stream not in self.unpacked:
            self.unpacked[stream] = self._unpack(stream)
        numbers, bodies = self.unpacked[stream]
        if index >= len(bodies) or numbers[index] != objid:
            raise _Unread
        return self._quick(bodies[index])

    def _unpack(self, stream: int) -> tuple[list[int], list[bytes]]:
        """An object stream's object numbers and their bodies."""
        packed = super().getobj(stream)
        if not isinstance(packed, PDFStream):
            raise _Unread
        data, first = packed.get_data(), packed.get("First")
        header = data[:first].split() if isinstance(first, int) else []
        if len(header) % 2 or not all(word.isdigit() for word in header):
            raise _Unread
        offsets = [first + int(offset) for offset in header[1::2]]
        return [int(number) for number in header[::2]], [data[a:b] for a, b in zip(offsets, [*offsets[1:], len(data)])]

    def _quick(self, body: bytes) -> object:
        """An object's ``body`` (a dictionary or null) as pdfminer reads it (a dictionary
        without its null entries) but for the keys left out; raises ``_Unread`` for
        anything written otherwise."""
        body = _plain(body)
        if body == b"null":
            return None
        if not (body.startswith(b"<<") and body.endswith(b">>")):
            raise _Unread
        found, depth, at = {}, 0, 0
        while key := _KEY.search(body, at):
            depth, at = depth + _DEPTH.get(key.group(), 0), key.end()
            if depth == 1 and key.group(1):
                value = _VALUE.match(body, at)
                if value is None:
                    raise _Unread
                found[key.group(1).decode()], at = self._value(value), value.end()
        return {key: value for key, value in found.items() if value is not None}

    def _value(self, value: re.Match) -> object:
        name, ref, number, array = value.group(1, 2, 3, 5)
        if name is not None:
            return LIT(name.decode("latin-1"))
        if ref is not None:
            return PDFObjRef(self, int(ref))
        if number is not None:
            return int(number)
        if array is not None:
            return [PDFObjRef(self, int(ref)) if ref else None for ref in _REF_OR_NULL.findall(array)]
        return None


def _plain(body: bytes) -> bytes:
    """An object's body with each string written as ``()`` (the check reads none); raises
    ``_Unread`` if anything else but dictionaries' brackets is left that only a string,
    comment or escaped name holds."""
    body = body.strip(_SPACE)
    if not _ODD.search(body.replace(b"<<", b"").replace(b">>", b"")):
        return body
    body = _HEXADECIMAL.sub(b"()", _STRING.sub(b"()", body))
    if _ODD.search(body.replace(b"()", b"").replace(b"<<", b"").replace(b">>", b"")):
        raise _Unread
    return body


_SPACE = b"\x00\t\n\x0c\r "
_S = rb"[\x00\t\n\x0c\r ]"
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
_HEADER = re.compile(rb"%s*(\d+)%s+\d+%s+obj(?!%s)" % (_S, _S, _S, _REGULAR))
# A literal string without parentheses in it; a hexadecimal string.
_STRING = re.compile(rb"\((?:[^()\\]|\\.)*\)", re.DOTALL)
_HEXADECIMAL = re.compile(rb"(?<!<)<(?!<)[0-9A-Fa-f\x00\t\n\x0c\r ]*>")
_ODD = re.compile(rb"[()%#<>{}\\]")
_DEPTH = {b"<<": 1, b">>": -1}
_KEY = re.compile(rb"<<|>>|/(Type|type|Kids|Contents|Count|Pages)(?!%s)" % _REGULAR)
_REF = rb"(\d+)%s+\d+%s+R(?!%s)" % (_S, _S, _REGULAR)
_VALUE = re.compile(rb"%s*(?:/(%s*)|%s|(-?\d+)(?![.\d])|(null)(?!%s)|\[((?:%s*(?:\d+%s+\d+%s+R|null))*)%s*\])"
                    % (_S, _REGULAR, _REF, _REGULAR, _S, _S, _S, _S))
_REF_OR_NULL = re.compile(rb"%s|null" % _REF)
