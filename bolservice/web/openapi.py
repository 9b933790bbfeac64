"""The OpenAPI 3.1 description of the HTTP contract, served at /openapi.json."""

from __future__ import annotations

from functools import cache

from .. import __version__
from ..bol.workbook import XLSX_TYPE
from .errors import CODES

SID = {"name": "_sid", "in": "query", "required": True,
       "description": "Workspace id: 1–128 of A-Z a-z 0-9 _ -. Alias: session_id.",
       "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"}}
OPTIONAL_SID = {**SID, "required": False}
ALIAS = {"name": "session_id", "in": "query", "required": False, "description": "Alias of _sid.",
         "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"}}
FILENAME = {"name": "filename", "in": "query", "required": False,
            "description": "File name to report for a raw body.", "schema": {"type": "string"}}

WARNING = {"type": "object", "properties": {
    "code": {"type": "string"}, "message": {"type": "string"},
    "page": {"type": ["integer", "null"]}, "text": {"type": ["string", "null"]}}}
FILE_JSON = {"type": "object", "properties": {
    "file_data": {"type": "string", "description": "base64, a data-URL prefix is allowed"},
    "attachmentData": {"type": "string", "description": "alias of file_data"},
    "filename": {"type": "string"}}}
MULTIPART_FILE = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}



def error_schema(status: int | None = None) -> dict:
    """The JSON of an error answer; its ``code`` one of those with ``status`` (all without)."""
    codes = [code for code, kind in CODES.items() if status in (None, kind.status)]
    return {"type": "object", "required": ["error", "code"], "properties": {
        "error": {"type": "string", "description": "What went wrong and what to do; may be reworded."},
        "code": {"type": "string", "enum": codes, "description": "The kind of failure: stable, for clients "
                                                                 "to switch on."},
        "status": {"type": "integer"}}}


def _when(codes: dict) -> str:
    return "; ".join(f"{code} ({kind.status}): {kind.when}" for code, kind in codes.items())


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _obj(**properties: dict) -> dict:
    return {"type": "object", "properties": properties}


def _errors(*statuses: str) -> dict:
    return {status: _json(error_schema(int(status)), _when(
        {code: kind for code, kind in CODES.items() if kind.status == int(status)}))
            for status in statuses}


def _op(summary: str, parameters: list, ok: dict, *codes: str, body: dict | None = None) -> dict:
    operation = {"summary": summary, "parameters": parameters, "responses": {"200": ok, **_errors(*codes)}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


STR, INT, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
WARNINGS = {"type": "array", "items": WARNING}
CREATED = _json(_obj(status=STR, session_id=STR, message=STR, created_at=STR), "Workspace created.")
UPLOADED = _json(_obj(status=STR, message=STR, session_id=STR, filename=STR, pages=INT, invoices=INT,
                      rows=INT, warnings=WARNINGS), "PDF parsed; its BOL CSV is published.")
MERGED = _json(_obj(status=STR, message=STR, session_id=STR, filename=STR, rows_in_file=INT,
                    rows_matched=INT, pdf_rows_unmatched=INT, file_rows_unmatched=INT,
                    warnings=WARNINGS), "Spreadsheet merged; the merged BOL CSV is published.")
CSV_FILE = {"description": "The 28-column BOL CSV (attachment), or with format=xlsx (or an Accept that names "
                           "the .xlsx type first) the same rows as an Excel workbook with typed cells.",
            "headers": {"Content-Disposition": {"schema": STR}},
            "content": {"text/csv": {"schema": {"type": "string"}},
                        XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}}}
FORMAT = {"name": "format", "in": "query", "required": False,
          "description": "csv (the default) or xlsx: the BOL as an Excel workbook whose cells have their types.",
          "schema": {"type": "string", "enum": ["csv", "xlsx"]}}
STATUS = _json(_obj(status=STR, session_id=STR, exists=BOOL, has_pdf=BOOL, has_csv=BOOL,
                    has_processed_data=BOOL, created_at={"type": ["string", "null"]},
                    updated_at={"type": ["string", "null"]}, stage={"type": ["string", "null"]}),
               "The workspace's state (exists false for an unknown id).")
