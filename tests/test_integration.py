"""Whole workflows against a real `bolservice serve --workers 2`, many at once."""

from __future__ import annotations

import base64
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bolservice.bol import extract_pdf, extraction_records, merge, read_spreadsheet, write_bol_csv
from tests.bolpdf import BolInvoice, Item, build_bol
from tests.server import DEBUG_TOKEN, lock_holder
from tests.support import csv_bytes
from tests.test_api import EXAMPLES, MERGED, PDF, SHEET, download, new_sid, upload, upload_sheet

OK_STATUSES = {200, 404, 422}


def bol_and_sheet(seed: int) -> tuple[bytes, bytes]:
    """A distinct two-invoice BOL and its spreadsheet; invoice numbers carry the seed."""
    rng = random.Random(seed)
    invoices = [BolInvoice(f"{letter}{seed:04d}{k}", [
        Item(str(rng.randint(1, 2000)), f"ST{rng.randint(1, 99999)}", str(rng.randint(1, 20000)),
             "MENS TOP", f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}")
        for _ in range(rng.randint(1, 6))], rows_per_page=3, cube=f"{rng.randint(1, 3000)}.{rng.randint(0, 99):02d}")
        for k, letter in enumerate("AB")]
    rows = [[inv.number, i.style, i.cartons, i.pieces, "11/02/2026", f"STORE {seed}", f"PO{seed}",
             "11/20/2026", f"12/{k + 1:02d}/2026"] for k, inv in enumerate(invoices) for i in inv.items]
    return build_bol(invoices), csv_bytes(rows)


def pdf_csv(pdf: bytes) -> bytes:
    return write_bol_csv(extraction_records(extract_pdf(pdf))).encode()


def merged_csv(pdf: bytes, sheet: bytes) -> bytes:
    return write_bol_csv(merge(extract_pdf(pdf), read_spreadsheet(sheet)).records).encode()


def workflow(server, sid: str, pdf: bytes, sheet: bytes) -> bytes:
    with server.client() as client:
        for path in ("/clear-session", "/new-session"):
            assert client.post(path, params={"_sid": sid}).status_code == 200
        assert upload(client, sid, pdf).status_code == 200
        assert upload_sheet(client, sid, sheet).status_code == 200
        answer = download(client, sid)
        assert answer.status_code == 200
        return answer.content


def test_sixteen_concurrent_workflows_each_get_exactly_their_own_csv(server):
    cases = [(new_sid(), *bol_and_sheet(seed)) for seed in range(16)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda case: workflow(server, *case), cases))
    for (_, pdf, sheet), got in zip(cases, results, strict=True):
        assert got == merged_csv(pdf, sheet)


@pytest.mark.disk  # finds the upload under way by its flock
def test_clear_during_a_long_upload_waits_for_it_and_leaves_a_valid_state(server):
    sid = new_sid()
    items = [Item(str(i % 9 + 1), f"ST{i:04d}", "12", "MENS KNIT TOP", "1.50") for i in range(40 * 30)]
    long_pdf = build_bol([BolInvoice("L1", items, rows_per_page=30)])
    done: dict[str, tuple[float, int]] = {}

    def send(name, method, path, **kwargs):
        with server.client() as client:
            status = client.request(method, path, params={"_sid": sid}, **kwargs).status_code
            done[name] = (time.monotonic(), status)

    uploader = threading.Thread(target=send, args=("upload", "POST", "/upload"),
                                kwargs={"files": {"file": ("long.pdf", long_pdf)}})
    uploader.start()
    deadline = time.monotonic() + 30
    while lock_holder(server.root, sid) is None:  # the upload is parsing, under the lock
        assert time.monotonic() < deadline, "the upload never took the lock"
        time.sleep(0.02)
    clear_sent = time.monotonic()
    send("clear", "POST", "/clear-session")
    uploader.join()
    assert done["upload"][1] == 200 and done["clear"][1] == 200
    assert done["upload"][0] > clear_sent  # the clear arrived while the upload ran
    with server.client() as client:
        # ...and waited for it: run first, the clear would have left the upload's result
        # here. (The two clients' receipt times are no proof: both answers come within a
        # fraction of a millisecond, in either order.)
        assert download(client, sid).status_code == 404
        assert upload(client, sid, long_pdf).status_code == 200  # the workspace works on
        assert download(client, sid).content == pdf_csv(long_pdf)


def drive_one_sid(server, sid: str, pairs, actions: list[str], clients: int, rounds: int):
    """Many clients sending random requests on one sid; the statuses and 200 downloads."""
    statuses, downloads = [], []

    def client_run(seed: int) -> None:
        rng = random.Random(seed)
        with server.client() as client:
            for _ in range(rounds):
                pdf, sheet = rng.choice(pairs)
                action = rng.choice(actions)
                if action == "pdf":
                    answer = upload(client, sid, pdf)
                elif action == "sheet":
                    answer = upload_sheet(client, sid, sheet)
                elif action == "download":
                    answer = download(client, sid)
                    if answer.status_code == 200:
                        downloads.append(answer.content)
                else:
                    path = {"new": "/new-session", "clear": "/clear-session", "status": "/status"}[action]
                    answer = client.request("GET" if action == "status" else "POST", path, params={"_sid": sid})
                assert answer.headers["content-type"].startswith(("application/json", "text/csv"))
                statuses.append(answer.status_code)

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_run, range(clients)))
    return statuses, downloads


