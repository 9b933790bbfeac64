"""One log line and the request metrics per request, with a request id the client can quote."""

from __future__ import annotations

import logging
import re
import secrets
import time
from email.utils import formatdate
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import metrics
from ..workspace import short_sid

log = logging.getLogger("bolservice.access")

_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # what a request id may echo back


class RequestLog:
    """Log method, path, status, duration, request id and the sid's first 8 characters,
    and count the request by endpoint and status.

    The request id is the client's ``X-Request-ID`` when it is a sane token, otherwise a
    new one; it is echoed in the response either way. Metrics are labelled by the route's
    path, or "other", so unknown paths cannot multiply the series. Every answer carries the
    Date header (RFC 9110 asks an origin server with a clock for one): uvicorn's is off,
    since refreshing it woke the server every second (web/serve.py).
    """

    def __init__(self, app: ASGIApp, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _CLIENT_ID.fullmatch(given) else secrets.token_hex(8)
        status = 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"date", http_date()),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            seconds = time.perf_counter() - started
            endpoint = scope["path"] if scope["path"] in self.paths else "other"
            metrics.REQUESTS.labels(endpoint, str(status)).inc()
            metrics.REQUEST_SECONDS.labels(endpoint).observe(seconds)
            log.info("%s %s %s", scope["method"], scope["path"], status, extra={
                "method": scope["method"], "path": scope["path"], "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "request_id": request_id, "sid": _sid(scope),
            })


_date: tuple[int, bytes] = (0, b"")  # the second, and its HTTP date


def http_date() -> bytes:
    """Now as an HTTP date (``Sun, 06 Dec 2026 22:40:18 GMT``), made once a second."""
    global _date
    second = int(time.time())
    if _date[0] != second:
        _date = (second, formatdate(second, usegmt=True).encode())
    return _date[1]


def _sid(scope: Scope) -> str | None:
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    sid = (query.get("_sid") or query.get("session_id") or [None])[0]
    return short_sid(sid) if sid else None
