"""Races, crashes and resource limits: the service keeps working and loses nothing."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.bolpdf import BolInvoice, Item, build_bol
from tests.support import csv_bytes
from tests.server import Server, children, lock_holder, pool_children
from tests.test_api import MERGED, PDF, PDF_ONLY, download, new_sid, upload, upload_sheet
from tests.test_integration import bol_and_sheet, drive_one_sid, merged_csv, pdf_csv, valid_outputs


def slow_pdf(pages: int = 40, number: str = "A1") -> bytes:
    items = [Item(str(i % 9 + 1), f"ST{i:04d}", "12", "MENS KNIT TOP", "1.50") for i in range(pages * 30)]
    return build_bol([BolInvoice(number, items, rows_per_page=30)])


def wait_for(predicate, seconds: float = 30, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def patiently(function, *args) -> httpx.Response:
    """``function(*args)`` as a well-behaved client sends it: a 503 is waited out for as
    long as its Retry-After says, then sent again (a few times)."""
    for _ in range(5):
        answer = function(*args)
        if answer.status_code != 503:
            return answer
        time.sleep(int(answer.headers["retry-after"]))
    return answer


def in_background(function, *args) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run():
        try:
            result["value"] = function(*args)
        except httpx.HTTPError as error:
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.fixture(scope="module")
def crashy(tmp_path_factory):
    """A server of its own: these tests kill its processes."""
    with Server(tmp_path_factory.mktemp("crashy") / "workspaces") as running:
        yield running


def test_storm_on_one_sid_never_gives_5xx_or_a_mixed_file(server):
    pairs = [bol_and_sheet(200 + k) for k in range(2)]
    actions = ["new", "clear", "pdf", "pdf", "sheet", "sheet", "download", "download", "status"]
    statuses, downloads = drive_one_sid(server, new_sid(), pairs, actions, clients=12, rounds=20)
    assert len(statuses) == 240 and set(statuses) <= {200, 404, 422}, sorted(set(statuses))
    assert all(body in valid_outputs(pairs) for body in downloads)
    assert len(downloads) > 10


def thirteen_pages() -> tuple[bytes, bytes]:
    """A 13-page BOL of two invoices, and the spreadsheet that matches every row."""
    invoices = [BolInvoice(f"{letter}3000{k}", [Item(str(i % 7 + 1), f"ST{k}{i:03d}", "12", "MENS TOP", "1.50")
                                                 for i in range(18 + 3 * k)], rows_per_page=3)
                for k, letter in enumerate("AB")]
    rows = [[invoice.number, item.style, item.cartons, item.pieces, "11/02/2026", "STORE 1", "PO1",
             "11/20/2026", "12/01/2026"] for invoice in invoices for item in invoice.items]
    return build_bol(invoices), csv_bytes(rows)


def workflows_at_once(server: Server, clients: int, rounds: int, pair: tuple[bytes, bytes]) -> list[int]:
    """``clients`` batch scripts at once, each running the whole workflow ``rounds`` times
    on a workspace of its own, as the replaced service's scripts do (no retry on a 503);
    every status they got, and each download checked against the exact CSV."""
    pdf, sheet = pair
    expected = merged_csv(pdf, sheet)
    statuses: list[int] = []

    def script(number: int) -> None:
        sid = f"{new_sid()}-{number}"
        with server.client() as client:
            for _ in range(rounds):
                answers = [client.post("/clear-session", params={"_sid": sid}),
                           client.post("/new-session", params={"_sid": sid}),
                           upload(client, sid, pdf), upload_sheet(client, sid, sheet)]
                got = download(client, sid)
                statuses.extend([answer.status_code for answer in answers] + [got.status_code])
                assert got.status_code != 200 or got.content == expected

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(script, range(clients)))
    return statuses


@pytest.fixture
def fresh(tmp_path):
    """A server just started, reading with the default engine, as `make run` serves."""
    with Server(tmp_path / "workspaces", pdf_engine="auto") as running:
        yield running


def test_sixteen_scripts_at_once_on_a_fresh_server_are_never_refused(fresh):
    """A fresh worker's first pieces are slow (threads, connections and caches made on
    first use, clients starting at the same moment); that is not a queue it cannot finish,
    and 16 workflows at once are well within what two workers do in time."""
    pair = thirteen_pages()
    statuses = workflows_at_once(fresh, clients=16, rounds=3, pair=pair)
    assert statuses == [200] * 16 * 3 * 5, sorted(set(statuses))
    # A burst of heavier first work (40 pages each, read on the bulk lanes) does not leave
    # a pace that refuses the next sixteen.
    with ThreadPoolExecutor(4) as pool:
        heavy = list(pool.map(lambda n: upload(fresh.client(), f"heavy-{n}", slow_pdf(number=f"H{n}")), range(4)))
    assert [answer.status_code for answer in heavy] == [200] * 4
    statuses = workflows_at_once(fresh, clients=16, rounds=3, pair=pair)
    assert statuses == [200] * 16 * 3 * 5, sorted(set(statuses))


def test_worker_killed_mid_upload_keeps_the_service_and_the_workspace_whole(crashy):
    sid = new_sid()
    with crashy.client() as client:
        assert upload(client, sid).status_code == 200 and upload_sheet(client, sid).status_code == 200
        thread, result = in_background(lambda: upload(crashy.client(), sid, slow_pdf()))
        worker = wait_for(lambda: lock_holder(crashy.root, sid), what="the upload to take the lock")
        staged = crashy.root / ".staging" / f"{socket.gethostname()}-{worker}"
        assert any(staged.iterdir())  # the upload's body, staged by the worker about to die
        os.kill(worker, signal.SIGKILL)
        thread.join(60)
        assert "error" in result or result["value"].status_code >= 500, result
    # A new connection: the old one may have been accepted by the killed worker.
    with crashy.client() as client:
        # The other worker answers at once; the killed one is replaced.
        assert client.get("/ping").status_code == 200
        wait_for(lambda: len(crashy.workers()) == 2 and worker not in crashy.workers(),
                 what=f"a new worker (workers now {crashy.workers()}, killed {worker})")
        wait_for(lambda: not staged.exists(), what="the dead worker's staging to be swept")
        previous = download(client, sid)
        assert previous.content == MERGED, (previous.status_code, previous.text[:300])  # the last complete state
        again = upload(client, sid)
        assert again.status_code == 200, again.text[:300]  # and the workspace works on
        assert download(client, sid).content == PDF_ONLY


def test_killed_pool_process_is_replaced_and_the_job_completes(crashy):
    sid = new_sid()
    pdf = slow_pdf(number="K1")
    with crashy.client() as client:
        thread, result = in_background(lambda: upload(crashy.client(), sid, pdf))
        worker = wait_for(lambda: lock_holder(crashy.root, sid), what="the upload to take the lock")
        time.sleep(0.3)  # the job is running in one of the worker's pool processes
        victims = pool_children(worker)
        assert victims
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        thread.join(60)
        assert "value" in result, result
        assert result["value"].status_code == 200, result["value"].text
        assert download(client, sid).content == pdf_csv(pdf)
        assert set(pool_children(worker)).isdisjoint(victims)


def test_pool_processes_killed_while_idle_or_starting_are_replaced_without_a_5xx(crashy):
    """A pool whose children died between jobs refuses the next one at once: the job goes
    to a new pool, whose start is not counted against the job's deadline."""
    workers = children(crashy.process.pid)
    with crashy.client() as client:
        for _ in range(2):  # idle children, then the fresh ones while they may still start
            victims = [pid for worker in workers for pid in pool_children(worker)]
            assert victims
            for pid in victims:
                os.kill(pid, signal.SIGKILL)
            for _ in range(4):  # both workers, whichever the connection reaches
                answer = upload(client, new_sid())
                assert answer.status_code == 200, answer.text[:300]


