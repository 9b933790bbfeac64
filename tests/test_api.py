"""Every endpoint, body format and error status of shared/API.md, over HTTP on a real server."""

from __future__ import annotations

import base64
import io
import secrets
from pathlib import Path

import openpyxl
import pytest
from starlette.routing import Route

from bolservice.web.errors import CODES
from tests.bolpdf import BolInvoice, Item, build_bol, padded_pdf, render, text_line
from tests.server import DEBUG_TOKEN

AUTH = {"Authorization": f"Bearer {DEBUG_TOKEN}"}

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PDF = (EXAMPLES / "sample.pdf").read_bytes()
SHEET = (EXAMPLES / "sample.csv").read_bytes()
MERGED = (EXAMPLES / "sample_bol.csv").read_bytes()


def new_sid() -> str:
    return secrets.token_urlsafe(12)


def pdf_only_csv() -> bytes:
    from bolservice.bol import extract_pdf, extraction_records, write_bol_csv

    return write_bol_csv(extraction_records(extract_pdf(PDF))).encode()


PDF_ONLY = pdf_only_csv()


def upload(client, sid: str, pdf: bytes = PDF):
    return client.post("/upload", params={"_sid": sid}, files={"file": ("bol.pdf", pdf, "application/pdf")})


def upload_sheet(client, sid: str, sheet: bytes = SHEET, name: str = "orders.csv"):
    return client.post("/upload-csv", params={"_sid": sid}, files={"file": (name, sheet)})


def download(client, sid: str):
    return client.get("/download-bol", params={"_sid": sid})


def merged_workspace(client) -> str:
    sid = new_sid()
    assert upload(client, sid).status_code == 200
    assert upload_sheet(client, sid).status_code == 200
    return sid


def carries_its_code(response) -> None:
    """An httpx response hook: an error answer carries a code of the table (web/errors.py),
    and the status that code has."""
    if response.status_code >= 400 and response.request.method != "HEAD":
        response.read()
        code = response.json().get("code")
        assert code in CODES and CODES[code].status == response.status_code, (response.status_code, response.text)


