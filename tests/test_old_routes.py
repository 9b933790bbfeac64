"""The other routes of the replaced service (shared/API.md, "Compatibility"), over HTTP on a
real server, checked as the curl scripts written against it would check them."""

from __future__ import annotations

import csv
import io

import pytest

from tests.test_api import (MERGED, PDF_ONLY, assert_error, download, merged_workspace, new_sid, upload,
                            upload_sheet)

BAD_SIDS = [{}, {"_sid": ""}, {"_sid": "no spaces"}, {"_sid": "a/b"}, {"_sid": "x" * 129}]


def pdf_workspace(client) -> str:
    sid = new_sid()
    assert upload(client, sid).status_code == 200
    return sid


def empty_workspace(client) -> str:
    sid = new_sid()
    assert client.post("/new-session", params={"_sid": sid}).status_code == 200
    return sid


def validate(client, sid: str) -> dict:
    answer = client.get("/validate-session", params={"_sid": sid})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    return answer.json()


def data_rows(content: bytes) -> int:
    return len(list(csv.reader(io.StringIO(content.decode(), newline="")))) - 1


def disposition(answer) -> str:
    return answer.headers["content-disposition"]


# --- /api/health ---------------------------------------------------------------------

def test_api_health_answers_as_health(client):
    health, api_health = client.get("/health"), client.get("/api/health")
    assert (api_health.status_code, api_health.json()["status"]) == (200, "healthy")
    assert api_health.json()["checks"] == health.json()["checks"]


# --- /validate-session ---------------------------------------------------------------

def test_validate_session_follows_the_workflow(client):
    sid = new_sid()
    assert validate(client, sid) == {"session_id": sid, "valid": True, "exists": False, "stage": None}
    client.post("/new-session", params={"_sid": sid})
    assert validate(client, sid) == {"session_id": sid, "valid": True, "exists": True, "stage": "empty"}
    upload(client, sid)
    assert validate(client, sid)["stage"] == "pdf"
    upload_sheet(client, sid)
    assert validate(client, sid)["stage"] == "merged"


@pytest.mark.parametrize("path", ["/validate-session", "/files", "/download-bol/my.csv"])
@pytest.mark.parametrize("params", BAD_SIDS)
def test_a_missing_or_malformed_sid_is_400(client, path, params):
    assert_error(client.get(path, params=params), 400, "_sid", code="bad_sid")


@pytest.mark.parametrize("params", BAD_SIDS)
def test_process_workflow_with_a_missing_or_malformed_sid_is_400(client, params):
    assert_error(client.post("/process-workflow", params=params), 400, "_sid", code="bad_sid")


# --- /files --------------------------------------------------------------------------

@pytest.mark.parametrize("workspace, csv_bytes", [(pdf_workspace, PDF_ONLY), (merged_workspace, MERGED)])
def test_files_lists_the_csv_a_download_gives(client, workspace, csv_bytes):
    sid = workspace(client)
    answer = client.get("/files", params={"_sid": sid})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    assert answer.json() == {"session_id": sid, "files": [{
        "name": "BOL_processed.csv", "size": len(csv_bytes), "type": "text/csv",
        "download_url": f"/download-bol?_sid={sid}"}]}
    assert client.get(answer.json()["files"][0]["download_url"]).content == csv_bytes


def test_files_of_a_workspace_without_a_pdf_is_an_empty_list(client):
    sid = empty_workspace(client)
    assert client.get("/files", params={"_sid": sid}).json() == {"session_id": sid, "files": []}


def test_files_of_an_unknown_workspace_is_404_naming_the_step(client):
    assert_error(client.get("/files", params={"_sid": new_sid()}), 404, "/new-session", "/upload",
                 code="unknown_workspace")


# --- /download-bol/{filename} --------------------------------------------------------

@pytest.mark.parametrize("name", ["my.csv", "BOL 2026-01_final.csv", "report"])
def test_download_under_the_clients_name_gives_the_same_bytes(client, name):
    sid = merged_workspace(client)
    answer = client.get(f"/download-bol/{name}", params={"_sid": sid})
    assert answer.status_code == 200 and answer.content == download(client, sid).content == MERGED
    assert disposition(answer) == f'attachment; filename="{name}"'
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("raw_name", [
    "a%22b.csv",                          # a quote would end the header's file name
    "x.csv%0D%0ASet-Cookie:%20stolen=1",  # CR LF would start a header of its own
    ".hidden.csv",
    "-x.csv",
    "%C3%A9t%C3%A9.csv",                  # not ASCII
    "a%5Cb.csv",                          # a backslash
    "n" * 129,
])
def test_an_unsafe_name_falls_back_to_the_default(client, raw_name):
    sid = pdf_workspace(client)
    answer = client.get(f"/download-bol/{raw_name}", params={"_sid": sid})
    assert answer.status_code == 200 and answer.content == PDF_ONLY
    assert disposition(answer) == 'attachment; filename="BOL_processed.csv"'
    assert "set-cookie" not in answer.headers


def test_a_named_download_before_the_upload_is_404_naming_the_step(client):
    assert_error(client.get("/download-bol/my.csv", params={"_sid": new_sid()}), 404, "/new-session",
                 code="unknown_workspace")
    assert_error(client.get("/download-bol/my.csv", params={"_sid": empty_workspace(client)}), 404, "/upload",
                 code="missing_step")


# --- /process-workflow ---------------------------------------------------------------

@pytest.mark.parametrize("workspace", [pdf_workspace, merged_workspace])
def test_process_workflow_describes_the_csv_a_download_gives(client, workspace):
    sid = workspace(client)
    answer = client.post("/process-workflow", params={"_sid": sid})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    report = answer.json()
    csv_bytes = client.get(report["download_url"]).content
    assert csv_bytes == download(client, sid).content
    assert report == {"status": "success", "session_id": sid, "output_file": "BOL_processed.csv",
                      "download_url": f"/download-bol?_sid={sid}", "row_count": data_rows(csv_bytes),
                      "file_size": len(csv_bytes)}
    assert report["row_count"] == len(csv_bytes.splitlines()) - 1 > 0


def test_process_workflow_before_the_upload_is_404_naming_the_step(client):
    assert_error(client.post("/process-workflow", params={"_sid": new_sid()}), 404, "/new-session",
                 code="unknown_workspace")
    assert_error(client.post("/process-workflow", params={"_sid": empty_workspace(client)}), 404, "/upload",
                 code="missing_step")


def test_process_workflow_changes_nothing(client):
    sid = merged_workspace(client)
    before = client.get("/status", params={"_sid": sid}).json()
    client.post("/process-workflow", params={"_sid": sid})
    assert client.get("/status", params={"_sid": sid}).json() == before
    assert download(client, sid).content == MERGED
