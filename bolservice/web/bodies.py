"""Request bodies → a staged file on disk, whatever shape the client sent.

The PDF endpoint takes multipart ``file``, JSON ``{file_data | attachmentData, filename}``
(base64, data-URL prefix allowed) or a raw body. The spreadsheet endpoint takes multipart
``file`` or ``csv_data``, a form field ``csv_data``, JSON ``{csv_data, filename}`` or
``{file_data, filename}``, or a raw body. Every shape streams to disk, under the root: the
parts of a form are written as they arrive (forms.py), the file members of a JSON body
decoded as they arrive (jsonbody.py), so none is ever whole in memory.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from starlette.requests import Request

from .forms import BadForm, discard, read_form
from .jsonbody import BadJson, Base64File, Sink, TextFile, first_given, read_json_object

# Unicode categories of what a shown name must not hold: controls, format characters
# (bidi marks and overrides, zero-width ones), line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp"})


class BadRequest(Exception):
    """The request's shape is wrong; the message says what to send instead. ``code`` names
    the kind of failure, as the engine's errors do (web/errors.py lists the codes)."""

    code = "bad_request"


class BadSid(BadRequest):
    """The request names no workspace where it needs one, or more than one."""

    code = "bad_sid"


async def stage_pdf(request: Request, target: Path) -> str:
    """Write the uploaded PDF to ``target``; return the client's file name."""
    kind = _content_type(request)
    if kind == "multipart/form-data":
        return await _save_form_member(request, target, ("file",), "upload.pdf")
    if kind == "application/json":
        body = await _save_json_member(request, target, {
            "file_data": Base64File, "attachmentData": Base64File,
        }, "the JSON body needs the PDF as base64 in 'file_data' (or 'attachmentData')")
        return clean_filename(body.get("filename"), "upload.pdf")
    return await _save_raw(request, target, "upload.pdf")


async def stage_spreadsheet(request: Request, target: Path) -> str:
    """Write the uploaded spreadsheet to ``target``; return the client's file name."""
    kind = _content_type(request)
    if kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        return await _save_form_member(request, target, ("file", "csv_data"), "upload.csv")
    if kind == "application/json":
        body = await _save_json_member(request, target, {
            "csv_data": TextFile, "file_data": Base64File,
        }, "the JSON body needs the CSV text in 'csv_data' or the file as base64 in 'file_data'")
        return clean_filename(body.get("filename"), "upload.csv")
    return await _save_raw(request, target, "upload.csv")


def clean_filename(name: object, default: str) -> str:
    """The client's file name for display only: no directories, and none of the characters
    that could disguise it (bidi overrides such as U+202E that show "fdp.exe" as
    "exe.pdf", other format characters, controls, line and paragraph separators)."""
    if not isinstance(name, str):
        return default
    name = "".join(c for c in re.split(r"[\\/]", name)[-1] if unicodedata.category(c) not in _HIDDEN).strip()
    return name[:200] if name and name not in (".", "..") else default


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _save_json_member(request: Request, target: Path, kinds: dict[str, type[Sink]],
                            missing: str) -> dict:
    """Stream the JSON body's file members to files beside ``target``; move the first
    given (a non-empty string, in the order of ``kinds``) to ``target``. The other members."""
    sinks = {name: kind(target.with_name(f"{target.name}.{name}"), name) for name, kind in kinds.items()}
    try:
        try:
            body = await read_json_object(request.stream(), sinks)
        except BadJson as error:
            raise BadRequest(str(error)) from None
        chosen = first_given(sinks)
        if chosen is None:
            raise BadRequest(missing)
        if chosen.error:
            raise BadRequest(chosen.error)
        if chosen.size == 0:
            raise BadRequest("the uploaded file is empty")
        os.replace(chosen.path, target)
        return body
    finally:
        for sink in sinks.values():
            sink.path.unlink(missing_ok=True)


async def _save_form_member(request: Request, target: Path, members: tuple[str, ...], default: str) -> str:
    """Move the first of the form's ``members`` that was sent to ``target``; the client's
    file name (a ``csv_data`` field's is the form's ``filename`` field)."""
    try:
        form = await read_form(request, target.parent, frozenset(members))
    except BadForm as error:
        raise BadRequest(str(error)) from None
    try:
        chosen = next((form.files[member] for member in members if member in form.files), None)
        if chosen is None:
            shown = ", ".join(form.names()) or "none"
            raise BadRequest(f"the multipart body has no file in the field 'file' (fields sent: {shown})")
        if chosen.size == 0:
            raise BadRequest("the uploaded file is empty")
        os.replace(chosen.path, target)
        return clean_filename(chosen.filename if chosen.filename is not None else form.fields.get("filename"),
                              default)
    finally:
        discard(form)


async def _save_raw(request: Request, target: Path, default: str) -> str:
    with target.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)
    if target.stat().st_size == 0:
        raise BadRequest("the request carries no file: send it as multipart field 'file', as JSON, "
                         "or as the raw body")
    return clean_filename(request.query_params.get("filename"), default)

