"""Schemathesis against /openapi.json of a running server: no input may cause a 5xx.

    python -m tests.fuzz_http [--max-examples N]     (what `make fuzz` runs)

It starts its own server (2 workers) in a temporary directory; the tests run a short
pass against theirs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.server import DEBUG_TOKEN, Server


def fuzz(url: str, max_examples: int) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
               "--checks", "not_a_server_error", "--max-examples", str(max_examples),
               "--header", f"Authorization: Bearer {DEBUG_TOKEN}", "--request-timeout", "60",
               "--generation-deterministic"]
    return subprocess.run(command, capture_output=True, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, Server(Path(directory) / "workspaces") as server:
        run = fuzz(server.url, args.max_examples)
    print(run.stdout[-4000:], run.stderr[-2000:], sep="\n")
    return run.returncode


if __name__ == "__main__":
    raise SystemExit(main())
