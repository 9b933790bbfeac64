"""The engine's work, run in a process pool off the event loop, under a deadline.

Job functions take file paths and return plain values, so nothing large is pickled and
each child reads only what it needs.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from .bol import UnusableContentError, extract_pdf, extraction_records, merge, read_spreadsheet, write_bol_csv
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


def pdf_job(pdf_path: str, max_pages: int, engine: str = "auto") -> PdfOutput:
    extraction = extract_pdf(pdf_path, max_pages=max_pages, engine=engine)
    return PdfOutput(
        csv=write_bol_csv(extraction_records(extraction)).encode(),
        extraction=json.dumps(extraction.to_dict()).encode(),
        summary=extraction.summary(),
    )


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
            for process in list(getattr(self._pool, "_processes", {}).values()):
                if process.pid and resident_bytes(process.pid) > limit:
                    self.memory_kills += 1
                    process.kill()

    async def run(self, function: Callable, *args):
        """Run ``function(*args)`` in a child; a job broken by another's failure runs once more."""
        if self.active >= self.max_queue:
            raise Overloaded()
        self.active += 1
        try:
            return await self._run(function, args, self.timeout)
        finally:
            self.active -= 1

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
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
