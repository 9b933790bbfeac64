"""Limits and deadlines, on a server configured tight: 413, 409, 504, the page limit, 503."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import pytest

from tests.bolpdf import BolInvoice, Item, build_bol
from tests.server import Server, lock_holder
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


def slow_pdf() -> bytes:
    """40 pages: within the page limit, well over a second to parse."""
    items = [Item(str(i % 9 + 1), f"ST{i:04d}", "12", "MENS KNIT TOP", "1.50") for i in range(40 * 30)]
    return build_bol([BolInvoice("A1", items, rows_per_page=30)])


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
                             headers={"Content-Type": "application/pdf"}), 413, "1 MB")
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
    assert_error(answer, 413, "BOLSERVICE_MAX_UPLOAD_MB")
    assert download(client, sid).content == MERGED and staging_is_empty(tight)


def test_pdf_over_the_page_limit_is_422(client):
    sid = merged(client)
    long = build_bol([BolInvoice("A1", [Item("1", "S", "12", "X", "1.00")] * 41, rows_per_page=1)])
    assert_error(upload(client, sid, long), 422, "more than 40 pages")
    assert download(client, sid).content == MERGED


def test_overrunning_job_is_504_then_the_pool_is_replaced_and_a_busy_workspace_is_409(client, tight):
    sid = merged(client)
    answers = {}

    def slow_upload():
        with tight.client() as other:
            answers["slow"] = upload(other, sid, slow_pdf())

    worker = threading.Thread(target=slow_upload)
    worker.start()
    deadline = time.monotonic() + 30
    while lock_holder(tight.root, sid) is None:  # wait until the slow upload holds the lock
        assert time.monotonic() < deadline, "the slow upload never took the lock"
        time.sleep(0.02)
    busy = download(client, sid)
    worker.join()
    assert_error(busy, 409, "retry")
    assert busy.headers["retry-after"] == "2"
    assert_error(answers["slow"], 504, "deadline")
    assert download(client, sid).content == MERGED  # unchanged by the failed upload
    assert upload(client, sid).status_code == 200  # a fresh pool takes the next job


def test_health_is_503_naming_the_failing_check(client):
    answer = client.get("/health")
    assert_error(answer, 503, "free_disk")
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
            assert "disk" in answer.json()["error"]
        assert client.get("/health").status_code == 503
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
        assert answer.startswith(b"HTTP/1.1 408 ") and b'"status":408' in answer, answer[:300]
        assert b"BOLSERVICE_BODY_TIMEOUT" in answer and 0.9 < waited < 5
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
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
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
        time.sleep(0.5)
        held = [os.readlink(link) for pid in processes for link in Path(f"/proc/{pid}/fd").iterdir()
                if _is_file(link)]
        resume.set()
        thread.join(60)
        assert result["value"].status_code == 200, result
        spooled = [path for path in held if path.startswith(str(temp)) and "/bolservice-metrics-" not in path]
        assert not spooled, held
        assert any(path.startswith(str(server.root)) for path in held), held


def _is_file(link: Path) -> bool:
    try:
        return os.readlink(link).startswith("/")
    except OSError:
        return False


def test_past_the_cap_of_requests_in_progress_a_worker_answers_503_json_at_once(tmp_path):
    """Stalled uploads fill a worker's places; the next request is refused at once, in JSON,
    and served again once a place is free."""
    import socket

    with Server(tmp_path / "root", workers=1, max_connections=3, body_timeout=3) as server:
        stalled = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
        for raw in stalled:
            raw.sendall(b"POST /upload?_sid=slow-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/pdf\r\n"
                        b"Content-Length: 1000\r\n\r\n%PDF-")
        time.sleep(0.5)
        with server.client() as client:
            started = time.monotonic()
            answer = client.get("/ping")
            assert answer.status_code == 503 and time.monotonic() - started < 2
            assert answer.headers["retry-after"] == "5" and "BOLSERVICE_MAX_CONNECTIONS" in answer.json()["error"]
            for raw in stalled:
                raw.close()
            wait_for(lambda: client.get("/ping").status_code == 200, seconds=10, what="a free place")
