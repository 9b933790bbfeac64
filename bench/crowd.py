"""The workflow under a crowd: 1, 4, 16, 64 and 256 clients at once.

    .venv/bin/python -m bench.crowd [--quick] [--niced]

Starts a real ``bolservice serve --workers 2`` (default settings, engine ``auto``) on
127.0.0.1 and, for each number of clients, runs them for a while at once, each a batch
script on a workspace of its own repeating the whole workflow on a 13-page BOL (clear,
new, upload, upload-csv, download), on keep-alive connections; the clients are threads of
processes of 16, at the server's CPU priority: clients on the same machine are a
neighbour the service must live with (``--niced`` gives them a session of their own at a
lower priority instead, as clients on other machines would take nothing from it). The
first run is 16 clients on the server just started, before anything warmed it. A client
that gets a 503 waits as its ``Retry-After`` says and sends the step again, as a
well-behaved script does. Prints workflows a second (those that ended in the second half
of each run), the latency of whole workflows (p50, p99, waits for Retry-After included),
the slowest admitted upload, and every answer that was not a success; exits 1 if a
target is missed.
"""

from __future__ import annotations

import argparse
import functools
import math
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.parse_memory import generated_bol
from bench.service import Figure, machine, percentile, report, spreadsheet_for
from bolservice.bol import extract_pdf
from bolservice.service import BUDGET_SECONDS, BUDGET_SECONDS_PER_MB
from tests.server import Server

CLIENTS = (1, 4, 16, 64, 256)
# Clients run as threads of several processes, as separate scripts would be: the 256 as
# threads of one process spent, on that process's interpreter lock, twice the CPU a
# workflow of 16 threads did, and the server, on the same two cores, lacked it.
THREADS_A_PROCESS = 16
TURNS = 2  # runs of 16 and of 64 clients, taking turns, that compare their throughputs
PAGES = (13, 125, 2000)


class Crowd:
    """Clients running workflows until ``seconds`` have passed; what they saw."""

    def __init__(self, server: Server, pdf: bytes, sheet: bytes, rows: int, niced: bool = False) -> None:
        self.server, self.pdf, self.sheet, self.rows, self.niced = server, pdf, sheet, rows, niced
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.finished: list[float] = []  # when each workflow ended (time.monotonic)
        self.uploads: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.unhelpful: list[str] = []  # 503s without a usable Retry-After, wrong downloads

    def send(self, client: httpx.Client, method: str, path: str, sid: str, **kwargs) -> httpx.Response:
        while True:
            start = time.perf_counter()
            answer = client.request(method, path, params={"_sid": sid}, **kwargs)
            with self.lock:
                self.statuses[answer.status_code] += 1
            if answer.status_code != 503:
                if path == "/upload" and answer.status_code == 200:
                    with self.lock:
                        self.uploads.append(time.perf_counter() - start)
                return answer
            wait = answer.headers.get("retry-after", "")
            if not wait.isdigit():
                with self.lock:
                    self.unhelpful.append(f"503 on {path} without Retry-After")
                wait = "1"
            time.sleep(int(wait))

    def workflow(self, client: httpx.Client, sid: str) -> None:
        start = time.perf_counter()
        self.send(client, "POST", "/clear-session", sid)
        self.send(client, "POST", "/new-session", sid)
        self.send(client, "POST", "/upload", sid, files={"file": ("bol.pdf", self.pdf, "application/pdf")})
        self.send(client, "POST", "/upload-csv", sid, files={"file": ("orders.csv", self.sheet, "text/csv")})
        download = self.send(client, "GET", "/download-bol", sid)
        if download.status_code != 200 or download.content.count(b"\n") != self.rows + 1:
            with self.lock:
                self.unhelpful.append(f"download {download.status_code}")
            return
        with self.lock:
            self.latencies.append(time.perf_counter() - start)
            self.finished.append(time.monotonic())

    def run(self, clients: int, seconds: float) -> float:
        """Workflows a second with ``clients`` at once for ``seconds``, in processes of up to
        THREADS_A_PROCESS clients each: those that ended in the second half, when every
        client has a workflow under way (at 64 clients the first take 5 s)."""
        start = time.monotonic()
        end = start + seconds
        processes = math.ceil(clients / THREADS_A_PROCESS)
        context = multiprocessing.get_context("fork")  # the children share this crowd's files
        seen = context.SimpleQueue()
        groups = [context.Process(target=self._run_group, args=(range(first, clients, processes), clients, end, seen))
                  for first in range(processes)]
        for group in groups:
            group.start()
        for _ in groups:
            latencies, finished, uploads, statuses, unhelpful = seen.get()
            self.latencies += latencies
            self.finished += finished
            self.uploads += uploads
            self.statuses.update(statuses)
            self.unhelpful += unhelpful
        for group in groups:
            group.join()
        steady = start + seconds / 2
        return sum(steady <= moment <= end for moment in self.finished) / (end - steady)

    def _run_group(self, numbers: range, clients: int, end: float, seen) -> None:
        """In a process of its own: the clients ``numbers``, one thread each, until ``end``."""
        if self.niced:
            yield_the_cores()

        def client_run(number: int) -> None:
            with self.server.client(timeout=300) as client:
                while time.monotonic() < end:
                    self.workflow(client, f"crowd-{clients}-{number}")

        with ThreadPoolExecutor(len(numbers)) as pool:
            list(pool.map(client_run, numbers))
        seen.put((self.latencies, self.finished, self.uploads, self.statuses, self.unhelpful))


