"""An idle server's CPU: the whole process tree of ``bolservice serve --workers 2``, at rest.

    .venv/bin/python -m bench.idle [--seconds 30]

Starts a real server (default settings: engine ``auto``, 2 bulk processes and 1 quick
process per worker), warms it with one 125-page upload, waits ``SETTLE`` seconds, then
reads from /proc the CPU time (utime + stime) of every process under it (uvicorn's
supervisor, its workers with all their threads, the pool's processes, multiprocessing's
resource tracker) at the start and the end of the window. Prints each process's share of
a core, the total and the load average, and exits 1 past the target (≤ 1 % of a core) or
if a process came or went during the window (its time would be missed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.parse_memory import generated_bol
from tests.server import Server, children, cmdline

TARGET_PERCENT = 1.0
SETTLE = 5.0  # after the warm-up, for the upload's last answers and looks to pass
TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """``pid`` and every process under it."""
    return [pid, *(below for child in children(pid) for below in tree(child))]


def cpu_seconds(pid: int) -> float:
    """A process's CPU time so far, all its threads (utime + stime, /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def role(pid: int, server: Server) -> str:
    """What a process of the server's tree is."""
    if pid == server.process.pid:
        return "uvicorn's supervisor"
    if "resource_tracker" in cmdline(pid):
        return "multiprocessing's resource tracker"
    return "worker" if pid in server.workers() else "pool process"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        with Server(Path(directory) / "root", workers=2, pdf_engine="auto") as server:
            with server.client() as client:
                answer = client.post("/upload", params={"_sid": "bench-idle"},
                                     files={"file": ("bol.pdf", generated_bol(125), "application/pdf")})
                answer.raise_for_status()
            time.sleep(SETTLE)
            root = server.process.pid
            pids = tree(root)
            load_before = os.getloadavg()
            before = {pid: cpu_seconds(pid) for pid in pids}
            started = time.monotonic()
            time.sleep(args.seconds)
            after = {pid: cpu_seconds(pid) for pid in pids}
            elapsed = time.monotonic() - started
            changed = set(tree(root)) != set(pids)
            roles = {pid: role(pid, server) for pid in pids}
    load_after = os.getloadavg()
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in load_before)} at the start, "
          f"{' '.join(f'{x:.2f}' for x in load_after)} at the end\n")
    print("| process | pid | CPU, % of a core |\n|---|---:|---:|")
    for pid in pids:
        print(f"| {roles[pid]} | {pid} | {100 * (after[pid] - before[pid]) / elapsed:.2f} % |")
    total = 100 * sum(after[pid] - before[pid] for pid in pids) / elapsed
    verdict = "met" if total <= TARGET_PERCENT else "**missed**"
    print(f"| **the whole tree, {len(pids)} processes, over {elapsed:.1f} s** | | "
          f"**{total:.2f} %** (≤ {TARGET_PERCENT} %: {verdict}) |")
    if changed:
        print("processes came or went during the window: the figure misses their time", file=sys.stderr)
    return 1 if changed or total > TARGET_PERCENT else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
