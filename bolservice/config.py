"""Settings, read from BOLSERVICE_* environment variables.

``bolservice serve`` turns its options into these variables before starting uvicorn, so
every worker process reads the same settings the same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

PREFIX = "BOLSERVICE_"
# prometheus_client reads this when it is first imported, so `serve` sets it before then.
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    root: Path = Path("workspaces")
    store: str = ""  # where workspaces live: unset, the directory under root
    lock_timeout: float = 30.0
    # A shared store's lock is lost by a holder silent this long (paused, cut off): postgres.py.
    lock_bound: float = 10.0
    jobs: int = os.cpu_count() or 1
    job_timeout: float = 120.0
    max_upload_mb: float = 50.0
    body_timeout: float = 60.0
    max_connections: int = 256
    max_pages: int = 2000
    cors_origins: tuple[str, ...] = ("*",)
    debug_token: str = ""
    min_free_mb: float = 100.0
    max_queue: int = 256
    log_format: str = "text"
    pdf_engine: str = "auto"
    workspace_ttl: float = 86400.0
    janitor_interval: float = 300.0
    job_memory_mb: int = 1024

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        values = {}
        for field in fields(cls):
            raw = env.get(PREFIX + field.name.upper())
            if raw is None or raw.strip() == "":
                continue
            try:
                values[field.name] = _convert(field.type, raw.strip())
            except ValueError:
                raise SystemExit(f"{PREFIX}{field.name.upper()}={raw!r} is not a valid {field.type}") from None
        return cls(**values)


def _convert(kind: str, raw: str):
    if kind == "Path":
        return Path(raw)
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "tuple[str, ...]":
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw
