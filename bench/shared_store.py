"""What the shared PostgreSQL store costs against the disk store, measured in one run.

    .venv/bin/python -m bench.shared_store [--quick]

Starts a throwaway PostgreSQL cluster (tests/pgcluster.py: its own directory and port,
removed afterwards) with ``fsync``, ``synchronous_commit`` and ``full_page_writes`` turned
back on, as a production server has them, and real ``bolservice serve --workers 2``
instances (engine ``auto``): one on a disk root, one or two on the cluster. Over HTTP:

- the 13-page workflow (clear, new, upload, upload-csv, download), one client, in blocks
  that alternate between the disk instance and the PostgreSQL one, so the host's slow
  phases fall on both: p50 and p99 of each, and their ratios;
- the 125-page upload, the same way: p50 of each, and what PostgreSQL adds;
- ``/debug-sessions?limit=100`` and a page by prefix at 1,000 and at 50,000 workspaces
  on PostgreSQL. The workspaces are made in this process through the backend's face
  (``bench.listing.fill``: the lock held, ``create``, a ``commit`` of small files for the
  roles a PDF upload leaves), 16 at a time: the same store calls /new-session and /upload
  make, without 49,000 parses and the HTTP around them, which would take the better part
  of an hour on two cores and measure nothing the listing reads. No row is written by
  hand. Beside each page, its two reads of the store timed in-process (the count of all,
  the page);
- 16 clients repeating the workflow, each on its own workspace: workflows a second on
  one disk instance, one PostgreSQL instance, and two PostgreSQL instances sharing the
  store with every step of every workflow going to the other instance than the step
  before (round-robin, as behind nginx without the hash); turns taken twice.

Prints a Markdown table of the figures beside their targets and the load average before
and after; exits 1 if a target is missed. Without PostgreSQL installed it says so and
exits 0: ``make test-postgres`` installs Debian's package.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.parse_memory import generated_bol
from bench.service import Figure, machine, ok, percentile, report, spreadsheet_for
from bolservice.bol import extract_pdf
from bolservice.composer import compose
from bolservice.config import Settings
from tests.server import DEBUG_TOKEN, Server

WORKERS = 2
CLIENTS = 16
HEADERS = {"Authorization": f"Bearer {DEBUG_TOKEN}"}
PREFIX = "w0004"  # 100 of the ids w000000…, at 1,000 workspaces as at 50,000


def load() -> str:
    return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())


def tree() -> str:
    """The commit measured, and whether bolservice/ differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "bolservice"], capture_output=True,
                                 text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git tree"
    return f"{head}, bolservice/ {'with uncommitted changes' if changed else 'as committed'}"


def durable(dsn: str) -> None:
    """The throwaway cluster skips fsync; what is compared here is a store as deployed."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = on")
        conn.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        shown = {name: conn.execute(f"SHOW {name}").fetchone()[0]
                 for name in ("fsync", "synchronous_commit", "full_page_writes")}
    if set(shown.values()) != {"on"}:
        raise SystemExit(f"the cluster did not take the durable settings: {shown}")


class Steps:
    """Sends a workflow's steps, waiting out a 503 as its Retry-After says (counted)."""

    def __init__(self) -> None:
        self.retries = 0
        self.lock = threading.Lock()

    def send(self, client: httpx.Client, method: str, path: str, sid: str, **kwargs) -> httpx.Response:
        while True:
            answer = client.request(method, path, params={"_sid": sid}, **kwargs)
            if answer.status_code != 503:
                return ok(answer)
            with self.lock:
                self.retries += 1
            wait = answer.headers.get("retry-after", "1")
            time.sleep(int(wait) if wait.isdigit() else 1)

    def workflow(self, clients: list[httpx.Client], sid: str, pdf: bytes, sheet: bytes, rows: int,
                 turn: int = 0) -> float:
        """clear, new, upload, upload-csv, download, step k on ``clients[(turn + k) % len]``;
        the seconds it took."""
        start = time.perf_counter()
        steps = [("POST", "/clear-session", {}), ("POST", "/new-session", {}),
                 ("POST", "/upload", {"files": {"file": ("bol.pdf", pdf, "application/pdf")}}),
                 ("POST", "/upload-csv", {"files": {"file": ("orders.csv", sheet, "text/csv")}}),
                 ("GET", "/download-bol", {})]
        for k, (method, path, kwargs) in enumerate(steps):
            answer = self.send(clients[(turn + k) % len(clients)], method, path, sid, **kwargs)
        lines = answer.content.count(b"\n")
        if lines != rows + 1:
            raise SystemExit(f"the download has {lines - 1} rows, expected {rows}")
        return time.perf_counter() - start


