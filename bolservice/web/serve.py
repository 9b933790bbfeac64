"""Run the app under uvicorn: one process, or a supervisor and its worker processes.

An idle server's processes sleep: uvicorn's server looks ten times a second whether it
should stop (and refreshes its Date header), and its supervisor asks each worker twice a
second whether it answers; with the job pool's threads (pool.py), an idle `serve --workers
2` used 5 to 10 % of a core (docs/BENCHMARKS.md, bench/idle.py). Here the server waits for
the signal that stops it, the app writes the Date header (web/requestlog.py), and the
supervisor asks every few seconds, while still replacing a worker that died within half a
second.
"""

from __future__ import annotations

import asyncio
import math
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn
from uvicorn.supervisors import multiprocess

from ..config import Settings


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
    """uvicorn's supervisor, which asks its workers whether they answer (a hung one is
    replaced) every HEALTH_EVERY seconds instead of twice a second; between asks it still
    finds a worker that died, at each of its looks (twice a second)."""

    HEALTH_EVERY = 5.0

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self._asked_at = -math.inf

    def keep_subprocess_alive(self) -> None:
        now = time.monotonic()
        if now - self._asked_at < self.HEALTH_EVERY and all(p.process.is_alive() for p in self.processes):
            return
        self._asked_at = now
        super().keep_subprocess_alive()


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
