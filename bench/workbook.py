"""The BOL as a workbook beside the BOL as CSV: time and memory of each, in this process.

    .venv/bin/python -m bench.workbook [PAGES ...]

Merged BOL tables of 30 rows a page, five-page invoices (every cell a merge fills, dates
and PO numbers included), written as CSV (``write_bol_csv``) and as .xlsx from that CSV
(``bol_workbook``). Each time is the median of 3 runs; the memory is the peak Python
allocation of one run (tracemalloc). Exits 1 if the 2,000-page workbook takes more than
its target.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc

from bolservice.bol import BOL_COLUMNS, write_bol_csv
from bolservice.bol.workbook import bol_workbook

ROWS_PER_PAGE = 30
# The job pool's deadline for a job is 120 s by default; a 2,000-page BOL's
# workbook must take a small part of it.
TARGET_SECONDS_2000 = 15.0


def merged_records(pages: int) -> list[dict[str, str]]:
    records = []
    for index in range(pages * ROWS_PER_PAGE):
        invoice, first = divmod(index, 5 * ROWS_PER_PAGE)
        record = dict.fromkeys(BOL_COLUMNS, "")
        record.update({
            "Order Date": "11/03/2026", "Ship To Name": "ROSS DRESS FOR LESS #88",
            "Purchase Order No.": f"{invoice:07d}", "Cartons": str(index % 90 + 1), "Start Date": "11/18/2026",
            "Cancel Date": "11/25/2026", "BOL Cube": "1772.92", "Individual Pieces": str((index % 90 + 1) * 12),
            "Individual Weight": f"{index % 70 + 1}.25", "Invoice No.": f"A{100000 + invoice}",
            "Style": f"ST{index:05d}",
        })
        if first == 0:
            record.update({"Final Cube": "2990", "Pallet": "23", "Total Pieces": "8190", "Total Weight": "5437.50"})
        records.append(record)
    return records


def median_seconds(function, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_mb(function) -> float:
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 1024 / 1024


def main(argv: list[str]) -> int:
    counts = [int(a) for a in argv] or [13, 125, 2000]
    print("| pages | rows | CSV | workbook | workbook / CSV | CSV size | workbook size | workbook peak memory |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    missed = False
    for pages in counts:
        records = merged_records(pages)
        text = write_bol_csv(records)
        csv_seconds = median_seconds(lambda: write_bol_csv(records))
        book_seconds = median_seconds(lambda: bol_workbook(text))
        size = len(bol_workbook(text))
        memory = peak_mb(lambda: bol_workbook(text))
        print(f"| {pages:,} | {len(records):,} | {csv_seconds * 1000:,.0f} ms | {book_seconds * 1000:,.0f} ms "
              f"| {book_seconds / csv_seconds:.0f} × | {len(text) / 1e6:.1f} MB | {size / 1e6:.1f} MB | {memory:.0f} MB |")
        if pages == 2000 and book_seconds > TARGET_SECONDS_2000:
            print(f"target missed: the 2,000-page workbook took {book_seconds:.1f} s, over {TARGET_SECONDS_2000:.0f} s")
            missed = True
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
