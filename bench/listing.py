"""How the support listing and the janitor's round grow with the root: 1,000, 5,000 and
50,000 workspaces.

    .venv/bin/python -m bench.listing [--quick]

For each size, a root is filled with workspaces (directories and manifests written as the
store writes them, without the store's fsyncs, to fill it in seconds), a real
``bolservice serve --workers 2`` is started on it (its start builds the index), and over
HTTP: the full listing (streamed), a page of 100 (at the start, and half way), a page of
100 by prefix, and ``/ping`` while full listings run back to back from two clients. Then,
in this process, a janitor round's two reads of the root: the index's reconcile and the
query for expired workspaces. Prints a Markdown table; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path

from bench.service import Figure, machine, ok, percentile, report, timed_ms
from bolservice.store import WorkspaceStore
from bolservice.workspace import MANIFEST, Manifest
from tests.server import DEBUG_TOKEN, Server

SIZES = (1_000, 5_000, 50_000)
HEADERS = {"Authorization": f"Bearer {DEBUG_TOKEN}"}


def fill(root: Path, count: int) -> None:
    """``count`` workspaces at the stage a PDF upload leaves, ids ``w00000…``."""
    root.mkdir(parents=True)
    now = time.time()
    for number in range(count):
        sid = f"w{number:06d}"
        manifest = Manifest(session_id=sid, created=now - 600, updated=now - number % 300,
                            files={"pdf": "pdf-0", "extraction": "extraction-0", "pdf_csv": "pdf_csv-0"},
                            details={"pdf": {"filename": "bol.pdf", "pages": 13, "invoices": 3, "rows": 390,
                                             "warnings": []}},
                            sizes={"pdf": 61_234, "extraction": 80_512, "pdf_csv": 41_300})
        (root / sid).mkdir()
        (root / sid / MANIFEST).write_text(json.dumps(asdict(manifest), indent=1))


def ping_while_listing(server: Server, seconds: float) -> tuple[list[float], int]:
    """/ping latencies (ms) taken every 10 ms while two clients list everything back to back."""
    stop, listings = threading.Event(), [0]

    def lister() -> None:
        with server.client(headers=HEADERS, timeout=120) as client:
            while not stop.is_set():
                ok(client.get("/debug-sessions"))
                listings[0] += 1

    threads = [threading.Thread(target=lister) for _ in range(2)]
    for thread in threads:
        thread.start()
    samples = []
    with server.client() as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            samples.append(timed_ms(lambda: ok(client.get("/ping")))[0])
            time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    return samples, listings[0]


def measure(count: int, samples: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bolservice-listing-") as scratch:
        root = Path(scratch) / "root"
        fill(root, count)
        start = time.perf_counter()
        with Server(root, workers=2) as server:
            started = (time.perf_counter() - start) * 1000
            with server.client(headers=HEADERS, timeout=120) as client:
                assert ok(client.get("/debug-sessions", params={"limit": 1})).json()["total_sessions"] == count
                whole = [timed_ms(lambda: ok(client.get("/debug-sessions")))[0] for _ in range(samples)]
                first = [timed_ms(lambda: ok(client.get("/debug-sessions", params={"limit": 100})))[0]
                         for _ in range(samples * 4)]
                middle = [timed_ms(lambda: ok(client.get("/debug-sessions",
                                                         params={"limit": 100, "offset": count // 2})))[0]
                          for _ in range(samples * 4)]
                prefix = [timed_ms(lambda: ok(client.get("/debug-sessions",
                                                         params={"limit": 100, "prefix": "w0004"})))[0]
                          for _ in range(samples * 4)]
            pings, listings = ping_while_listing(server, 5 if samples > 3 else 2)
        store = WorkspaceStore(root)
        reconcile = [timed_ms(store.reconcile)[0] for _ in range(samples)]
        expired = [timed_ms(lambda: store.idle_since(time.time() - 290))[0] for _ in range(samples)]
    return {"start": started, "whole": percentile(whole, 0.5), "first": percentile(first, 0.5),
            "middle": percentile(middle, 0.5), "prefix": percentile(prefix, 0.5),
            "ping_p99": percentile(pings, 0.99), "ping_max": max(pings), "listings": listings,
            "reconcile": percentile(reconcile, 0.5), "expired": percentile(expired, 0.5)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, smaller roots")
    args = parser.parse_args(argv)
    samples = 2 if args.quick else 7
    sizes = (1_000, 5_000) if args.quick else SIZES
    found = {count: measure(count, samples) for count in sizes}
    print(f"# {machine()}\n")
    figures = []
    for count, got in found.items():
        n = f"{count:,} workspaces"
        figures += [
            Figure(f"server start, its index built from the root, {n}", got["start"], "ms"),
            Figure(f"full listing p50, {n}", got["whole"], "ms", 100 if count == 5_000 else None),
            Figure(f"page of 100 p50, {n}", got["first"], "ms"),
            Figure(f"page of 100 half way p50, {n}", got["middle"], "ms"),
            Figure(f"page of 100 by prefix p50, {n}", got["prefix"], "ms"),
            Figure(f"/ping p99 during full listings, {n} ({got['listings']} listings)", got["ping_p99"], "ms", 50),
            Figure(f"janitor reconcile p50, {n}", got["reconcile"], "ms"),
            Figure(f"janitor expiry query p50, {n}", got["expired"], "ms"),
        ]
    if 1_000 in found and 50_000 in found:
        figures.append(Figure("page of 100 at 50,000 ÷ at 1,000", found[50_000]["first"] / found[1_000]["first"],
                              "×", 2))
        figures.append(Figure("page of 100 half way at 50,000 ÷ at 1,000",
                              found[50_000]["middle"] / found[1_000]["middle"], "×", None))
    return report(figures)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