def xlsx(sheet_csv: bytes) -> bytes:
    import csv

    book = openpyxl.Workbook()
    for row in csv.reader(io.StringIO(sheet_csv.decode())):
        book.active.append([int(c.replace(",", "")) if c.replace(",", "").isdigit() else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- liveness, discovery -------------------------------------------------------------

@pytest.mark.parametrize("path", ["/ping", "/wake-up"])
def test_ping(client, path):
    answer = client.get(path)
    assert answer.status_code == 200 and answer.json()["status"] == "alive"


def test_health_reports_each_check(client):
    answer = client.get("/health")
    assert answer.status_code == 200
    checks = answer.json()["checks"]
    assert all(checks.values()) and set(checks) in ({"root_writable", "free_disk", "worker_pool"},  # a directory
                                                    {"store_reachable", "worker_pool"})  # a shared store


def test_openapi_describes_every_route(client, server):
    from bolservice.web.app import create_app

    document = client.get("/openapi.json").json()
    app = create_app()
    # Every endpoint; not the pages' files under /static (a Mount).
    routes = {route.path: {m.lower() for m in route.methods} - {"head"} for route in app.routes
              if isinstance(route, Route)}
    assert set(document["paths"]) == set(routes)
    for path, methods in routes.items():
        assert set(document["paths"][path]) == methods, path
        for operation in document["paths"][path].values():
            assert "200" in operation["responses"] and operation["summary"]


# --- the workflow, one endpoint at a time ------------------------------------------

@pytest.mark.parametrize("method", ["POST", "GET"])
def test_new_session_without_id_generates_a_long_random_one(client, method):
    answer = client.request(method, "/new-session")
    sid = answer.json()["session_id"]
    assert answer.status_code == 200 and answer.json()["status"] == "created"
    assert len(sid) >= 22  # at least 128 bits in URL-safe base64
    assert client.get("/status", params={"_sid": sid}).json()["stage"] == "empty"


@pytest.mark.parametrize("path", ["/new-session", "/auto-reset"])
def test_new_session_with_an_existing_id_wipes_it(client, path):
    sid = merged_workspace(client)
    answer = client.post(path, params={"_sid": sid})
    assert answer.json() == {**answer.json(), "status": "created", "session_id": sid}
    status = client.get("/status", params={"_sid": sid}).json()
    assert (status["exists"], status["has_pdf"], status["has_csv"]) == (True, False, False)
    assert download(client, sid).status_code == 404


def test_clear_session_deletes_and_is_idempotent(client):
    sid = merged_workspace(client)
    assert client.post("/clear-session", params={"_sid": sid}).json() == {
        "status": "cleared", "session_id": sid, "existed": True}
    assert client.post("/clear-session", params={"_sid": sid}).json()["status"] == "cleared"
    assert client.get("/status", params={"_sid": sid}).json()["exists"] is False
    assert client.post("/clear-session").json()["status"] == "no_session"


def test_upload_reports_counts_and_warnings_and_download_serves_the_pdf_rows(client):
    sid = new_sid()
    answer = upload(client, sid, build_bol([BolInvoice("A9", [Item("1", "S", "12", "X", "1.00")], cube=None)]))
    body = answer.json()
    assert answer.status_code == 200
    assert {k: body[k] for k in ("status", "session_id", "filename", "pages", "invoices", "rows")} == {
        "status": "success", "session_id": sid, "filename": "bol.pdf", "pages": 1, "invoices": 1, "rows": 1}
    assert [w["code"] for w in body["warnings"]] == ["no_cube"] and body["message"]


def test_download_serves_the_merge_with_its_file_name(client):
    sid = merged_workspace(client)
    answer = download(client, sid)
    assert answer.status_code == 200 and answer.content == MERGED
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="BOL_processed.csv"'
    legacy = client.get("/download", params={"_sid": sid})
    assert legacy.content == MERGED
    assert legacy.headers["content-disposition"] == 'attachment; filename="combined_data.csv"'


def test_status_follows_the_workflow(client):
    sid = new_sid()
    unknown = client.get("/status", params={"_sid": sid}).json()
    assert (unknown["exists"], unknown["has_pdf"]) == (False, False)
    upload(client, sid)
    after_pdf = client.get("/status", params={"_sid": sid}).json()
    assert (after_pdf["has_pdf"], after_pdf["has_csv"], after_pdf["has_processed_data"]) == (True, False, True)
    upload_sheet(client, sid)
    merged = client.get("/status", params={"_sid": sid}).json()
    assert (merged["has_csv"], merged["stage"]) == (True, "merged")
    assert merged["created_at"] <= merged["updated_at"]


def test_session_id_is_an_alias_and_extra_client_parameters_are_ignored(client):
    sid = new_sid()
    params = {"session_id": sid, "_t": "1700000000", "_action": "upload"}
    assert client.post("/upload", params=params, files={"file": ("b.pdf", PDF)}).status_code == 200
    assert client.get("/download-bol", params=params).content == PDF_ONLY


# --- body formats --------------------------------------------------------------------

@pytest.mark.parametrize("path, field, prefix", [
    ("/upload", "file_data", ""), ("/upload", "attachmentData", ""),
    ("/upload", "file_data", "data:application/pdf;base64,"),
    ("/upload-base64", "file_data", ""), ("/upload-attachment", "attachmentData", "data:application/pdf;base64,"),
])
def test_pdf_as_base64_json(client, path, field, prefix):
    sid = new_sid()
    body = {field: prefix + base64.b64encode(PDF).decode(), "filename": "scan.pdf"}
    answer = client.post(path, params={"_sid": sid}, json=body)
    assert answer.status_code == 200 and answer.json()["filename"] == "scan.pdf"
    assert download(client, sid).content == PDF_ONLY


def test_pdf_as_raw_body(client):
    sid = new_sid()
    answer = client.post("/upload", params={"_sid": sid, "filename": "raw.pdf"}, content=PDF,
                         headers={"Content-Type": "application/pdf"})
    assert answer.status_code == 200 and answer.json()["filename"] == "raw.pdf"
    assert download(client, sid).content == PDF_ONLY


@pytest.mark.parametrize("shape", ["multipart csv", "multipart xlsx", "multipart field csv_data",
                                   "form csv_data", "json csv_data", "json file_data xlsx",
                                   "json file_data data-url", "raw text/csv"])
def test_spreadsheet_in_every_shape(client, shape):
    sid = new_sid()
    upload(client, sid)
    params = {"_sid": sid}
    sends = {
        "multipart csv": lambda: client.post("/upload-csv", params=params, files={"file": ("o.csv", SHEET)}),
        "multipart xlsx": lambda: client.post("/upload-csv", params=params, files={"file": ("o.xlsx", xlsx(SHEET))}),
        "multipart field csv_data": lambda: client.post(
            "/upload-csv", params=params, data={"csv_data": SHEET.decode()}, files={"other": ("x", b"")}),
        "form csv_data": lambda: client.post("/upload-csv", params=params, data={"csv_data": SHEET.decode()}),
        "json csv_data": lambda: client.post("/upload-csv", params=params,
                                             json={"csv_data": SHEET.decode(), "filename": "o.csv"}),
        "json file_data xlsx": lambda: client.post("/upload-csv", params=params, json={
            "file_data": base64.b64encode(xlsx(SHEET)).decode(), "filename": "o.xlsx"}),
        "json file_data data-url": lambda: client.post("/upload-csv", params=params, json={
            "file_data": "data:text/csv;base64," + base64.b64encode(SHEET).decode(), "filename": "o.csv"}),
        "raw text/csv": lambda: client.post("/upload-csv", params=params, content=SHEET,
                                            headers={"Content-Type": "text/csv"}),
    }
    answer = sends[shape]()
    assert answer.status_code == 200, answer.text
    assert {k: answer.json()[k] for k in ("rows_in_file", "rows_matched", "pdf_rows_unmatched",
                                          "file_rows_unmatched")} == {
        "rows_in_file": 6, "rows_matched": 6, "pdf_rows_unmatched": 0, "file_rows_unmatched": 0}
    assert download(client, sid).content == MERGED


def test_filenames_are_reported_without_directories_or_control_characters(client, server):
    sid = new_sid()
    answer = client.post("/upload", params={"_sid": sid}, files={"file": ("../../etc/passwd\u00e9.pdf", PDF)})
    assert answer.status_code == 200 and answer.json()["filename"] == "passwd\u00e9.pdf"
    answer = client.post("/upload", params={"_sid": sid}, json={
        "file_data": base64.b64encode(PDF).decode(), "filename": "..\\..\\x\u0000y\u00e9.pdf"})
    assert answer.status_code == 200 and answer.json()["filename"] == "xy\u00e9.pdf"
    assert not (server.root.parent / "x").exists()


# --- retries and replacement ---------------------------------------------------------

def test_uploads_are_idempotent_and_a_new_pdf_discards_the_merge(client):
    sid = merged_workspace(client)
    assert upload_sheet(client, sid).status_code == 200
    assert download(client, sid).content == MERGED
    assert upload(client, sid).status_code == 200
    assert download(client, sid).content == PDF_ONLY
    status = client.get("/status", params={"_sid": sid}).json()
    assert (status["has_csv"], status["stage"]) == (False, "pdf")


# --- errors: JSON, the right status, and the workspace unchanged ----------------------

def assert_error(answer, status: int, *words: str, code: str | None = None):
    """The answer is a JSON error of ``status`` whose message holds ``words``, and its code
    is ``code`` (without one, a code of the table with that status)."""
    assert answer.status_code == status, answer.text
    body = answer.json()
    for word in words:
        assert word in body["error"], body["error"]
    assert body.get("code") in CODES and CODES[body["code"]].status == status, body
    assert code is None or body["code"] == code, body


@pytest.mark.parametrize("send, status, code, words", [
    (lambda c, s: c.post("/upload"), 400, "bad_sid", ["_sid"]),
    (lambda c, s: c.post("/upload", params={"_sid": s}, json={"file_data": "not base64!"}), 400, "bad_request",
     ["base64"]),
    (lambda c, s: c.post("/upload", params={"_sid": s}, json=[1, 2]), 400, "bad_request", ["object"]),
    (lambda c, s: c.post("/upload", params={"_sid": s}, content=b"{oops",
                         headers={"Content-Type": "application/json"}), 400, "bad_request", ["JSON"]),
    (lambda c, s: c.post("/upload", params={"_sid": s}, json={"filename": "x.pdf"}), 400, "bad_request",
     ["file_data"]),
    (lambda c, s: c.post("/upload", params={"_sid": s}, files={"document": ("b.pdf", PDF)}), 400, "bad_request",
     ["'file'", "document"]),
    (lambda c, s: c.post("/upload", params={"_sid": s}, content=b""), 400, "bad_request", ["no file"]),
    (lambda c, s: c.post("/upload-csv", params={"_sid": s}, json={"csv": "a,b"}), 400, "bad_request",
     ["csv_data"]),
    (lambda c, s: c.post("/upload", params={"_sid": s}, files={"file": ("b.pdf", b"MZ\x90\x00binary")}),
     415, "unsupported_file", ["not a PDF"]),
    (lambda c, s: c.post("/upload-csv", params={"_sid": s}, files={"file": ("o.csv", b"\x00\x01\x02")}),
     415, "unsupported_file", ["binary"]),
    (lambda c, s: upload(c, s, render([[text_line("MEMO 2026")]])), 422, "no_invoice", ["no invoice"]),
    (lambda c, s: upload_sheet(c, s, b"Invoice No.,Style\r\nA100001,ST1001\r\n"), 422, "missing_columns",
     ["Cartons, Pieces", "'Invoice No.', 'Style'"]),
    (lambda c, s: upload_sheet(c, s, b"Invoice No.,Style,Cartons,Pieces\r\nZ1,Q,1,1\r\n"), 422, "no_match",
     ["no spreadsheet row matches"]),
])
def test_bad_requests_get_a_clear_json_error_and_change_nothing(client, send, status, code, words):
    sid = merged_workspace(client)
    before = client.get("/status", params={"_sid": sid}).json()
    assert_error(send(client, sid), status, *words, code=code)
    assert download(client, sid).content == MERGED
    assert client.get("/status", params={"_sid": sid}).json() == before


def test_encrypted_pdf_is_422_and_creates_no_workspace(client):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt=StandardEncryption("secret"))
    pdf.drawString(40, 700, "BILL OF LADING A1")
    pdf.showPage()
    pdf.save()
    sid = new_sid()
    assert_error(upload(client, sid, buffer.getvalue()), 422, "password", code="encrypted_pdf")
    assert client.get("/status", params={"_sid": sid}).json()["exists"] is False


def test_missing_steps_are_404_naming_the_step(client):
    sid = new_sid()
    assert_error(download(client, sid), 404, "/new-session", code="unknown_workspace")
    assert_error(upload_sheet(client, sid), 404, "/new-session", code="unknown_workspace")
    client.post("/new-session", params={"_sid": sid})
    assert_error(download(client, sid), 404, "/upload", code="missing_step")
    assert_error(upload_sheet(client, sid), 404, "/upload", code="missing_step")


def test_unknown_path_and_wrong_method_are_json(client):
    assert_error(client.get("/no-such-thing"), 404, "/no-such-thing", code="not_found")
    assert_error(client.delete("/upload"), 405, "DELETE", code="method_not_allowed")
    assert_error(client.get("/upload"), 405, "GET", code="method_not_allowed")


def test_debug_sessions_needs_the_token_and_lists_workspaces(client):
    sid = merged_workspace(client)
    assert_error(client.get("/debug-sessions"), 401, "Bearer", code="unauthorized")
    assert_error(client.get("/debug-sessions", headers={"Authorization": "Bearer wrong"}), 401, "Bearer",
                 code="unauthorized")
    answer = client.get("/debug-sessions", params={"_sid": sid},
                        headers={"Authorization": f"Bearer {DEBUG_TOKEN}"}).json()
    mine = [s for s in answer["all_sessions"] if s["session_id"] == sid]
    assert answer["total_sessions"] == len(answer["all_sessions"]) >= 1 and len(mine) == 1
    entry = answer["current_session"]
    assert entry == mine[0] | {"age_seconds": entry["age_seconds"], "idle_seconds": entry["idle_seconds"]}
    assert entry["stage"] == "merged" and entry["locked"] is False
    assert entry["age_seconds"] >= entry["idle_seconds"] >= 0
    assert sorted(name.split("-")[0] for name in entry["files"]) == [
        "extraction", "manifest.json", "merged_csv", "pdf", "pdf_csv", "spreadsheet"]
    assert answer["workflow_status"]["next_step"] == "GET /download-bol"


def test_debug_sessions_pages_through_workspaces_in_a_stable_order(client):
    for _ in range(3):
        client.post("/new-session", params={"_sid": new_sid()})
    headers = {"Authorization": f"Bearer {DEBUG_TOKEN}"}
    everything = client.get("/debug-sessions", headers=headers).json()
    ids = [s["session_id"] for s in everything["all_sessions"]]
    assert ids == sorted(ids) and everything["total_sessions"] == len(ids) >= 3
    pages = [client.get("/debug-sessions", params={"limit": 2, "offset": offset}, headers=headers).json()
             for offset in range(0, len(ids), 2)]
    assert [s["session_id"] for page in pages for s in page["all_sessions"]] == ids
    assert all(page["total_sessions"] == len(ids) and len(page["all_sessions"]) <= 2 for page in pages)
    for bad in ({"limit": "-1"}, {"offset": "x"}, {"limit": "1.5"}):
        assert_error(client.get("/debug-sessions", params=bad, headers=headers), 400, "whole number",
                     code="bad_request")


# --- CORS ----------------------------------------------------------------------------

def test_cors_preflight_for_a_json_post_and_exposed_headers(client):
    preflight = client.options("/upload-csv", params={"_sid": "x"}, headers={
        "Origin": "https://partner.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,cache-control,pragma,expires,x-requested-with"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "https://partner.example")
    allowed = preflight.headers["access-control-allow-headers"].lower()
    for header in ("content-type", "cache-control", "pragma", "expires", "x-requested-with", "authorization"):
        assert header in allowed
    sid = merged_workspace(client)
    answer = client.get("/download-bol", params={"_sid": sid}, headers={"Origin": "https://partner.example"})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "content-disposition" in answer.headers["access-control-expose-headers"].lower()


def test_a_large_json_upload_arrives_whole_however_it_is_escaped(client):
    """Base64 with JSON-escaped slashes and MIME line breaks, decoded as it streams in."""
    big = padded_pdf(PDF, 3_000_000)
    encoded = base64.encodebytes(big).decode()  # lines of 76 characters
    body = ('{"filename": "big.pdf", "attachmentData": "data:application/pdf;base64,'
            + encoded.replace("/", "\\/").replace("\n", "\\r\\n") + '"}')
    sid = new_sid()
    answer = client.post("/upload", params={"_sid": sid}, content=body.encode(),
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json()["filename"] == "big.pdf"
    assert download(client, sid).content == PDF_ONLY
    listed = client.get("/debug-sessions", params={"_sid": sid, "limit": 0},
                        headers={"Authorization": f"Bearer {DEBUG_TOKEN}"}).json()["current_session"]
    assert [size for name, size in listed["files"].items() if name.startswith("pdf-")] == [len(big)]


ONE_SID_ROUTES = [("post", "/new-session"), ("get", "/new-session"), ("post", "/clear-session"), ("post", "/upload"),
                  ("post", "/upload-csv"), ("get", "/download-bol"), ("get", "/status")]


@pytest.mark.parametrize("query", ["_sid={a}&_sid={b}", "_sid={a}&session_id={b}", "session_id={a}&session_id={a}",
                                   "_sid={a}&_sid="])
def test_a_request_naming_two_workspaces_is_400_and_changes_neither(client, query):
    a, b = merged_workspace(client), merged_workspace(client)
    before = [client.get("/status", params={"_sid": sid}).json() for sid in (a, b)]
    listed = client.get("/debug-sessions", headers=AUTH).json()["total_sessions"]
    for method, path in ONE_SID_ROUTES:
        answer = getattr(client, method)(f"{path}?{query.format(a=a, b=b)}")
        assert_error(answer, 400, "one workspace", code="bad_sid")
    assert [client.get("/status", params={"_sid": sid}).json() for sid in (a, b)] == before
    assert client.get("/debug-sessions", headers=AUTH).json()["total_sessions"] == listed
    assert download(client, a).content == download(client, b).content == MERGED


def test_the_alias_may_repeat_the_same_id(client):
    sid = merged_workspace(client)
    assert client.get(f"/status?_sid={sid}&session_id={sid}").json()["stage"] == "merged"


@pytest.mark.parametrize("method, path", [route for route in ONE_SID_ROUTES if "session" not in route[1]])
def test_an_empty_sid_is_400_where_one_is_required(client, method, path):
    assert_error(getattr(client, method)(f"{path}?_sid="), 400, "_sid", code="bad_sid")


def test_get_new_session_never_wipes_a_workspace(client):
    sid = merged_workspace(client)
    answer = client.get("/new-session", params={"_sid": sid})
    assert answer.status_code == 200 and answer.json()["status"] == "exists"
    assert download(client, sid).content == MERGED  # a prefetched link emptied nothing
    fresh = new_sid()
    assert client.get("/new-session", params={"_sid": fresh}).json()["status"] == "created"
    assert client.post("/new-session", params={"_sid": sid}).json()["status"] == "created"
    assert client.get("/status", params={"_sid": sid}).json()["stage"] == "empty"


@pytest.mark.parametrize("limit", ["\u00b2", "\u0663", "9" * 5000, "-1", "1.5"])
def test_a_listing_limit_that_is_no_plain_number_is_400(client, limit):
    answer = client.get("/debug-sessions", params={"limit": limit}, headers=AUTH)
    assert_error(answer, 400, "whole number", code="bad_request")


@pytest.mark.parametrize("path", ["/status/", "/upload/", "/debug-sessions/"])
def test_a_trailing_slash_is_a_json_404_not_a_redirect(client, path):
    answer = client.get(path, params={"_sid": new_sid()}, headers={"Host": "evil.example"})
    assert_error(answer, 404, "no such endpoint", code="not_found")
    assert "location" not in answer.headers


def test_a_refused_cors_preflight_is_json(client):
    answer = client.options("/upload", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "PUT",
                                                "Access-Control-Request-Headers": "X-Forbidden"})
    assert answer.headers["content-type"] == "application/json"
    assert_error(answer, 400, "method", "headers", code="bad_request")


def test_a_file_name_is_shown_back_without_what_could_disguise_it(client):
    sid = new_sid()
    name = "in\u202evoice\u2028\u0085\u200b\u2066 march.pdf"
    answer = client.post("/upload", params={"_sid": sid}, files={"file": (name, PDF, "application/pdf")})
    assert answer.json()["filename"] == "invoice march.pdf"
    listed = client.get("/debug-sessions", params={"_sid": sid}, headers=AUTH).json()["current_session"]
    assert "\u202e" not in str(listed) and "invoice march.pdf" in str(listed)


def multipart(disposition: str, data: bytes) -> tuple[bytes, dict]:
    body = (b"--b0undary\r\nContent-Disposition: form-data; " + disposition.encode() +
            b"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--b0undary--\r\n")
    return body, {"Content-Type": "multipart/form-data; boundary=b0undary"}


@pytest.mark.parametrize("disposition, shown", [
    ("name=\"file\"; filename*=UTF-8''%E2%82%AC%20invoice.pdf", "\u20ac invoice.pdf"),
    ("name=\"file\"; filename=\"plain.pdf\"; filename*=UTF-8''%C3%A9t%C3%A9.pdf", "\u00e9t\u00e9.pdf"),
    ('name="file"', "upload.pdf"),  # a file part without a name is still the file
])
def test_a_file_part_is_read_whatever_its_name_is_given_as(client, disposition, shown):
    sid = new_sid()
    body, headers = multipart(disposition, PDF)
    answer = client.post("/upload", params={"_sid": sid}, content=body, headers=headers)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["filename"] == shown
    assert download(client, sid).content == PDF_ONLY


def test_a_form_field_that_carries_no_file_is_bounded(client):
    sid = merged_workspace(client)
    answer = client.post("/upload-csv", params={"_sid": sid}, data={"csv_data": SHEET.decode(), "note": "x" * 70_000})
    assert_error(answer, 400, "'note' is over 64 KB", code="bad_request")
    assert download(client, sid).content == MERGED


def test_csv_data_sent_urlencoded_in_small_chunks_is_read_whole(client):
    """Percent escapes cut between chunks of the body are decoded whole."""
    from urllib.parse import urlencode

    sid = new_sid()
    assert upload(client, sid).status_code == 200
    body = urlencode({"csv_data": SHEET.decode(), "filename": "orders \u00e9.csv"}).encode()
    chunks = (body[i:i + 7] for i in range(0, len(body), 7))
    answer = client.post("/upload-csv", params={"_sid": sid}, content=chunks,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["filename"] == "orders \u00e9.csv"
    assert download(client, sid).content == MERGED
