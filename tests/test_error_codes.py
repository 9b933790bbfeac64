"""Every error answer carries a stable code (shared/API.md, "Errors"): each code of the
table in web/errors.py is what a real request to a real server gets, with that code's
status; every error answer these requests get carries a code of the table; the README
and /openapi.json list exactly the table."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from bolservice.bol.errors import BolInputError, NumberTooLongError, UnreadableSpreadsheetError
from bolservice.pool import JobCrashed, OverMemoryLimit
from bolservice.web.errors import CODES
from tests.bolpdf import render, text_line
from tests.hostile import blank_pages_pdf, bol_with_line
from tests.server import Server, lock_holder
from tests.test_api import (AUTH, PDF, carries_its_code, download, merged_workspace, new_sid, upload,
                            upload_sheet)
from tests.test_engines import with_scans
from tests.test_hostile import encrypted_pdf
from tests.test_limits import fill, small_disk, unfinishable_pdf  # noqa: F401 (small_disk: a fixture)
from tests.test_reliability import wait_for

README = Path(__file__).resolve().parent.parent / "README.md"

# What a request got: its status, and its JSON body.
Answer = tuple[int, dict]


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """One worker (one queue of jobs, one staging directory) with every limit tight; its
    disk is never free enough for /health. It reads PDFs with pdfplumber, which
    ``unfinishable_pdf`` is measured against."""
    settings = {"max_upload_mb": 1, "lock_timeout": 0.5, "job_timeout": 1, "max_queue": 1, "body_timeout": 1,
                "min_free_mb": 10 ** 12, "pdf_engine": "pdfplumber"}
    with Server(tmp_path_factory.mktemp("strict") / "workspaces", workers=1, **settings) as running:
        yield running


@contextlib.contextmanager
def checked_client(server: Server) -> Iterator[httpx.Client]:
    """A client of ``server`` whose every error answer is checked for its code."""
    with server.client(event_hooks={"response": [carries_its_code]}) as client:
        yield client


def seen(*responses: httpx.Response) -> list[Answer]:
    return [(response.status_code, response.json()) for response in responses]


def exchange(server: Server, request: bytes) -> Answer:
    """Send raw bytes; the answer, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(request)
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@contextlib.contextmanager
def held_workspace(server: Server) -> Iterator[tuple[str, dict]]:
    """A workspace held by the upload of a PDF that cannot be read before its deadline:
    its sid, and the upload's answer (``["upload"]``) once the block has ended. The upload
    holds the lock (and its place in the queue) at least for the quick lane's second and
    then the deadline of the bulk lane."""
    sid, answers = new_sid(), {}

    def slow_upload() -> None:
        with checked_client(server) as other:
            answers["upload"] = upload(other, sid, unfinishable_pdf())

    thread = threading.Thread(target=slow_upload)
    thread.start()
    try:
        wait_for(lambda: lock_holder(server.root, sid), what="the upload to hold its workspace")
        yield sid, answers
    finally:
        thread.join()


# --- one producer per code: the real requests that get it ----------------------------

PRODUCERS: dict[str, Callable[[pytest.FixtureRequest], list[Answer]]] = {}


def produces(code: str):
    def register(producer):
        PRODUCERS[code] = producer
        return producer
    return register


def default_client(request) -> httpx.Client:
    """The shared server's client, its every error answer checked for its code."""
    client = request.getfixturevalue("client")
    if carries_its_code not in client.event_hooks["response"]:
        client.event_hooks["response"].append(carries_its_code)
    return client


@produces("bad_sid")
def _(request) -> list[Answer]:
    client = default_client(request)
    return seen(client.get("/status"), client.get("/status", params={"_sid": "a/b"}),
                client.get("/status?_sid=a&_sid=b"), client.post("/upload", params={"_sid": "x" * 129}),
                client.get("/validate-session", params={"session_id": ""}))


@produces("bad_request")
def _(request) -> list[Answer]:
    client, server = default_client(request), request.getfixturevalue("server")
    preflight = client.options("/upload", headers={"Origin": "https://app.example",
                                                   "Access-Control-Request-Method": "PUT"})
    return [*seen(client.post("/upload", params={"_sid": new_sid()}, json={"file_data": "not base64!"}),
                  client.get("/debug-sessions", params={"limit": "x"}, headers=AUTH), preflight),
            exchange(server, b"POST /upload?_sid=smuggle-2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n5\r\n%PDF-\r\n0\r\n\r\n")]


