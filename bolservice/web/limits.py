"""Limits on requests: how many a worker serves at once, and their bodies' size, pace and
one way of saying their length, enforced while the bodies stream in."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import RETRY_AFTER_OVERLOADED, error_response, refusal

# An over-limit body is read and thrown away up to this many times the limit before the
# 413 is sent: a client still sending when the answer comes would see a reset connection,
# not the JSON error. Past that, the answer is sent and the connection closed.
DRAIN_FACTOR = 4


class BodyTooLarge(Exception):
    pass


class BodyStalled(Exception):
    pass


class BodyLimit:
    """Answer 413 JSON for a body over the limit, declared (Content-Length) or streamed;
    408 JSON for a body that sends nothing for ``stall_seconds``; 400 JSON for a request
    that declares its length twice over (Transfer-Encoding and Content-Length, which a
    proxy in front may read otherwise: request smuggling).

    A streamed body is cut off as soon as it breaks a limit: the read raises inside the
    handler, which removes its staged file, and the answer is sent from here.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, stall_seconds: float = 60.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.stall_seconds = stall_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"transfer-encoding" in headers and b"content-length" in headers:
            message = "the request has both Transfer-Encoding and Content-Length; send one"
            await error_response("bad_request", message, {"Connection": "close"})(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, received=0)
            return
        received = 0
        started = whole = False

        async def counted() -> Message:
            nonlocal received, whole
            if whole:  # the body is in: a read now waits for the client to go, and may
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.stall_seconds)
            except TimeoutError:
                raise BodyStalled() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                whole = not message.get("more_body", False)
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send, received)
        except BodyStalled:
            if started:
                raise
            message = (f"the request body sent nothing for {self.stall_seconds:g} s "
                       "(BOLSERVICE_BODY_TIMEOUT); send it again")
            await error_response("body_timeout", message, {"Connection": "close"})(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, received: int) -> None:
        more = True
        while more and received <= DRAIN_FACTOR * self.max_bytes:
            message = await receive()
            received += len(message.get("body", b""))
            more = message["type"] == "http.request" and message.get("more_body", False)
        message = (f"the body is over the limit of {self.max_bytes / (1024 * 1024):g} MB "
                   "(BOLSERVICE_MAX_UPLOAD_MB); send a smaller file")
        response = error_response("too_large", message, {"Connection": "close"} if more else None)
        await response(scope, receive, send)


class RequestCap:
    """Answer 503 JSON (with Retry-After) past ``max_requests`` requests in progress in
    this worker: a flood of slow uploads cannot take every file descriptor. A connection
    between two requests holds no place (uvicorn closes one idle for 5 s)."""

    def __init__(self, app: ASGIApp, max_requests: int) -> None:
        self.app = app
        self.max_requests = max_requests
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_requests:
            message = (f"this worker is serving as many requests as it may ({self.max_requests}, "
                       "BOLSERVICE_MAX_CONNECTIONS); retry shortly")
            await refusal(message, RETRY_AFTER_OVERLOADED)(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