def alternating(measure, servers: dict[str, Server], samples: int, block: int) -> dict[str, list[float]]:
    """``samples`` timings (ms) of ``measure(client)`` on each server, taken in blocks of
    ``block`` that alternate between the servers, the first server changing each round."""
    found = {name: [] for name in servers}
    clients = {name: server.client(timeout=300) for name, server in servers.items()}
    try:
        for name, client in clients.items():  # both workers' pools warm
            for _ in range(4):
                measure(client)
        names = list(servers)
        turn = 0
        while any(len(found[name]) < samples for name in names):
            for name in names[turn % 2:] + names[:turn % 2]:
                for _ in range(min(block, samples - len(found[name]))):
                    found[name].append(measure(clients[name]) * 1000)
            turn += 1
    finally:
        for client in clients.values():
            client.close()
    return found


def pages(server: Server, samples: int) -> dict[str, float]:
    """p50 (ms) of the first page of 100 and of the page by PREFIX; the total listed."""
    with server.client(headers=HEADERS) as client:
        total = ok(client.get("/debug-sessions", params={"limit": 1})).json()["total_sessions"]
        found = {"total": total}
        for name, params in (("first", {"limit": 100}), ("prefix", {"limit": 100, "prefix": PREFIX})):
            for _ in range(3):
                ok(client.get("/debug-sessions", params=params))
            times = []
            for _ in range(samples):
                start = time.perf_counter()
                ok(client.get("/debug-sessions", params=params))
                times.append((time.perf_counter() - start) * 1000)
            found[name] = percentile(times, 0.5)
    return found


def fill(backend, sids: list[str]) -> float:
    """Make ``sids`` through the backend's face; workspaces a second."""
    from bench.listing import fill as fill_through

    start = time.perf_counter()
    fill_through(backend, sids)
    return len(sids) / (time.perf_counter() - start)


def parts(backend, samples: int) -> dict[str, float]:
    """p50 (ms), in this process, of the two reads a page of /debug-sessions makes of the
    listing: the count of every workspace, and the page of 100 itself."""
    found = {}
    for name, call in (("count", lambda: backend.listing.count()),
                       ("page", lambda: backend.listing.page(limit=100))):
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
        found[name] = percentile(times, 0.5)
    return found