def yield_the_cores() -> None:
    """Give the server the larger share of the cores, as it would have with its clients on
    other machines (``--niced``).

    Linux shares the CPU between sessions first (autogroups), then between the processes
    of each: the server runs in a session of its own, so a client's nice value alone
    changed nothing, and the 256 clients' start took half the cores from the server for
    seconds, while admission went by the pace it had measured without them. The clients
    get a session of their own at nice 10 (a tenth of the server's weight). At nice 19 they
    starved, kept connections idle past the server's keep-alive and lost requests to its
    close."""
    os.setsid()
    try:
        Path("/proc/self/autogroup").write_text("10")
    except OSError:  # no autogroups: the process's own nice value is what counts
        os.nice(10)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs, to try the harness")
    parser.add_argument("--niced", action="store_true",
                        help="clients in a session of their own at a lower CPU priority than the server")
    parser.add_argument("--clients", type=int, nargs="*", default=list(CLIENTS), help="the crowds to run")
    args = parser.parse_args(argv)
    seconds = 6 if args.quick else 20
    pdf = generated_bol(13)
    rows = len(extract_pdf(pdf).rows)
    sheet = spreadsheet_for(pdf)
    deadline = BUDGET_SECONDS + BUDGET_SECONDS_PER_MB * len(pdf) / (1024 * 1024)  # the upload's, as the server sets it
    print(f"# {machine()}\n", flush=True)
    figures = []
    with tempfile.TemporaryDirectory() as directory:
        with Server(Path(directory) / "root", workers=2, pdf_engine="auto") as server:
            crowd_of = functools.partial(Crowd, server, pdf, sheet, rows, args.niced)
            fresh = crowd_of()
            fresh.run(16, seconds)
            figures.append(Figure("16 clients on a fresh server: 503s", fresh.statuses[503], "", 0))
            with server.client(timeout=300) as client:
                for pages in PAGES:  # one upload at a time: how its time grows with its pages
                    bol = generated_bol(pages)
                    times = []
                    for _ in range(2 if pages > 1000 or args.quick else 7):
                        start = time.perf_counter()
                        answer = client.post("/upload", params={"_sid": f"pages-{pages}"},
                                             files={"file": ("bol.pdf", bol, "application/pdf")})
                        times.append(time.perf_counter() - start)
                        if answer.status_code != 200:
                            raise SystemExit(f"the {pages}-page upload answered {answer.status_code}")
                    figures.append(Figure(f"upload p50, {pages} pages, one at a time", percentile(times, 0.5) * 1000,
                                          "ms"))
            for clients in args.clients:
                crowd = crowd_of()
                rate = crowd.run(clients, seconds)
                failed = sum(count for status, count in crowd.statuses.items() if status >= 400 and status != 503)
                refused = crowd.statuses[503]
                slowest = max(crowd.uploads) if crowd.uploads else 0.0
                figures += [
                    Figure(f"{clients} clients: workflows a second", rate, "/s"),
                    Figure(f"{clients} clients: workflow p50", percentile(crowd.latencies or [0.0], 0.5) * 1000, "ms"),
                    Figure(f"{clients} clients: workflow p99", percentile(crowd.latencies or [0.0], 0.99) * 1000, "ms"),
                    Figure(f"{clients} clients: admitted upload p99", percentile(crowd.uploads or [0.0], 0.99) * 1000, "ms",
                           deadline * 1000),
                    Figure(f"{clients} clients: slowest admitted upload", slowest * 1000, "ms"),
                    Figure(f"{clients} clients: answers other than success or 503", failed + len(crowd.unhelpful),
                           "", 0),
                    Figure(f"{clients} clients: 503s (each waited out as told)", refused, "",
                           0 if clients <= 64 else None),
                ]
            if {16, 64} <= set(args.clients):
                # The host's slow phases last tens of seconds: 16 and 64 clients taking
                # turns, each run as long in all, share them.
                turns = [(clients, crowd_of()) for _ in range(TURNS) for clients in (16, 64)]
                rates = [(clients, crowd.run(clients, seconds)) for clients, crowd in turns]
                figures += [
                    Figure(f"64 clients' throughput ÷ 16 clients', {TURNS} turns each",
                           sum(rate for clients, rate in rates if clients == 64)
                           / sum(rate for clients, rate in rates if clients == 16), "×", 0.9, at_least=True),
                    Figure("16 and 64 clients taking turns: 503s", sum(crowd.statuses[503] for _, crowd in turns),
                           "", 0),
                ]
    return report(figures)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
