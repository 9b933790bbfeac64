"""The engine's work, run in a process pool off the event loop, under a deadline.

Job functions take file paths and return plain values, so nothing large is pickled and
each child reads only what it needs.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from .bol import (PageText, UnusableContentError, extract_pdf, extraction_records, first_reading, merge,
                  pdfium_page_count, read_spreadsheet, write_bol_csv)
from .bol.model import Extraction


class JobTimeout(Exception):
    """The job ran past its deadline; its process was stopped."""


class JobCrashed(UnusableContentError):
    """The process running the job died twice on the same file, not for memory.

    A job is retried once when its process dies (another job's failure can break the
    pool), so dying again points at the file.
    """

    def __init__(self) -> None:
        super().__init__("processing this file stopped its process twice; it may be malformed. "
                         "Export it again, or split it")


class Overloaded(Exception):
    """This worker already runs as many jobs as it may queue."""


class OverMemoryLimit(UnusableContentError):
    def __init__(self, megabytes: int) -> None:
        super().__init__(
            f"processing this file needs more than the {megabytes} MB a job may use "
            "(BOLSERVICE_JOB_MEMORY_MB); split it or simplify it")


def resident_bytes(pid: int) -> int:
    """A process's resident memory, from /proc (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class PdfOutput:
    csv: bytes
    extraction: bytes  # JSON, for later merges
    summary: dict


@dataclass
class MergeOutput:
    csv: bytes
    summary: dict


# A PDF of at least this many pages is read in page ranges by all the pool's processes at
# once, then parsed as a whole by one. A shorter one is read and parsed by one job: for it,
# parallel reading would save less than a second job's round trip costs.
SPLIT_PAGES = 40


@dataclass
class PdfPart:
    """What one of the jobs reading a PDF together found: its page range's first reading;
    or, when the PDF was too short to split, the whole output (the first job's; the others
    find nothing)."""

    readings: list[PageText]
    output: PdfOutput | None = None


def pdf_job(pdf_path: str, max_pages: int, engine: str = "auto",
            readings: list[PageText] | None = None) -> PdfOutput:
    """Parse a PDF into its CSV, its extraction and a summary; ``readings``, its pages'
    first reading (``pdf_part_job``), when it was made beforehand."""
    extraction = extract_pdf(pdf_path, max_pages=max_pages, engine=engine, readings=readings)
    return PdfOutput(
        csv=write_bol_csv(extraction_records(extraction)).encode(),
        extraction=json.dumps(extraction.to_dict()).encode(),
        summary=extraction.summary(),
    )


