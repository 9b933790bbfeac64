"""The upload at the floor: `POST /upload` over HTTP against the raw text floors, in one run.

    .venv/bin/python -m bench.upload [--quick]

The PDFs: (a) a generated 125-page BOL whose invoices sometimes lack a cube or a totals
line, as real ones do (16 rows a page, five-page invoices, every 4th invoice without a
cube, every 8th without a totals line: 2,000 rows and 9 warnings), and (b) the longest PDF
of each producer of tests/corpus/.

In this process, before the server starts: each PDF's floors, pypdfium2's (open the
document, then ``get_textpage()`` and ``get_text_range()`` on every page; median of 9) and
pdfplumber's (``extract_text()`` on every page; median of 3), and the engines in process:
``extract_pdf`` with ``auto`` against ``pdfium`` on (a) and on all of each producer's PDFs,
the least CPU time of 9 rounds each (bench/corpus.py says why the least).

Then a real ``bolservice serve --workers 2`` with default settings (engine ``auto``, 2
bulk processes and 1 quick process a worker) on a fresh root: one client, keep-alive,
multipart uploads as partner apps send them, each PDF on its own workspace; 3 warm-up
rounds, then ``ROUNDS`` rounds that upload every PDF once each (so the host's slow moments
fall on all of them). An upload's time runs from the first byte sent to the parsed answer.

Targets: each upload's p50 ≤ 4 × its pypdfium2 floor + 100 ms and ≤ 0.15 × its
pdfplumber floor; in process, auto ≤ 1.25 × pdfium. Prints the load average at the start
and the end (neighbours on the host slow every figure), and exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pypdfium2

from bench.corpus import least_totals
from bench.engines import median_seconds, raw_pdfium, raw_pdfplumber
from bench.service import Figure, machine, ok, report
from bolservice.bol import extract_pdf
from tests.bolpdf import BolInvoice, Item, build_bol
from tests.corpus import corpus_cases, producer_of
from tests.server import Server

ROUNDS = 30
ROWS_PER_PAGE = 16


def warned_bol(pages: int = 125) -> bytes:
    """Five-page invoices of 16 rows a page; every 4th without a cube, every 8th without a
    totals line."""
    items = [Item(str(i % 90 + 1), f"ST{i:05d}", f"{(i % 90 + 1) * 12:,}", "MENS KNIT TOP SIZE 10",
                  f"{i % 70 + 1}.25") for i in range(pages * ROWS_PER_PAGE)]
    per_invoice = 5 * ROWS_PER_PAGE
    return build_bol([BolInvoice(f"A{100000 + k}", items[k * per_invoice:(k + 1) * per_invoice],
                                 rows_per_page=ROWS_PER_PAGE, cube=None if k % 4 == 3 else "45.60",
                                 totals=None if k % 8 == 7 else "auto")
                      for k in range((pages + 4) // 5)])


def page_count(pdf: Path) -> int:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return len(document)
    finally:
        document.close()


def longest_of_each_producer() -> dict[str, list[Path]]:
    """Each producer's PDFs, its longest first (the first by name among equals)."""
    by_producer: dict[str, list[Path]] = {}
    for name, pdf, _ in corpus_cases():
        by_producer.setdefault(producer_of(name), []).append(pdf)
    return {producer: sorted(pdfs, key=lambda pdf: -page_count(pdf))
            for producer, pdfs in sorted(by_producer.items())}


def upload_times(server: Server, pdfs: dict[str, bytes], rounds: int) -> dict[str, list[float]]:
    """Each PDF's upload times (ms), every round uploading each PDF once."""
    times: dict[str, list[float]] = {name: [] for name in pdfs}
    with server.client() as client:
        for round_ in range(3 + rounds):
            for number, (name, pdf) in enumerate(pdfs.items()):
                started = time.perf_counter()
                ok(client.post("/upload", params={"_sid": f"bench-upload-{number}"},
                               files={"file": (f"{name}.pdf", pdf, "application/pdf")}))
                if round_ >= 3:
                    times[name].append((time.perf_counter() - started) * 1000)
    return times


def in_process(name: str, pdfs: list[Path]) -> list[Figure]:
    """auto against pdfium in this process, on ``pdfs`` together."""
    seconds = least_totals(pdfs, ("pdfium", "auto"))
    auto, pdfium = seconds["auto"] * 1000, seconds["pdfium"] * 1000
    return [Figure(f"in process, {name}: pdfium", pdfium, "ms"),
            Figure(f"in process, {name}: auto", auto, "ms"),
            Figure(f"... auto ÷ pdfium, {name}", auto / pdfium, "×", 1.25)]


def floors(pdf: bytes, runs: int) -> tuple[float, float]:
    """The pypdfium2 and pdfplumber floors of ``pdf``, in ms."""
    return (median_seconds(raw_pdfium, pdf, runs=9) * 1000,
            median_seconds(raw_pdfplumber, pdf, runs=runs) * 1000)


def upload_figures(name: str, times: list[float], pdfium_ms: float, plumber_ms: float) -> list[Figure]:
    p50 = statistics.median(times)
    return [Figure(f"{name}: raw pypdfium2", pdfium_ms, "ms"),
            Figure(f"{name}: raw pdfplumber", plumber_ms, "ms"),
            Figure(f"{name}: upload p50 (p95 {sorted(times)[round(0.95 * (len(times) - 1))]:,.1f} ms)",
                   p50, "ms", 4 * pdfium_ms + 100),
            Figure(f"... {name}: upload ÷ raw pdfplumber", p50 / plumber_ms, "×", 0.15)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, to try the harness")
    args = parser.parse_args(argv)
    rounds, plumber_runs = (5, 1) if args.quick else (ROUNDS, 3)
    print(f"# {machine()}\n# load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n",
          flush=True)
    producers = longest_of_each_producer()
    with tempfile.TemporaryDirectory() as directory:
        generated = Path(directory) / "bol125.pdf"
        generated.write_bytes(warned_bol())
        extraction = extract_pdf(generated)
        print(f"# (a): {extraction.pages} pages, {len(extraction.rows)} rows, "
              f"{len(extraction.warnings)} warnings\n", flush=True)
        pdfs = {"(a) 125 pages": generated.read_bytes(),
                **{f"{producer} {pdfs[0].stem} ({page_count(pdfs[0])} pages)": pdfs[0].read_bytes()
                   for producer, pdfs in producers.items()}}
        engines = in_process("(a)", [generated])
        for producer, pdf_list in producers.items():
            engines += in_process(f"{producer}'s {len(pdf_list)} PDFs", pdf_list)
        floor = {name: floors(pdf, plumber_runs) for name, pdf in pdfs.items()}
        with Server(Path(directory) / "root", workers=2, pdf_engine="auto") as server:
            times = upload_times(server, pdfs, rounds)
    figures = [figure for name in pdfs for figure in upload_figures(name, times[name], *floor[name])]
    status = report(figures + engines)
    print(f"\n# load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
