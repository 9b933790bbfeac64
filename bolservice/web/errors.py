"""Every failure becomes a JSON answer ``{"error": ..., "code": ...}`` with the status the
contract gives.

``CODES`` is the one list of the kinds of failure a client can switch on: each code with
its status and when it is given. The OpenAPI document and the README's "Errors" section
are derived from it (the README's by a test that compares them). A message may be
reworded; a code never changes meaning.
"""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse

from ..admission import Overloaded
from ..bol import BolInputError
from ..backend import LeaseLost, LockTimeout, StoreUnavailable
from ..pool import JobTimeout
from ..service import MissingStep, UnknownWorkspace
from ..workspace import InvalidSid
from .bodies import BadRequest

log = logging.getLogger("bolservice")

RETRY_AFTER_BUSY = "2"
RETRY_AFTER_OVERLOADED = "5"


@dataclass(frozen=True)
class Code:
    status: int
    when: str


CODES: dict[str, Code] = {
    "bad_sid": Code(400, "`_sid` missing where required, malformed, or given twice"),
    "bad_request": Code(400, "a malformed request otherwise (no file, wrong field, bad base64, bad query value, "
                             "a refused CORS preflight)"),
    "unauthorized": Code(401, "`/debug-sessions` without the right token"),
    "unknown_workspace": Code(404, "no workspace with that id"),
    "missing_step": Code(404, "the workspace lacks the step this needs (no PDF yet, no result)"),
    "not_found": Code(404, "no such route"),
    "method_not_allowed": Code(405, "the route does not take this method"),
    "body_timeout": Code(408, "the body stalled (`BOLSERVICE_BODY_TIMEOUT`)"),
    "workspace_busy": Code(409, "the workspace's lock was not free within the wait (`Retry-After`)"),
    "too_large": Code(413, "body over the upload limit (`BOLSERVICE_MAX_UPLOAD_MB`)"),
    "unsupported_file": Code(415, "not a PDF / not a spreadsheet, by its bytes"),
    "no_invoice": Code(422, "the PDF has no invoice, or no invoice rows"),
    "scanned_pdf": Code(422, "the PDF's pages without text are scans: no invoice can be read"),
    "encrypted_pdf": Code(422, "the PDF is password-protected"),
    "too_many_pages": Code(422, "the PDF is over the page limit (`BOLSERVICE_MAX_PAGES`)"),
    "unreadable_pdf": Code(422, "the PDF is damaged or malformed"),
    "missing_columns": Code(422, "the spreadsheet lacks required columns"),
    "no_match": Code(422, "no spreadsheet row matches the PDF's rows"),
    "unusable_content": Code(422, "other content that cannot be used (a figure too long, an unreadable "
                                  "spreadsheet, a file that needs more memory or stops its process)"),
    "client_closed": Code(499, "the client closed the connection before its request was whole; no one "
                               "reads this answer, the log and the metrics count it"),
    "internal": Code(500, "a defect of ours; never caused by content"),
    "overloaded": Code(503, "the work ahead would not let this finish in time, or the worker serves as many "
                            "requests as it may (`Retry-After`)"),
    "unhealthy": Code(503, "the root, the store or the pool is not usable now (`/health`)"),
    "deadline": Code(504, "processing ran past its deadline (`BOLSERVICE_JOB_TIMEOUT`)"),
    "disk_full": Code(507, "no room under the root (or in the store)"),
}

# The code of an HTTPException (Starlette's routing, the static files) by its status.
_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
               413: "too_large"}


def error_body(code: str, message: str) -> dict:
    """The members every error answer carries."""
    return {"error": message, "code": code, "status": CODES[code].status}


def error_response(code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON answer of a failure of kind ``code``, with that code's status."""
    return JSONResponse(error_body(code, message), status_code=CODES[code].status, headers=headers)


async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
    messages = {
        404: f"no such endpoint: {request.url.path}; see /openapi.json",
        405: f"{request.method} is not allowed on {request.url.path}; see /openapi.json",
    }
    message = messages.get(error.status_code) or str(error.detail)
    code = _HTTP_CODES.get(error.status_code, "bad_request" if error.status_code < 500 else "internal")
    return error_response(code, message, getattr(error, "headers", None))


def _coded(code: str):
    """A handler that answers the exception's message under ``code``."""
    async def handle(request: Request, error: Exception) -> JSONResponse:
        return error_response(code, str(error))
    return handle


async def _own_code(request: Request, error: BolInputError | BadRequest) -> JSONResponse:
    """The engine's errors and the request's shape carry their kind in ``code``."""
    return error_response(error.code, str(error))


async def _job_timeout(request: Request, error: Exception) -> JSONResponse:
    return error_response("deadline", "processing took longer than the deadline; the workspace is unchanged. "
                                      "Split the PDF, or try again later")


async def _busy(request: Request, error: Exception) -> JSONResponse:
    return error_response("workspace_busy", "another request is working on this workspace; retry shortly",
                          {"Retry-After": RETRY_AFTER_BUSY})


async def _lease_lost(request: Request, error: Exception) -> JSONResponse:
    return error_response("workspace_busy", "this request lost the workspace's lock to another before it could "
                                            "publish; nothing was changed. Send it again",
                          {"Retry-After": RETRY_AFTER_BUSY})


async def _store_unavailable(request: Request, error: Exception) -> JSONResponse:
    return error_response("unhealthy", "the workspace store cannot be reached now; nothing was changed. "
                                       "Try again shortly", {"Retry-After": RETRY_AFTER_OVERLOADED})


def refusal(message: str, retry_after: str) -> JSONResponse:
    """A 503 for a worker with no room, which also closes the connection: a client that
    waits out Retry-After on a kept-alive connection could otherwise send its retry just as
    the server drops the idle connection (uvicorn's keep-alive is 5 s), and see no answer."""
    return error_response("overloaded", message, {"Retry-After": retry_after, "Connection": "close"})


async def _overloaded(request: Request, error: Overloaded) -> JSONResponse:
    return refusal(str(error), str(error.retry_after))


async def _client_gone(request: Request, error: Exception) -> JSONResponse:
    # nginx's status for a request whose client closed the connection before the answer:
    # the answer goes nowhere, but the log line and the metrics say what happened.
    return error_response("client_closed", "the client closed the connection before its request was whole")


async def _os_error(request: Request, error: OSError) -> JSONResponse:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return error_response("disk_full", "the disk under the workspaces is full; nothing was changed. Try "
                                           "again once the operator has freed space")
    return await _unexpected(request, error)


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response("internal", "internal error; the workspace is unchanged. Try again")


# Starlette takes the handler of the first class in the exception's MRO that has one, so a
# subclass listed here (UnknownWorkspace) is answered by its own, not its parent's.
EXCEPTION_HANDLERS = {
    HTTPException: _http_error,
    InvalidSid: _coded("bad_sid"),
    BadRequest: _own_code,
    UnknownWorkspace: _coded("unknown_workspace"),
    MissingStep: _coded("missing_step"),
    LockTimeout: _busy,
    LeaseLost: _lease_lost,
    StoreUnavailable: _store_unavailable,
    BolInputError: _own_code,
    JobTimeout: _job_timeout,
    Overloaded: _overloaded,
    ClientDisconnect: _client_gone,
    OSError: _os_error,
    Exception: _unexpected,
}
