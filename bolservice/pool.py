"""Processes that run the engine's jobs off the event loop, each job's failure its own.

pebble's ``ProcessPool`` runs every job on a process of its own at a time and watches it:
a job past its deadline has its process stopped, a job whose process dies gets
``ProcessExpired``, and in both cases the pool starts a fresh process while the other
jobs run on untouched. (``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when
one child dies, failing every job in flight, and cannot stop a running job.) The deadline
counts from the moment a process takes the job, not while it waits.

A job is run once more when its process dies, in case something outside killed it; dying
again points at the file. While jobs are in flight, a watchdog stops a process whose
resident memory passes the limit, and a job whose process it stopped is refused at once for
its memory. An idle pool does not look at anything (_QuietManager, JobPool._in_flight_watched).
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager

from pebble import ProcessExpired, ProcessPool
from pebble.pool.base_pool import PoolContext, Task
from pebble.pool.process import PoolManager

from .admission import Admission
from .bol import UnusableContentError

log = logging.getLogger("bolservice")


class JobTimeout(Exception):
    """The job ran past its deadline; its process was stopped."""


class JobCrashed(UnusableContentError):
    """The process running the job died twice on the same file, not for memory."""

    def __init__(self) -> None:
        super().__init__("processing this file stopped its process twice; it may be malformed. "
                         "Export it again, or split it")


class OverMemoryLimit(UnusableContentError):
    def __init__(self, megabytes: int) -> None:
        super().__init__(
            f"processing this file needs more than the {megabytes} MB a job may use "
            "(BOLSERVICE_JOB_MEMORY_MB); split it or simplify it")


def ready() -> bool:
    """A no-op job: proves the pool answers, and warms a process's imports."""
    return True


# How long a quiet pool's threads wait between looks while no task is in flight. Only a
# backstop: a task, or the pool's stop, ends the wait at once. (On this project's virtual
# machines a wake of an idle thread costs one to several milliseconds of CPU.)
IDLE_LOOK = 60.0


class _QuietManager(PoolManager):
    """pebble's pool manager, which looks at its pool only while a task is in flight.

    pebble runs two threads per pool that look ten times a second whatever happens: one at
    the tasks' deadlines and at processes that died, one waiting 0.1 s at a time for the
    processes' messages. Idle, a worker's two lanes woke forty times a second for nothing.
    Here, while no task is in flight, the first waits until a task is scheduled or the pool
    stops (or IDLE_LOOK passes), and the second waits for messages IDLE_LOOK at a time; a
    message ends that wait at once, and with a task in flight both look as pebble does.
    A process that dies while the pool is idle is found by the next task (the pool breaks,
    and the job goes to a new one, as JobPool._run says), or at the next idle look.
    """

    def __init__(self, context: PoolContext, mp_context: multiprocessing.context.BaseContext) -> None:
        super().__init__(context, mp_context)
        self.woken = threading.Event()

    @property
    def busy(self) -> bool:
        return bool(self.task_manager.tasks)

    def schedule(self, task: Task) -> None:
        super().schedule(task)
        self.woken.set()

    def update_status(self) -> None:
        if not self.busy:
            self.woken.wait(IDLE_LOOK)
            self.woken.clear()
            if not self.context.alive:
                return
        super().update_status()

    def process_next_message(self, timeout: float) -> None:
        super().process_next_message(timeout if self.busy else IDLE_LOOK)


class QuietPool(ProcessPool):
    """pebble's ProcessPool, quiet while idle (_QuietManager)."""

    def __init__(self, processes: int, nice: int) -> None:
        # spawn: forking a process that runs an event loop and threads is not safe.
        context = multiprocessing.get_context("spawn")
        super().__init__(processes, initializer=os.nice, initargs=(nice,), context=context)
        self._pool_manager = _QuietManager(self._context, context)

    def stop(self) -> None:
        super().stop()
        self._pool_manager.woken.set()


