"""Limits and deadlines, on a server configured tight: 413, 409, 504, the page limit, 503."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import zlib
from pathlib import Path

import pytest

from tests.bolpdf import BolInvoice, Item, build_bol
from tests.server import Server, lock_holder, pool_children
from tests.test_reliability import in_background, wait_for
from tests.test_api import MERGED, PDF, SHEET, assert_error, download, merged_workspace, new_sid, upload, upload_sheet


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    settings = {"max_upload_mb": 1, "lock_timeout": 0.5, "job_timeout": 1, "max_pages": 40,
                "min_free_mb": 10 ** 12}
    with Server(tmp_path_factory.mktemp("tight") / "workspaces", **settings) as running:
        yield running


@pytest.fixture
def client(tight):
    with tight.client() as http:
        yield http


def unfinishable_pdf(pages: int = 39, lines: int = 200) -> bytes:
    """A PDF whose reading cannot end within a deadline of seconds on any machine.

    Its pages (fewer than 40, so one job reads them all) draw one shared content stream of
    ``lines`` lines of 1,000 characters: 7.8 million characters by default, in 7 KB. The
    pdfplumber engine builds an object for each character; it reads some 20,000 to 30,000
    a second on the machine these tests were written on, so the file takes minutes there. To
    finish within fifty times a 1 s deadline a machine would need to read 150,000 a second.
    A page that did end in time would hold about 450 MB, under the 1 GB a job may use, so
    the job ends by its deadline, not by its memory.
    """
    line = b"(" + b"8" * 1000 + b") Tj 0 -1.5 Td\n"
    stream = zlib.compress(b"BT /F1 1 Tf 20 700 Td\n" + line * lines + b"ET\n", 9)
    kids = b" ".join(b"%d 0 R" % (5 + page) for page in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count %d /Kids [%s] >>" % (pages, kids),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
        *[b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
          b"/Contents 4 0 R >>"] * pages,
    ]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def merged(client) -> str:
    sid = new_sid()
    assert upload(client, sid).status_code == 200 and upload_sheet(client, sid).status_code == 200
    return sid


def staging_is_empty(server: Server) -> bool:
    return not any(path.is_file() for path in (server.root / ".staging").rglob("*"))


def test_body_over_the_limit_with_content_length_is_413(client, tight):
    sid = merged(client)
    big = PDF + b"%" * (1024 * 1024)
    assert_error(client.post("/upload", params={"_sid": sid}, content=big,
                             headers={"Content-Type": "application/pdf"}), 413, "1 MB", code="too_large")
    assert download(client, sid).content == MERGED and staging_is_empty(tight)


def test_body_over_the_limit_without_content_length_is_413(client, tight):
    sid = merged(client)

    def chunks():
        yield SHEET
        for _ in range(40):
            yield b"x" * 65536

    answer = client.post("/upload-csv", params={"_sid": sid}, content=chunks(),
                         headers={"Content-Type": "text/csv"})
    assert "content-length" not in answer.request.headers
    assert_error(answer, 413, "BOLSERVICE_MAX_UPLOAD_MB", code="too_large")
    assert download(client, sid).content == MERGED and staging_is_empty(tight)


def test_pdf_over_the_page_limit_is_422(client):
    sid = merged(client)
    long = build_bol([BolInvoice("A1", [Item("1", "S", "12", "X", "1.00")] * 41, rows_per_page=1)])
    assert_error(upload(client, sid, long), 422, "more than 40 pages", code="too_many_pages")
    assert download(client, sid).content == MERGED


def test_overrunning_job_is_504_then_the_pool_is_replaced_and_a_busy_workspace_is_409(client, tight):
    """A file that cannot be read within the 1 s deadline: the request is 504 and changes
    nothing, the processes that ran it are replaced, and while it holds its workspace a
    request on the same sid is 409. The upload holds the lock for at least the quick lane's
    second and the bulk lane's deadline, whatever the machine."""
    sid = merged(client)
    answers = {}

    def slow_upload():
        with tight.client() as other:
            answers["slow"] = upload(other, sid, unfinishable_pdf())

    worker = threading.Thread(target=slow_upload)
    worker.start()
    holder = wait_for(lambda: lock_holder(tight.root, sid), what="the slow upload to take the lock")
    running = set(pool_children(holder))
    busy = download(client, sid)
    worker.join()
    assert_error(busy, 409, "retry", code="workspace_busy")
    assert busy.headers["retry-after"] == "2"
    assert_error(answers["slow"], 504, "deadline", code="deadline")
    assert download(client, sid).content == MERGED  # unchanged by the failed upload

    def replaced() -> bool:  # the processes stopped at the deadlines (quick lane, bulk lane) have successors
        now = set(pool_children(holder))
        return len(now) == len(running) and bool(running - now)

    wait_for(replaced, what="the stopped processes' replacements")
    assert upload(client, sid).status_code == 200  # a fresh pool takes the next job


def test_health_is_503_naming_the_failing_check(client):
    answer = client.get("/health")
    assert_error(answer, 503, "free_disk", code="unhealthy")
    assert answer.json()["checks"]["free_disk"] is False and answer.json()["checks"]["root_writable"] is True


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB filesystem of the test's own (tmpfs), as the root of a server."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.decode().strip()[:200]}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Fill the filesystem to the last byte; the file that does it, to free it again."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (65536, 1):
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * size)
    return filler


