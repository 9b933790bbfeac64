"""The disk backend's locks: per-workspace locks that hold across coroutines, threads,
processes and containers sharing one root (backend.Locker).
"""

from __future__ import annotations

import asyncio
import errno
import fcntl
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import filelock

from .backend import LockTimeout
from .turns import Turns
from .workspace import validate_sid

# The janitor's lock file: one janitor at a time among the processes sharing the root.
JANITOR = ".janitor.lock"


@dataclass(frozen=True)
class FileLease:
    """A held flock: it lasts as long as the process that holds it, so it needs no fence."""

    sid: str


class FileLocker:
    """An ``asyncio.Lock`` per sid inside this process, an flock'd file across processes.

    The file lock alone would not do: filelock locks are re-entrant within a thread and
    every coroutine runs on the event-loop thread. The asyncio lock lets one coroutine per
    sid through; that one then takes the file lock with non-blocking attempts between short
    sleeps, so waiting never ties up a thread. Lock files live outside the workspaces:
    clearing a workspace must not delete the lock others wait on. Only the janitor removes
    a lock file (``retire``), while holding it and as its last step; filelock (4.x) then
    sends a waiter that locked the removed file back to lock the path anew, so exclusion
    holds across the removal.
    """

    POLL_FIRST, POLL_MAX = 0.002, 0.05

    def __init__(self, directory: Path, timeout: float) -> None:
        self.directory = directory
        self.timeout = timeout
        self._turns = Turns()

    def _path(self, sid: str) -> Path:
        return self.directory / f"{validate_sid(sid)}.lock"

    @asynccontextmanager
    async def hold(self, sid: str, timeout: float | None = None) -> AsyncIterator[FileLease]:
        path = self._path(sid)  # validates the sid before anything is keyed on it
        timeout = self.timeout if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._turns.turn(sid, timeout):
            shared = filelock.FileLock(path, thread_local=False)
            await self._acquire(shared, deadline)
            try:
                yield FileLease(sid)
            finally:
                shared.release()

    async def _acquire(self, shared: filelock.FileLock, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        pause = self.POLL_FIRST
        while True:
            try:
                shared.acquire(timeout=0)
                return
            except filelock.Timeout:
                if loop.time() >= deadline:
                    raise LockTimeout() from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.POLL_MAX)

    def retire(self, sid: str) -> None:
        self._path(sid).unlink(missing_ok=True)

    def known(self) -> list[str]:
        """The sids that have a lock file: those that had a request since their last retire."""
        return [entry.name[:-5] for entry in os.scandir(self.directory)
                if entry.name.endswith(".lock") and not entry.name.startswith(".")]

    def held(self, sids: list[str]) -> set[str]:
        return {sid for sid in sids if self.is_held(sid)}

    def is_held(self, sid: str) -> bool:
        if self._turns.taken(sid):
            return True
        try:
            # A plain string path: support listings ask this of thousands of sids at once.
            fd = os.open(os.path.join(self.directory, f"{validate_sid(sid)}.lock"), os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EACCES):
                return True
            raise
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    @contextmanager
    def lead(self) -> Iterator[bool]:
        """Whether this process may do the janitor's round now: True for one process at a
        time among those sharing the root, for the block."""
        gate = filelock.FileLock(self.directory / JANITOR, thread_local=False)
        try:
            gate.acquire(timeout=0)
        except filelock.Timeout:
            yield False
            return
        try:
            yield True
        finally:
            gate.release()
