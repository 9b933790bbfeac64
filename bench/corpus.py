"""The producers' corpus (tests/corpus/): each engine's time and exact count, per producer.

    .venv/bin/python -m bench.corpus

For each producer, every engine reads all of that producer's PDFs (``extract_pdf``, the
whole parse), one after another, in each of 9 rounds, the engines taking turns within a
round (and turns at going first), each starting after a garbage collection. A PDF's figure
is the least of its rounds' CPU times, and a producer's the sum over its PDFs: the
machine's neighbours only ever add time (they swung medians by a third), and the read of
one PDF, tens of milliseconds, finds a quiet moment more often than a producer's whole
run does. An engine reads a producer's PDFs back to back, as a pool process reads uploads;
run PDF by PDF, each engine right after the others, the fast engines lose their caches
to pdfplumber and take 15-20 % longer.
Exact: the CSV equals the expected one. Exits 1 unless every engine is exact on every PDF
and, on every producer, pdfium takes at most 0.1 × pdfplumber's time.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

from bolservice.bol import ENGINES, extract_pdf, extraction_records, write_bol_csv
from tests.corpus import corpus_cases, producer_of

ROUNDS = 9
TARGET_SHARE = 0.10


def exact(pdf: Path, expected: Path, engine: str) -> bool:
    return write_bol_csv(extraction_records(extract_pdf(pdf, engine=engine))) == expected.read_bytes().decode("utf-8")


def least_totals(pdfs: list[Path], engines: tuple[str, ...]) -> dict[str, float]:
    """Each engine's time for the PDFs: the sum of each PDF's least CPU time over the rounds."""
    least = {(engine, pdf): math.inf for engine in engines for pdf in pdfs}
    for round_ in range(ROUNDS):
        # Each engine in turn comes first, and starts without the others' garbage to collect.
        for engine in engines[round_ % len(engines):] + engines[:round_ % len(engines)]:
            gc.collect()
            for pdf in pdfs:
                start = time.process_time()
                extract_pdf(pdf, engine=engine)
                least[engine, pdf] = min(least[engine, pdf], time.process_time() - start)
    return {engine: sum(least[engine, pdf] for pdf in pdfs) for engine in engines}


def main() -> int:
    by_producer: dict[str, list[tuple[Path, Path]]] = defaultdict(list)
    for name, pdf, expected in corpus_cases():
        by_producer[producer_of(name)].append((pdf, expected))
    engines = ("pdfplumber", "pdfium", "auto")
    assert set(engines) == set(ENGINES)
    print("| producer | PDFs | pages | " + " | ".join(f"{e} time | {e} exact" for e in engines)
          + " | pdfium ÷ pdfplumber |")
    print("|---|---:|---:|" + "---:|---:|" * len(engines) + "---:|")
    missed = []
    for producer, cases in sorted(by_producer.items()):
        pdfs = [pdf for pdf, _ in cases]
        pages = sum(extract_pdf(pdf, engine="pdfium").pages for pdf in pdfs)
        cells, seconds = [], least_totals(pdfs, engines)
        for engine in engines:
            right = sum(exact(pdf, expected, engine) for pdf, expected in cases)
            cells += [f"{seconds[engine] * 1000:.0f} ms", f"{right}/{len(cases)}"]
            if right != len(cases):
                missed.append(f"{producer}: {engine} exact on {right} of {len(cases)}")
        share = seconds["pdfium"] / seconds["pdfplumber"]
        if share > TARGET_SHARE:
            missed.append(f"{producer}: pdfium at {share:.3f} × pdfplumber, over {TARGET_SHARE} ×")
        print(f"| {producer} | {len(cases)} | {pages} | " + " | ".join(cells) + f" | {share:.3f} × |")
    for line in missed:
        print(f"MISSED: {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