VALIDATED = _json(_obj(session_id=STR, valid=BOOL, exists=BOOL, stage={"type": ["string", "null"]}),
                  "valid: the id is well formed (an upload creates its workspace); stage: null, empty, pdf "
                  "or merged.")
LISTED_FILE = _obj(name=STR, size=INT, type=STR, download_url=STR)
FILES = _json(_obj(session_id=STR, files={"type": "array", "items": LISTED_FILE}),
              "The workspace's downloadable files: the BOL CSV once there is a PDF, else none.")
RESULT = _json(_obj(status=STR, session_id=STR, output_file=STR, download_url=STR, row_count=INT,
                    file_size=INT),
               "The BOL CSV the uploads made: its data rows (header not counted) and its bytes.")
READY = _obj(status=STR, message=STR, endpoints={"type": "object"})
HOME = {"description": "JSON for Accept: application/json, */* or ?format=json; the page for a browser.",
        "content": {"application/json": {"schema": READY}, "text/html": {"schema": STR}}}
PAGE = {"description": "An HTML page; its script and style come from /static/.",
        "content": {"text/html": {"schema": STR}}}
FORMAT = {"name": "format", "in": "query", "required": False,
          "description": "json for the JSON answer whatever the Accept header says.",
          "schema": {"type": "string", "enum": ["json"]}}
FILENAME_PATH = {"name": "filename", "in": "path", "required": True,
                 "description": "The name to save the CSV as: 1–128 of A-Z a-z 0-9 . _ - and space, "
                                "starting with a letter or digit; any other name gives BOL_processed.csv.",
                 "schema": {"type": "string"}}
PDF_BODY = {"multipart/form-data": {"schema": MULTIPART_FILE}, "application/json": {"schema": FILE_JSON},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}}
SHEET_BODY = {
    "multipart/form-data": {"schema": _obj(file={"type": "string", "format": "binary"}, csv_data=STR)},
    "application/x-www-form-urlencoded": {"schema": _obj(csv_data=STR, filename=STR)},
    "application/json": {"schema": _obj(csv_data=STR, file_data=STR, filename=STR)},
    "text/csv": {"schema": {"type": "string"}},
}
# What an upload may answer besides 200 (an upload of the spreadsheet, 404 too).
UPLOAD_ERRORS = ("400", "408", "409", "413", "415", "422", "503", "504", "507")
UPLOAD_PDF = _op("Upload the BOL PDF; parses it and publishes its rows", [SID, ALIAS, FILENAME], UPLOADED,
                 *UPLOAD_ERRORS, body=PDF_BODY)
UPLOAD_PDF_JSON = _op("Upload the PDF as JSON (same as /upload)", [SID, ALIAS], UPLOADED,
                      *UPLOAD_ERRORS, body={"application/json": {"schema": FILE_JSON}})


