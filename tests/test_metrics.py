"""/metrics adds up every worker's figures."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.test_api import SHEET, new_sid, upload, upload_sheet
from tests.test_reliability import wait_for


def scrape(client) -> dict[str, float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in answer.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_count_real_traffic_through_both_workers(server, client):
    before = scrape(client)
    sid = new_sid()

    def ping(_):
        with server.client() as other:
            return other.get("/ping").status_code

    with ThreadPoolExecutor(16) as pool:
        assert set(pool.map(ping, range(40))) == {200}
    assert upload(client, sid).status_code == 200
    assert upload_sheet(client, sid, SHEET).status_code == 200
    assert client.get("/no-such-path").status_code == 404
    last = 'bolservice_requests_total{endpoint="other",status="404"}'

    def counted() -> dict[str, float] | None:
        # A request is counted once its answer has gone out, so the count may trail it.
        now = scrape(client)
        return now if now.get(last, 0) > before.get(last, 0) else None

    after = wait_for(counted, seconds=10, what="the last request to be counted")

    def delta(name: str) -> float:
        return after.get(name, 0) - before.get(name, 0)

    assert delta('bolservice_requests_total{endpoint="/ping",status="200"}') == 40
    assert delta('bolservice_requests_total{endpoint="/upload",status="200"}') == 1
    assert delta('bolservice_requests_total{endpoint="other",status="404"}') == 1
    assert delta('bolservice_uploads_total{kind="pdf"}') == 1
    assert delta('bolservice_uploads_total{kind="spreadsheet"}') == 1
    assert delta("bolservice_pages_processed_total") == 3
    assert delta('bolservice_processing_duration_seconds_count{job="merge"}') == 1
    assert delta("bolservice_lock_wait_seconds_count") == 2
    assert delta('bolservice_request_duration_seconds_count{endpoint="/ping"}') == 40
    assert after["bolservice_live_workspaces"] == len(
        [p for p in server.root.iterdir() if p.is_dir() and not p.name.startswith(".")])


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_the_metrics_directory_goes_when_the_server_stops(tmp_path, monkeypatch, workers, stop):
    from tests.server import Server

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    server = Server(tmp_path / "root", workers=workers)
    with server:
        with server.client() as client:
            assert client.get("/ping").status_code == 200
        assert [path.name.startswith("bolservice-metrics-") for path in temp.iterdir()] == [True]
        # Ctrl-C reaches the terminal's whole process group; a supervisor signals the server.
        (os.killpg if stop == signal.SIGINT else os.kill)(server.process.pid, stop)
        assert server.process.wait(timeout=60) == 0
    assert list(temp.iterdir()) == []
