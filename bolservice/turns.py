"""One holder at a time per workspace inside a process, before the backend's own lock.

Both lockers let the requests of one process for one workspace wait here, as coroutines,
so that only one of them at a time asks the shared lock (a flock, a database session):
waiting never ties up a thread or a connection. The map keeps a key only while someone
holds or waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager

from .backend import LockTimeout


class Turns:
    def __init__(self) -> None:
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._waiters: dict[Hashable, int] = {}

    def taken(self, key: Hashable) -> bool:
        """Whether a coroutine of this process has ``key``'s turn now."""
        lock = self._locks.get(key)
        return lock is not None and lock.locked()

    @asynccontextmanager
    async def turn(self, key: Hashable, timeout: float) -> AsyncIterator[None]:
        """Wait for ``key``'s turn (LockTimeout past ``timeout`` seconds) and hold it."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            try:
                await asyncio.wait_for(lock.acquire(), timeout)
            except TimeoutError:
                raise LockTimeout() from None
            try:
                yield
            finally:
                lock.release()
        finally:
            self._waiters[key] -= 1
            if self._waiters[key] == 0:
                del self._waiters[key], self._locks[key]
