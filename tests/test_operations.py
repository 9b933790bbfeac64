"""Health and shutdown, as an operator sees them."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time

from tests.server import Server, lock_holder
from tests.test_api import new_sid, upload
from tests.test_integration import pdf_csv
from tests.test_reliability import in_background, slow_pdf, wait_for


def test_health_is_503_when_the_root_cannot_be_written(tmp_path):
    with Server(tmp_path / "workspaces", workers=1) as server, server.client() as client:
        assert client.get("/health").status_code == 200
        # A single worker serves from the server's own process: its metrics count too.
        assert 'bolservice_requests_total{endpoint="/health",status="200"}' in client.get("/metrics").text
        (worker,) = server.workers()
        staging = server.root / ".staging" / f"{socket.gethostname()}-{worker}"
        shutil.rmtree(staging)
        staging.write_bytes(b"")  # where the worker writes is no longer a directory
        answer = client.get("/health")
        assert answer.status_code == 503 and answer.json()["checks"]["root_writable"] is False
        assert "root_writable" in answer.json()["error"]
        staging.unlink()
        staging.mkdir()
        assert client.get("/health").status_code == 200


def test_sigterm_lets_an_upload_in_flight_finish_and_leaves_nothing_half_written(tmp_path):
    sid = new_sid()
    pdf = slow_pdf(number="G1")
    server = Server(tmp_path / "workspaces")
    with server:
        thread, result = in_background(lambda: upload(server.client(), sid, pdf))
        wait_for(lambda: lock_holder(server.root, sid), what="the upload to take the lock")
        os.kill(server.process.pid, signal.SIGTERM)
        thread.join(60)
        assert result["value"].status_code == 200, result
        started = time.monotonic()
        assert server.process.wait(60) == 0 and time.monotonic() - started < 30
    names = os.listdir(server.root / sid)
    assert not [name for name in names if name.endswith(".tmp")]
    assert not any(path.is_file() for path in (server.root / ".staging").rglob("*"))
    with Server(server.root, workers=1) as again, again.client() as client:
        assert client.get("/download-bol", params={"_sid": sid}).content == pdf_csv(pdf)