def test_a_full_disk_is_507_changes_nothing_and_leaves_nothing_behind(small_disk):
    with Server(small_disk, workers=1, pdf_engine="auto") as server, server.client() as client:
        kept = merged_workspace(client)
        before = client.get("/status", params={"_sid": kept}).json()
        filler = fill(small_disk)
        fresh = new_sid()
        answers = {
            "new-session": client.post("/new-session", params={"_sid": fresh}),
            "upload on a new sid": upload(client, new_sid(), PDF),
            "upload": upload(client, kept, PDF),
            "upload-csv": upload_sheet(client, kept),
            "clear, then new": client.post("/new-session", params={"_sid": kept}),
        }
        for name, answer in answers.items():
            assert answer.status_code == 507, (name, answer.status_code, answer.text[:200])
            assert_error(answer, 507, "disk", code="disk_full")
        assert_error(client.get("/health"), 503, "free_disk", code="unhealthy")
        filler.unlink()
        assert {path.name for path in small_disk.iterdir() if not path.name.startswith(".")} == {kept}
        assert client.get("/status", params={"_sid": kept}).json() == before
        assert download(client, kept).content == MERGED
        assert upload(client, fresh, PDF).status_code == 200


def test_a_body_that_stalls_is_a_408_json_and_its_staged_file_goes(tmp_path):
    import socket

    with Server(tmp_path / "root", workers=1, body_timeout=1) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"POST /upload?_sid=stall-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                        b"Content-Length: 100000\r\n\r\n%PDF-1.7\n")
            started = time.monotonic()
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = raw.recv(65536)
                if not chunk:
                    break
                answer += chunk
        waited = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408 ") and b'"code":"body_timeout","status":408' in answer, answer[:300]
        # Not before the timeout; the upper bound only tells the timeout from no answer at all.
        assert b"BOLSERVICE_BODY_TIMEOUT" in answer and 0.9 < waited < 30
        assert not (server.root / "stall-1").exists()
        assert not [path for path in (server.root / ".staging").rglob("*") if path.is_file()]


def test_a_request_with_both_transfer_encoding_and_content_length_is_400(tmp_path):
    import socket

    with Server(tmp_path / "root", workers=1) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"POST /upload?_sid=smuggle-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                        b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n%PDF-\r\n0\r\n\r\n")
            answer = b""
            while chunk := raw.recv(65536):  # the answer closes the connection
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400 ") and b'"code":"bad_request"' in answer, answer[:200]
        assert b"Transfer-Encoding and Content-Length" in answer
        assert not (server.root / "smuggle-1").exists()


def test_form_bodies_are_written_under_the_root_only(tmp_path, monkeypatch):
    """A multipart upload far past 1 MB, paused halfway: the worker holds no file outside
    the root (Starlette's form spooled to the system's temporary directory)."""
    import threading

    from tests.bolpdf import padded_pdf
    from tests.server import children

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    pdf = padded_pdf(PDF, 3_000_000)
    halfway, resume = threading.Event(), threading.Event()
    head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            b"Content-Type: application/pdf\r\n\r\n")

    def body():
        yield head + pdf[:2_000_000]
        halfway.set()
        resume.wait(30)
        yield pdf[2_000_000:] + b"\r\n--b--\r\n"

    with Server(tmp_path / "root", workers=1) as server, server.client() as client:
        processes = [server.process.pid, *children(server.process.pid)]
        thread, result = in_background(lambda: client.post(
            "/upload", params={"_sid": new_sid()}, content=body(),
            headers={"Content-Type": "multipart/form-data; boundary=b"}))
        assert halfway.wait(30)

        def held_while_staging() -> list[str] | None:
            """The files the server holds, once it is writing the form's file part."""
            held = [os.readlink(link) for pid in processes for link in Path(f"/proc/{pid}/fd").iterdir()
                    if _is_file(link)]
            return held if any(path.startswith(str(server.root / ".staging")) for path in held) else None

        held = wait_for(held_while_staging, what="the form's file part to be written under the root")
        resume.set()
        thread.join(60)
        assert result["value"].status_code == 200, result
        spooled = [path for path in held if path.startswith(str(temp)) and "/bolservice-metrics-" not in path]
        assert not spooled, held


def _is_file(link: Path) -> bool:
    try:
        return os.readlink(link).startswith("/")
    except OSError:
        return False


def test_past_the_cap_of_requests_in_progress_a_worker_answers_503_json_at_once(tmp_path):
    """Stalled uploads fill a worker's places; the next request is refused at once, in JSON,
    and served again once a place is free."""
    import socket

    # The stalled uploads hold their places until they are closed: the body timeout is far
    # longer than the test, so a refusal that came only when a place was free would show.
    with Server(tmp_path / "root", workers=1, max_connections=3, body_timeout=120) as server:
        stalled = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
        for raw in stalled:
            raw.sendall(b"POST /upload?_sid=slow-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                        b"Content-Length: 1000\r\n\r\n%PDF-")
        with server.client() as client:
            def refusal():
                answer = client.get("/ping")
                return answer if answer.status_code == 503 else None

            refused = wait_for(refusal, what="the stalled uploads to fill the places")
            started = time.monotonic()
            answer = client.get("/ping")
            assert time.monotonic() - started < 30  # at once, not when the body timeout frees a place
            for answer in (refused, answer):
                assert_error(answer, 503, "BOLSERVICE_MAX_CONNECTIONS", code="overloaded")
                assert answer.headers["retry-after"] == "5"
            for raw in stalled:
                raw.close()
            wait_for(lambda: client.get("/ping").status_code == 200, seconds=30, what="a free place")
