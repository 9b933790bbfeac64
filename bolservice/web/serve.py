"""Run the app under uvicorn: one process, or a supervisor and its worker processes."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from uvicorn.supervisors import Multiprocess

from ..config import Settings


def serve(settings: Settings, log_config: dict) -> None:
    # access_log off: uvicorn's access log prints whole query strings, sids included;
    # RequestLog writes one line per request instead. On SIGTERM, requests in flight may
    # finish (a parse can take up to the job deadline) before the workers stop.
    config = uvicorn.Config("bolservice.web.app:create_app", factory=True, host=settings.host,
                            port=settings.port, workers=settings.workers, access_log=False,
                            log_config=log_config, timeout_graceful_shutdown=int(settings.job_timeout) + 10)
    if config.workers > 1:
        Multiprocess(config, sockets=[tcp_listener(config)]).run()
    else:
        server = uvicorn.Server(config)
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
