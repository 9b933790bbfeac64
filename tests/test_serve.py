"""How `bolservice serve` listens: the socket its worker processes share."""

from __future__ import annotations

import asyncio
import socket

import uvicorn

from bolservice.web.serve import tcp_listener
from tests.server import free_port


def test_connections_to_several_workers_send_without_delay():
    """Nagle's algorithm off on every accepted connection (else keep-alive waits ~40 ms)."""
    config = uvicorn.Config("bolservice.web.app:create_app", host="127.0.0.1", port=free_port(), workers=2)
    listener = tcp_listener(config)
    accepted = asyncio.Queue()

    async def main() -> int:
        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            accepted.put_nowait(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=listener)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", config.port)
            nodelay = await asyncio.wait_for(accepted.get(), 10)
            writer.close()
            return nodelay

    assert listener.proto == socket.IPPROTO_TCP
    assert asyncio.run(main()) != 0
