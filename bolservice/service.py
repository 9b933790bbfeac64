"""The workflow on one workspace: new, clear, upload, upload-csv, download, status.

Every operation that reads or changes a workspace runs under that sid's lock, and every
change is made under the lock's lease; the engine runs in the job pool on bytes and local
scratch files, never on a path into the store; files change only through the store's
atomic commit. The backend (store, locker, listing) is seen through backend.py's
Protocols only. The HTTP layer calls these and shapes the answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from . import metrics
from .backend import Backend, Lease
from .config import Settings
from .jobs import MergeOutput, PdfOutput, merge_job, pdf_job, pdf_part_job, pdf_short_job, workbook_job
from .pool import JobPool, JobTimeout
from .workspace import Manifest, listed, new_sid, validate_sid

T, U = TypeVar("T"), TypeVar("U")

# A job on the bulk lane may take this long, plus this much per MB of the files it reads
# (a 2,000-page BOL of 3.5 MB gets 80 s; the pdfplumber reading of a dense 40-page one
# some 10 s), up to BOLSERVICE_JOB_TIMEOUT.
BUDGET_SECONDS = 10.0
BUDGET_SECONDS_PER_MB = 20.0
# Listing entries kept ready to send (about 400 bytes each); past this, the oldest go.
LISTED_KEPT = 20_000

# Roles of a workspace's files, as named in its manifest.
PDF, EXTRACTION, PDF_CSV, SPREADSHEET, MERGED_CSV = "pdf", "extraction", "pdf_csv", "spreadsheet", "merged_csv"


class MissingStep(Exception):
    """The workspace lacks what the request needs; the message names the step to run."""


class UnknownWorkspace(MissingStep):
    """There is no workspace with that id; the message names the step that makes one."""


def stage(manifest: Manifest) -> str:
    """How far the workflow got: empty, pdf or merged."""
    if MERGED_CSV in manifest.files:
        return "merged"
    return "pdf" if PDF_CSV in manifest.files else "empty"


def result_role(manifest: Manifest) -> str:
    """The role of the BOL CSV a download gives: the merge if there is one, else the PDF's rows."""
    return MERGED_CSV if MERGED_CSV in manifest.files else PDF_CSV


@dataclass(frozen=True)
class ResultFile:
    """The BOL CSV a download gives: its data rows (header not counted) and its size in bytes."""

    rows: int
    size: int


@contextmanager
def _timed(job: str) -> Iterator[None]:
    """Observe how long a job (or an upload's jobs) took, when it succeeds."""
    started = time.perf_counter()
    yield
    metrics.PROCESSING_SECONDS.labels(job).observe(time.perf_counter() - started)


def _details(filename: str, summary: dict) -> dict:
    """What the manifest keeps of a job's report: its counts, and how many warnings."""
    return {"filename": filename, **summary, "warnings": len(summary["warnings"])}


