"""The endpoints of the HTTP contract (shared/API.md). Each parses, calls the service, shapes JSON."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .. import metrics
from ..bol.workbook import XLSX_TYPE
from ..config import Settings
from ..service import ResultFile, WorkspaceService, iso
from ..workspace import SID_PATTERN, validate_sid
from .bodies import BadRequest, BadSid, stage_pdf, stage_spreadsheet
from .errors import CODES, error_response
from .openapi import openapi_document

PRIVATE = {"Cache-Control": "no-store"}  # answers about a workspace are for its holder only
# A listing this long or shorter is answered at once; a longer one streams, in chunks this long.
LISTED_AT_ONCE = 500
# The BOL CSV's file name, as downloads offer it and listings name it.
BOL_CSV = "BOL_processed.csv"
# A file name a client may choose for its download (/download-bol/{filename}): no quote,
# backslash, control character or non-ASCII, so it goes into Content-Disposition as it is.
SAFE_FILENAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,127}")
NEXT_STEP = {"empty": "POST /upload with the PDF", "pdf": "POST /upload-csv with the spreadsheet, "
             "or GET /download-bol for the PDF's rows", "merged": "GET /download-bol"}


def sid_of(request: Request, required: bool = True) -> str | None:
    """The one workspace a request names: ``_sid``, or its alias ``session_id`` (both only
    with the same id), well formed: a malformed id is refused before the body is read, so
    it is answered as such (bad_sid) whatever the body holds."""
    sids, aliases = request.query_params.getlist("_sid"), request.query_params.getlist("session_id")
    if len(sids) > 1 or len(aliases) > 1 or len(set(sids + aliases)) > 1:
        raise BadSid("a request names one workspace: pass ?_sid=… once (session_id, its alias, "
                     "only with the same id)")
    sid = next(iter(sids + aliases), None)
    if not sid and required:
        raise BadSid("pass the workspace id as ?_sid=… (or ?session_id=…)")
    return validate_sid(sid) if sid else None


def _count(request: Request, name: str, default: int | None) -> int | None:
    """A non-negative whole number from the query string, or the default."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise BadRequest(f"?{name}= takes a whole number from 0 to 999999999, not {raw[:20]!r}")
    return int(raw)


def _prefix(request: Request) -> str:
    """The listing's id prefix from the query string: the start of a workspace id."""
    raw = request.query_params.get("prefix", "")
    if raw and not SID_PATTERN.fullmatch(raw):
        raise BadRequest("?prefix= takes the start of a workspace id: 1 to 128 characters of "
                         "A-Z, a-z, 0-9, '_' or '-'")
    return raw


def _listing_json(head: str, rows: list[str]) -> bytes:
    """The listing's answer: its head's members, then ``all_sessions``."""
    return f'{head[:-1]}, "all_sessions": [{", ".join(rows)}]}}'.encode()


def private_json(content: dict, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status, headers=PRIVATE)


def download_url(sid: str) -> str:
    """Where the workspace's BOL CSV is downloaded (a valid sid needs no escaping)."""
    return f"/download-bol?_sid={sid}"


def wants_workbook(request: Request) -> bool:
    """Whether a download asks for the workbook: ``?format=xlsx``, or, without ``format``,
    an Accept header whose first type is the .xlsx type. ``format`` is csv or xlsx."""
    form = request.query_params.get("format")
    if form is not None:
        if form.lower() not in ("csv", "xlsx"):
            raise BadRequest(f"?format= takes csv or xlsx, not {form[:20]!r}")
        return form.lower() == "xlsx"
    first = request.headers.get("accept", "").split(",")[0]
    return first.split(";")[0].strip().lower() == XLSX_TYPE


def attachment_name(requested: str) -> str:
    """The file name a download is offered under: the client's when it is safe, else BOL_CSV."""
    return requested if SAFE_FILENAME.fullmatch(requested) else BOL_CSV


def listed_file(sid: str, result: ResultFile) -> dict:
    """The BOL CSV as /files lists it."""
    return {"name": BOL_CSV, "size": result.size, "type": "text/csv", "download_url": download_url(sid)}


