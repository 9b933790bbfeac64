"""A real `bolservice serve` on 127.0.0.1 for the tests to drive over HTTP."""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

DEBUG_TOKEN = "test-debug-token"


@functools.cache
def tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


class RoundRobin(httpx.BaseTransport):
    """An httpx transport that sends each request to the next of several instances on this
    host, so that every step of a workflow lands on another one."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.transports = [httpx.HTTPTransport(verify=tls_context()) for _ in ports]
        self.turn = itertools.count()
        self.lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            index = next(self.turn) % len(self.ports)
        request.url = request.url.copy_with(port=self.ports[index])
        return self.transports[index].handle_request(request)

    def close(self) -> None:
        for transport in self.transports:
            transport.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``bolservice serve --workers N`` with its own root and settings; a context manager."""

    def __init__(self, root: Path, workers: int = 2, **settings: object) -> None:
        self.root = root
        self.worker_count = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root.parent.mkdir(parents=True, exist_ok=True)
        self.log = root.parent / f"server-{self.port}.log"
        # pdfplumber by default: the lock, deadline and crash tests need a 40-page upload to
        # take over a second, which pdfium would read in a fifth of one. The engines'
        # equality is tested in test_engines.py.
        self.env = {**os.environ, "BOLSERVICE_DEBUG_TOKEN": DEBUG_TOKEN, "BOLSERVICE_JOBS": "2",
                    "BOLSERVICE_PDF_ENGINE": "pdfplumber",
                    **{f"BOLSERVICE_{k.upper()}": str(v) for k, v in settings.items()}}
        self.command = [sys.executable, "-m", "bolservice", "serve", "--port", str(self.port),
                        "--workers", str(workers), "--root", str(root)]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.process = subprocess.Popen(self.command, env=self.env, stdout=open(self.log, "wb"),
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=30).status_code in (200, 503):
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):  # a test may have stopped it already
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def workers(self) -> list[int]:
        """The processes serving requests: uvicorn's workers, or the server itself alone."""
        assert self.process is not None
        if self.worker_count == 1:
            return [self.process.pid]
        return [pid for pid in children(self.process.pid) if "resource_tracker" not in cmdline(pid)]

    def client(self, **kwargs) -> httpx.Client:
        # One TLS context for every client (the server speaks plain HTTP): httpx builds one
        # a client otherwise, 56 ms of CPU, and 256 of them at a crowd's start took the
        # server's cores for seconds.
        kwargs.setdefault("verify", tls_context())
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 120), **kwargs)


class SharedServers:
    """Two instances on one shared store (``BOLSERVICE_STORE``), as one server to the tests:
    ``client()`` alternates them request by request; ``url`` and ``root`` are the first's."""

    def __init__(self, root: Path, store: str, workers: int = 2, **settings: object) -> None:
        self.instances = [Server(root / name, workers=workers, store=store, **settings) for name in ("a", "b")]
        first = self.instances[0]
        self.url, self.port, self.root, self.log = first.url, first.port, first.root, first.log

    def __enter__(self) -> SharedServers:
        for instance in self.instances:
            instance.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for instance in self.instances:
            instance.__exit__(*exc)

    def workers(self) -> list[int]:
        return [pid for instance in self.instances for pid in instance.workers()]

    def client(self, **kwargs) -> httpx.Client:
        ports = [instance.port for instance in self.instances]
        return httpx.Client(base_url=self.url, timeout=kwargs.pop("timeout", 120), transport=RoundRobin(ports),
                            **kwargs)


def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def lock_holder(root: Path, sid: str) -> int | None:
    """The pid holding ``sid``'s flock, read from /proc/locks."""
    try:
        stat = (root / ".locks" / f"{sid}.lock").stat()
    except FileNotFoundError:
        return None
    # /proc/locks names a file as MAJOR:MINOR:INODE, the device numbers in hex.
    wanted = (os.major(stat.st_dev), os.minor(stat.st_dev), stat.st_ino)
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "FLOCK" in fields and "->" not in fields:
            major, minor, inode = fields[5].split(":")
            if (int(major, 16), int(minor, 16), int(inode)) == wanted:
                return int(fields[4])
    return None


def pool_children(worker: int) -> list[int]:
    """A worker's processing-pool processes (not multiprocessing's resource tracker)."""
    return [pid for pid in children(worker)
            if "spawn_main" in cmdline(pid) and "resource_tracker" not in cmdline(pid)]
