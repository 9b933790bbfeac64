"""What every PDF reader shares: the checked input stream, the page limit, the errors,
and the shape of a page's reading."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, NamedTuple

from pdfminer.psparser import PSException

from .errors import EncryptedPdfError, NotAPdfError, TooManyPagesError, UnreadablePdfError

PdfSource = bytes | str | os.PathLike | BinaryIO

# Readers accept junk before the header; so do we, within the first kilobyte.
_MAGIC = b"%PDF-"
_MAGIC_WINDOW = 1024


class PageText(NamedTuple):
    """One page as a reader finds it: its text lines; whether it is an image without text;
    and whether the reader doubts that its lines are the reference reading's (pdfplumber's),
    so that ``auto`` reads the page again with pdfplumber."""

    lines: list[str]
    scanned: bool = False
    doubtful: bool = False


def check_page_count(count: int | None, max_pages: int | None) -> None:
    if count is not None and max_pages is not None and count > max_pages:
        raise TooManyPagesError(
            f"the PDF has more than {max_pages} pages, the limit; split it and upload the parts"
        )


@contextmanager
def checked_stream(source: PdfSource) -> Iterator[BinaryIO]:
    """The source as a stream that starts like a PDF; closed afterwards if opened here."""
    stream = _open_stream(source)
    try:
        _check_magic(stream)
        yield stream
    finally:
        if stream is not source:
            stream.close()


def _open_stream(source: PdfSource) -> BinaryIO:
    if isinstance(source, bytes | bytearray | memoryview):
        return io.BytesIO(source)
    if isinstance(source, str | os.PathLike):
        return open(source, "rb")
    return source


def _check_magic(stream: BinaryIO) -> None:
    start = stream.tell()
    head = stream.read(_MAGIC_WINDOW)
    stream.seek(start)
    if _MAGIC not in head:
        raise NotAPdfError(
            "the file is not a PDF (it does not start with %PDF-); upload the BOL as a PDF"
        )


def unreadable(detail: str, encrypted: bool) -> Exception:
    if encrypted:
        return EncryptedPdfError("the PDF is password-protected; upload a copy saved without a password")
    return UnreadablePdfError(
        f"the PDF could not be read ({detail}); it may be truncated or damaged, so export it again"
    )


# What pdfminer raises where malformed input makes it stumble (a keyword where a number
# should be, a short array), besides its own errors.
PDFMINER_ERRORS = (PSException, TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError,
                   OverflowError, RecursionError, AssertionError)