class Api:
    def __init__(self, service: WorkspaceService, settings: Settings) -> None:
        self.service = service
        self.settings = settings

    def routes(self) -> list[Route]:
        both = ["GET", "POST"]
        return [
            Route("/new-session", self.new_session, methods=both),
            Route("/auto-reset", self.new_session, methods=["POST"]),
            Route("/clear-session", self.clear_session, methods=["POST"]),
            Route("/upload", self.upload, methods=["POST"]),
            Route("/upload-base64", self.upload, methods=["POST"]),
            Route("/upload-attachment", self.upload, methods=["POST"]),
            Route("/upload-csv", self.upload_csv, methods=["POST"]),
            Route("/download-bol", self.download(BOL_CSV), methods=["GET"]),
            Route("/download-bol/{filename}", self.download_named, methods=["GET"]),
            Route("/download", self.download("combined_data.csv"), methods=["GET"]),
            Route("/status", self.status, methods=["GET"]),
            Route("/validate-session", self.validate_session, methods=["GET"]),
            Route("/files", self.files, methods=["GET"]),
            Route("/process-workflow", self.process_workflow, methods=["POST"]),
            Route("/debug-sessions", self.debug_sessions, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/api/health", self.health, methods=["GET"]),
            Route("/ping", self.ping, methods=["GET"]),
            Route("/wake-up", self.ping, methods=["GET"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
        ]

    async def new_session(self, request: Request) -> Response:
        # GET is safe (browsers and proxies prefetch links): it never wipes a workspace.
        wipe = request.method == "POST"
        manifest, created = await self.service.new(sid_of(request, required=False), wipe=wipe)
        if not created:
            return private_json({"status": "exists", "session_id": manifest.session_id,
                                 "message": "the workspace exists and was left as it is; POST /new-session "
                                            "empties it", "created_at": iso(manifest.created)})
        return private_json({"status": "created", "session_id": manifest.session_id,
                             "message": "empty workspace ready; POST /upload with the PDF next",
                             "created_at": iso(manifest.created)})

    async def clear_session(self, request: Request) -> Response:
        sid = sid_of(request, required=False)
        if sid is None:
            return private_json({"status": "no_session", "message": "no _sid given; nothing to clear"})
        existed = await self.service.clear(sid)
        return private_json({"status": "cleared", "session_id": sid, "existed": existed})

    async def upload(self, request: Request) -> Response:
        sid = sid_of(request)
        filename, summary = await self._staged(request, ".pdf", stage_pdf, self.service.upload_pdf, sid)
        return private_json({
            "status": "success", "session_id": sid, "filename": filename,
            "message": f"read {summary['rows']} row(s) of {summary['invoices']} invoice(s) "
                       f"from {summary['pages']} page(s)",
            **summary,
        })

    async def upload_csv(self, request: Request) -> Response:
        sid = sid_of(request)
        filename, summary = await self._staged(request, "", stage_spreadsheet,
                                               self.service.upload_spreadsheet, sid)
        return private_json({
            "status": "success", "session_id": sid, "filename": filename,
            "message": f"matched {summary['rows_matched']} of {summary['rows_in_file']} spreadsheet row(s)",
            **summary,
        })

    async def _staged(self, request: Request, suffix: str,
                      receive: Callable[[Request, Path], Awaitable[str]],
                      process: Callable[[str, Path, str], Awaitable[dict]], sid: str) -> tuple[str, dict]:
        """Stage the body to a file under the root, then hand it to the service."""
        with self.service.scratch(suffix) as staged:
            filename = await receive(request, staged)
            return filename, await process(sid, staged, filename)

    def download(self, attachment: str) -> Callable[[Request], Awaitable[Response]]:
        async def download(request: Request) -> Response:
            return await self._bol_csv(request, attachment)
        return download

    async def download_named(self, request: Request) -> Response:
        return await self._bol_csv(request, attachment_name(request.path_params["filename"]))

    async def _bol_csv(self, request: Request, attachment: str) -> Response:
        """The workspace's BOL CSV, or its workbook (``format=xlsx``, or an Accept that
        names the .xlsx type first), offered as ``attachment`` (a name that needs no
        quoting; a workbook's ``.csv`` becomes ``.xlsx``)."""
        sid = sid_of(request)
        if wants_workbook(request):
            data, media_type = await self.service.workbook(sid), XLSX_TYPE
            attachment = attachment.removesuffix(".csv") + ".xlsx" if attachment.endswith(".csv") else attachment
        else:
            data, media_type = await self.service.result(sid), "text/csv; charset=utf-8"
        return Response(data, media_type=media_type, headers={
            **PRIVATE, "Content-Disposition": f'attachment; filename="{attachment}"'})

    async def status(self, request: Request) -> Response:
        return private_json(await asyncio.to_thread(self.service.status, sid_of(request)))

    async def validate_session(self, request: Request) -> Response:
        sid = sid_of(request)
        state = await asyncio.to_thread(self.service.status, sid)  # validates the sid: a malformed one is 400
        # Any well-formed id is valid: an upload creates its workspace.
        return private_json({"session_id": sid, "valid": True, "exists": state["exists"],
                             "stage": state["stage"]})

    async def files(self, request: Request) -> Response:
        sid = sid_of(request)
        results = await self.service.result_files(sid)
        return private_json({"session_id": sid, "files": [listed_file(sid, result) for result in results]})

    async def process_workflow(self, request: Request) -> Response:
        # Uploads are processed when they arrive: this reports the result they left.
        sid = sid_of(request)
        result = await self.service.result_file(sid, "process-workflow")
        return private_json({"status": "success", "session_id": sid, "output_file": BOL_CSV,
                             "download_url": download_url(sid), "row_count": result.rows,
                             "file_size": result.size})

    async def debug_sessions(self, request: Request) -> Response:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {self.settings.debug_token}"
        if not secrets.compare_digest(given.encode(), expected.encode()):
            return error_response("unauthorized", "send Authorization: Bearer <BOLSERVICE_DEBUG_TOKEN>",
                                  {"WWW-Authenticate": "Bearer"})
        sid = sid_of(request, required=False)
        prefix = _prefix(request)
        offset, limit = _count(request, "offset", 0), _count(request, "limit", None)
        current = await asyncio.to_thread(self.service.describe, sid) if sid else None
        workflow = None
        if sid:
            reached = current["stage"] if current else None
            workflow = {"session_id": sid, "exists": current is not None, "stage": reached,
                        "next_step": NEXT_STEP.get(reached, "POST /new-session or /upload")}
        total = await asyncio.to_thread(self.service.count, prefix)
        head = json.dumps({"total_sessions": total, "offset": offset, "limit": limit, "prefix": prefix,
                           "current_session": current, "workflow_status": workflow})
        if limit is not None and limit <= LISTED_AT_ONCE:
            rows, _ = await asyncio.to_thread(self.service.listed_json, prefix, offset, limit)
            return Response(_listing_json(head, rows), media_type="application/json", headers=PRIVATE)
        return StreamingResponse(self._listing(head, prefix, offset, limit), media_type="application/json",
                                 headers=PRIVATE)

    async def _listing(self, head: str, prefix: str, offset: int, limit: int | None) -> AsyncIterator[bytes]:
        """A long listing as chunked JSON: a chunk of workspaces at a time, each read and
        made in a thread, so the event loop never waits on the whole listing."""
        yield _listing_json(head, [])[:-2]
        after, left, first = None, limit, True
        while left is None or left > 0:
            size = LISTED_AT_ONCE if left is None else min(left, LISTED_AT_ONCE)
            rows, after = await asyncio.to_thread(self.service.listed_json, prefix,
                                                  offset if first else 0, size, after)
            if rows:
                yield ("" if first else ", ").encode() + ", ".join(rows).encode()
                first = False
                left = None if left is None else left - len(rows)
            if len(rows) < size:
                break
        yield b"]}"

    async def health(self, request: Request) -> Response:
        checks, figures = await self.service.health()
        healthy = all(checks.values())
        body = {"status": "healthy" if healthy else "unhealthy", "checks": checks, **figures}
        if not healthy:
            # The answer keeps its members (status is "unhealthy", a word) and adds an error's.
            body["error"] = "failing: " + ", ".join(name for name, ok in checks.items() if not ok)
            body["code"] = "unhealthy"
        return JSONResponse(body, status_code=200 if healthy else CODES["unhealthy"].status)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"status": "alive", "message": "bolservice is running"})

    async def metrics(self, request: Request) -> Response:
        body, content_type = await asyncio.to_thread(
            metrics.exposition, self.service.count)
        return Response(body, media_type=content_type)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document())


