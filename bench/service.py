"""The service under load, beside the raw extraction floors measured in the same run.

    .venv/bin/python -m bench.service [--quick]

Starts a real ``bolservice serve --workers 2`` (default settings, engine ``auto``) on
127.0.0.1 with a fresh root, drives it over HTTP and prints a Markdown table of every
figure beside its target (docs/BENCHMARKS.md). Exits 1 if a target is missed, saying by
how much. ``--quick`` takes fewer samples: for trying the harness, not for the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import platform
import re
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.engines import median_seconds, raw_pdfium, raw_pdfplumber
from bench.parse_memory import generated_bol
from bolservice.bol import extract_pdf
from bolservice.composer import compose
from bolservice.config import Settings
from tests.bolpdf import padded_pdf
from tests.server import DEBUG_TOKEN, Server

WORKERS = 2
CLIENTS = 16
LIVE_WORKSPACES = 5000
BIG_UPLOAD_BYTES = 50_000_000
JSON_UPLOAD_BYTES = 39_000_000  # about the most a 50 MB body holds as base64
CSV_FIELD_BYTES = 45_000_000


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: float | None = None  # the most the value may be; with `at_least`, the least
    at_least: bool = False

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    def row(self) -> str:
        target = verdict = ""
        if self.target is not None:
            target = f"{'≥' if self.at_least else '≤'} {self._shown(self.target)}"
            gap = self._shown(abs(self.value - self.target))
            verdict = "met" if self.met else f"**missed by {gap}**"
        return f"| {self.name} | {self._shown(self.value)} | {target} | {verdict} |"

    def _shown(self, value: float) -> str:
        return f"{value:.3f} ×" if self.unit == "×" else f"{value:,.1f} {self.unit}"


def report(figures: list[Figure]) -> int:
    """Print the figures as a Markdown table, and the missed ones; 1 if any was missed."""
    print("| figure | measured | target | verdict |\n|---|---:|---:|---|")
    for figure in figures:
        print(figure.row())
    missed = [figure.name for figure in figures if figure.met is False]
    if missed:
        print(f"\nmissed: {', '.join(missed)}", file=sys.stderr)
    return 1 if missed else 0


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed_ms(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result


def ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise SystemExit(f"{response.request.method} {response.request.url} -> "
                         f"{response.status_code}: {response.text[:300]}")
    return response


def spreadsheet_for(pdf: bytes) -> bytes:
    """A spreadsheet with one row for every PDF row, so every row merges."""
    lines = ["Invoice No.,Style,Cartons*,Pieces*,Invoice Date,Ship-to Name,Order No.,Delivery Date,Cancel Date"]
    for row in extract_pdf(pdf).rows:
        pieces = row.pieces.replace(",", "")
        lines.append(f"{row.invoice},{row.style},{row.cartons},{pieces},11/02/2026,"
                     f"BURLINGTON STORES #123,PO-55120,11/20/2026,11302026")
    return ("\r\n".join(lines) + "\r\n").encode()


def upload(client: httpx.Client, sid: str, pdf: bytes) -> httpx.Response:
    return ok(client.post("/upload", params={"_sid": sid},
                          files={"file": ("bol.pdf", pdf, "application/pdf")}))


def workflow(client: httpx.Client, sid: str, pdf: bytes, sheet: bytes, rows: int) -> None:
    """clear, new, upload, upload-csv, download: what a batch script does for one BOL."""
    ok(client.post("/clear-session", params={"_sid": sid}))
    ok(client.post("/new-session", params={"_sid": sid}))
    upload(client, sid, pdf)
    ok(client.post("/upload-csv", params={"_sid": sid},
                   files={"file": ("orders.csv", sheet, "text/csv")}))
    csv = ok(client.get("/download-bol", params={"_sid": sid})).content
    lines = csv.count(b"\n")
    if lines != rows + 1:
        raise SystemExit(f"the download has {lines - 1} rows, expected {rows}")


def upload_latency(server: Server, pdf: bytes, samples: int) -> list[float]:
    with server.client() as client:
        for _ in range(3):  # warm both workers' job pools
            upload(client, "bench-warm", pdf)
        return [timed_ms(lambda: upload(client, "bench-upload", pdf))[0] for _ in range(samples)]


def workflow_sequential(server: Server, pdf: bytes, sheet: bytes, rows: int, samples: int) -> list[float]:
    with server.client() as client:
        return [timed_ms(lambda: workflow(client, "bench-flow", pdf, sheet, rows))[0] for _ in range(samples)]


def workflow_concurrent(server: Server, pdf: bytes, sheet: bytes, rows: int,
                        rounds: int) -> tuple[float, list[float]]:
    """CLIENTS clients, each on its own workspace: (workflows a second, latencies)."""
    def client_run(number: int) -> list[float]:
        with server.client() as client:
            return [timed_ms(lambda: workflow(client, f"bench-client-{number}", pdf, sheet, rows))[0]
                    for _ in range(rounds)]

    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        latencies = [ms for run in pool.map(client_run, range(CLIENTS)) for ms in run]
    return len(latencies) / (time.perf_counter() - start), latencies


def debug_sessions_latency(server: Server, samples: int) -> tuple[list[float], list[float], int]:
    """Fill the root to LIVE_WORKSPACES over HTTP; time the whole listing and one page of 100."""
    def create(numbers: range) -> None:
        with server.client() as client:
            for number in numbers:
                ok(client.post("/new-session", params={"_sid": f"live-{number:05d}"}))

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(create, [range(k, LIVE_WORKSPACES, CLIENTS) for k in range(CLIENTS)]))
    headers = {"Authorization": f"Bearer {DEBUG_TOKEN}"}
    with server.client(headers=headers) as client:
        total = ok(client.get("/debug-sessions")).json()["total_sessions"]
        whole = [timed_ms(lambda: ok(client.get("/debug-sessions")))[0] for _ in range(samples)]
        page = [timed_ms(lambda: ok(client.get("/debug-sessions", params={"offset": 2500, "limit": 100})))[0]
                for _ in range(samples)]
    return whole, page, total


def rss_kb(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE).group(1))


def big_upload_growth(server: Server, pdf: bytes, how: str) -> float:
    """Peak RSS growth (MB) of the worker that takes the upload of ``pdf``, sent ``how``.

    Each worker's peak (VmHWM) is reset to its current RSS just before the upload, so the
    peak afterwards is the upload's alone, with nothing missed between samples.
    """
    workers = server.workers()
    warm = padded_pdf(generated_bol(13), 2_000_000)
    with server.client() as client:
        for _ in range(4):  # both workers have served an upload of this shape before
            ok(send(client, warm, how))
        before = {}
        for pid in workers:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            before[pid] = rss_kb(pid, "VmRSS")
        ok(send(client, pdf, how))
    return max(rss_kb(pid, "VmHWM") - before[pid] for pid in workers) / 1024


def big_sheet(sheet: bytes, size: int) -> bytes:
    """``sheet`` grown to about ``size`` bytes by rows that match no PDF row."""
    header, rows = sheet.split(b"\r\n", 1)
    filler = b"Z999999,NOMATCH,1,1,11/02/2026,NOBODY,PO-0,11/20/2026,11302026\r\n"
    return header + b"\r\n" + rows + filler * ((size - len(sheet)) // len(filler))


def csv_field_growth(server: Server, pdf: bytes, sheet: bytes) -> float:
    """Peak RSS growth (MB) of the worker that takes ``sheet`` as a multipart form field
    ``csv_data`` (not a file part), measured as in ``big_upload_growth``."""
    workers = server.workers()
    with server.client() as client:
        for _ in range(4):
            ok(client.post("/upload", params={"_sid": "bench-csv-field"}, files={"file": ("b.pdf", pdf)}))
        before = {}
        for pid in workers:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
            before[pid] = rss_kb(pid, "VmRSS")
        ok(client.post("/upload-csv", params={"_sid": "bench-csv-field"}, data={"csv_data": sheet.decode()},
                       files={"other": ("x", b"")}))  # a file part makes it multipart
    return max(rss_kb(pid, "VmHWM") - before[pid] for pid in workers) / 1024


def send(client: httpx.Client, pdf: bytes, how: str) -> httpx.Response:
    params = {"_sid": f"bench-big-{how}"}
    if how == "multipart":
        return client.post("/upload", params=params, files={"file": ("big.pdf", pdf, "application/pdf")})
    if how == "raw":
        return client.post("/upload", params=params, content=pdf, headers={"Content-Type": "application/pdf"})
    return client.post("/upload", params=params,
                       json={"filename": "big.pdf", "file_data": base64.b64encode(pdf).decode()})


def lock_overhead_us(samples: int) -> list[float]:
    """Acquire + release of an uncontended workspace lock (the default backend's: an
    asyncio lock and flock), in µs."""
    async def run(directory: Path) -> list[float]:
        locker = compose(Settings(root=directory, lock_timeout=5)).locker
        times = []
        for number in range(samples):
            start = time.perf_counter()
            async with locker.hold(f"bench-{number % 50}"):
                pass
            times.append((time.perf_counter() - start) * 1e6)
        return times

    with tempfile.TemporaryDirectory() as directory:
        return asyncio.run(run(Path(directory)))


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, to try the harness")
    args = parser.parse_args(argv)
    scale = 0.2 if args.quick else 1.0

    def n(count: int) -> int:
        return max(3, int(count * scale))

    big, small = generated_bol(125), generated_bol(13)
    big_rows, small_rows = len(extract_pdf(big).rows), len(extract_pdf(small).rows)
    sheet = spreadsheet_for(small)
    print(f"# {machine()}\n", flush=True)

    plumber_ms = median_seconds(raw_pdfplumber, big) * 1000
    pdfium_ms = median_seconds(raw_pdfium, big, runs=9) * 1000
    figures = [Figure("raw pdfplumber extraction, 125 pages", plumber_ms, "ms"),
               Figure("raw pypdfium2 extraction, 125 pages", pdfium_ms, "ms")]

    with tempfile.TemporaryDirectory() as directory:
        with Server(Path(directory) / "root", workers=WORKERS, pdf_engine="auto") as server:
            growth = {how: big_upload_growth(server, padded_pdf(small, BIG_UPLOAD_BYTES), how)
                      for how in ("multipart", "raw")}
            growth["json"] = big_upload_growth(server, padded_pdf(small, JSON_UPLOAD_BYTES), "json")
            growth["csv_data"] = csv_field_growth(server, small, big_sheet(sheet, CSV_FIELD_BYTES))
        with Server(Path(directory) / "root", workers=WORKERS, pdf_engine="auto") as server:
            up_big = upload_latency(server, big, n(30))
            up_small = upload_latency(server, small, n(60))
            flow = workflow_sequential(server, small, sheet, small_rows, n(60))
            rate, loaded = workflow_concurrent(server, small, sheet, small_rows, n(15))
            whole, page, total = debug_sessions_latency(server, n(30))

    locks = lock_overhead_us(n(5000))
    p50_big = percentile(up_big, 0.5)
    figures += [
        Figure(f"upload p50, 125 pages ({big_rows} rows)", p50_big, "ms"),
        Figure("... as a share of raw pdfplumber", p50_big / plumber_ms, "×", 0.15),
        Figure("... against 4 × raw pypdfium2 + 100 ms", p50_big, "ms", 4 * pdfium_ms + 100),
        Figure("upload p95, 125 pages", percentile(up_big, 0.95), "ms"),
        Figure(f"upload p50, 13 pages ({small_rows} rows)", percentile(up_small, 0.5), "ms"),
        Figure("upload p95, 13 pages", percentile(up_small, 0.95), "ms"),
        Figure("workflow p50, 13 pages, one client", percentile(flow, 0.5), "ms", 100),
        Figure(f"workflows a second, {CLIENTS} clients", rate, "/s", 20, at_least=True),
        Figure(f"workflow p50 with {CLIENTS} clients", percentile(loaded, 0.5), "ms"),
        Figure(f"/debug-sessions p50, all {total:,} workspaces", percentile(whole, 0.5), "ms", 150),
        Figure(f"/debug-sessions?limit=100 p50, {total:,} workspaces", percentile(page, 0.5), "ms"),
        Figure("worker peak RSS growth, 50 MB multipart upload", growth["multipart"], "MB", 30),
        Figure("worker peak RSS growth, 50 MB raw-body upload", growth["raw"], "MB", 30),
        Figure("worker peak RSS growth, 39 MB PDF as JSON base64 (50 MB body)", growth["json"], "MB", 30),
        Figure("worker peak RSS growth, 45 MB CSV as the form field csv_data", growth["csv_data"], "MB", 30),
        Figure("lock acquire + release p50", percentile(locks, 0.5), "µs"),
        Figure("lock acquire + release p95", percentile(locks, 0.95), "µs"),
    ]
    return report(figures)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
