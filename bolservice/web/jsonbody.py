"""A JSON object body read as it streams in, its file members written straight to disk.

A file sent as JSON is one string member, base64 (a third larger than the file) or CSV
text. Parsed whole, the body, the decoded string and the decoded bytes were all in memory
at once: a worker grew by some 190 MB for a 39 MB PDF. Here a member named in ``streamed``
whose value is a string goes to its sink a chunk at a time; the other members, small
metadata such as ``filename``, are parsed with the json module as usual.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import AsyncIterable, Mapping
from pathlib import Path

_SPACE = re.compile(r"[ \t\n\r]*")
# Complete pieces of a string's inside: plain runs and whole escapes.
_STRING_PIECES = re.compile(r'(?:[^"\\\x00-\x1f]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
_ESCAPE_PREFIX = re.compile(r'\\(?:u[0-9a-fA-F]{0,3})?\Z')
_DATA_URL = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
_DATA_URL_MAX = 4096
_KINDS = {"[": "an array", '"': "a string", "t": "a boolean", "f": "a boolean", "n": "null"}
_NOT_JSON = "the body is not valid JSON"
_AFTER_SCALAR = tuple(" \t\n\r,}]")


class BadJson(ValueError):
    """The body is not the JSON expected; the message says what is wrong."""


class Sink:
    """Where a streamed string member goes: a file, written piece by piece of its text.

    ``present``: the member was a string; ``length``: its characters; ``size``: the bytes
    written to ``path``; ``error``: why they are not usable, if they are not. Errors are
    kept, not raised: the member may not be the one the request is answered from.
    """

    def __init__(self, path: Path, field: str) -> None:
        self.path = path
        self.field = field
        self.present = False
        self.length = self.size = 0
        self.error: str | None = None

    def write(self, text: str) -> None:
        self.length += len(text)
        if not self.error:
            self._take(text)

    def finish(self) -> None:
        """The member's string has ended."""

    def _take(self, text: str) -> None:
        raise NotImplementedError

    def _append(self, data: bytes) -> None:
        with self.path.open("ab") as out:
            out.write(data)
        self.size += len(data)


class TextFile(Sink):
    """A string member written to a file as UTF-8."""

    def __init__(self, path: Path, field: str) -> None:
        super().__init__(path, field)
        self._pending = ""  # a high surrogate whose pair is still to come

    def _take(self, text: str) -> None:
        text, self._pending = self._pending + text, ""
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self._pending = text[:-1], text[-1]
        # Pairs split across pieces are joined here; a lone surrogate is not text.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        try:
            self._append(text.encode())
        except UnicodeEncodeError:
            self.error = f"'{self.field}' holds a lone UTF-16 surrogate (\\ud800-\\udfff); send valid text"

    def finish(self) -> None:
        if self._pending and not self.error:
            self.error = f"'{self.field}' ends in a lone UTF-16 surrogate; send valid text"


class Base64File(Sink):
    """A base64 string member (whitespace and a data-URL prefix allowed) decoded to a file."""

    def __init__(self, path: Path, field: str) -> None:
        super().__init__(path, field)
        self._head: str | None = ""  # the start, until a data-URL prefix is ruled in or out
        self._quads = ""

    def _take(self, text: str) -> None:
        if self._head is not None:
            self._head += text
            start = self._head.lstrip()
            if start[:5].lower() == "data:"[: len(start[:5])] and "," not in start and len(start) < _DATA_URL_MAX:
                return  # could still be a data-URL prefix
            text, self._head = _DATA_URL.sub("", start, count=1), None
        self._quads += "".join(text.split())
        padding = self._quads.find("=")
        # Padding may only close the string: the quad that holds it waits for the end.
        whole = len(self._quads) // 4 * 4 if padding < 0 else padding // 4 * 4
        if padding >= 0 and len(self._quads) - whole > 4:
            self.error = f"'{self.field}' is not valid base64 (it goes on after its padding)"
            return
        self._decode(self._quads[:whole])
        self._quads = self._quads[whole:]

    def finish(self) -> None:
        if self.error:
            return
        if self._head is not None:
            head, self._head = self._head, None
            self._take(_DATA_URL.sub("", head.strip(), count=1))
        self._decode(self._quads)
        self._quads = ""

    def _decode(self, quads: str) -> None:
        if self.error or not quads:
            return
        try:
            data = base64.b64decode(quads, validate=True)
        except (binascii.Error, ValueError):
            self.error = f"'{self.field}' is not valid base64"
            return
        self._append(data)


def first_given(sinks: Mapping[str, Sink]) -> Sink | None:
    """The first sink, in order, whose member was a non-empty string."""
    return next((sink for sink in sinks.values() if sink.present and sink.length), None)