def test_a_crash_s_temp_files_never_survive_the_next_operation(crashy):
    sid = new_sid()
    with crashy.client() as client:
        assert upload(client, sid).status_code == 200
        leftovers = [crashy.root / sid / ".pdf_csv-1a2b.tmp", crashy.root / sid / "merged_csv-half"]
        for path in leftovers:
            path.write_bytes(b"half a file")
        assert download(client, sid).content == PDF_ONLY
        assert not any(path.exists() for path in leftovers)


def test_leftovers_of_a_stopped_service_are_gone_after_a_restart(tmp_path):
    root = tmp_path / "workspaces"
    sid = new_sid()
    with Server(root, workers=1) as first, first.client() as client:
        assert upload(client, sid).status_code == 200
    dead = root / ".staging" / f"{socket.gethostname()}-999999999"
    dead.mkdir()
    (dead / "upload.pdf").write_bytes(b"%PDF- half")
    trash = root / ".trash" / f"{sid}.dead"
    trash.mkdir()
    (trash / "pdf_csv-x").write_bytes(b"old")
    with Server(root, workers=1) as second:
        assert not dead.exists() and not trash.exists()
        with second.client() as client:
            assert download(client, sid).content == PDF_ONLY


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """One worker, one processing process, one job at a time, 250 MB per job."""
    settings = {"jobs": 1, "max_queue": 1, "job_memory_mb": 250}
    with Server(tmp_path_factory.mktemp("small") / "workspaces", workers=1, **settings) as running:
        yield running


