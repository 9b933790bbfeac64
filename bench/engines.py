"""Text engines side by side: raw extraction floors and the whole parse, per engine.

    .venv/bin/python -m bench.engines [PAGES ...]

Each figure is the median of 3 runs in this process, on generated BOLs (30 rows a page).
"""

from __future__ import annotations

import io
import statistics
import sys
import time

import pdfplumber
import pypdfium2

from bench.parse_memory import generated_bol
from bolservice.bol import extract_pdf


def raw_pdfplumber(data: bytes) -> None:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            page.extract_text()


def raw_pdfium(data: bytes) -> None:
    document = pypdfium2.PdfDocument(data)
    for index in range(len(document)):
        page = document[index]
        text = page.get_textpage()
        text.get_text_range()
        text.close()
        page.close()
    document.close()


def median_seconds(function, data: bytes, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function(data)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str]) -> None:
    counts = [int(a) for a in argv] or [13, 125]
    print("| pages | raw pdfplumber | raw pypdfium2 | parse, pdfplumber | parse, pdfium | parse, auto |")
    print("|---:|---:|---:|---:|---:|---:|")
    for pages in counts:
        data = generated_bol(pages)
        figures = [median_seconds(raw_pdfplumber, data), median_seconds(raw_pdfium, data)]
        figures += [median_seconds(lambda d, e=engine: extract_pdf(d, engine=e), data)
                    for engine in ("pdfplumber", "pdfium", "auto")]
        print(f"| {pages} | " + " | ".join(f"{seconds * 1000:.0f} ms" for seconds in figures) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
