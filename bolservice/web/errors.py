"""Every failure becomes a JSON answer ``{"error": ...}`` with the status the contract gives."""

from __future__ import annotations

import errno
import logging

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from ..bol import UnsupportedFileError, UnusableContentError
from ..admission import Overloaded
from ..pool import JobTimeout
from ..locks import LockTimeout
from ..service import MissingStep
from ..store import InvalidSid
from .bodies import BadRequest

log = logging.getLogger("bolservice")

RETRY_AFTER_BUSY = "2"
RETRY_AFTER_OVERLOADED = "5"


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    messages = {
        404: f"no such endpoint: {request.url.path}; see /openapi.json",
        405: f"{request.method} is not allowed on {request.url.path}; see /openapi.json",
    }
    message = messages.get(error.status_code) or str(error.detail)
    return error_response(error.status_code, message, getattr(error, "headers", None))


def _handler(status: int, headers: dict[str, str] | None = None):
    async def handle(request: Request, error: Exception) -> JSONResponse:
        return error_response(status, str(error), headers)
    return handle


async def _job_timeout(request: Request, error: Exception) -> JSONResponse:
    return error_response(504, "processing took longer than the deadline; the workspace is unchanged. "
                               "Split the PDF, or try again later")


async def _busy(request: Request, error: Exception) -> JSONResponse:
    return error_response(409, "another request is working on this workspace; retry shortly",
                          {"Retry-After": RETRY_AFTER_BUSY})


def refusal(message: str, retry_after: str) -> JSONResponse:
    """A 503 for a worker with no room, which also closes the connection: a client that
    waits out Retry-After on a kept-alive connection could otherwise send its retry just as
    the server drops the idle connection (uvicorn's keep-alive is 5 s), and see no answer."""
    return error_response(503, message, {"Retry-After": retry_after, "Connection": "close"})


async def _overloaded(request: Request, error: Overloaded) -> JSONResponse:
    return refusal(str(error), str(error.retry_after))


# nginx's code for a request whose client closed the connection before the answer: the
# answer goes nowhere, but the log line and the metrics say what happened.
CLIENT_CLOSED = 499


async def _client_gone(request: Request, error: Exception) -> JSONResponse:
    return error_response(CLIENT_CLOSED, "the client closed the connection before its request was whole")


async def _os_error(request: Request, error: OSError) -> JSONResponse:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return error_response(507, "the disk under the workspaces is full; nothing was changed. Try again once "
                                   "the operator has freed space")
    return await _unexpected(request, error)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal error; the workspace is unchanged. Try again")


EXCEPTION_HANDLERS = {
    HTTPException: _http_error,
    InvalidSid: _handler(400),
    BadRequest: _handler(400),
    MissingStep: _handler(404),
    LockTimeout: _busy,
    UnsupportedFileError: _handler(415),
    UnusableContentError: _handler(422),
    JobTimeout: _job_timeout,
    Overloaded: _overloaded,
    ClientDisconnect: _client_gone,
    OSError: _os_error,
    Exception: _unexpected,
}