def pdf_part_job(pdf_path: str, max_pages: int, engine: str, part: int, parts: int) -> PdfPart:
    """Part ``part`` of ``parts`` jobs that read a PDF at once, each its own page range."""
    count = pdfium_page_count(pdf_path)
    if count is None or count < SPLIT_PAGES or count > max_pages:
        # One job does it all; a PDF pdfium cannot open is left to the engine to report.
        return PdfPart([], pdf_job(pdf_path, max_pages, engine) if part == 0 else None)
    pages = range(1 + part * count // parts, 1 + (part + 1) * count // parts)
    return PdfPart(first_reading(pdf_path, engine=engine, max_pages=max_pages, pages=pages))


def merge_job(extraction_path: str, sheet_path: str) -> MergeOutput:
    with open(extraction_path, "rb") as handle:
        extraction = Extraction.from_dict(json.load(handle))
    with open(sheet_path, "rb") as handle:
        sheet = read_spreadsheet(handle.read())
    result = merge(extraction, sheet)
    return MergeOutput(csv=write_bol_csv(result.records).encode(), summary=result.summary())


def ready() -> bool:
    """A no-op job: proves the pool answers, and warms a child's imports."""
    return True


class JobPool:
    """A process pool that is replaced when a job overruns or a child dies.

    At most ``max_queue`` jobs run or wait at once; past that a request is refused at once
    (Overloaded) rather than queued without bound. A watchdog stops any child whose
    resident memory passes ``memory_mb``: the limit is enforced from outside because, under
    an address-space limit, CPython can spin instead of raising MemoryError.
    """

    WATCH_EVERY = 0.1  # seconds between the watchdog's looks at the children's memory
    # A new pool's children spawn and import the engine before any job runs: that start is
    # not a job's and is not counted against a job's deadline, only against this bound.
    START_TIMEOUT = 60.0

    def __init__(self, workers: int, timeout: float, max_queue: int = 16, memory_mb: int = 0) -> None:
        self.workers = workers
        self.timeout = timeout
        self.max_queue = max_queue
        self.memory_mb = memory_mb
        self.active = 0
        self.memory_kills = 0
        self._pool: ProcessPoolExecutor | None = None
        self._started: asyncio.Future | None = None  # every child of the pool has answered
        self._watchdog: asyncio.Task | None = None

    def _current(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: forking a process that runs an event loop and threads is not safe.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            loop = asyncio.get_running_loop()
            self._started = asyncio.gather(*(loop.run_in_executor(self._pool, ready) for _ in range(self.workers)),
                                           return_exceptions=True)
        if self.memory_mb > 0 and (self._watchdog is None or self._watchdog.done()):
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        return self._pool

    async def _watch(self) -> None:
        limit = self.memory_mb * 1024 * 1024
        while True:
            await asyncio.sleep(self.WATCH_EVERY)
            for process in _processes(self._pool):
                if process.pid and resident_bytes(process.pid) > limit:
                    self.memory_kills += 1
                    process.kill()

    async def run(self, function: Callable, *args):
        """Run ``function(*args)`` in a child, as one admitted piece of work."""
        async with self.admitted():
            return await self.call(function, *args)

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Count one piece of work, of one job or several, against ``max_queue``."""
        if self.active >= self.max_queue:
            raise Overloaded()
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1

    async def call(self, function: Callable, *args):
        """Run ``function(*args)`` in a child (inside ``admitted``); a job broken by another's
        failure runs once more."""
        return await self._run(function, args, self.timeout)

    async def call_each(self, function: Callable, arguments: list[tuple]) -> list:
        """Run ``function`` once per tuple of ``arguments``, at once (inside ``admitted``);
        once all have ended, the results in order, or the first error."""
        results = await asyncio.gather(*(self.call(function, *args) for args in arguments), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

    async def probe(self, timeout: float) -> bool:
        """Whether a child answers a no-op job; also starts the children. Outside the cap:
        it is the service checking itself, not a client's work."""
        return await self._run(ready, (), timeout)

    async def _run(self, function: Callable, args: tuple, timeout: float):
        kills_before = self.memory_kills
        for attempt in (1, 2):
            pool = await self._started_pool()
            try:
                # Inside the try: a pool whose child died while idle refuses the job at once.
                future = asyncio.get_running_loop().run_in_executor(pool, function, *args)
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                self._replace(pool, kill=True)
                raise JobTimeout() from None
            except BrokenProcessPool:
                self._replace(pool, kill=False)
                if attempt == 2:
                    if self.memory_kills > kills_before:
                        raise OverMemoryLimit(self.memory_mb) from None
                    raise JobCrashed() from None

    async def _started_pool(self) -> ProcessPoolExecutor:
        """The current pool once its children have started (a broken start shows in the job);
        if it was replaced meanwhile, the new one."""
        while True:
            pool, started = self._current(), self._started
            if started is not None and not started.done():
                try:
                    await asyncio.wait_for(asyncio.shield(started), self.START_TIMEOUT)
                except TimeoutError:
                    self._replace(pool, kill=True)
                    raise JobTimeout() from None
            if self._pool is pool:
                return pool

    def _replace(self, pool: ProcessPoolExecutor, kill: bool) -> None:
        if self._pool is pool:
            self._pool, self._started = None, None
        if kill:
            # The executor cannot cancel a running job; stopping its processes is the only
            # way to end it (Python 3.14 adds kill_workers() for this).
            for process in _processes(pool):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _processes(pool: ProcessPoolExecutor | None) -> list:
    """A pool's live processes; none once it is shut down (the executor then drops its
    table, which a second job past its deadline at the same moment would meet)."""
    return list((getattr(pool, "_processes", None) or {}).values())