@cache
def openapi_document() -> dict:
    new_session = _op("Create an empty workspace (POST wipes an existing one, GET leaves it as it is and "
                      "answers status 'exists'; generates an id if none)",
                      [OPTIONAL_SID, ALIAS], CREATED, "400", "409", "507")
    download = _op("Download the BOL CSV (or workbook): the merge if there is one, else the PDF's rows",
                   [SID, ALIAS, FORMAT], CSV_FILE, "400", "404", "409", "422", "503", "504")
    ping = _op("Cheap liveness", [], _json(_obj(status=STR, message=STR), "Alive."))
    health = _op("Liveness and readiness", [], _json(_obj(status=STR, checks={"type": "object"}), "Healthy."))
    unhealthy = error_schema(503)  # the checks' answer, with an error's members
    unhealthy["properties"] |= {"code": {**unhealthy["properties"]["code"], "enum": ["unhealthy"]},
                                "status": {"type": "string", "enum": ["unhealthy"]},
                                "checks": {"type": "object"}, "free_disk_mb": INT}
    health["responses"]["503"] = _json(unhealthy, f"unhealthy: {CODES['unhealthy'].when}; the error names the "
                                                  "failing checks.")
    paging = [{"name": name, "in": "query", "required": False, "description": text,
               "schema": {"type": "integer", "minimum": 0, "maximum": 999999999}}
              for name, text in (("limit", "At most this many workspaces (default: all; over 500, the answer "
                                           "streams)."),
                                 ("offset", "Skip this many first (default 0)."))]
    prefix = {"name": "prefix", "in": "query", "required": False,
              "description": "Only the workspaces whose id starts with this.",
              "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"}}
    debug_sessions = _op(
        "Every live workspace, for support, ordered by id; a page costs what it lists, not what the root holds",
        [OPTIONAL_SID, ALIAS, *paging, prefix],
        _json(_obj(total_sessions=INT, offset=INT, limit={"type": ["integer", "null"]}, prefix=STR,
                   all_sessions={"type": "array", "items": {"type": "object"}},
                   current_session={"type": ["object", "null"]}, workflow_status={"type": ["object", "null"]}),
              "The workspaces, by id (total_sessions counts those with the prefix)."), "400")
    debug_sessions["responses"] |= _errors("401")
    debug_sessions["security"] = [{"debugToken": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "bolservice", "version": __version__,
                 "description": "Bill of Lading PDFs and their spreadsheets in, the 28-column BOL CSV out. "
                                "Every non-2xx answer is JSON with an 'error' message and a stable 'code' "
                                "(the Error schema lists them all)."},
        "components": {"securitySchemes": {"debugToken": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Error": {**error_schema(), "description": _when(CODES)}}},
        "paths": {
            "/": {"get": _op("The service's page for people, or its readiness and endpoints as JSON",
                             [FORMAT], HOME)},
            "/support": {"get": _op("The support view of /debug-sessions, a page for people; the token "
                                    "is typed into the page", [], PAGE)},
            "/new-session": {"get": new_session, "post": new_session},
            "/auto-reset": {"post": new_session},
            "/clear-session": {"post": _op(
                "Delete the workspace (idempotent)", [OPTIONAL_SID, ALIAS],
                _json(_obj(status=STR, session_id=STR, existed=BOOL),
                      "Cleared, or status no_session without an id."), "400", "409", "507")},
            "/upload": {"post": UPLOAD_PDF},
            "/upload-base64": {"post": UPLOAD_PDF_JSON},
            "/upload-attachment": {"post": UPLOAD_PDF_JSON},
            "/upload-csv": {"post": _op("Upload the spreadsheet; merges it with the PDF's rows",
                                        [SID, ALIAS, FILENAME], MERGED,
                                        "404", *UPLOAD_ERRORS, body=SHEET_BODY)},
            "/download-bol": {"get": download},
            "/download-bol/{filename}": {"get": {
                **download, "parameters": [FILENAME_PATH, SID, ALIAS, FORMAT],
                "summary": "Same as /download-bol, saved under the name in the path when it is a safe one"}},
            "/download": {"get": {**download, "summary": "Same as /download-bol, saved as combined_data.csv"}},
            "/status": {"get": _op("The workspace's state", [SID, ALIAS], STATUS, "400")},
            "/validate-session": {"get": _op("Whether the id is usable, whether its workspace exists, and "
                                             "its stage", [SID, ALIAS], VALIDATED, "400")},
            "/files": {"get": _op("The workspace's downloadable files", [SID, ALIAS], FILES,
                                  "400", "404", "409")},
            "/process-workflow": {"post": _op(
                "The workspace's result (uploads are processed when they arrive; this only reports)",
                [SID, ALIAS], RESULT, "400", "404", "409")},
            "/debug-sessions": {"get": debug_sessions},
            "/health": {"get": health},
            "/api/health": {"get": {**health, "summary": "Same as /health"}},
            "/ping": {"get": ping},
            "/wake-up": {"get": ping},
            "/openapi.json": {"get": _op("This document", [], _json({"type": "object"}, "OpenAPI 3.1."))},
            "/metrics": {"get": _op("Prometheus metrics of all workers", [], {
                "description": "Prometheus text format.", "content": {"text/plain": {"schema": {"type": "string"}}}})},
        },
    }