def valid_outputs(pairs) -> set[bytes]:
    """What a download may be: one complete upload's rows, or one complete merge."""
    return {pdf_csv(pdf) for pdf, _ in pairs} | {merged_csv(pdf, sheet) for pdf, sheet in pairs}


def test_one_sid_hammered_from_many_connections_never_mixes_uploads(server):
    pairs = [bol_and_sheet(100 + k) for k in range(2)]
    actions = ["pdf", "pdf", "sheet", "download", "download", "status"]
    statuses, downloads = drive_one_sid(server, new_sid(), pairs, actions, clients=12, rounds=8)
    assert len(statuses) == 96 and set(statuses) <= OK_STATUSES, statuses
    assert downloads and all(body in valid_outputs(pairs) for body in downloads)


def test_the_existing_clients_request_shapes_in_sequence(server):
    sid = new_sid()
    legacy = {"session_id": sid, "_t": str(int(time.time() * 1000))}
    with server.client(headers={"Origin": "https://partner.example", "Cache-Control": "no-cache",
                                "Pragma": "no-cache", "X-Requested-With": "XMLHttpRequest"}) as client:
        assert client.post("/auto-reset", params=legacy).json()["status"] == "created"
        data_url = "data:application/pdf;base64," + base64.b64encode(PDF).decode()
        uploaded = client.post("/upload-base64", params=legacy, json={"file_data": data_url, "filename": "bol.pdf"})
        assert uploaded.json()["status"] == "success" and uploaded.json()["rows"] == 6
        merged = client.post("/upload-csv", params=legacy, json={"csv_data": SHEET.decode(), "filename": "o.csv"})
        assert merged.json()["rows_matched"] == 6
        answer = client.get("/download", params=legacy)
        assert answer.content == MERGED
        assert answer.headers["access-control-allow-origin"] == "*"


# workflow.sh drives the service with curl, which a bare machine lacks and `make test` (not
# root) cannot install: without it, that client is skipped rather than failed.
NO_CURL = pytest.mark.skipif(shutil.which("curl") is None,
                             reason="examples/workflow.sh needs curl, which is not installed here")


@pytest.mark.parametrize("command", [pytest.param(["bash", str(EXAMPLES / "workflow.sh")], marks=NO_CURL),
                                     [sys.executable, str(EXAMPLES / "client.py")]])
def test_example_clients_produce_the_expected_csv(server, tmp_path, command):
    run = subprocess.run(command, cwd=tmp_path, env={**os.environ, "BOLSERVICE_URL": server.url},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "BOL_processed.csv").read_bytes() == MERGED


TRAVERSALS = ["..", ".", "/etc/passwd", "a/b", "a%2Fb", "%2e%2e", "..%2F..%2Ftmp", "a%5Cb", "a%00b",
              "%C3%A9t%C3%A9", "a%20b", "x" * 129, "~root", "a.b"]


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


@pytest.mark.parametrize("raw", TRAVERSALS)
def test_bad_sids_are_400_everywhere_and_touch_nothing_outside_the_root(server, raw):
    outside = server.root.parent
    sentinel = outside / "sentinel"
    sentinel.mkdir(exist_ok=True)
    (sentinel / "keep.txt").write_text("keep")
    before_outside, before_root = set(os.listdir(outside)), set(os.listdir(server.root))
    with server.client() as client:
        for name in ("_sid", "session_id"):
            query = f"?{name}={raw}"
            answers = [
                client.post("/new-session" + query), client.get("/new-session" + query),
                client.post("/clear-session" + query), client.post("/auto-reset" + query),
                client.post("/upload" + query, files={"file": ("b.pdf", PDF)}),
                client.post("/upload-csv" + query, files={"file": ("o.csv", SHEET)}),
                client.get("/download-bol" + query), client.get("/download" + query),
                client.get("/status" + query),
                client.get("/debug-sessions" + query, headers={"Authorization": f"Bearer {DEBUG_TOKEN}"}),
            ]
            for answer in answers:
                assert answer.status_code == 400, (answer.request.url, answer.text)
                assert "_sid" in answer.json()["error"]
    assert set(os.listdir(outside)) - {p.name for p in outside.glob("server-*.log")} == \
        before_outside - {p.name for p in outside.glob("server-*.log")}
    assert set(os.listdir(server.root)) == before_root
    assert tree(sentinel) == {"keep.txt"} and (sentinel / "keep.txt").read_text() == "keep"


def test_a_long_pdf_read_in_page_ranges_by_both_pool_processes_gives_the_whole_csv(server):
    """A PDF of SPLIT_PAGES pages or more is read half by each pool process; invoices that
    run across the halves' border come out whole, as one process would read them."""
    from bolservice.jobs import SPLIT_PAGES

    invoices = [BolInvoice(f"L{k:03d}", [Item(f"{n + 1:,}", f"S{k}-{n}", f"{(n + 1) * 1200:,}", "KNIT TOP",
                                              f"{n + 1},{k:03d}.50") for n in range(7)], rows_per_page=2)
                for k in range(11)]
    pdf = build_bol(invoices)
    assert len(extract_pdf(pdf).invoices) == 11 and SPLIT_PAGES <= 4 * 11
    sid = new_sid()
    with server.client() as client:
        assert upload(client, sid, pdf).json()["pages"] == 44
        assert download(client, sid).content == pdf_csv(pdf)
