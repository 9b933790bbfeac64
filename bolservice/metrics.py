"""Prometheus metrics, correct across uvicorn workers.

``bolservice serve`` points PROMETHEUS_MULTIPROC_DIR at a fresh directory before the
workers start; each worker then writes its counters and histograms there and /metrics
adds them up. Only counters and histograms are used, so a dead worker's figures simply
stay in the totals. The number of live workspaces is counted from the store at scrape time.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from .config import MULTIPROCESS_DIR

REQUESTS = Counter("bolservice_requests_total", "HTTP requests answered", ["endpoint", "status"])
REQUEST_SECONDS = Histogram("bolservice_request_duration_seconds", "Time to answer a request", ["endpoint"])
UPLOADS = Counter("bolservice_uploads_total", "Uploads processed successfully", ["kind"])
PAGES = Counter("bolservice_pages_processed_total", "PDF pages parsed in successful uploads")
PROCESSING_SECONDS = Histogram("bolservice_processing_duration_seconds", "Time a parse or merge job took", ["job"],
                               buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
LOCK_WAIT_SECONDS = Histogram("bolservice_lock_wait_seconds", "Time spent waiting for a workspace's lock",
                              buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30))
JANITOR_DELETIONS = Counter("bolservice_janitor_deletions_total", "Idle workspaces deleted by the janitor")


class LiveWorkspaces:
    """A collector that counts the workspaces when scraped."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count

    def collect(self):
        yield GaugeMetricFamily("bolservice_live_workspaces", "Workspaces on disk now", value=self.count())


def exposition(count_workspaces: Callable[[], int]) -> tuple[bytes, str]:
    """The metrics page: every worker's figures added up, and the live workspaces."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_DIR):
        MultiProcessCollector(registry)
    else:  # one process, started without `bolservice serve`: its own figures
        registry.register(REGISTRY)
    registry.register(LiveWorkspaces(count_workspaces))
    return generate_latest(registry), CONTENT_TYPE_LATEST
