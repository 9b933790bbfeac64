"""The ASGI application: settings → backend (composer.py), pool → service → routes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.middleware import Middleware

from .. import metrics
from ..config import Settings
from ..composer import compose
from ..janitor import Janitor
from ..pool import JobPool
from ..service import WorkspaceService
from .cors import CORS_HEADERS, JsonCors
from .errors import EXCEPTION_HANDLERS
from .handlers import Api
from .limits import BodyLimit, RequestCap
from .pages import Pages
from .requestlog import RequestLog

log = logging.getLogger("bolservice")
# Threads a worker runs file work in: enough that requests waiting on fsyncs do not hold
# up the others.
FILE_THREADS = 32


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    if not settings.debug_token:
        # `bolservice serve` sets one for all workers; this covers an app started another way.
        settings = dataclasses.replace(settings, debug_token=secrets.token_urlsafe(24))
        log.warning("BOLSERVICE_DEBUG_TOKEN was not set; /debug-sessions token: %s", settings.debug_token)
    backend = compose(settings)
    for leftover in backend.store.sweep():
        log.info("removed %s, left by a stopped process", leftover)
    pool = JobPool(settings.jobs, settings.job_timeout, settings.max_queue, settings.job_memory_mb)
    service = WorkspaceService(settings, backend, pool)
    janitor = Janitor(backend, settings.workspace_ttl, settings.janitor_interval,
                      on_delete=metrics.JANITOR_DELETIONS.inc)
    routes = [*Api(service, settings).routes(), *Pages().routes()]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The file work of requests (fsyncs, renames, the index) runs in threads; asyncio's
        # default of cores + 4 threads made a crowd's requests queue for them.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(FILE_THREADS, "bolservice-files"))
        # Start every child of the pool now, not on the first uploads.
        warm = asyncio.gather(*(pool.probe(settings.job_timeout) for _ in range(settings.jobs)))
        # The index agrees with the directories before the first listing (a root from an
        # older version, or a crash, leaves it behind).
        await asyncio.to_thread(backend.listing.reconcile)
        sweeping = asyncio.create_task(janitor.run())
        try:
            yield
        finally:
            sweeping.cancel()
            warm.cancel()
            await asyncio.to_thread(pool.shutdown)

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestLog, paths=frozenset(route.path for route in routes)),
            Middleware(JsonCors, allow_origins=list(settings.cors_origins),
                       allow_methods=["GET", "POST", "OPTIONS"], allow_headers=CORS_HEADERS,
                       expose_headers=["Content-Disposition"]),
            Middleware(RequestCap, max_requests=settings.max_connections),
            Middleware(BodyLimit, max_bytes=settings.max_upload_bytes, stall_seconds=settings.body_timeout),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    # "/status/" is a JSON 404, not a redirect whose Location is built from the Host header.
    app.router.redirect_slashes = False
    return app