def test_past_the_queue_cap_requests_get_503_at_once(small):
    slow = slow_pdf()
    finished: dict[str, tuple[float, httpx.Response]] = {}

    def send(name):
        with small.client() as client:
            answer = upload(client, new_sid(), slow)
            finished[name] = (time.monotonic(), answer)

    threads = [threading.Thread(target=send, args=(f"c{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    codes = sorted(answer.status_code for _, answer in finished.values())
    assert codes[0] == 200 and 503 in codes, codes
    done = min(at for at, answer in finished.values() if answer.status_code == 200)
    for at, answer in finished.values():
        if answer.status_code == 503:
            assert int(answer.headers["retry-after"]) >= 1 and "BOLSERVICE_MAX_QUEUE" in answer.json()["error"]
            assert at < done  # refused at once, not after waiting for the running job


@pytest.fixture(scope="module")
def tight(tmp_path_factory):
    """One worker, one processing process, a 4 s deadline, no cap to speak of."""
    settings = {"jobs": 1, "job_timeout": 4, "max_queue": 100}
    with Server(tmp_path_factory.mktemp("tight") / "workspaces", workers=1, **settings) as running:
        yield running


def test_a_saturated_worker_refuses_what_it_could_not_finish_in_time_and_says_when_to_retry(tight):
    """Work is admitted while the queue ahead, at the pace the worker has kept, lets it be
    done within its deadline; past that, 503 with a Retry-After from the queue, after
    which a client that waits as told gets its file read."""
    slow = slow_pdf(pages=20)
    answers: list[httpx.Response] = []
    tries: list[int] = []

    def patient(number: int) -> None:
        with tight.client() as client:
            for attempt in range(1, 30):
                answer = upload(client, new_sid(), slow)
                answers.append(answer)
                if answer.status_code != 503:
                    tries.append(attempt)
                    return
                time.sleep(int(answer.headers["retry-after"]))

    with tight.client() as client:  # the worker learns its pace on files like theirs
        for _ in range(2):
            assert upload(client, new_sid(), slow).status_code == 200
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(patient, range(8)))
    codes = [answer.status_code for answer in answers]
    assert set(codes) <= {200, 503}, codes  # never a 504: what was admitted was done in time
    assert codes.count(200) == 8 and len(tries) == 8  # every patient client got its file read
    refused = [answer for answer in answers if answer.status_code == 503]
    assert refused, "eight 20-page files at once should not all fit a 4 s deadline"
    waits = {int(answer.headers["retry-after"]) for answer in refused}
    assert min(waits) >= 1 and all("deadline" in answer.json()["error"] for answer in refused)
    # A client told to wait is not left holding a connection the server may drop under it.
    assert {answer.headers.get("connection") for answer in refused} == {"close"}


def memory_hog_pdf(lines: int = 800) -> bytes:
    """One page of 160,000 tiny characters: parsing it peaks at about 430 MB resident."""
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(3000, 3000))
    pdf.setFont("Helvetica", 1)
    pdf.drawString(10, 2990, "BILL OF LADING A1")
    for i in range(lines):
        pdf.drawString(10, 2980 - i * 0.5, "X" * 200)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_a_file_over_the_memory_ceiling_is_422_and_the_worker_survives(small):
    sid = new_sid()
    with small.client() as client:
        answer = upload(client, sid, memory_hog_pdf())
        assert answer.status_code == 422, answer.text
        assert "BOLSERVICE_JOB_MEMORY_MB" in answer.json()["error"]
        assert client.get("/status", params={"_sid": sid}).json()["exists"] is False
        assert upload(client, sid, PDF).status_code == 200
        assert download(client, sid).content == PDF_ONLY


def test_jobs_past_their_deadline_at_once_all_end_in_a_timeout_and_the_pool_serves_on():
    """Two jobs of one pool overrun together: each is a JobTimeout (504), neither a 500."""
    import asyncio

    from bolservice.pool import JobPool, JobTimeout

    async def overrun() -> list:
        pool = JobPool(2, timeout=0.5)
        try:
            await pool.probe(60)
            async with pool.admitted():
                results = await asyncio.gather(pool.call(time.sleep, 5), pool.call(time.sleep, 5),
                                               return_exceptions=True)
            return [*results, await pool.run(sum, [1, 2])]
        finally:
            pool.shutdown()

    first, second, after = asyncio.run(overrun())
    assert isinstance(first, JobTimeout) and isinstance(second, JobTimeout), (first, second)
    assert after == 3


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One worker and its two processing processes, shared by every workspace; 300 MB a job."""
    with Server(tmp_path_factory.mktemp("shared") / "workspaces", workers=1, jobs=2, job_memory_mb=300) as running:
        yield running


def test_a_poisonous_file_on_one_workspace_never_fails_a_valid_upload_on_another(shared):
    """Each round, a spreadsheet whose reading blows past the memory ceiling (its process is
    stopped, twice: it is tried again) runs beside a valid upload on another sid that takes
    longer: that upload is always 200 with its exact CSV, and the poisonous file alone is
    refused, for its memory."""
    from tests.hostile import corner_cell_xlsx

    poison, pdf = corner_cell_xlsx(), slow_pdf(pages=20, number="V1")
    expected = pdf_csv(pdf)
    with shared.client() as client, shared.client() as other:
        poisoned = new_sid()
        assert upload(other, poisoned).status_code == 200
        for _ in range(20):
            # A slow phase of the host can make admission refuse the poisonous file (its
            # own pieces are what slows the worker): its client waits that out.
            thread, result = in_background(patiently, upload_sheet, other, poisoned, poison, "orders.xlsx")
            sid = new_sid()
            answer = upload(client, sid, pdf)
            assert answer.status_code == 200, answer.text[:300]
            assert download(client, sid).content == expected
            thread.join(180)
            answer = result["value"]
            assert answer.status_code == 422 and "MB a job may use" in answer.json()["error"], answer.text[:300]


def fill_memory() -> None:
    """A job that fills memory 16 MB at a time, every 10 ms at the most (1.6 GB/s, a
    parser's pace at its fastest), until it is stopped. Bounded so the margin below means
    the same on any host: unbounded, a fast one outran the watchdog by more on a busy
    machine than on an idle one."""
    held = []
    while True:
        held.append(b"\x01" * (16 * 1024 * 1024))
        time.sleep(0.01)


# How far past the limit a process filling memory at 1.6 GB/s may get: the watchdog's
# 20 ms look and some 40 ms of scheduling delay on a loaded machine.
MEMORY_MARGIN_MB = 100


def test_the_memory_ceiling_holds_within_a_small_margin(caplog):
    """The watchdog stops a process filling memory fast within MEMORY_MARGIN_MB of the limit
    (looking every 0.1 s, it let this one reach 357-368 MB against 300, and a real file
    1,232 MB against 1,024)."""
    import asyncio
    import logging
    import re

    from bolservice.pool import JobPool, OverMemoryLimit

    async def run() -> None:
        pool = JobPool(1, timeout=30, memory_mb=300)
        try:
            await pool.probe(60)
            with pytest.raises(OverMemoryLimit):
                await pool.run(fill_memory)
            assert await pool.run(sum, [1, 2]) == 3  # the lane serves on
        finally:
            pool.shutdown()

    with caplog.at_level(logging.WARNING, logger="bolservice"):
        asyncio.run(run())
    seen = [int(m) for m in re.findall(r"stopped a job's process at (\d+) MB, over the 300 MB", caplog.text)]
    assert seen and max(seen) <= 300 + MEMORY_MARGIN_MB, seen


def test_the_memory_ceiling_holds_for_the_process_that_replaces_a_stopped_one(caplog):
    """The watchdog remembers which threads start processes (bolservice.pool.Children); a
    replacement is started by the pool's own thread, which had started none before, and is
    watched as closely as the first process was."""
    import asyncio
    import logging
    import re

    from bolservice.pool import JobPool, OverMemoryLimit

    async def run() -> None:
        pool = JobPool(1, timeout=30, memory_mb=300)
        try:
            await pool.probe(60)
            for _ in range(3):
                with pytest.raises(OverMemoryLimit):
                    await pool.run(fill_memory)
        finally:
            pool.shutdown()

    with caplog.at_level(logging.WARNING, logger="bolservice"):
        asyncio.run(run())
    seen = [int(m) for m in re.findall(r"stopped a job's process at (\d+) MB, over the 300 MB", caplog.text)]
    assert len(seen) == 3 and max(seen) <= 300 + MEMORY_MARGIN_MB, seen
