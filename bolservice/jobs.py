"""The engine's work, run in a process pool off the event loop, under a deadline.

Job functions take file paths and return plain values, so nothing large is pickled and
each child reads only what it needs.
"""

from __future__ import annotations

import asyncio
import functools
import json
import multiprocessing
import resource
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from .bol import UnusableContentError, extract_pdf, extraction_records, merge, read_spreadsheet, write_bol_csv
from .bol.model import Extraction


class JobTimeout(Exception):
    """The job ran past its deadline; its process was stopped."""


class JobCrashed(UnusableContentError):
    """The process running the job died twice on the same file.

    A job is retried once when its process dies, so dying again points at the file:
    most often it needed more memory than a job may have, which can abort the
    interpreter instead of raising MemoryError.
    """

    def __init__(self) -> None:
        super().__init__(
            "processing this file stopped its process twice; it may need more memory than a job "
            "may use (BOLSERVICE_JOB_MEMORY_MB) or be malformed. Split it or export it again")


class Overloaded(Exception):
    """This worker already runs as many jobs as it may queue."""


class OverMemoryLimit(UnusableContentError):
    pass


def memory_bounded(job: Callable) -> Callable:
    """Turn running out of the pool process's memory into an input error about the file."""
    @functools.wraps(job)
    def run(*args):
        try:
            return job(*args)
        except MemoryError:
            limit = resource.getrlimit(resource.RLIMIT_AS)[0] // (1024 * 1024)
            raise OverMemoryLimit(
                f"processing this file needs more than the {limit} MB a job may use "
                "(BOLSERVICE_JOB_MEMORY_MB); split it or simplify it") from None
    return run


def limit_memory(megabytes: int) -> None:
    """Pool initializer: cap the address space, so one bad file cannot take the machine."""
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@dataclass
class PdfOutput:
    csv: bytes
    extraction: bytes  # JSON, for later merges
    summary: dict


@dataclass
class MergeOutput:
    csv: bytes
    summary: dict


@memory_bounded
def pdf_job(pdf_path: str, max_pages: int) -> PdfOutput:
    extraction = extract_pdf(pdf_path, max_pages=max_pages)
    return PdfOutput(
        csv=write_bol_csv(extraction_records(extraction)).encode(),
        extraction=json.dumps(extraction.to_dict()).encode(),
        summary=extraction.summary(),
    )


@memory_bounded
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
    (Overloaded) rather than queued without bound.
    """

    def __init__(self, workers: int, timeout: float, max_queue: int = 16, memory_mb: int = 0) -> None:
        self.workers = workers
        self.timeout = timeout
        self.max_queue = max_queue
        self.memory_mb = memory_mb
        self.active = 0
        self._pool: ProcessPoolExecutor | None = None

    def _current(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: forking a process that runs an event loop and threads is not safe.
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=limit_memory, initargs=(self.memory_mb,))
        return self._pool

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
        for attempt in (1, 2):
            pool = self._current()
            future = asyncio.get_running_loop().run_in_executor(pool, function, *args)
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                self._replace(pool, kill=True)
                raise JobTimeout() from None
            except BrokenProcessPool:
                self._replace(pool, kill=False)
                if attempt == 2:
                    raise JobCrashed() from None

    def _replace(self, pool: ProcessPoolExecutor, kill: bool) -> None:
        if self._pool is pool:
            self._pool = None
        if kill:
            # The executor cannot cancel a running job; stopping its processes is the only
            # way to end it (Python 3.14 adds kill_workers() for this).
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()
        pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
