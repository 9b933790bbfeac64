"""Run the app under uvicorn: one process, or a supervisor and its worker processes."""

from __future__ import annotations

import socket

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
        server.run()
        if not server.started:
            raise SystemExit("the server did not start; the log above says why")


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
