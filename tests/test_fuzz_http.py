"""A short schemathesis pass in the suite; `make fuzz` runs a long one."""

from __future__ import annotations

from tests.fuzz_http import fuzz


def test_no_generated_request_gets_a_server_error(server):
    run = fuzz(server.url, max_examples=8)
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout and "failed" not in run.stdout.split("SUMMARY")[-1]
    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]
