"""Run the app under uvicorn: one process, or a supervisor and its worker processes.

An idle server's processes sleep: uvicorn's server looks ten times a second whether it
should stop (and refreshes its Date header), and its supervisor asks each worker twice a
second whether it answers; with the job pool's threads (pool.py), an idle `serve --workers
2` used 5 to 10 % of a core (docs/BENCHMARKS.md, bench/idle.py). Here the server waits for
the signal that stops it, the app writes the Date header (web/requestlog.py), and the
supervisor waits for a signal or a worker's end, and asks the workers every 30 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import wait
from types import FrameType

import uvicorn
from uvicorn.supervisors import multiprocess

from ..config import Settings

log = logging.getLogger("uvicorn.error")


class QuietServer(uvicorn.Server):
    """uvicorn's server, whose main loop waits for the stop instead of looking for it ten
    times a second: the signal's handler wakes it. Its Date header is the app's (uvicorn's
    is refreshed by that loop)."""

    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        while not await self.on_tick(0):
            await self._stopping.wait()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)


class QuietWorker(multiprocess.Process):
    """A worker of uvicorn's supervisor that runs a QuietServer."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = QuietServer(config=self.config)
        return self._server


class Supervisor(multiprocess.Multiprocess):
    """uvicorn's supervisor, woken by what it acts on: a signal (stop, SIGHUP's restart),
    a worker's end (it is replaced at once) or, every HEALTH_EVERY seconds, the time to
    ask each worker whether it answers (a hung one is replaced). uvicorn's own loop woke
    twice a second and asked every worker each time."""

    HEALTH_EVERY = 30.0  # a hung worker is replaced within this and uvicorn's 5 s to answer

    def run(self) -> None:
        log.info("Started parent process [%d]", os.getpid())
        self.init_processes()
        with _signals_written_to() as signalled:
            while not self.should_exit.is_set():
                wait([signalled, *(worker.process.sentinel for worker in self.processes)], self.HEALTH_EVERY)
                with contextlib.suppress(BlockingIOError):  # the signals' bytes, read
                    signalled.recv(4096)
                self.handle_signals()
                self.keep_subprocess_alive()
        self.terminate_all()
        self.join_all()
        log.info("Stopping parent process [%d]", os.getpid())


@contextmanager
def _signals_written_to() -> Iterator[socket.socket]:
    """A socket that receives a byte for each signal that arrives (signal.set_wakeup_fd),
    so a wait on it ends when one does; the signal's Python handler runs as soon as the
    waiting call returns, before the loop looks at the signals."""
    signalled, written = socket.socketpair()
    signalled.setblocking(False)
    written.setblocking(False)
    previous = signal.set_wakeup_fd(written.fileno(), warn_on_full_buffer=False)
    try:
        yield signalled
    finally:
        signal.set_wakeup_fd(previous)
        signalled.close()
        written.close()


def serve(settings: Settings, log_config: dict) -> None:
    # access_log off: uvicorn's access log prints whole query strings, sids included;
    # RequestLog writes one line per request instead. On SIGTERM, requests in flight may
    # finish (a parse can take up to the job deadline) before the workers stop.
    config = uvicorn.Config("bolservice.web.app:create_app", factory=True, host=settings.host,
                            port=settings.port, workers=settings.workers, access_log=False, date_header=False,
                            log_config=log_config, timeout_graceful_shutdown=int(settings.job_timeout) + 10)
    if config.workers > 1:
        # uvicorn's supervisor makes its workers (at the start, as replacements, on SIGHUP)
        # of its module's Process class; this process only supervises.
        multiprocess.Process = QuietWorker
        Supervisor(config, sockets=[tcp_listener(config)]).run()
    else:
        server = QuietServer(config)
        with _signals_end_normally():
            server.run()
        if not server.started:
            raise SystemExit("the server did not start; the log above says why")


@contextmanager
def _signals_end_normally() -> Iterator[None]:
    """Once it has shut down, a single uvicorn server raises again the signal that stopped
    it; with the default handlers that ends the process before the caller's cleanup runs
    (the metrics directory stayed behind). Here it ends the process as a normal exit."""
    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def tcp_listener(config: uvicorn.Config) -> socket.socket:
    """uvicorn's listening socket, labelled as the TCP socket it is.

    uvicorn creates the socket it shares with its workers without a protocol number, and
    asyncio only turns Nagle's algorithm off (TCP_NODELAY) on connections whose socket says
    TCP. Left so, every keep-alive request after a connection's first waits some 40 ms for
    the client's delayed ACK.
    """
    bound = config.bind_socket()
    listener = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    listener.set_inheritable(True)
    return listener
