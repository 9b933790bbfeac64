"""How the support listing and the janitor's round grow with the root: 1,000, 5,000 and
50,000 workspaces.

    .venv/bin/python -m bench.listing [--quick]

For each size, a root is filled with workspaces through the disk backend's own face
(``fill``: the composed backend's lock held, ``create``, then a ``commit`` of small files
for the roles a PDF upload leaves, with its details; 16 at a time in this process, every
write fsync'd as the service's are), a real ``bolservice serve --workers 2`` is started
on it (its index, written by those commits, agrees: the start reads the ids and the
manifests' stamps), and over HTTP: the full listing (streamed), a page of 100 (at the
start, and half way), a page of 100 by prefix, and ``/ping`` while full listings run back
to back from two clients. Then, in this process, a janitor round's two reads of the root:
the index's reconcile and the query for expired workspaces (those of the fill's first
thirtieth).

The fill costs about 4 ms a workspace on 2 cores, half of it the store's fsyncs: some
3.5 minutes for the three roots, where manifests written by hand took half a minute. It
is kept: the bench then knows nothing of how a backend lays workspaces out, and the
workspaces are what the service itself would have made.

Prints a Markdown table; exits 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.service import Figure, machine, ok, percentile, report, timed_ms
from bolservice.composer import compose
from bolservice.config import Settings
from tests.server import DEBUG_TOKEN, Server

SIZES = (1_000, 5_000, 50_000)
HEADERS = {"Authorization": f"Bearer {DEBUG_TOKEN}"}


# What a PDF upload leaves in a workspace, in small files: the listing reads only the manifest.
UPLOADED = {"pdf": b"%PDF-1.7\n%%EOF\n", "extraction": b'{"rows": []}', "pdf_csv": b"Invoice No.\r\n"}
DETAILS = {"pdf": {"filename": "bol.pdf", "pages": 13, "invoices": 3, "rows": 390, "warnings": []}}


def fill(backend, sids: list[str], concurrency: int = 16) -> None:
    """Make a workspace for each of ``sids`` at the stage a PDF upload leaves, through the
    backend's face (any backend: the disk's, or a shared store's): its lock held, ``create``
    and ``commit`` in a thread, as the service's /new-session and /upload do, ``concurrency``
    at a time."""
    async def run() -> None:
        pending = iter(sids)

        async def one_at_a_time() -> None:
            for sid in pending:
                async with backend.locker.hold(sid) as lease:
                    await asyncio.to_thread(made, lease)

        await asyncio.gather(*(one_at_a_time() for _ in range(concurrency)))

    def made(lease) -> None:
        manifest = backend.store.create(lease)
        manifest.details = DETAILS
        backend.store.commit(lease, manifest, UPLOADED)

    asyncio.run(run())


def fill_root(root: Path, count: int) -> float:
    """``count`` workspaces ``w000000…`` in a new root, through the disk backend; the time at
    which the first thirtieth of them were made (a janitor's cutoff that finds them)."""
    backend = compose(Settings(root=root, min_free_mb=0))
    sids = [f"w{number:06d}" for number in range(count)]
    fill(backend, sids[:count // 30])
    cutoff = time.time()
    fill(backend, sids[count // 30:])
    return cutoff


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
        start = time.perf_counter()
        cutoff = fill_root(root, count)
        filled = (time.perf_counter() - start) * 1000
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
        listing = compose(Settings(root=root, min_free_mb=0)).listing
        reconcile = [timed_ms(listing.reconcile)[0] for _ in range(samples)]
        expired = [timed_ms(lambda: listing.idle_since(cutoff))[0] for _ in range(samples)]
    return {"filled": filled, "start": started, "whole": percentile(whole, 0.5), "first": percentile(first, 0.5),
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
            Figure(f"root filled through the disk backend, {n}", got["filled"], "ms"),
            Figure(f"server start on that root, {n}", got["start"], "ms"),
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