@produces("unauthorized")
def _(request) -> list[Answer]:
    client = default_client(request)
    return seen(client.get("/debug-sessions"), client.get("/debug-sessions", headers={"Authorization": "Bearer no"}))


@produces("unknown_workspace")
def _(request) -> list[Answer]:
    client, sid = default_client(request), new_sid()
    return seen(download(client, sid), upload_sheet(client, sid), client.get("/files", params={"_sid": sid}),
                client.post("/process-workflow", params={"_sid": sid}))


@produces("missing_step")
def _(request) -> list[Answer]:
    client, sid = default_client(request), new_sid()
    assert client.post("/new-session", params={"_sid": sid}).status_code == 200
    return seen(download(client, sid), upload_sheet(client, sid),
                client.post("/process-workflow", params={"_sid": sid}))


@produces("not_found")
def _(request) -> list[Answer]:
    client = default_client(request)
    return seen(client.get("/no-such-thing"), client.get("/status/"), client.get("/static/no-such-file.js"))


@produces("method_not_allowed")
def _(request) -> list[Answer]:
    client = default_client(request)
    return seen(client.delete("/upload"), client.get("/upload"), client.post("/static/api.js"))


@produces("body_timeout")
def _(request) -> list[Answer]:
    return [exchange(request.getfixturevalue("strict"),
                     b"POST /upload?_sid=stall-2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                     b"Content-Length: 100000\r\n\r\n%PDF-1.7\n")]


@produces("workspace_busy")
def _(request) -> list[Answer]:
    strict = request.getfixturevalue("strict")
    with held_workspace(strict) as (sid, _), checked_client(strict) as client:
        busy = download(client, sid)
    assert busy.headers["retry-after"] == "2"
    return seen(busy)


@produces("too_large")
def _(request) -> list[Answer]:
    with checked_client(request.getfixturevalue("strict")) as client:
        return seen(client.post("/upload", params={"_sid": new_sid()}, content=PDF + b"%" * (1024 * 1024),
                                headers={"Content-Type": "application/pdf"}))


def merged_sid(request) -> str:
    return merged_workspace(default_client(request))


@produces("unsupported_file")
def _(request) -> list[Answer]:
    client, sid = default_client(request), merged_sid(request)
    return seen(upload(client, sid, b"MZ\x90\x00binary"), upload_sheet(client, sid, PDF))


@produces("no_invoice")
def _(request) -> list[Answer]:
    client = default_client(request)
    return seen(upload(client, new_sid(), render([[text_line("QUARTERLY MEMO 2026")]])))


@produces("scanned_pdf")
def _(request) -> list[Answer]:
    client = default_client(request)
    return seen(upload(client, new_sid(), with_scans([], {1, 2})))


@produces("encrypted_pdf")
def _(request) -> list[Answer]:
    return seen(upload(default_client(request), new_sid(), encrypted_pdf()))


@produces("too_many_pages")
def _(request) -> list[Answer]:
    return seen(upload(default_client(request), new_sid(), blank_pages_pdf(2001)))


@produces("unreadable_pdf")
def _(request) -> list[Answer]:
    return seen(upload(default_client(request), new_sid(), PDF[: len(PDF) // 2]))


@produces("missing_columns")
def _(request) -> list[Answer]:
    return seen(upload_sheet(default_client(request), merged_sid(request), b"Invoice,Item\r\nA100001,ST1001\r\n"))


@produces("no_match")
def _(request) -> list[Answer]:
    return seen(upload_sheet(default_client(request), merged_sid(request),
                             b"Invoice No.,Style,Cartons,Pieces\r\nQ1,Q,1,1\r\n"))


@produces("unusable_content")
def _(request) -> list[Answer]:
    client, sid = default_client(request), merged_sid(request)
    return seen(upload(client, sid, bol_with_line(2, "12 ST1001 144 MENS TOP " + "1" * 30 + ".00")),
                upload_sheet(client, sid, b"PK\x03\x04" + b"\x00" * 200, name="orders.xlsx"))


@produces("client_closed")
def _(request) -> list[Answer]:
    """No one reads this answer: the client is gone. The log line shows its status."""
    strict = request.getfixturevalue("strict")
    before = strict.log.read_text().count("POST /upload 499 ")
    with socket.create_connection(("127.0.0.1", strict.port)) as raw:
        raw.sendall(b"POST /upload?_sid=gone-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                    b"Content-Length: 100000\r\n\r\n%PDF-1.7\n")
    wait_for(lambda: strict.log.read_text().count("POST /upload 499 ") > before, what="the 499's log line")
    return []


@produces("internal")
def _(request) -> list[Answer]:
    """A root broken under a running worker: its staging directory removed. Not the
    request's doing, and not content's."""
    strict = request.getfixturevalue("strict")
    staging = [path for path in (strict.root / ".staging").iterdir() if path.is_dir()]
    assert len(staging) == 1  # one worker, one directory
    shutil.rmtree(staging[0])
    try:
        with checked_client(strict) as client:
            return seen(upload(client, new_sid()))
    finally:
        staging[0].mkdir()


@produces("overloaded")
def _(request) -> list[Answer]:
    strict = request.getfixturevalue("strict")
    with held_workspace(strict), checked_client(strict) as client:
        refused = upload(client, new_sid())  # the queue of one holds the held upload
    assert int(refused.headers["retry-after"]) >= 1
    return seen(refused)


@produces("unhealthy")
def _(request) -> list[Answer]:
    with checked_client(request.getfixturevalue("strict")) as client:
        return seen(client.get("/health"), client.get("/api/health"))


@produces("deadline")
def _(request) -> list[Answer]:
    with held_workspace(request.getfixturevalue("strict")) as (_, answers):
        pass
    return seen(answers["upload"])


@produces("disk_full")
def _(request) -> list[Answer]:
    disk = request.getfixturevalue("small_disk")
    with Server(disk, workers=1) as server, checked_client(server) as client:
        sid = new_sid()
        assert client.post("/new-session", params={"_sid": sid}).status_code == 200
        filler = fill(disk)
        try:
            return seen(client.post("/new-session", params={"_sid": new_sid()}), upload(client, sid))
        finally:
            filler.unlink()


# --- the tests -----------------------------------------------------------------------

def test_every_code_has_its_requests():
    assert set(PRODUCERS) == set(CODES)


@pytest.mark.parametrize("code", list(CODES))
def test_each_code_is_what_real_requests_get(request, code):
    answers = PRODUCERS[code](request)
    if code == "client_closed":  # the client is gone: only the log saw the answer (its producer)
        return
    assert answers
    for status, body in answers:
        assert (status, body.get("code")) == (CODES[code].status, code), body
        assert body["error"]


def test_each_error_of_the_engine_and_the_pool_has_a_code_of_content():
    def family(cls: type) -> list[type]:
        return [cls, *(sub for child in cls.__subclasses__() for sub in family(child))]

    errors = family(BolInputError)
    assert JobCrashed in errors and OverMemoryLimit in errors
    for error in errors:
        assert CODES[error.code].status in (415, 422), error
    assert {JobCrashed.code, OverMemoryLimit.code, NumberTooLongError.code,
            UnreadableSpreadsheetError.code} == {"unusable_content"}


def readme_codes() -> dict[str, tuple[int, str]]:
    text = README.read_text()
    section = text[text.index("\n### Errors\n"):]
    section = section[:section.index("\n#", 1)]
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \| (.+) \|$", section, re.MULTILINE)
    return {code: (int(status), when) for code, status, when in rows}


def test_the_readme_lists_the_table_of_codes():
    assert readme_codes() == {code: (kind.status, kind.when) for code, kind in CODES.items()}
    assert list(readme_codes()) == list(CODES)


def test_openapi_lists_the_codes_and_each_response_those_of_its_status(client):
    document = client.get("/openapi.json").json()
    assert document["components"]["schemas"]["Error"]["properties"]["code"]["enum"] == list(CODES)
    responses = [(int(status), answer) for path in document["paths"].values() for operation in path.values()
                 for status, answer in operation["responses"].items() if int(status) >= 400]
    assert {status for status, _ in responses} >= {400, 401, 404, 408, 409, 413, 415, 422, 503, 504, 507}
    for status, answer in responses:
        schema = answer["content"]["application/json"]["schema"]
        assert schema["required"] == ["error", "code"]
        assert set(schema["properties"]["code"]["enum"]) <= {code for code, kind in CODES.items()
                                                            if kind.status == status}
