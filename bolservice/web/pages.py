"""The pages for people: the workflow at ``/``, the support view at ``/support``.

Plain HTML, CSS and ES modules from ``web/static``, package data, so an installed wheel
serves them as a checkout does. They fetch nothing from elsewhere and call the same public
endpoints as every other client. Every page and file goes out under a strict
Content-Security-Policy: scripts and styles from this origin only, none inline.
"""

from __future__ import annotations

from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
    "Vary": "Accept",
}
# What `GET /` tells a script that asks for JSON, as the replaced service did.
ENDPOINTS = {
    "new_session": "POST /new-session?_sid=ID",
    "clear_session": "POST /clear-session?_sid=ID",
    "upload_pdf": "POST /upload?_sid=ID",
    "upload_spreadsheet": "POST /upload-csv?_sid=ID",
    "download": "GET /download-bol?_sid=ID",
    "status": "GET /status?_sid=ID",
    "files": "GET /files?_sid=ID",
    "validate_session": "GET /validate-session?_sid=ID",
    "process_workflow": "POST /process-workflow?_sid=ID",
    "debug_sessions": "GET /debug-sessions (Authorization: Bearer token)",
    "health": "GET /health",
    "ping": "GET /ping",
    "openapi": "GET /openapi.json",
    "page": "GET / in a browser",
    "support_page": "GET /support in a browser",
}


def _page(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def wants_page(request: Request) -> bool:
    """A browser's navigation (text/html before any JSON in Accept), unless ``?format=json``.
    Scripts (curl sends ``*/*``) get JSON, as from the replaced service."""
    if request.query_params.get("format") == "json":
        return False
    accept = request.headers.get("accept", "").lower()
    html, json = accept.find("text/html"), accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)


class Pages:
    def __init__(self) -> None:
        self.workflow_page = _page("index.html")
        self.support_page = _page("support.html")

    def routes(self) -> list[Route | Mount]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/support", self.support, methods=["GET"]),
            Mount("/static", app=GuardedFiles(packages=[(__package__, "static")]), name="static"),
        ]

    async def home(self, request: Request) -> Response:
        if wants_page(request):
            return HTMLResponse(self.workflow_page, headers=PAGE_HEADERS)
        return JSONResponse({"status": "ready", "message": "bolservice is running; see /openapi.json",
                             "endpoints": ENDPOINTS}, headers={"Vary": "Accept"})

    async def support(self, request: Request) -> Response:
        return HTMLResponse(self.support_page, headers=PAGE_HEADERS)


class GuardedFiles(StaticFiles):
    """The pages' files, under the pages' Content-Security-Policy."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def guarded(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      *((k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()
                                        if k != "Vary")]
            await send(message)

        await super().__call__(scope, receive, guarded)