def iso(timestamp: float) -> str:
    """UTC to the second, as 2026-11-22T13:27:34+00:00 (strftime: a support listing formats
    two per workspace, and this is twice as fast as datetime)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(timestamp))


async def _beside(work: Awaitable[T], aside: Callable[..., U], *args: object) -> tuple[T, U]:
    """``work``'s result and ``aside(*args)``'s, run in a thread meanwhile: an upload's
    parse needs nothing of its workspace, so the workspace's reads run beside it. Both have
    ended when this returns or raises, so neither outlives the lock it runs under."""
    beside = asyncio.ensure_future(asyncio.to_thread(aside, *args))
    try:
        result = await work
    except BaseException:
        await asyncio.wait([beside])
        raise
    return result, await beside


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


class WorkspaceService:
    def __init__(self, settings: Settings, backend: Backend, pool: JobPool) -> None:
        self.settings = settings
        self.store, self.locker, self.listing = backend.store, backend.locker, backend.listing
        self.pool = pool
        # Listing entries' fixed parts by id: (manifest stamp, created, updated, JSON).
        self._listed: dict[str, tuple[str, float, float, str]] = {}

    @asynccontextmanager
    async def _locked(self, sid: str, tidy: bool = True) -> AsyncIterator[Lease]:
        """Hold the sid's lock, first clearing anything a crashed request left behind
        (without ``tidy``, the caller does, before it changes the workspace)."""
        waiting = time.perf_counter()
        async with self.locker.hold(validate_sid(sid)) as lease:
            metrics.LOCK_WAIT_SECONDS.observe(time.perf_counter() - waiting)
            if tidy:
                await asyncio.to_thread(self.store.tidy, lease)
            yield lease

    def _budget(self, size: int) -> float:
        """The deadline of a job on the bulk lane: it follows the size of what it reads
        (bytes), up to BOLSERVICE_JOB_TIMEOUT (a 1 MB PDF does not get two minutes)."""
        megabytes = size / (1024 * 1024)
        return min(self.settings.job_timeout, BUDGET_SECONDS + BUDGET_SECONDS_PER_MB * megabytes)

    def scratch(self, suffix: str = "") -> AbstractContextManager[Path]:
        """A local file for a request body, removed after the block."""
        return self.store.scratch(suffix)

    async def _merge(self, extraction: bytes, staged: Path) -> MergeOutput:
        with _timed("merge"):
            return await self.pool.call(merge_job, extraction, str(staged),
                                        timeout=self._budget(len(extraction) + staged.stat().st_size))

    async def _parse_pdf(self, staged: Path) -> PdfOutput:
        """Parse a staged PDF in the pool, timed. A short one on the quick lane; a long one,
        or one that needs more than its time there, on the bulk lane, read in page ranges
        by all its processes at once, then parsed as a whole."""
        args = (str(staged), self.settings.max_pages, self.settings.pdf_engine)
        budget, parts = self._budget(staged.stat().st_size), self.pool.workers
        with _timed("pdf"):
            try:
                output = await self.pool.call_quick(pdf_short_job, *args)
            except JobTimeout:
                output = None
            if output is None:
                found = await self.pool.call_each(
                    pdf_part_job, [(*args, part, parts) for part in range(parts)], timeout=budget)
                output = found[0].output or await self.pool.call_bulk(
                    pdf_job, *args, [reading for part in found for reading in part.readings], timeout=budget)
        return output

    async def new(self, sid: str | None, *, wipe: bool = True) -> tuple[Manifest, bool]:
        """An empty workspace, and True; without ``wipe``, an existing one is left as it is
        (and False)."""
        sid = validate_sid(sid) if sid else new_sid()
        async with self._locked(sid) as lease:
            existing = None if wipe else await asyncio.to_thread(self.store.manifest, sid)
            if existing is not None:
                return existing, False
            return await asyncio.to_thread(self.store.create, lease), True

    async def clear(self, sid: str) -> bool:
        async with self._locked(sid) as lease:
            return await asyncio.to_thread(self.store.delete, lease)

    async def upload_pdf(self, sid: str, staged: Path, filename: str) -> dict:
        """Parse the staged PDF and publish its rows; a previous merge is discarded.
        Admitted as a whole (parse, commit) once it holds the lock, while it can be done
        in time: a request waiting for its workspace is not work queued."""
        async with self._locked(sid, tidy=False) as lease, self.pool.admitted(self._budget(staged.stat().st_size)):
            output, existing = await _beside(self._parse_pdf(staged), self._prepared, lease, staged)
            manifest = existing or await asyncio.to_thread(self.store.create, lease)
            manifest.files.pop(SPREADSHEET, None)
            manifest.files.pop(MERGED_CSV, None)
            manifest.details = {"pdf": _details(filename, output.summary)}
            try:
                await asyncio.to_thread(self.store.commit, lease, manifest, {
                    PDF: staged, EXTRACTION: output.extraction, PDF_CSV: output.csv,
                })
            except BaseException:
                if existing is None:  # made for this upload, which failed: nothing stays
                    await asyncio.to_thread(self.store.delete, lease)
                raise
        metrics.UPLOADS.labels("pdf").inc()
        metrics.PAGES.inc(output.summary["pages"])
        return output.summary

    def _prepared(self, lease: Lease, staged: Path) -> Manifest | None:
        """What an upload does while its PDF is parsed: the workspace tidied (as
        ``_locked`` does), the staged body made durable (a store that keeps it as a file
        then finds nothing left to write when it fsyncs it in the commit), and the
        workspace's manifest (None if none)."""
        self.store.tidy(lease)
        _fsync(staged)
        return self.store.manifest(lease.sid)

    async def upload_spreadsheet(self, sid: str, staged: Path, filename: str) -> dict:
        """Merge the staged spreadsheet with the PDF's rows; it replaces any earlier merge.
        Admitted as a whole, as an upload is."""
        async with self._locked(sid) as lease:
            manifest = await asyncio.to_thread(self._manifest_with, sid, EXTRACTION, "upload-csv")
            extraction = await asyncio.to_thread(self.store.read, manifest, EXTRACTION)
            async with self.pool.admitted(self._budget(len(extraction) + staged.stat().st_size)):
                output = await self._merge(extraction, staged)
                manifest.details["csv"] = _details(filename, output.summary)
                await asyncio.to_thread(self.store.commit, lease, manifest, {
                    SPREADSHEET: staged, MERGED_CSV: output.csv,
                })
        metrics.UPLOADS.labels("spreadsheet").inc()
        return output.summary

    async def result(self, sid: str) -> bytes:
        """The BOL CSV, read whole under the lock."""
        async with self._locked(sid):
            manifest = await asyncio.to_thread(self._manifest_with, sid, PDF_CSV, "download")
            return await asyncio.to_thread(self.store.read, manifest, result_role(manifest))

    async def workbook(self, sid: str) -> bytes:
        """The BOL CSV as an Excel workbook: the CSV read under the lock, the workbook made
        from it in the job pool (a 2,000-page BOL's takes seconds), the lock released."""
        csv = await self.result(sid)
        return await self.pool.run(workbook_job, csv, timeout=self._budget(len(csv)))

    async def result_file(self, sid: str, action: str) -> ResultFile:
        """The BOL CSV a download would give, described under the lock; MissingStep, naming
        the step, for an unknown workspace or one without a PDF."""
        async with self._locked(sid):
            manifest = await asyncio.to_thread(self._manifest_with, sid, PDF_CSV, action)
            return await asyncio.to_thread(self._result_file, manifest)

    async def result_files(self, sid: str) -> list[ResultFile]:
        """The workspace's downloadable files, read under the lock: the BOL CSV once it has
        a PDF, else none; MissingStep for an unknown workspace."""
        async with self._locked(sid):
            manifest = await asyncio.to_thread(self._existing, sid, "list its files")
            return [await asyncio.to_thread(self._result_file, manifest)] if PDF_CSV in manifest.files else []

    def _result_file(self, manifest: Manifest) -> ResultFile:
        # A merge fills in the PDF's rows and never adds or drops one, so the PDF's row
        # count is the CSV's, merged or not. Manifests written before sizes were recorded
        # have none: then the file is read.
        role = result_role(manifest)
        size = manifest.sizes.get(role)
        if size is None:
            size = len(self.store.read(manifest, role))
        return ResultFile(rows=manifest.details["pdf"]["rows"], size=size)

    # The store's reads below run in threads (asyncio.to_thread): a shared store answers
    # over the network, and the event loop must not wait for it.
    def _existing(self, sid: str, action: str) -> Manifest:
        manifest = self.store.manifest(sid)
        if manifest is None:
            raise UnknownWorkspace(
                f"there is no workspace for this _sid; POST /new-session?_sid=… then "
                f"/upload the PDF before you {action}"
            )
        return manifest

    def _manifest_with(self, sid: str, role: str, action: str) -> Manifest:
        manifest = self._existing(sid, action)
        if role not in manifest.files:
            raise MissingStep(f"this workspace has no PDF yet; POST /upload?_sid=… before you {action}")
        return manifest

    def status(self, sid: str) -> dict:
        manifest = self.store.manifest(validate_sid(sid))
        if manifest is None:
            return {"status": "not_found", "session_id": sid, "exists": False, "has_pdf": False,
                    "has_csv": False, "has_processed_data": False, "created_at": None,
                    "updated_at": None, "stage": None}
        return {
            "status": "active", "session_id": sid, "exists": True,
            "has_pdf": PDF in manifest.files, "has_csv": SPREADSHEET in manifest.files,
            "has_processed_data": PDF_CSV in manifest.files,
            "created_at": iso(manifest.created), "updated_at": iso(manifest.updated),
            "stage": stage(manifest), **manifest.details,
        }

    def count(self, prefix: str = "") -> int:
        """How many workspaces have ids starting with ``prefix``."""
        return self.listing.count(prefix)

    async def health(self) -> tuple[dict[str, bool], dict[str, float]]:
        """The checks of the store and of the job pool, by name, and the store's figures."""
        checks = await asyncio.to_thread(self.store.checks)
        try:
            checks["worker_pool"] = await self.pool.probe(timeout=15)
        except Exception:
            checks["worker_pool"] = False
        return checks, await asyncio.to_thread(self.store.figures)

    def describe(self, sid: str) -> dict | None:
        """One workspace as support sees it, read from its directory; None if it is gone or
        not yet written. The same entry a listing gives."""
        data = self.store.manifest_bytes(sid)
        try:
            return None if data is None else json.loads(self._entry(sid, None, data, time.time(), self.locker.is_held(sid)))
        except json.JSONDecodeError:
            return None

    def listed_json(self, prefix: str = "", offset: int = 0, limit: int | None = None,
                    after: str | None = None) -> tuple[list[str], str | None]:
        """One page of the workspaces as support sees them, each a JSON object, in id
        order, from the store's index, so it costs the page, not the root (see
        Listing.page); and the page's last id."""
        page = self.listing.page(prefix, offset, limit, after)
        held = self.locker.held([sid for sid, _, _ in page])  # one question for the page
        now = time.time()
        rows = [self._entry(sid, stamp, data, now, sid in held) for sid, stamp, data in page]
        return rows, page[-1][0] if page else None

    def _entry(self, sid: str, stamp: str | None, data: bytes, now: float, held: bool) -> str:
        """A workspace's entry as JSON, from its manifest's bytes. The part that changes
        only with the manifest is kept by the manifest's stamp, ready to send, from one
        listing to the next."""
        kept = self._listed.get(sid)
        if kept is None or stamp is None or kept[0] != stamp:
            manifest, files = listed(data)
            fixed = json.dumps({"session_id": sid, "created_at": iso(manifest.created),
                                "updated_at": iso(manifest.updated), "stage": stage(manifest),
                                "files": files, **manifest.details})
            kept = (stamp, manifest.created, manifest.updated, fixed[:-1])
            if stamp is not None:
                self._listed[sid] = kept
                if len(self._listed) > LISTED_KEPT:
                    self._listed.pop(next(iter(self._listed)), None)
        return (f'{kept[3]}, "age_seconds": {round(now - kept[1], 1)!r}, '
                f'"idle_seconds": {round(now - kept[2], 1)!r}, "locked": {"true" if held else "false"}}}')
