"""Form bodies, multipart or urlencoded: python-multipart parses them, this module assembles
the fields as the body streams in.

A part that carries a file (a file part, or a field named as able to carry one, such as
``csv_data``) is written to a file beside the staged target as it arrives, whatever its
size; any other field is kept in memory up to a few kilobytes. So no field is ever whole
in memory and nothing is spooled outside the workspace root (Starlette's form parser holds
text fields in memory and spools files to the system's temporary directory). A file
part's name may be given as RFC 5987's ``filename*=UTF-8''…``, which browsers and mail
clients send for non-ASCII names.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header
from starlette.requests import Request


class BadForm(Exception):
    """The form body is malformed or breaks a bound; the message says which."""


MAX_PARTS = 50
MAX_FIELD_BYTES = 64 * 1024  # a field that carries no file: a name, a flag
_EXTENDED = re.compile(r"(?i)filename\*\s*=\s*([^;]*)")


@dataclass
class FilePart:
    """A part written to disk: its field's name, the client's file name, where it is."""

    name: str
    filename: str | None
    path: Path
    size: int = 0


@dataclass
class Form:
    files: dict[str, FilePart] = field(default_factory=dict)  # the first part of each name
    fields: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [*self.files, *self.fields]


async def read_form(request: Request, directory: Path, file_fields: frozenset[str]) -> Form:
    """The request's form, its file parts (and the fields in ``file_fields``) on disk in
    ``directory``; the caller removes those files."""
    kind, options = parse_options_header(request.headers.get("content-type", ""))
    assembler = _Assembler(directory, file_fields)
    if kind == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise BadForm("the multipart body has no boundary in its Content-Type")
        parser = MultipartParser(boundary, assembler.multipart_callbacks())
    else:
        parser = QuerystringParser(assembler.urlencoded_callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        assembler.check_whole()
    except BaseException as error:
        assembler.close()
        discard(assembler.form)
        if isinstance(error, FormParserError):
            raise BadForm(f"the form body is malformed ({error}); send it again") from None
        raise
    assembler.close()
    return assembler.form


class _Assembler:
    """Fields and files of one form, built from the parser's callbacks."""

    def __init__(self, directory: Path, file_fields: frozenset[str]) -> None:
        self.directory, self.file_fields = directory, file_fields
        self.form = Form()
        self.parts = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._name = bytearray()
        self._field = ""  # the name of the part being read
        self._out: BinaryIO | None = None
        self._file: FilePart | None = None
        self._text: bytearray | None = None
        self._pending = b""  # an urlencoded escape cut between two chunks
        self._open = False

    # --- multipart ---------------------------------------------------------------------

    def multipart_callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_name.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": lambda data, start, end: self._data(data[start:end]),
            "on_part_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_end(self) -> None:
        self._headers[self._header_name.decode("latin-1").lower()] = self._header_value.decode("latin-1")
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition = self._headers.get("content-disposition", "")
        _, options = parse_options_header(disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = _extended_filename(disposition)
        if filename is None and b"filename" in options:
            filename = options[b"filename"].decode("utf-8", "replace")
        self._start(name, as_file=filename is not None or name in self.file_fields, filename=filename)

    # --- urlencoded --------------------------------------------------------------------

    def urlencoded_callbacks(self) -> dict:
        return {
            "on_field_start": self._name.clear,
            "on_field_name": lambda data, start, end: self._name.extend(data[start:end]),
            "on_field_data": self._encoded_data,
            "on_field_end": self._encoded_end,
        }

    def _encoded_data(self, data: bytes, start: int, end: int) -> None:
        if not self._open:
            name = unquote(self._name.decode("latin-1").replace("+", " "))
            self._start(name, as_file=name in self.file_fields, filename=None)
        chunk = self._pending + data[start:end].replace(b"+", b" ")
        cut = max(chunk.rfind(b"%", len(chunk) - 2), -1)  # keep "%" or "%X" for the next chunk
        self._pending = chunk[cut:] if cut >= 0 else b""
        self._data(unquote_to_bytes(chunk[:cut] if cut >= 0 else chunk))

    def _encoded_end(self) -> None:
        if not self._open:  # a field with no value
            self._start(unquote(self._name.decode("latin-1").replace("+", " ")), as_file=False, filename=None)
        self._data(unquote_to_bytes(self._pending))
        self._pending = b""
        self._end()

    # --- both --------------------------------------------------------------------------

    def _start(self, name: str, *, as_file: bool, filename: str | None) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise BadForm(f"the form has more than {MAX_PARTS} parts")
        self._open, self._field, self._file, self._out, self._text = True, name, None, None, None
        if as_file:
            handle, path = tempfile.mkstemp(dir=self.directory, suffix=".part")
            self._out = open(handle, "wb")
            self._file = FilePart(name, filename, Path(path))
        else:
            self._text = bytearray()

    def _data(self, data: bytes) -> None:
        if self._out is not None and self._file is not None:
            self._out.write(data)
            self._file.size += len(data)
        elif self._text is not None:
            if len(self._text) + len(data) > MAX_FIELD_BYTES:
                raise BadForm(f"the form field {self._field[:40]!r} is over {MAX_FIELD_BYTES // 1024} KB; "
                                 "send a file as a file part")
            self._text.extend(data)

    def _end(self) -> None:
        if self._out is not None and self._file is not None:
            self._out.close()
            self._out = None
            if self._file.name in self.form.files:
                self._file.path.unlink(missing_ok=True)  # the first part of a name counts
            else:
                self.form.files[self._file.name] = self._file
        elif self._text is not None:
            self.form.fields.setdefault(self._field, self._text.decode("utf-8", "replace"))
        self._open = False

    def check_whole(self) -> None:
        if self._open:
            raise BadForm("the form body ends inside a part; send it again")

    def close(self) -> None:
        """Close the part being written; one that did not end is removed."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if self._file is not None and self._file.name not in self.form.files:
            self._file.path.unlink(missing_ok=True)


def discard(form: Form) -> None:
    for part in form.files.values():
        part.path.unlink(missing_ok=True)


def _extended_filename(disposition: str) -> str | None:
    """RFC 5987's ``filename*=charset'language'percent-encoded``, decoded; None if absent
    or unreadable (the plain ``filename`` then counts)."""
    match = _EXTENDED.search(disposition)
    if match is None:
        return None
    value = match.group(1).strip().strip('"')
    charset, _, rest = value.partition("'")
    _, _, encoded = rest.partition("'")
    try:
        return unquote_to_bytes(encoded).decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return None
