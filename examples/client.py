"""The whole workflow against a running bolservice, with httpx.

    python examples/client.py [PDF] [SPREADSHEET]     (BOLSERVICE_URL, default http://127.0.0.1:8000)

Saves BOL_processed.csv. Every error answer is JSON with an "error" message.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent


def main(pdf: Path, sheet: Path, out: Path = Path("BOL_processed.csv")) -> None:
    sid = secrets.token_urlsafe(16)
    with httpx.Client(base_url=os.environ.get("BOLSERVICE_URL", "http://127.0.0.1:8000"),
                      params={"_sid": sid}, timeout=180) as client:

        def call(method: str, path: str, **kwargs) -> httpx.Response:
            response = client.request(method, path, **kwargs)
            if response.is_error:
                raise SystemExit(f"{method} {path}: {response.status_code} {response.json()['error']}")
            return response

        call("POST", "/clear-session")
        call("POST", "/new-session")
        uploaded = call("POST", "/upload", files={"file": (pdf.name, pdf.read_bytes(), "application/pdf")}).json()
        print(f"PDF: {uploaded['message']}, {len(uploaded['warnings'])} warning(s)")
        merged = call("POST", "/upload-csv", files={"file": (sheet.name, sheet.read_bytes())}).json()
        print(f"spreadsheet: {merged['message']}")
        out.write_bytes(call("GET", "/download-bol").content)
        print(f"saved {out}")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:3]]
    main(args[0] if args else HERE / "sample.pdf", args[1] if len(args) > 1 else HERE / "sample.csv")