async def read_json_object(chunks: AsyncIterable[bytes], streamed: Mapping[str, Sink]) -> dict:
    """The body's members other than the streamed strings, which went to their sinks."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    reader = _ObjectReader(streamed)
    try:
        async for chunk in chunks:
            reader.feed(decoder.decode(chunk))
        reader.feed(decoder.decode(b"", final=True))
    except UnicodeDecodeError:
        raise BadJson(_NOT_JSON + " (it is not UTF-8)") from None
    return reader.finish()


class _ObjectReader:
    """An incremental parser for one JSON object; ``feed`` text, then ``finish``."""

    def __init__(self, streamed: Mapping[str, Sink]) -> None:
        self.streamed = streamed
        self.members: dict = {}
        self.buffer = ""
        self.position = 0
        self.state = self._object_start
        self.key = ""
        self.sink: Sink | None = None
        self.final = False
        self._unread: list[str] = []
        self._unread_length = 0
        self._retry_at = 0  # text length at which an incomplete value is tried again

    def feed(self, text: str) -> None:
        self._unread.append(text)
        self._unread_length += len(text)
        if not self.final and len(self.buffer) - self.position + self._unread_length < self._retry_at:
            # An incomplete value is parsed again only once its text has doubled, so a
            # large one arriving in many chunks is neither parsed nor copied over and over.
            return
        self.buffer = self.buffer[self.position:] + "".join(self._unread)
        self._unread, self._unread_length = [], 0
        self.position = 0
        while self.state():
            pass

    def finish(self) -> dict:
        self.final = True
        self.feed("")
        if self.state != self._done:
            raise BadJson(_NOT_JSON + " (it ends too soon)")
        return self.members

    # Each state consumes what it can; it returns False when it needs more text.

    def _next(self) -> str | None:
        """The next character after whitespace, or None if the buffer ran out."""
        self.position = _SPACE.match(self.buffer, self.position).end()
        return self.buffer[self.position] if self.position < len(self.buffer) else None

    def _object_start(self) -> bool:
        char = self._next()
        if char is None:
            return False
        if char != "{":
            kind = _KINDS.get(char, "a number" if char in "-0123456789" else None)
            raise BadJson(f"the JSON body must be an object, not {kind}" if kind else _NOT_JSON)
        self.position += 1
        self.state = self._first_key
        return True

    def _first_key(self) -> bool:
        char = self._next()
        if char == "}":
            self.position += 1
            self.state = self._done
            return True
        return self._key()

    def _key(self) -> bool:
        char = self._next()
        if char is None:
            return False
        if char != '"':
            raise BadJson(_NOT_JSON)
        key = self._value()
        if key is _MORE:
            return False
        self.key = key
        self.state = self._colon
        return True

    def _colon(self) -> bool:
        if self._punctuation(":") is None:
            return False
        self.state = self._member_value
        return True

    def _member_value(self) -> bool:
        char = self._next()
        if char is None:
            return False
        sink = self.streamed.get(self.key)
        if sink is not None and char == '"':
            if sink.present:
                raise BadJson(f"'{self.key}' appears twice in the JSON body")
            sink.present = True
            self.sink = sink
            self.position += 1
            self.state = self._streamed_string
            return True
        value = self._value()
        if value is _MORE:
            return False
        self.members[self.key] = value
        self.state = self._after_member
        return True

    def _streamed_string(self) -> bool:
        assert self.sink is not None
        end = _STRING_PIECES.match(self.buffer, self.position).end()
        closed = end < len(self.buffer) and self.buffer[end] == '"'
        if not closed and end < len(self.buffer):
            rest = self.buffer[end:]
            if not _ESCAPE_PREFIX.match(rest) or self.final:
                raise BadJson(_NOT_JSON)
        if not closed and self.final:
            raise BadJson(_NOT_JSON + " (it ends inside a string)")
        piece = self.buffer[self.position:end]
        self.sink.write(json.loads(f'"{piece}"') if "\\" in piece else piece)
        self.position = end
        if not closed:
            return False
        self.position += 1
        self.sink.finish()
        self.sink = None
        self.state = self._after_member
        return True

    def _after_member(self) -> bool:
        char = self._punctuation(",}")
        if char is None:
            return False
        self.state = self._key if char == "," else self._done
        return True

    def _punctuation(self, allowed: str) -> str | None:
        """The next character, consumed, if it is one of ``allowed``; None if the text ran out."""
        char = self._next()
        if char is None:
            return None
        if char not in allowed:
            raise BadJson(_NOT_JSON)
        self.position += 1
        return char

    def _done(self) -> bool:
        if self._next() is not None:
            raise BadJson(_NOT_JSON + " (there is more after the object)")
        return False

    def _value(self):
        """One whole JSON value at the position, or _MORE if the buffer may hold only part."""
        try:
            value, end = _DECODER.raw_decode(self.buffer, self.position)
        except json.JSONDecodeError:
            if self.final:
                raise BadJson(_NOT_JSON) from None
            self._retry_at = 2 * (len(self.buffer) - self.position)
            return _MORE
        if not (self.final or isinstance(value, dict | list | str) or self.buffer[end:end + 1] in _AFTER_SCALAR):
            return _MORE  # a number may go on in the next chunk: "1." then "5"
        self.position = end
        self._retry_at = 0
        return value


_MORE = object()
_DECODER = json.JSONDecoder()
