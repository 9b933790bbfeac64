"""The request body limit, enforced while the body streams in."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_response

# An over-limit body is read and thrown away up to this many times the limit before the
# 413 is sent: a client still sending when the answer comes would see a reset connection,
# not the JSON error. Past that, the answer is sent and the connection closed.
DRAIN_FACTOR = 4


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Answer 413 JSON for a body over the limit, declared (Content-Length) or streamed.

    A streamed body is cut off as soon as it passes the limit: the read raises inside the
    handler, which removes its staged file, and the 413 is sent from here.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send, received=0)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
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

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, received: int) -> None:
        more = True
        while more and received <= DRAIN_FACTOR * self.max_bytes:
            message = await receive()
            received += len(message.get("body", b""))
            more = message["type"] == "http.request" and message.get("more_body", False)
        message = (f"the body is over the limit of {self.max_bytes / (1024 * 1024):g} MB "
                   "(BOLSERVICE_MAX_UPLOAD_MB); send a smaller file")
        response = error_response(413, message, {"Connection": "close"} if more else None)
        await response(scope, receive, send)