def throughput(servers: list[Server], pdf: bytes, sheet: bytes, rows: int, seconds: float, tag: str) -> tuple[float, int]:
    """CLIENTS clients on workspaces of their own for ``seconds``, each step of a workflow
    on the next of ``servers``: workflows a second (those that ended in the second half)
    and the 503s waited out."""
    steps, finished = Steps(), []
    end = time.monotonic() + seconds
    steady = end - seconds / 2

    def client_run(number: int) -> None:
        clients = [server.client(timeout=300) for server in servers]
        try:
            turn = number
            while time.monotonic() < end:
                steps.workflow(clients, f"{tag}-{number}", pdf, sheet, rows, turn)
                finished.append(time.monotonic())
                turn += 1
        finally:
            for client in clients:
                client.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client_run, range(CLIENTS)))
    return sum(steady <= moment <= end for moment in finished) / (end - steady), steps.retries


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples, 5,000 workspaces: to try the harness")
    args = parser.parse_args(argv)
    from tests.pgcluster import Cluster, binaries

    bindir = binaries()
    if bindir is None:
        print("bench.shared_store: skipped, PostgreSQL is not installed "
              "(`make test-postgres` installs Debian's postgresql)")
        return 0
    try:
        import psycopg  # noqa: F401
    except ImportError:
        print("bench.shared_store: skipped, psycopg is not installed in this environment")
        return 0
    flows, uploads, listed, seconds = (20, 6, 30, 8) if args.quick else (100, 20, 50, 15)
    large = 5_000 if args.quick else 50_000

    small, big = generated_bol(13), generated_bol(125)
    rows = len(extract_pdf(small).rows)
    sheet = spreadsheet_for(small)
    print(f"# {machine()}\n# tree: {tree()}\n# at the start: {load()}\n", flush=True)
    steps = Steps()
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bolservice-shared-") as scratch, Cluster(bindir) as cluster:
        directory = Path(scratch)
        dsn = cluster.database()
        sids = [f"w{number:06d}" for number in range(large)]
        backend = compose(Settings(store=dsn))
        with Server(directory / "pg-a", workers=WORKERS, pdf_engine="auto", store=dsn) as pg_a:
            rate = fill(backend, sids[:1_000])
            at_small = pages(pg_a, listed) | parts(backend, listed)
            rate_large = fill(backend, sids[1_000:])
            at_large = pages(pg_a, listed) | parts(backend, listed)
            backend.close()
            durable(cluster.dsn)
            with Server(directory / "disk", workers=WORKERS, pdf_engine="auto") as disk:
                servers = {"disk": disk, "PostgreSQL": pg_a}
                flow = alternating(lambda client: steps.workflow([client], "bench-flow", small, sheet, rows),
                                   servers, flows, 5)

                def upload_big(client: httpx.Client) -> float:
                    start = time.perf_counter()
                    steps.send(client, "POST", "/upload", "bench-big",
                               files={"file": ("bol.pdf", big, "application/pdf")})
                    return time.perf_counter() - start

                up = alternating(upload_big, servers, uploads, 2)
                with Server(directory / "pg-b", workers=WORKERS, pdf_engine="auto", store=dsn) as pg_b:
                    with pg_b.client(timeout=300) as client:
                        for _ in range(4):
                            steps.workflow([client], "bench-warm-b", small, sheet, rows)
                    runs: dict[str, list[float]] = {"disk": [], "one": [], "two": []}
                    retries = 0
                    for turn in range(2):
                        for name, group in (("disk", [disk]), ("one", [pg_a]), ("two", [pg_a, pg_b])):
                            got, waited = throughput(group, small, sheet, rows, seconds, f"crowd-{name}-{turn}")
                            runs[name].append(got)
                            retries += waited
        print(f"# at the end: {load()}\n", flush=True)

    p50 = {name: percentile(times, 0.5) for name, times in flow.items()}
    p99 = {name: percentile(times, 0.99) for name, times in flow.items()}
    up50 = {name: percentile(times, 0.5) for name, times in up.items()}
    rate_of = {name: sum(found) / len(found) for name, found in runs.items()}
    n_small, n_large = f"{at_small['total']:,}", f"{at_large['total']:,}"
    figures += [
        Figure("workflow p50, 13 pages, disk store", p50["disk"], "ms"),
        Figure("workflow p50, 13 pages, PostgreSQL store", p50["PostgreSQL"], "ms"),
        Figure("... PostgreSQL ÷ disk, p50", p50["PostgreSQL"] / p50["disk"], "×", 1.5),
        Figure("workflow p99, 13 pages, disk store", p99["disk"], "ms"),
        Figure("workflow p99, 13 pages, PostgreSQL store", p99["PostgreSQL"], "ms"),
        Figure("... PostgreSQL ÷ disk, p99", p99["PostgreSQL"] / p99["disk"], "×", 1.5),
        Figure("upload p50, 125 pages, disk store", up50["disk"], "ms"),
        Figure("upload p50, 125 pages, PostgreSQL store", up50["PostgreSQL"], "ms"),
        Figure("... what PostgreSQL adds (p50 − p50)", up50["PostgreSQL"] - up50["disk"], "ms"),
        Figure(f"workspaces made through the backend a second, the first {n_small}", rate, "/s"),
        Figure(f"... the next ones, to {n_large}", rate_large, "/s"),
        Figure(f"/debug-sessions?limit=100 p50, {n_small} workspaces", at_small["first"], "ms"),
        Figure(f"/debug-sessions?limit=100 p50, {n_large} workspaces", at_large["first"], "ms"),
        Figure(f"... at {n_large} ÷ at {n_small}", at_large["first"] / at_small["first"], "×", 2),
        Figure(f"... of which the count of all, in-process, {n_small}", at_small["count"], "ms"),
        Figure(f"... of which the count of all, in-process, {n_large}", at_large["count"], "ms"),
        Figure(f"... of which the page of 100, in-process, {n_small}", at_small["page"], "ms"),
        Figure(f"... of which the page of 100, in-process, {n_large}", at_large["page"], "ms"),
        Figure(f"/debug-sessions?limit=100&prefix={PREFIX} p50, {n_small} workspaces", at_small["prefix"], "ms"),
        Figure(f"/debug-sessions?limit=100&prefix={PREFIX} p50, {n_large} workspaces", at_large["prefix"], "ms"),
        Figure(f"... at {n_large} ÷ at {n_small}", at_large["prefix"] / at_small["prefix"], "×", 2),
        Figure(f"workflows a second, {CLIENTS} clients, one instance, disk store", rate_of["disk"], "/s"),
        Figure(f"workflows a second, {CLIENTS} clients, one instance, PostgreSQL store", rate_of["one"], "/s"),
        Figure(f"workflows a second, {CLIENTS} clients, two instances sharing PostgreSQL, round-robin",
               rate_of["two"], "/s"),
        Figure("... two instances ÷ one (the same 2 cores)", rate_of["two"] / rate_of["one"], "×"),
        Figure("503s waited out, every phase", steps.retries + retries, ""),
    ]
    print(" / ".join(f"{name}: {', '.join(f'{value:.1f}' for value in found)}" for name, found in runs.items()),
          "workflows a second, each turn\n")
    return report(figures)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
