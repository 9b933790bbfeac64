"""Peak RSS and time of parsing generated BOLs of growing length, each in a fresh process.

    .venv/bin/python -m bench.parse_memory [PAGES ...]

A fresh process per PDF makes the peak RSS (ru_maxrss) that PDF's alone. Growth is the peak
above the process's RSS once the engine is imported, so it is what the parse itself cost.
Each engine is measured: ``auto`` (the default, which reads with pypdfium2) and pdfplumber.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bolpdf import BolInvoice, Item, build_bol

ROWS_PER_PAGE = 30
ENGINES = ("auto", "pdfplumber")
# argv: PDF path, "extract" (the whole parse) or "read" (page text only, kept nowhere), engine.
CHILD = """
import json, resource, sys, time
from bolservice.bol import extract_pdf
from bolservice.bol import pdfium_pages, read_pdf_pages
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
if sys.argv[2] == "extract":
    extraction = extract_pdf(sys.argv[1], engine=sys.argv[3])
    pages, rows = extraction.pages, len(extraction.rows)
else:
    reader = read_pdf_pages if sys.argv[3] == "pdfplumber" else pdfium_pages
    pages, rows = sum(1 for _ in reader(sys.argv[1])), 0
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"pages": pages, "rows": rows, "seconds": seconds, "growth_kb": peak - base}))
"""


def generated_bol(pages: int) -> bytes:
    """Five-page invoices of 30 rows a page, like a long real BOL."""
    items = [Item(str(i % 90 + 1), f"ST{i:05d}", f"{(i % 90 + 1) * 12:,}", "MENS KNIT TOP SIZE 10",
                  f"{i % 70 + 1}.25") for i in range(pages * ROWS_PER_PAGE)]
    per_invoice = 5 * ROWS_PER_PAGE
    return build_bol([BolInvoice(f"A{100000 + k}", items[k * per_invoice:(k + 1) * per_invoice],
                                 rows_per_page=ROWS_PER_PAGE) for k in range((pages + 4) // 5)])


def measure(path: Path, mode: str, engine: str) -> dict:
    run = subprocess.run([sys.executable, "-c", CHILD, str(path), mode, engine],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def main(argv: list[str]) -> None:
    counts = [int(a) for a in argv] or [25, 125, 250]
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{ROWS_PER_PAGE} rows a page")
    print("| pages | rows | engine | parse time | peak RSS growth, parse | peak RSS growth, reading text only |")
    print("|---:|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as directory:
        for pages in counts:
            path = Path(directory) / f"bol_{pages}.pdf"
            path.write_bytes(generated_bol(pages))
            for engine in ENGINES:
                parse, read = measure(path, "extract", engine), measure(path, "read", engine)
                print(f"| {parse['pages']} | {parse['rows']} | {engine} | {parse['seconds']:.2f} s "
                      f"| {parse['growth_kb'] / 1024:.1f} MB | {read['growth_kb'] / 1024:.1f} MB |")


if __name__ == "__main__":
    main(sys.argv[1:])
