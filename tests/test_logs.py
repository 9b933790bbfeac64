"""Request logs: one line per request, request ids, and never a whole sid."""

from __future__ import annotations

import logging
import time

from bolservice.logs import JsonFormatter, TextFormatter
from tests.test_api import PDF, SHEET, new_sid
from tests.test_integration import workflow
from tests.server import DEBUG_TOKEN
from tests.test_reliability import wait_for


def test_no_whole_sid_in_the_log_after_a_workflow(server):
    sid = new_sid()
    workflow(server, sid, PDF, SHEET)
    with server.client() as client:
        client.get("/status", params={"session_id": sid})
        client.get("/download-bol", params={"_sid": sid + "x" * 3})  # a 404 logs too
    expected = ["POST /clear-session 200", "POST /new-session 200", "POST /upload 200", "POST /upload-csv 200",
                "GET /download-bol 200", "GET /status 200", "GET /download-bol 404"]
    # A request's line is written once its answer has gone out, so it may trail the answer.
    wait_for(lambda: server.log.read_text().count(f"sid={sid[:8]}…") >= len(expected),
             seconds=10, what="the last requests' log lines")
    log = server.log.read_text()
    lines = [line for line in log.splitlines() if f"sid={sid[:8]}…" in line]
    assert sid not in log
    assert [line.split("bolservice.access: ")[1].split(" method=")[0] for line in lines] == expected
    assert all("duration_ms=" in line and "request_id=" in line for line in lines)


def test_request_id_is_echoed_or_made(client):
    assert client.get("/ping", headers={"X-Request-ID": "trace-42.a:b"}).headers["x-request-id"] == "trace-42.a:b"
    made = client.get("/ping").headers["x-request-id"]
    assert len(made) == 16 and made != client.get("/ping").headers["x-request-id"]
    odd = client.get("/ping", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert odd != "bad id\twith spaces" and len(odd) == 16


def test_formatters_carry_the_extras():
    record = logging.LogRecord("bolservice.access", logging.INFO, "", 0, "GET /ping 200", (), None)
    record.status, record.sid = 200, "abcdefgh…"
    assert '"status": 200' in JsonFormatter().format(record)
    assert TextFormatter().format(record).endswith("GET /ping 200 status=200 sid=abcdefgh…")


FORGED = "2026-11-23 03:10:43,386 INFO bolservice.access: POST /upload 200 forged=yes"


def test_a_request_cannot_write_a_line_of_its_own_into_the_text_log(server):
    from urllib.parse import quote

    with server.client() as client:
        client.get("/x" + quote("\n" + FORGED))
        client.get("/status" + quote("\u2028" + FORGED))
        client.get("/status", params={"_sid": "\r\n" + FORGED})
        client.get("/ping", params={"_sid": "a\nb"})
        marker = client.get("/ping", headers={"X-Request-ID": "last-of-the-forgers"})
    assert marker.status_code == 200
    wait_for(lambda: "last-of-the-forgers" in server.log.read_text(), seconds=10, what="the marker's log line")
    lines = server.log.read_text().splitlines()
    assert not [line for line in lines if line.startswith("2026-11-23")]
    assert not [line for line in lines if "\u2028" in line or "\r" in line]


def test_the_text_formatter_escapes_what_could_end_or_fake_a_line():
    record = logging.LogRecord("bolservice.access", logging.INFO, __file__, 1, "GET %s 200", ("/a\nb\u2028c\\n",),
                               None)
    record.path = "/x status=500"
    line = TextFormatter().format(record)
    assert "\n" not in line and "\u2028" not in line
    assert "GET /a\\nb\\u2028c\\\\n 200" in line
    assert 'path="/x status=500"' in line


def test_a_traceback_in_the_text_log_cannot_start_a_line_of_its_own():
    try:
        raise ValueError("bad input\n" + FORGED)
    except ValueError:
        import sys

        record = logging.LogRecord("bolservice", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    record.sid = "abcd1234…"
    lines = TextFormatter().format(record).splitlines()
    assert lines[0].endswith("failed sid=abcd1234…")
    assert len(lines) > 2 and all(line.startswith("    ") for line in lines[1:])


def test_a_client_dropping_a_half_sent_upload_is_one_quiet_log_line_and_no_500(tmp_path):
    import re
    import socket

    from tests.server import Server

    with Server(tmp_path / "root", workers=1) as server:
        multipart = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
                     b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n" + b"0" * 1000)
        for content_type, body in [(b"application/pdf", b"%PDF-1.7\n" + b"0" * 1000),
                                   (b"multipart/form-data; boundary=b", multipart),
                                   (b"application/json", b'{"file_data": "JVBERi0xLjcK')]:
            with socket.create_connection(("127.0.0.1", server.port)) as raw:
                raw.sendall(b"POST /upload?_sid=dropper-1 HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type +
                            b"\r\nContent-Length: 100000\r\n\r\n" + body)
                time.sleep(0.2)
        with server.client() as client:
            wait_for(lambda: server.log.read_text().count("POST /upload ") >= 3, seconds=10, what="the drops' lines")
            metrics = client.get("/metrics", headers={"Authorization": f"Bearer {DEBUG_TOKEN}"}).text
    log = server.log.read_text()
    assert "Traceback" not in log and " ERROR " not in log
    assert len(re.findall(r"INFO bolservice.access: POST /upload 499 ", log)) == 3
    assert not re.search(r'bolservice_requests_total\{endpoint="/upload",status="500"\}', metrics)
    assert not (server.root / "dropper-1").exists()