class Lane:
    """A pebble pool of processes at one priority, remade when pebble gives it up."""

    def __init__(self, processes: int, nice: int = 0) -> None:
        self.processes, self.nice = processes, nice
        self._pool: QuietPool | None = None

    def pool(self) -> QuietPool:
        if self._pool is None or not self._pool.active:
            self._pool = QuietPool(self.processes, self.nice)
        return self._pool

    def drop(self, pool: QuietPool) -> None:
        if self._pool is pool:
            self._pool = None
        pool.stop()

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.stop()

    def join(self) -> None:
        if self._pool is not None:
            self._pool.join()


class JobPool:
    """The worker's job processes, in two lanes so that no workspace's heavy file keeps the
    others waiting (docs/SERVICE.md):

    - the quick lane, one process at normal priority, takes every job first for at most
      ``quick_seconds``; a job that needs longer is stopped there and goes to
    - the bulk lane, ``workers`` processes at a lower priority (nice 10), each job under
      its own deadline (by default ``timeout``).

    A piece of work (an upload's jobs count once) is admitted while it will be done within
    its deadline at the pace the pool has been keeping, and refused at once (Overloaded,
    with the seconds to wait) past that, or past ``max_queue`` pieces (admission.py).
    """

    # Seconds between the watchdog's looks at the processes' memory while a job is in
    # flight: a process that fills memory at 3 GB/s passes the limit by at most about 60 MB
    # before it is stopped. With no job in flight it does not look.
    WATCH_EVERY = 0.02
    POOL_RESTARTS = 3  # new pools a job may go to when whole pools break under it
    BULK_NICE = 10

    def __init__(self, workers: int, timeout: float, max_queue: int = 16, memory_mb: int = 0,
                 quick_seconds: float = 1.0) -> None:
        self.workers = workers
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.quick_seconds = quick_seconds
        self.admission = Admission(max_queue)
        self.quick, self.bulk = Lane(1), Lane(workers, self.BULK_NICE)
        self._watchdog: asyncio.Task | None = None
        self._in_flight = 0  # jobs scheduled and not yet ended
        self._children = Children()  # kept from one watch to the next: it learns the threads
        self._memory_kills: set[int] = set()  # pids the watchdog stopped

    @property
    def watching(self) -> bool:
        """Whether the memory watchdog is running: only while a job is in flight."""
        return self._watchdog is not None

    @asynccontextmanager
    async def _in_flight_watched(self) -> AsyncIterator[None]:
        """Count a job in flight; the watchdog runs from the first such job to the end of
        the last, and an idle worker does not look at its processes at all."""
        self._in_flight += 1
        if self.memory_mb > 0 and self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        try:
            yield
        finally:
            self._in_flight -= 1
            if self._in_flight == 0 and self._watchdog is not None:
                self._watchdog.cancel()
                self._watchdog = None

    async def _watch(self) -> None:
        limit = self.memory_mb * 1024 * 1024
        while True:
            await asyncio.sleep(self.WATCH_EVERY)
            for pid in self._children():
                resident = resident_bytes(pid)
                if resident > limit:
                    self._memory_kills.add(pid)
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        continue
                    log.warning("stopped a job's process at %d MB, over the %d MB a job may use",
                                resident // (1024 * 1024), self.memory_mb)

    async def run(self, function: Callable, *args, timeout: float | None = None):
        """Run ``function(*args)`` as one admitted piece of work: quick lane first."""
        async with self.admitted(timeout):
            return await self.call(function, *args, timeout=timeout)

    @asynccontextmanager
    async def admitted(self, deadline: float | None = None) -> AsyncIterator[None]:
        """Count one piece of work, of one job or several, that must be done within
        ``deadline`` seconds (default: the pool's timeout); Overloaded if it would not be."""
        ticket = self.admission.admit(deadline or self.timeout)
        try:
            yield
        finally:
            self.admission.finish(ticket)

    async def call(self, function: Callable, *args, timeout: float | None = None):
        """Run ``function(*args)`` (inside ``admitted``): on the quick lane, or, past its
        time there, on the bulk lane under ``timeout`` (default: the pool's)."""
        try:
            return await self.call_quick(function, *args)
        except JobTimeout:
            return await self.call_bulk(function, *args, timeout=timeout)

    async def call_quick(self, function: Callable, *args):
        """Run ``function(*args)`` on the quick lane (inside ``admitted``); JobTimeout past
        ``quick_seconds``."""
        return await self._run(self.quick, function, args, min(self.quick_seconds, self.timeout))

    async def call_bulk(self, function: Callable, *args, timeout: float | None = None):
        """Run ``function(*args)`` on the bulk lane (inside ``admitted``)."""
        return await self._run(self.bulk, function, args, min(timeout or self.timeout, self.timeout))

    async def call_each(self, function: Callable, arguments: list[tuple], timeout: float | None = None) -> list:
        """Run ``function`` on the bulk lane once per tuple of ``arguments``, at once
        (inside ``admitted``); once all have ended, the results in order, or the first error."""
        results = await asyncio.gather(*(self.call_bulk(function, *args, timeout=timeout) for args in arguments),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return results

    async def probe(self, timeout: float) -> bool:
        """Whether both lanes answer a no-op job; also starts their processes. Outside the
        cap: it is the service checking itself, not a client's work."""
        return all(await asyncio.gather(self._run(self.quick, ready, (), timeout),
                                        self._run(self.bulk, ready, (), timeout)))

    async def _run(self, lane: Lane, function: Callable, args: tuple, timeout: float):
        async with self._in_flight_watched():
            return await self._run_watched(lane, function, args, timeout)

    async def _run_watched(self, lane: Lane, function: Callable, args: tuple, timeout: float):
        attempt = broken = 0
        while True:
            pool = lane.pool()
            future = pool.schedule(function, args=args, timeout=timeout)
            try:
                return await asyncio.wrap_future(future)
            except FutureTimeout:
                raise JobTimeout() from None
            except BrokenProcessPool:
                # Every process died while no job ran (pebble then gives up the pool): not
                # this job's doing, so it goes to a new pool; pools that keep breaking are
                # the service's failure, not the file's.
                lane.drop(pool)
                broken += 1
                if broken > self.POOL_RESTARTS:
                    raise
            except ProcessExpired as error:
                if error.pid in self._memory_kills:
                    self._memory_kills.discard(error.pid)
                    raise OverMemoryLimit(self.memory_mb) from None
                attempt += 1
                if attempt == 2:
                    raise JobCrashed() from None

    def shutdown(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        for lane in (self.quick, self.bulk):  # both stop at once, then both are joined
            lane.stop()
        for lane in (self.quick, self.bulk):
            lane.join()


class Children:
    """This process's child processes, as /proc lists them by the thread that started each.

    Each thread's list is a file to read, and a worker has some forty threads (most of them
    for file work), so reading them all at each of the watchdog's looks took 2 ms of CPU,
    a tenth of a core at 50 looks a second. The threads that have started children (the
    loop's, for a pool's first processes; a pool's manager, for the processes that replace
    dead ones) are remembered, and all threads are read again each ``FULL_LOOK_EVERY``
    seconds, and at every look while fewer children are found than before, as after one
    died, until its replacement is found.
    """

    FULL_LOOK_EVERY = 1.0

    def __init__(self) -> None:
        self._parents: list[str] = []  # thread ids
        self._count = 0
        self._full_look_at = -math.inf

    def __call__(self) -> list[int]:
        found = [pid for thread in self._parents for pid in _children_of(thread)]
        now = time.monotonic()
        if len(found) < self._count or now - self._full_look_at >= self.FULL_LOOK_EVERY:
            self._full_look_at = now
            listed = {thread: _children_of(thread) for thread in os.listdir("/proc/self/task")}
            self._parents = [thread for thread, pids in listed.items() if pids]
            found = [pid for pids in listed.values() for pid in pids]
            self._count = len(found)
        return found


def _children_of(thread: str) -> list[int]:
    try:
        with open(f"/proc/self/task/{thread}/children") as listing:
            return [int(pid) for pid in listing.read().split()]
    except (OSError, ValueError):
        return []


def resident_bytes(pid: int) -> int:
    """A process's resident memory, from /proc (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0
